"""Recommender-unit review and the platform admin's list of all works.

URL map (blueprint ``works``, prefix /works):

  GET       /unit/                       unit_list        unit admin (?org=<id> switches unit)
  GET       /unit/export.xlsx            unit_export      unit admin, the filtered list
  POST      /unit/bulk-recommend         bulk_recommend   unit admin
  GET       /<id>/review                 review_detail    unit admin of the channel, platform admin
  GET       /<id>/review/row             review_row       same (HTMX: the row / action block, 取消)
  POST      /<id>/recommend              recommend        unit admin of the channel
  GET|POST  /<id>/return                 return_work      unit admin of the channel
  GET       /admin/                      admin_list       platform admin
  GET       /admin/export.xlsx           admin_export     platform admin
  GET|POST  /admin/quotas                admin_quotas     platform admin

Actions post a ``ctx`` (unit / admin / detail) so an HTMX response re-renders the right
element: the list row (plus the status counts out of band) or the detail's review block.
Plain posts redirect back to ``next`` (a local URL) with a flash message.
"""
from __future__ import annotations

from flask import abort, flash, make_response, redirect, request, url_for
from flask_login import current_user, login_required
from jinja2_fragments.flask import render_block
from sqlalchemy import select
from sqlalchemy.orm import selectinload
from werkzeug.routing import BuildError

from ..accounts import roles as R
from ..accounts.permissions import platform_admin_required, role_required
from ..exports import xlsx_response
from ..extensions import db
from ..files.models import StoredFile
from ..htmx import is_fragment, redirect_to, render
from ..orgs.models import Org
from ..timeutil import fmt
from ..urls import next_from_request
from ..workflow import OperationError, TransitionError
from . import bp
from .flow import STATE_LABELS, WORK_FLOW
from .models import DRAFT, ENTITY, F_AWARD_FILES, F_COVER, F_COVER_SUB, F_WORK_FILES, Work
from .operations import review as ops
from .operations.common import current_campaign, settings_of, viewed_campaign
from .queries import (SORTS, STATUS_CHOICES, filter_works, paginate, scope_stmt,
                      status_counts)
from .settings import WorksSettings

LIST_TEMPLATE = "works/review_list.html"
ROW_TEMPLATE = "works/_review_row.html"
DETAIL_TEMPLATE = "works/review_detail.html"
CTXS = ("unit", "admin", "detail")


# --- helpers -----------------------------------------------------------------------
def _url_or_none(endpoint: str, **values) -> str | None:
    """URL of an endpoint another module provides, or None while it does not exist."""
    try:
        return url_for(endpoint, **values)
    except BuildError:
        return None


def _safe_next(default: str) -> str:
    return next_from_request(default)


def _ctx() -> str:
    ctx = request.values.get("ctx", "")
    return ctx if ctx in CTXS else "detail"


def _unit_orgs(user) -> list[Org]:
    ids = user.org_ids_for(R.UNIT_ADMIN)
    if not ids:
        return []
    return list(db.session.scalars(select(Org).where(Org.id.in_(ids)).order_by(Org.name, Org.id)))


def _selected_org(orgs: list[Org]) -> Org:
    raw = (request.values.get("org") or "").strip()
    if raw:
        if not raw.isdigit():
            abort(404)
        for o in orgs:
            if o.id == int(raw):
                return o
        abort(404)
    return orgs[0]


def _reviewable_or_404(work_id: int) -> Work:
    """The work, if the current user is the unit admin of its channel; else 404."""
    work = db.get_or_404(Work, work_id)
    if not work.can_review(current_user):
        abort(404)
    return work


def _visible_or_404(work_id: int) -> Work:
    """Unit admin of the work's channel, or platform admin (non-draft works only)."""
    work = db.get_or_404(Work, work_id)
    if work.status == DRAFT:
        abort(404)
    if not (work.can_review(current_user) or current_user.is_platform_admin):
        abort(404)
    return work


def _can(work: Work, action: str) -> bool:
    return WORK_FLOW.can(work, action, current_user)


def _base_ctx() -> dict:
    return dict(can_act=_can, state_labels=STATE_LABELS)


def _status_badge(status: str) -> str:
    return {"pending": "badge-pending", "returned": "badge-bad", "recommended": "badge-ok",
            "in_review": "badge-ok", "reviewed": "badge-ok"}.get(status, "")


