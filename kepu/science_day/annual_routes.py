"""全国科普日: 年度工作总结 (provincial 科协 and 全国学会 admins file; national admin reads). (issue 12)

URL map (blueprint ``science_day``, prefix /science-day):

  GET|POST  /annual                         annual_report          the filer's form (?scope=
                                                                   when the user files for
                                                                   several); action=draft|file
  POST      /annual/autosave                annual_autosave        htmx autosave (409 stale)
  GET       /admin/annual                   annual_list            national: every expected
                                                                   filer, 已提交 / 未提交 (?year=)
  GET       /admin/annual/<id>              annual_view            national: one report
  POST      /admin/annual/export.zip        annual_export          national: all filed reports
                                                                   as a zip (a file job)

Filers see only their own scopes' reports (another scope: 404); the lists and reports
of others are national / platform admins' only (anyone else 404). Attachments download
through files.download (the entity ``annual_report`` decides who may).
"""
from __future__ import annotations

import zipfile

from flask import abort, flash, redirect, request, url_for
from flask_login import current_user, login_required
from sqlalchemy import select

from .. import jobs
from ..admin.models import Campaign
from ..extensions import db
from ..files.operations import save_uploads_from_request
from ..files.specs import get_field
from ..files.storage import accepts_uploads, limit_for, path_for
from ..htmx import render, render_fragment
from ..inputs import parse_id, parse_int
from . import annual as ops
from . import bp
from .after_models import AnnualReport
from .operations.common import OperationError, current_campaign
from .settings import KIND, ScienceDaySettings

ops.init()

FORM = "science_day/annual/form.html"
EXPORT_KIND = "science_day.annual_zip"


def _campaign() -> Campaign:
    campaign = current_campaign()
    if campaign is None:
        abort(404)
    return campaign


def _scope() -> ops.Scope:
    """The scope picked with ?scope= (or the form's) among the user's own; 404 else."""
    scopes = ops.scopes_of(current_user)
    if not scopes:
        abort(404)
    raw = (request.values.get("scope") or "").strip()
    if not raw:
        return scopes[0]
    for s in scopes:
        if s.key == raw:
            return s
    abort(404)


def _upload_limit():
    campaign = current_campaign()
    if campaign is None:
        return limit_for(max_bytes=0, max_files=1)
    return limit_for(get_field(ops.field_name(campaign.id)))


def _render_form(campaign, scope, *, status=200, text=None, file_ids=None, errors=None,
                 alert=None, alert_kind="error", conflict=False, version=None):
    settings = ScienceDaySettings(campaign)
    report = ops.report_for(campaign.id, scope.key)
    files = ops.attachments(report)
    if file_ids is not None:
        from ..files.models import StoredFile

        ids = [i for i in (parse_id(v) for v in file_ids) if i]
        by_id = {f.id: f for f in db.session.scalars(select(StoredFile).where(
            StoredFile.id.in_(ids)))} if ids else {}
        files = [by_id[i] for i in ids if i in by_id and by_id[i].can_view(current_user)]
    return render(
        FORM, status=status, campaign=campaign, settings=settings, scope=scope,
        scopes=ops.scopes_of(current_user), report=report, files=files,
        text=report.text if text is None and report else (text or ""),
        errors=errors or {}, alert=alert, alert_kind=alert_kind, conflict=conflict,
        version=version if version is not None else (report.version if report else 0),
        window=settings.phase(ops.WINDOW), upload_field=ops.field_name(campaign.id),
        text_max=ops.config(settings, "text_max"), max_files=ops.config(settings, "files"))


