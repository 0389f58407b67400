"""全国科普日: 下载资源 (public page; admins manage). (issue 12)

URL map (blueprint ``science_day``, prefix /science-day):

  GET       /resources                          public_resources      the edition's resources
                                                                      by section (?year=)
  GET       /resources/<id>/file[/<name>]       resource_file         a resource's file (public)
  GET       /admin/resources                    admin_resources       list + 添加 (?year=)
  POST      /admin/resources                    admin_resource_add
  GET|POST  /admin/resources/<id>/edit          admin_resource_edit
  POST      /admin/resources/<id>/move          admin_resource_move   direction=up|down
  POST      /admin/resources/<id>/delete        admin_resource_delete

Managing: platform and national admins (anyone else 404).
"""
from __future__ import annotations

from flask import abort, flash, redirect, request, send_file, url_for
from flask_login import current_user, login_required
from sqlalchemy import select

from ..admin.models import Campaign
from ..extensions import db
from ..files.operations import save_uploads_from_request
from ..files.routes import DOWNLOAD_CSP, content_disposition
from ..files.specs import get_field
from ..files.storage import accepts_uploads, limit_for, path_for
from ..htmx import render
from . import bp
from . import resources as ops
from .after_models import RESOURCE_ENTITY, RESOURCE_KINDS, Resource
from .operations.common import current_campaign
from .settings import KIND, ScienceDaySettings

ops.init()

ADMIN = "science_day/resources/admin.html"
EDIT = "science_day/resources/edit.html"


def _edition_by_year(raw: str | None) -> Campaign:
    year = (raw or "").strip()
    if year:
        if not year.isdigit() or len(year) != 4:
            abort(404)
        campaign = db.session.scalar(select(Campaign).where(Campaign.kind == KIND,
                                                            Campaign.year == int(year)))
    else:
        campaign = current_campaign()
    if campaign is None:
        abort(404)
    return campaign


def _editions() -> list[Campaign]:
    return list(db.session.scalars(select(Campaign).where(Campaign.kind == KIND)
                                   .order_by(Campaign.year.desc())))


def _manager() -> None:
    if not ops.can_manage(current_user):
        abort(404)


# --------------------------------------------------------------------------- public

@bp.get("/resources", endpoint="public_resources")
def public_resources():
    campaign = _edition_by_year(request.args.get("year"))
    latest = current_campaign()
    return render("science_day/resources/public.html", campaign=campaign,
                  sections=ops.sections(campaign.id), editions=_editions(),
                  year_arg={} if latest and latest.id == campaign.id
                  else {"year": campaign.year},
                  can_manage=ops.can_manage(current_user))


@bp.get("/resources/<int:resource_id>/file", defaults={"name": None},
        endpoint="resource_file")
@bp.get("/resources/<int:resource_id>/file/<name>", endpoint="resource_file")
def resource_file(resource_id: int, name: str | None):
    row = db.session.get(Resource, resource_id)
    if row is None or row.file_id is None:
        abort(404)
    stored = row.file
    if stored is None or stored.entity_type != RESOURCE_ENTITY or stored.entity_id != row.id:
        abort(404)
    path = path_for(stored.stored_name)
    if not path.is_file():
        abort(404)
    resp = send_file(path, mimetype=stored.content_type, conditional=True,
                     etag=stored.sha256, last_modified=stored.created_at, max_age=3600)
    resp.headers["Content-Disposition"] = content_disposition(
        stored.original_name, stored.ext, request.args.get("inline") == "1"
        and stored.inline_ok)
    resp.headers["X-Content-Type-Options"] = "nosniff"
    resp.headers["Content-Security-Policy"] = DOWNLOAD_CSP
    return resp


# --------------------------------------------------------------------------- admin

def _upload_limit():
    """Before the body is read: the resource's edition, else ?year=, else the latest."""
    campaign = None
    rid = (request.view_args or {}).get("resource_id")
    if rid:
        row = db.session.get(Resource, rid)
        campaign = db.session.get(Campaign, row.campaign_id) if row else None
    else:
        raw = request.args.get("year", "")
        campaign = db.session.scalar(select(Campaign).where(
            Campaign.kind == KIND, Campaign.year == int(raw))) \
            if raw.isdigit() and len(raw) == 4 else current_campaign()
    if campaign is None:
        return limit_for(max_bytes=0, max_files=1)
    return limit_for(get_field(ops.field_name(campaign.id)))


def _files_of(data: ops.ResourceForm):
    from ..files.models import StoredFile
    from ..inputs import parse_id

    ids = [i for i in (parse_id(v) for v in data.file_ids) if i]
    if not ids:
        return []
    rows = {f.id: f for f in db.session.scalars(select(StoredFile).where(
        StoredFile.id.in_(ids)))}
    return [rows[i] for i in ids if i in rows
            and (rows[i].owner_id == current_user.id or rows[i].entity_type == RESOURCE_ENTITY)]