def _summary_ctx(mode: str, campaign, org: Org | None) -> dict:
    """Status counts over the whole scope (not the filters) and, for a unit, its quota."""
    base = scope_stmt(current_user, campaign, org_id=org.id if org else None)
    ctx = dict(counts=status_counts(base), quota=None)
    if mode == "unit" and org is not None and campaign is not None:
        ctx["quota"] = ops.quota_info(campaign.id, org.id)
    return ctx


def _linker(endpoint: str, list_args: dict, filters=None):
    """link(**overrides) -> list URL keeping the unit and filters; link(fresh=True, ...)
    drops the filters (used by the status counts)."""
    def link(fresh: bool = False, **overrides):
        args = dict(list_args)
        if filters is not None and not fresh:
            args.update(filters.args(**overrides))
        else:
            args.update({k: v for k, v in overrides.items() if v not in (None, "")})
        return url_for(endpoint, **args)
    return link


def _list_ctx(mode: str, org: Org | None, orgs: list[Org]) -> dict:
    campaign = viewed_campaign()
    settings = WorksSettings(campaign)
    stmt = scope_stmt(current_user, campaign, org_id=org.id if org else None)
    stmt, filters = filter_works(stmt, request.args)
    page = paginate(stmt, filters.page)
    filters.page = page.page
    endpoint = "works.unit_list" if mode == "unit" else "works.admin_list"
    extra = {"org": org.id} if (mode == "unit" and org is not None and len(orgs) > 1) else {}
    ctx = dict(
        mode=mode, campaign=campaign, settings=settings, org=org, orgs=orgs,
        page=page, filters=filters, list_endpoint=endpoint, list_args=extra,
        link=_linker(endpoint, extra, filters),
        export_url=url_for("works.unit_export" if mode == "unit" else "works.admin_export",
                           **{**extra, **filters.args(page=1)}),
        status_choices=STATUS_CHOICES, sorts=SORTS, badge=_status_badge,
        next_url=url_for(endpoint, **extra, **filters.args()),
        channels=ops.recommender_units() if mode == "admin" else [],
        assign_url=_url_or_none("works.admin_assign") if mode == "admin" else None,
        **_summary_ctx(mode, campaign, org), **_base_ctx())
    return ctx


def _row_response(work: Work, mode: str, status: int = 200, **extra):
    """HTMX: the re-rendered row plus the status counts (out of band)."""
    org = work.channel if mode == "unit" else None
    ctx = dict(w=work, mode=mode, badge=_status_badge,
               assign_url=_url_or_none("works.admin_assign") if mode == "admin" else None,
               next_url=_safe_next(url_for("works.unit_list" if mode == "unit"
                                           else "works.admin_list")),
               **_base_ctx(), **extra)
    body = render_block(ROW_TEMPLATE, "row", **ctx)
    summary = _summary_ctx(mode, work.campaign, org)
    list_args = ({"org": org.id} if org is not None
                 and len(current_user.org_ids_for(R.UNIT_ADMIN)) > 1 else {})
    endpoint = "works.unit_list" if mode == "unit" else "works.admin_list"
    body += render_block(LIST_TEMPLATE, "summary", oob=True, mode=mode, org=org,
                         link=_linker(endpoint, list_args), status_choices=STATUS_CHOICES,
                         **summary)
    resp = make_response(body, status)
    resp.vary.add("HX-Request")
    return resp


def _detail_ctx(work: Work, **extra) -> dict:
    from .operations.apply import work_files  # written by the applicant-side module

    history = WORK_FLOW.history(work)
    ctx = dict(
        work=work, settings=settings_of(work), files=work_files(work), history=history,
        action_labels={a: t.label for a, t in WORK_FLOW.transitions.items()},
        badge=_status_badge, next_url=_safe_next(url_for("works.review_detail", work_id=work.id)),
        assign_url=(_url_or_none("works.admin_assign_work", work_id=work.id)
                    if current_user.is_platform_admin else None),
        back_url=_back_url(), **_base_ctx())
    ctx.update(extra)
    return ctx


def _back_url() -> str:
    if current_user.org_ids_for(R.UNIT_ADMIN):
        default = url_for("works.unit_list")
    else:
        default = url_for("works.admin_list")
    nxt = _safe_next(default)
    # "next" on a detail page points back at the list it came from.
    return nxt if "/review" not in nxt else default


def _respond(work: Work, ctx: str, status: int = 200, **extra):
    """HTMX answer for an action: the row (list) or the review block (detail)."""
    if ctx in ("unit", "admin"):
        return _row_response(work, ctx, status=status, **extra)
    return render(DETAIL_TEMPLATE, block="review", status=status, **_detail_ctx(work, **extra))