@bp.route("/annual", methods=["GET", "POST"], endpoint="annual_report")
@accepts_uploads(_upload_limit)
@login_required
def annual_report():
    scope = _scope()
    campaign = _campaign()
    if request.method == "GET":
        return _render_form(campaign, scope)
    text = request.form.get("text", "")
    file_ids = request.form.getlist("attachments")
    action = request.form.get("action", "draft")
    remove = parse_id(request.form.get("remove_file"))
    if remove:
        action = "draft"
    new, upload_errors = [], []
    window = ScienceDaySettings(campaign).phase(ops.WINDOW)
    if window.open:
        new, upload_errors = save_uploads_from_request(ops.field_name(campaign.id),
                                                       current_user, "attachments")
        file_ids += [str(f.id) for f in new]
    if upload_errors:
        return _render_form(campaign, scope, status=422, text=text, file_ids=file_ids,
                            errors={"attachments": "；".join(upload_errors)},
                            alert="附件未上传，请按提示修改。",
                            version=parse_int(request.form.get("version")))
    try:
        ops.save(campaign, scope, current_user, text=text,
                 version=parse_int(request.form.get("version")), file_ids=file_ids,
                 new_files=new, file=action == "file", remove_file=remove)
    except ops.ConflictError as e:
        return _render_form(campaign, scope, status=409, text=text, file_ids=file_ids,
                            alert=e.message, conflict=True,
                            version=parse_int(request.form.get("version")) or 0)
    except ops.InvalidReport as e:
        return _render_form(campaign, scope, status=422, text=text, file_ids=file_ids,
                            errors=e.errors, alert="请按提示修改后再保存。",
                            version=parse_int(request.form.get("version")))
    except OperationError as e:
        return _render_form(campaign, scope, status=403, text=text, file_ids=file_ids,
                            alert=e.message, version=parse_int(request.form.get("version")))
    flash("年度工作总结已提交。" if action == "file" else "已暂存。", "success")
    args = {"scope": scope.key} if len(ops.scopes_of(current_user)) > 1 else {}
    return redirect(url_for(".annual_report", **args), 303)


@bp.post("/annual/autosave", endpoint="annual_autosave")
@login_required
def annual_autosave():
    scope = _scope()
    campaign = _campaign()
    try:
        row = ops.save(campaign, scope, current_user, text=request.form.get("text", ""),
                       version=parse_int(request.form.get("version")),
                       file_ids=request.form.getlist("attachments"))
    except ops.ConflictError:
        return render_fragment(FORM, "autosave_reply", status=409, conflict=True,
                               message=None)
    except ops.InvalidReport as e:
        return render_fragment(FORM, "autosave_reply", status=422, conflict=False,
                               error=True, errors=e.errors,
                               message="未能自动保存：" + e.message)
    except OperationError as e:
        return render_fragment(FORM, "autosave_reply", status=409, conflict=True,
                               message=e.message)
    return render_fragment(FORM, "autosave_reply", conflict=False, error=False, errors={},
                           saved_at=row.updated_at, version=row.version, message=None)


# --------------------------------------------------------------------------- national

def _reader() -> None:
    if not ops.can_read_all(current_user):
        abort(404)


def _edition() -> Campaign:
    year = (request.values.get("year") or "").strip()
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


@bp.get("/admin/annual", endpoint="annual_list")
@login_required
def annual_list():
    _reader()
    campaign = _edition()
    rows = ops.overview(campaign.id)
    show = request.args.get("show")
    shown = [r for r in rows if (show == "filed" and r.filed)
             or (show == "missing" and not r.filed) or show not in ("filed", "missing")]
    settings = ScienceDaySettings(campaign)
    editions = list(db.session.scalars(select(Campaign).where(Campaign.kind == KIND)
                                       .order_by(Campaign.year.desc())))
    return render("science_day/annual/list.html", campaign=campaign, rows=shown,
                  filed=sum(1 for r in rows if r.filed), total=len(rows), show=show,
                  settings=settings, window=settings.phase(ops.WINDOW), editions=editions,
                  files_by_report=ops.attachments_by_report(
                      r.report.id for r in shown if r.filed))


@bp.get("/admin/annual/<int:report_id>", endpoint="annual_view")
@login_required
def annual_view(report_id: int):
    _reader()
    report = db.session.get(AnnualReport, report_id)
    if report is None:
        abort(404)
    campaign = db.session.get(Campaign, report.campaign_id)
    return render("science_day/annual/view.html", report=report, campaign=campaign,
                  files=ops.attachments(report))


@bp.post("/admin/annual/export.zip", endpoint="annual_export")
@login_required
def annual_export():
    _reader()
    campaign = _edition()
    return jobs.start_file_job_response(EXPORT_KIND, {"campaign_id": campaign.id},
                                        f"{campaign.title}年度工作总结（打包下载）")