def _render_admin(campaign: Campaign, *, status=200, data=None, errors=None):
    data = data or ops.ResourceForm(kind=request.args.get("kind") or "example")
    return render(ADMIN, status=status, campaign=campaign, sections=ops.sections(campaign.id),
                  editions=_editions(), data=data, errors=errors or {},
                  files=_files_of(data), upload_field=ops.field_name(campaign.id),
                  kinds=RESOURCE_KINDS, settings=ScienceDaySettings(campaign),
                  cfg=lambda k: ops.config(ScienceDaySettings(campaign), k))


@bp.get("/admin/resources", endpoint="admin_resources")
@login_required
def admin_resources():
    _manager()
    return _render_admin(_edition_by_year(request.args.get("year")))


def _read_with_uploads(campaign_id: int):
    data = ops.ResourceForm.read(request.form)
    new, upload_errors = save_uploads_from_request(ops.field_name(campaign_id), current_user,
                                                   "resource_file")
    data.file_ids += [str(f.id) for f in new]
    return data, new, upload_errors


@bp.post("/admin/resources", endpoint="admin_resource_add")
@accepts_uploads(_upload_limit)
@login_required
def admin_resource_add():
    _manager()
    campaign = _edition_by_year(request.args.get("year") or request.form.get("year"))
    data, new, upload_errors = _read_with_uploads(campaign.id)
    if upload_errors:
        return _render_admin(campaign, status=422, data=data,
                             errors={"file": "；".join(upload_errors)})
    try:
        row = ops.save(campaign, current_user, data, new_files=new)
    except ops.InvalidResource as e:
        return _render_admin(campaign, status=422, data=data, errors=e.errors)
    flash(f"已添加资源“{row.title}”。", "success")
    args = {} if campaign.id == getattr(current_campaign(), "id", None) \
        else {"year": campaign.year}
    return redirect(url_for(".admin_resources", _anchor=f"res-{row.id}", **args), 303)


def _resource(resource_id: int) -> Resource:
    _manager()
    row = db.session.get(Resource, resource_id)
    if row is None:
        abort(404)
    return row


def _back(row: Resource, anchor: str | None = None):
    campaign = db.session.get(Campaign, row.campaign_id) if row else None
    args = {} if campaign is None or campaign.id == getattr(current_campaign(), "id", None) \
        else {"year": campaign.year}
    return url_for(".admin_resources", _anchor=anchor, **args)


@bp.route("/admin/resources/<int:resource_id>/edit", methods=["GET", "POST"],
          endpoint="admin_resource_edit")
@accepts_uploads(_upload_limit)
@login_required
def admin_resource_edit(resource_id: int):
    row = _resource(resource_id)
    campaign = db.session.get(Campaign, row.campaign_id)
    if request.method == "GET":
        data = ops.ResourceForm.of(row)
        return render(EDIT, row=row, campaign=campaign, data=data, errors={},
                      stamp=ops.stamp(row),
                      files=_files_of(data), upload_field=ops.field_name(campaign.id),
                      kinds=RESOURCE_KINDS,
                      cfg=lambda k: ops.config(ScienceDaySettings(campaign), k))
    data, new, upload_errors = _read_with_uploads(campaign.id)
    if request.form.get("stamp") != ops.stamp(row):
        # another admin saved this resource after this page was opened
        return render(EDIT, status=409, row=row, campaign=campaign, data=data, errors={},
                      files=_files_of(data), upload_field=ops.field_name(campaign.id),
                      kinds=RESOURCE_KINDS, conflict=True,
                      stamp=request.form.get("stamp", ""),
                      cfg=lambda k: ops.config(ScienceDaySettings(campaign), k))
    errors = {"file": "；".join(upload_errors)} if upload_errors else {}
    if not errors:
        try:
            ops.save(campaign, current_user, data, resource=row, new_files=new)
        except ops.InvalidResource as e:
            errors = e.errors
    if errors:
        return render(EDIT, status=422, row=row, campaign=campaign, data=data, errors=errors,
                      stamp=request.form.get("stamp", ""),
                      files=_files_of(data), upload_field=ops.field_name(campaign.id),
                      kinds=RESOURCE_KINDS,
                      cfg=lambda k: ops.config(ScienceDaySettings(campaign), k))
    flash(f"已保存资源“{row.title}”。", "success")
    return redirect(_back(row, f"res-{row.id}"), 303)


@bp.post("/admin/resources/<int:resource_id>/move", endpoint="admin_resource_move")
@login_required
def admin_resource_move(resource_id: int):
    row = _resource(resource_id)
    direction = request.form.get("direction")
    if direction not in ("up", "down"):
        abort(400)
    if not ops.move(row, direction):
        flash("已在本栏目的" + ("最前" if direction == "up" else "最后") + "。", "info")
    return redirect(_back(row, f"res-{row.id}"), 303)


@bp.post("/admin/resources/<int:resource_id>/delete", endpoint="admin_resource_delete")
@login_required
def admin_resource_delete(resource_id: int):
    row = _resource(resource_id)
    title = row.title
    url = _back(row, None)
    ops.delete(row)
    flash(f"已删除资源“{title}”。", "success")
    return redirect(url, 303)