def _after_action(work_id: int, ctx: str, message: str, category: str, status: int = 200,
                  **extra):
    work = db.session.get(Work, work_id)
    if is_fragment():
        key = "row_notice" if category == "success" else "row_error"
        return _respond(work, ctx, status=status, **{key: message}, **extra)
    flash(message, category)
    return redirect_to(_safe_next(url_for("works.review_detail", work_id=work_id)))


# --- unit admin list -----------------------------------------------------------------
@bp.get("/unit/")
@login_required
def unit_list():
    orgs = _unit_orgs(current_user)
    if not orgs:
        if current_user.is_platform_admin:
            return redirect(url_for("works.admin_list"))
        abort(404)
    org = _selected_org(orgs)
    return render(LIST_TEMPLATE, block="results", **_list_ctx("unit", org, orgs))


@bp.get("/admin/")
@platform_admin_required
def admin_list():
    return render(LIST_TEMPLATE, block="results", **_list_ctx("admin", None, []))


# --- detail / row --------------------------------------------------------------------
@bp.get("/<int:work_id>/review")
@login_required
def review_detail(work_id: int):
    work = _visible_or_404(work_id)
    return render(DETAIL_TEMPLATE, **_detail_ctx(work))


@bp.get("/<int:work_id>/review/row")
@login_required
def review_row(work_id: int):
    """HTMX 取消: the row / review block without the comment box."""
    work = _visible_or_404(work_id)
    ctx = _ctx()
    if not is_fragment():
        return redirect(_safe_next(url_for("works.review_detail", work_id=work.id)))
    return _respond(work, ctx)


# --- decisions -----------------------------------------------------------------------
@bp.post("/<int:work_id>/recommend")
@login_required
def recommend(work_id: int):
    work = _reviewable_or_404(work_id)
    ctx = _ctx()
    title = work.display_title
    try:
        ops.recommend(work, current_user)
    except OperationError as e:
        return _after_action(work_id, ctx, e.message, "error", status=409)
    return _after_action(work_id, ctx, f"已推荐作品《{title}》。", "success")


@bp.route("/<int:work_id>/return", methods=["GET", "POST"])
@login_required
def return_work(work_id: int):
    work = _reviewable_or_404(work_id)
    ctx = _ctx()
    if request.method == "GET":
        try:
            WORK_FLOW.check(work, "return", current_user, comment="-")
        except TransitionError as e:  # e.g. already recommended in another tab
            if is_fragment():
                return _respond(work, ctx, status=409, row_error=e.message)
            return render(DETAIL_TEMPLATE, status=409, **_detail_ctx(work, row_error=e.message))
        if is_fragment():
            return _respond(work, ctx, return_box=True)
        return render(DETAIL_TEMPLATE, **_detail_ctx(work, return_box=True))
    comment = request.form.get("comment", "")
    title = work.display_title
    try:
        ops.return_work(work, current_user, comment)
    except OperationError as e:
        work = db.session.get(Work, work_id)
        if e.field == "comment":
            box = dict(return_box=True, comment_error=e.message, comment_value=comment)
            if is_fragment():
                return _respond(work, ctx, status=422, **box)
            return render(DETAIL_TEMPLATE, status=422, **_detail_ctx(work, **box))
        return _after_action(work_id, ctx, e.message, "error", status=409)
    return _after_action(work_id, ctx, f"已将作品《{title}》退回修改。", "success")


@bp.post("/unit/bulk-recommend")
@role_required(R.UNIT_ADMIN)
def bulk_recommend():
    default = url_for("works.unit_list")
    ids = request.form.getlist("work_ids")
    if not ids:
        flash("请先勾选要推荐的作品。", "warning")
        return redirect_to(_safe_next(default))
    result = ops.bulk_recommend(ids, current_user)
    if result.done and not result.refused:
        category = "success"
    elif result.done:
        category = "warning"
    else:
        category = "error"
    flash(result.message, category)
    return redirect_to(_safe_next(default))


# --- exports -------------------------------------------------------------------------
EXPORT_HEADER = [
    "编号", "作品名称", "作品类型", "作品分类", "作品简介", "作者姓名", "申报单位", "单位地址",
    "联系人", "联系电话", "电子邮箱", "职务/职称", "申报单位类型", "推荐渠道", "亮点总结",
    "相关媒体报道", "获奖情况", "状态", "退回意见", "提交时间", "推荐时间", "更新时间",
    "申报账号", "作品封面", "封面副图", "作品文件", "获奖情况附件",
]
FILE_FIELDS = (F_COVER, F_COVER_SUB, F_WORK_FILES, F_AWARD_FILES)