def _safe(name: str) -> str:
    return "".join("_" if ch in '\\/:*?"<>|' else ch for ch in name).strip() or "未命名"


@jobs.file_kind(EXPORT_KIND)
def annual_zip(user, params) -> jobs.FileSpec:
    """Every filed report of an edition: <单位>/年度工作总结.txt and its attachments."""
    campaign = db.session.get(Campaign, params.get("campaign_id"))
    if campaign is None or campaign.kind != KIND:
        raise jobs.JobRefused("该届次不存在")
    if not ops.can_read_all(user):
        raise jobs.JobRefused("无权下载年度工作总结")
    reports = list(db.session.scalars(
        select(AnnualReport).where(AnnualReport.campaign_id == campaign.id,
                                   AnnualReport.filed_at.is_not(None))
        .order_by(AnnualReport.scope_key)))

    def write(out, progress):
        from ..timeutil import fmt

        progress.set(0, len(reports))
        with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as z:
            for r in reports:
                folder = _safe(r.scope_name or r.scope_key)
                body = (f"{r.scope_name}\n{campaign.title} 年度工作总结\n"
                        f"提交时间：{fmt(r.filed_at)}\n\n{r.text}\n")
                z.writestr(f"{folder}/年度工作总结.txt", body.encode("utf-8"))
                used = set()
                for f in ops.attachments(r):
                    path = path_for(f.stored_name)
                    if not path.is_file():
                        continue
                    name = _safe(f.original_name)
                    while name in used:
                        name = f"{f.id}_{name}"
                    used.add(name)
                    z.write(path, f"{folder}/{name}")
                progress.advance()
            if not reports:
                z.writestr("说明.txt", "本届暂无已提交的年度工作总结。\n".encode("utf-8"))

    return jobs.FileSpec(f"{campaign.title}年度工作总结.zip", write, total=len(reports),
                         unit="份")



# --------------------------------------------------------------------------- workbench

def annual_cards(user) -> list:
    """年度工作总结 on the 工作台: one card per scope the user files for (deadline,
    已提交 / 未提交), and the national admins' 已提交 / 未提交 figures."""
    from ..workbench import Card, Count, Deadline, Link, url_or_none

    campaign = current_campaign()
    if campaign is None:
        return []
    settings = ScienceDaySettings(campaign)
    close = settings.window_of(ops.WINDOW)[1]
    deadline = Deadline("年度工作总结填报截止", close) if close else None
    window = settings.phase(ops.WINDOW)
    out = []
    scopes = ops.scopes_of(user)
    base = url_or_none("science_day.annual_report")
    for s in scopes:
        report = ops.report_for(campaign.id, s.key)
        filed = report is not None and report.filed_at is not None
        url = base and (f"{base}?scope={s.key}" if len(scopes) > 1 else base)
        card = Card(key=f"science_day.annual.{s.key}", title="年度工作总结",
                    subtitle=f"{s.name} · {campaign.title}", order=70, deadline=deadline)
        card.counts = [Count("已提交" if filed else "未提交", 1, url,
                             "info" if filed or not window.open else "todo")]
        from ..timeutil import fmt

        card.note = (f"已于 {fmt(report.filed_at)} 提交" if filed else "") + \
            ("" if window.open else ("；" if filed else "") + window.message)
        if url:
            card.action = Link(("修改年度工作总结" if filed else "填报年度工作总结")
                               if window.open else "查看年度工作总结", url)
        out.append(card)
    if ops.can_read_all(user):
        rows = ops.overview(campaign.id)
        filed = sum(1 for r in rows if r.filed)
        url = url_or_none("science_day.annual_list")
        card = Card(key="science_day.annual.national", title="年度工作总结（全国）",
                    subtitle=campaign.title, order=75, deadline=deadline)
        card.counts = [Count("已提交", filed, url and f"{url}?show=filed"),
                       Count("未提交", len(rows) - filed, url and f"{url}?show=missing")]
        if url:
            card.action = Link("查看填报情况", url)
        res = url_or_none("science_day.admin_resources")
        if res:
            card.links = [Link("下载资源管理", res)]
        out.append(card)
    return out


def _register_cards() -> None:
    from ..workbench import register

    register(annual_cards, key="science_day.annual")


_register_cards()