def _file_names(work_ids: list[int]) -> dict[int, dict[str, list[str]]]:
    out: dict[int, dict[str, list[str]]] = {}
    if not work_ids:
        return out
    for start in range(0, len(work_ids), 500):
        chunk = work_ids[start:start + 500]
        rows = db.session.execute(
            select(StoredFile.entity_id, StoredFile.field, StoredFile.original_name)
            .where(StoredFile.entity_type == ENTITY, StoredFile.entity_id.in_(chunk))
            .order_by(StoredFile.created_at, StoredFile.id))
        for wid, fieldname, name in rows:
            key = fieldname.rsplit(":", 1)[-1]
            out.setdefault(wid, {}).setdefault(key, []).append(name)
    return out


def _media_text(items) -> str:
    parts = []
    for m in items or []:
        if isinstance(m, dict):
            parts.append(" ".join(x for x in (m.get("title", ""), m.get("url", "")) if x))
        elif m:
            parts.append(str(m))
    return "\n".join(parts)


def _export(stmt, filename: str):
    """Every field of the filtered works, streamed (constant memory in the row count)."""
    ids = list(db.session.scalars(stmt.with_only_columns(Work.id).order_by(None)))
    files = _file_names(ids)

    def rows():
        query = stmt.options(selectinload(Work.owner), selectinload(Work.channel))
        for w in db.session.scalars(query.execution_options(yield_per=500)):
            f = files.get(w.id, {})
            yield [
                w.id, w.title, w.work_type, w.category, w.intro, w.author_name,
                w.applicant_unit, w.unit_address, w.contact_name, w.contact_phone, w.email,
                w.job_title, w.unit_type, w.channel.name if w.channel else "", w.highlights,
                _media_text(w.media_reports), w.awards, STATE_LABELS.get(w.status, w.status),
                w.return_comment, fmt(w.submitted_at), fmt(w.recommended_at),
                fmt(w.updated_at), w.owner.phone if w.owner else "",
                *["\n".join(f.get(k, [])) for k in FILE_FIELDS],
            ]

    return xlsx_response(filename, [("作品列表", EXPORT_HEADER, rows())])


@bp.get("/unit/export.xlsx")
@login_required
def unit_export():
    orgs = _unit_orgs(current_user)
    if not orgs:
        abort(404)
    org = _selected_org(orgs)
    stmt, _ = filter_works(scope_stmt(current_user, viewed_campaign(), org_id=org.id),
                           request.args)
    return _export(stmt, f"{org.name}_推荐作品列表.xlsx")


@bp.get("/admin/export.xlsx")
@platform_admin_required
def admin_export():
    stmt, _ = filter_works(scope_stmt(current_user, viewed_campaign()), request.args)
    return _export(stmt, "全部作品列表.xlsx")


# --- quotas --------------------------------------------------------------------------
@bp.route("/admin/quotas", methods=["GET", "POST"])
@platform_admin_required
def admin_quotas():
    campaign = current_campaign()
    q = (request.args.get("q") or "").strip()[:50]
    units = ops.recommender_units(q)
    usage = ops.usage_by_unit(campaign.id, [u.id for u in units]) if campaign else {}
    values = {u.id: ("" if usage.get(u.id) is None or usage[u.id].quota is None
                     else str(usage[u.id].quota)) for u in units}
    errors: dict[int, str] = {}
    if request.method == "POST" and campaign is not None:
        parsed: dict[int, int | None] = {}
        unit_ids = {u.id for u in units}
        for key in request.form:
            if not key.startswith("quota-"):
                continue
            raw_id = key[len("quota-"):]
            if not raw_id.isdigit() or int(raw_id) not in unit_ids:
                continue
            oid = int(raw_id)
            raw = request.form.get(key, "")
            values[oid] = raw.strip()
            value, error = ops.parse_quota(raw)
            if error:
                errors[oid] = error
            else:
                parsed[oid] = value
        if not errors:
            changed = ops.set_quotas(campaign, parsed, current_user)
            flash(f"已保存推荐限额（{changed} 个单位有变更）。" if changed else "推荐限额没有变更。",
                  "success")
            return redirect_to(url_for("works.admin_quotas", q=q or None))
    return render("works/admin_quotas.html", status=422 if errors else 200, campaign=campaign,
                  units=units, usage=usage, values=values, errors=errors, q=q)
