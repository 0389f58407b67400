"""Unit case admins (role ``case_unit``, scoped to their recommender units): the unit's
cases with search/filters and inline 推荐 / 退回 / 撤销推荐 within quotas, the summary
table (PDF / xlsx), the stamped scan upload; and the printable 案例信息表 of one case.

A user administering several units switches with ``?org=<id>`` (only their own units,
anything else is 404). Every write goes through ``operations.review``.
"""
from __future__ import annotations

from urllib.parse import quote

from flask import (Response, abort, flash, make_response, redirect, render_template, request,
                   url_for)
from flask_login import current_user, login_required
from jinja2_fragments.flask import render_block
from sqlalchemy import or_, select

from ..accounts import roles as R
from ..exports import xlsx_response
from ..extensions import db
from ..files.operations import UploadError, claim_uploads, save_uploads_from_request
from ..files.specs import get_field
from ..files.storage import accepts_uploads, limit_for
from ..htmx import is_fragment, render
from ..orgs.models import Org
from ..timeutil import fmt, utcnow
from ..urls import next_from_request
from ..workflow import AuditLog, OperationError
from . import bp
from .common import settings_of, viewed_campaign, window_state
from .files import F_SCAN
from .flow import CASE_FLOW, STATE_LABELS
from .models import DRAFT, FINALISED, RECOMMENDED, RETURNED, SUBMITTED, Case
from .operations import review as ops
from .operations.entry import case_files

PER_PAGE = 20
SORTS = {
    "submitted": ("最新提交", (Case.submitted_at.desc(), Case.id.desc())),
    "name": ("案例名称", (Case.name, Case.id)),
    "category": ("所属类别", (Case.category, Case.subtype, Case.id)),
    "status": ("状态", (Case.status, Case.id)),
}
FILTER_STATES = [SUBMITTED, RECOMMENDED, FINALISED, RETURNED]
BADGES = {SUBMITTED: "badge-pending", RETURNED: "badge-bad", RECOMMENDED: "badge-ok",
          FINALISED: "badge-ok"}


# --- scope ------------------------------------------------------------------------------

def _campaign_or_404():
    campaign = viewed_campaign()
    if campaign is None:
        abort(404)
    return campaign


def _unit_orgs() -> list[Org]:
    ids = current_user.org_ids_for(R.CASE_UNIT)
    if not ids:
        return []
    return list(db.session.scalars(select(Org).where(Org.id.in_(ids)).order_by(Org.name, Org.id)))


def _current_org(orgs: list[Org]) -> Org:
    """The unit chosen with ?org= (form field ``org`` on posts); only the user's own."""
    if not orgs:
        abort(404)
    raw = request.values.get("org", "").strip()
    if not raw:
        return orgs[0]
    for org in orgs:
        if str(org.id) == raw:
            return org
    abort(404)


def _reviewable(case_id: int) -> Case:
    case = db.get_or_404(Case, case_id)
    if not case.can_review(current_user):
        abort(404)
    return case


def _list_url(org: Org | None = None) -> str:
    """The list URL to go back to (``next`` if it is one of ours, else the plain list)."""
    base = url_for("cases.unit_list")
    fallback = url_for("cases.unit_list", org=org.id) if org is not None else base
    return next_from_request(fallback, under=base)


# --- page context -----------------------------------------------------------------------

def _filters() -> dict:
    args = request.args
    status = args.get("status", "")
    sort = args.get("sort", "submitted")
    try:
        page = max(1, int(args.get("page", 1)))
    except ValueError:
        page = 1
    return {
        "q": args.get("q", "").strip()[:100],
        "category": args.get("category", ""),
        "subtype": args.get("subtype", ""),
        "status": status if status in FILTER_STATES else "",
        "sort": sort if sort in SORTS else "submitted",
        "page": page,
    }


def _query(campaign, org: Org, f: dict):
    stmt = select(Case).where(Case.campaign_id == campaign.id, Case.org_id == org.id,
                              Case.status != DRAFT)
    if f["q"]:
        like = f"%{f['q']}%"
        stmt = stmt.where(or_(Case.name.ilike(like), Case.impl_unit.ilike(like),
                              Case.contact_name.ilike(like)))
    if f["category"]:
        stmt = stmt.where(Case.category == f["category"])
    if f["subtype"]:
        stmt = stmt.where(Case.subtype == f["subtype"])
    if f["status"]:
        stmt = stmt.where(Case.status == f["status"])
    return stmt.order_by(*SORTS[f["sort"]][1])


def _unit_state(campaign, org: Org) -> dict:
    sub = ops.submission_for(campaign.id, org.id)
    window = window_state(campaign)
    locked = bool(sub and sub.locked)
    return {"submission": sub, "locked": locked, "window": window,
            "can_act": window.open and not locked,
            "meter": ops.quota_meter(campaign, org.id)}


def _row_ctx(case: Case, org: Org, state: dict, **extra) -> dict:
    ctx = {"case": case, "org": org, "can_act": state["can_act"],
           "next_url": extra.pop("next_url", None) or _list_url(org),
           "state_labels": STATE_LABELS, "badges": BADGES,
           "settings": settings_of(case.campaign)}
    ctx.update(extra)
    return ctx


def _page(campaign, org: Org, orgs: list[Org], status: int = 200, focus: Case | None = None,
          row_errors: dict | None = None, row_extra: dict | None = None):
    f = _filters()
    state = _unit_state(campaign, org)
    settings = settings_of(campaign)
    if focus is not None:
        items, pagination = [focus], None
    else:
        pagination = db.paginate(_query(campaign, org, f), page=f["page"], per_page=PER_PAGE,
                                 error_out=False)
        items = pagination.items
    args = {k: v for k, v in f.items() if v and k != "page"}
    if f["sort"] == "submitted":
        args.pop("sort", None)
    if len(orgs) > 1:
        args["org"] = org.id
    list_url = url_for("cases.unit_list", **args, **({"page": f["page"]} if f["page"] > 1 else {}))
    return render(
        "cases/unit_list.html", block="results", status=status,
        campaign=campaign, settings=settings, org=org, orgs=orgs, f=f, args=args,
        sorts={k: v[0] for k, v in SORTS.items()}, filter_states=FILTER_STATES,
        state_labels=STATE_LABELS, badges=BADGES, items=items, pagination=pagination,
        focus=focus, row_errors=row_errors or {}, row_extra=row_extra or {},
        next_url=list_url, **state)


def _row_response(case: Case, org: Org, status: int = 200, **extra):
    """HTMX: the row, plus the quota meter out of band."""
    state = _unit_state(case.campaign, org)
    html = render_template("cases/_unit_row.html", **_row_ctx(case, org, state, **extra))
    html += render_block("cases/unit_list.html", "quota", meter=state["meter"], oob=True,
                         org=org, campaign=case.campaign)
    resp = make_response(html, status)
    resp.vary.add("HX-Request")
    return resp


# --- list -------------------------------------------------------------------------------

@bp.get("/unit/")
@login_required
def unit_list():
    orgs = _unit_orgs()
    org = _current_org(orgs)
    campaign = _campaign_or_404()
    return _page(campaign, org, orgs)


@bp.get("/unit/cases/<int:case_id>/row")
@login_required
def unit_row(case_id: int):
    case = _reviewable(case_id)
    if is_fragment():
        return _row_response(case, case.org)
    return redirect(_list_url(case.org), 303)


def _after_action(case: Case, notice: str):
    if is_fragment():
        return _row_response(case, case.org, notice=notice)
    flash(f"“{case.display_name}”{notice}", "success")
    return redirect(_list_url(case.org), 303)


def _refused(case: Case, err: OperationError, **row_extra):
    """422: the row with the message (HTMX), or the list focused on this case."""
    if is_fragment():
        return _row_response(case, case.org, status=422, error=err.message, **row_extra)
    return _page(case.campaign, case.org, _unit_orgs(), status=422, focus=case,
                 row_errors={case.id: err.message}, row_extra=row_extra)


def _unit_decision(case_id: int, operation, notice: str):
    """推荐 / 撤销推荐: the operation, then the row (or the list) with the outcome."""
    case = _reviewable(case_id)
    try:
        operation(case, current_user)
    except OperationError as err:
        db.session.rollback()
        return _refused(db.session.get(Case, case_id), err)
    return _after_action(case, notice)


@bp.post("/unit/cases/<int:case_id>/recommend")
@login_required
def unit_recommend(case_id: int):
    return _unit_decision(case_id, ops.recommend, "已推荐")


@bp.post("/unit/cases/<int:case_id>/unrecommend")
@login_required
def unit_unrecommend(case_id: int):
    return _unit_decision(case_id, ops.unrecommend, "已撤销推荐")


@bp.route("/unit/cases/<int:case_id>/return", methods=["GET", "POST"])
@login_required
def unit_return(case_id: int):
    case = _reviewable(case_id)
    if request.method == "GET":
        extra = {"returning": True}
        if is_fragment():
            return _row_response(case, case.org, **extra)
        return _page(case.campaign, case.org, _unit_orgs(), focus=case, row_extra=extra)
    comment = request.form.get("comment", "")
    try:
        ops.return_case(case, current_user, comment)
    except OperationError as err:
        db.session.rollback()
        case = db.session.get(Case, case_id)
        if err.field == "comment":
            extra = {"returning": True, "comment_error": err.message, "comment_value": comment}
            if is_fragment():
                return _row_response(case, case.org, status=422, **extra)
            return _page(case.campaign, case.org, _unit_orgs(), status=422, focus=case,
                         row_extra=extra)
        return _refused(case, err)
    return _after_action(case, "已退回修改")


# --- summary, PDF, xlsx, scan -------------------------------------------------------------

def _summary_page(campaign, org: Org, orgs: list[Org], status: int = 200,
                  errors: dict | None = None, scan_files=None):
    state = _unit_state(campaign, org)
    cases = ops.unit_cases(campaign.id, org.id)
    sub = state["submission"]
    history = []
    if sub is not None:
        history = list(db.session.scalars(
            select(AuditLog).where(AuditLog.entity_type == "case_submission",
                                   AuditLog.entity_id == sub.id)
            .order_by(AuditLog.at.desc(), AuditLog.id.desc()).limit(20)))
    return render("cases/unit_summary.html", status=status, campaign=campaign,
                  settings=settings_of(campaign), org=org, orgs=orgs, cases=cases,
                  errors=errors or {}, scan_files=scan_files or [], history=history,
                  f_scan=F_SCAN, **state)


@bp.get("/unit/summary")
@login_required
def unit_summary():
    orgs = _unit_orgs()
    org = _current_org(orgs)
    return _summary_page(_campaign_or_404(), org, orgs)


def _pdf_response(data: bytes, filename: str):
    resp = Response(data, mimetype="application/pdf")
    resp.headers["Content-Disposition"] = (
        f"attachment; filename=\"document.pdf\"; filename*=UTF-8''{quote(filename)}")
    resp.headers["Cache-Control"] = "no-store"
    return resp


def _pdf_or_error(render_fn):
    from ..web import error_response
    from .pdf import PdfFontError

    try:
        return render_fn()
    except PdfFontError as e:
        return error_response(503, str(e))


@bp.get("/unit/summary.pdf")
@login_required
def unit_summary_pdf():
    from .pdf import summary_pdf

    orgs = _unit_orgs()
    org = _current_org(orgs)
    campaign = _campaign_or_404()
    cases = ops.unit_cases(campaign.id, org.id)
    stamp = fmt(utcnow(), "%Y%m%d")

    def make():
        data = summary_pdf(campaign, org, cases, settings_of(campaign),
                           ops.submission_for(campaign.id, org.id))
        return _pdf_response(data, f"{org.name}_案例推荐汇总表_{stamp}.pdf")

    return _pdf_or_error(make)


@bp.get("/unit/summary.xlsx")
@login_required
def unit_summary_xlsx():
    orgs = _unit_orgs()
    org = _current_org(orgs)
    campaign = _campaign_or_404()
    settings = settings_of(campaign)
    cases = ops.unit_cases(campaign.id, org.id)
    header = ["序号", "案例名称", "所属类别", "子类", "实施单位", "联系人", "联系电话",
              "职务/职称", "电子邮箱", "单位地址", "状态", "推荐时间"]
    rows = []
    for i, c in enumerate(cases, 1):
        subtype = c.subtype + (f"（{c.subtype_other}）" if c.subtype == "其他" and c.subtype_other
                               else "")
        rows.append([i, c.name, settings.category_label(c.category), subtype, c.impl_unit,
                     c.contact_name, c.contact_phone, c.job_title, c.email, c.unit_address,
                     STATE_LABELS.get(c.status, c.status), fmt(c.recommended_at)])
    rows += [[], [f"推荐单位：{org.name}"], [f"导出日期：{fmt(utcnow(), '%Y-%m-%d')}"],
             ["推荐单位（盖章）：", "", "", "", "日期：　　年　　月　　日"]]
    return xlsx_response(f"{org.name}_案例推荐汇总表.xlsx", [("推荐汇总表", header, rows)],
                         widths={0: 6, 1: 30, 2: 14, 3: 14, 4: 28, 5: 10, 6: 16})


@bp.post("/unit/scan")
@accepts_uploads(lambda: limit_for(get_field(F_SCAN)))
@login_required
def unit_scan():
    orgs = _unit_orgs()
    org = _current_org(orgs)
    campaign = _campaign_or_404()
    try:
        new, errors = save_uploads_from_request(F_SCAN, current_user, "scan")
        claimed = claim_uploads(request.form.getlist("scan"), current_user, F_SCAN)
    except UploadError as e:
        new, errors, claimed = [], [e.message], []
    files = new + claimed
    if errors:
        return _summary_page(campaign, org, orgs, 422, errors={"scan": errors[0]},
                             scan_files=claimed)
    if not files:
        return _summary_page(campaign, org, orgs, 422,
                             errors={"scan": "请上传盖章汇总表扫描件（PDF或图片）"})
    scan = files[0]
    try:
        ops.upload_scan(campaign, org.id, current_user, scan)
    except OperationError as err:
        db.session.rollback()
        kept = [f for f in files if f.entity_type is None]
        return _summary_page(campaign, org, orgs, 422,
                             errors={err.field or "form": err.message}, scan_files=kept)
    flash("已上传盖章汇总表扫描件，本单位案例推荐提交成功", "success")
    args = {"org": org.id} if len(orgs) > 1 else {}
    return redirect(url_for("cases.unit_summary", **args), 303)


# --- 案例信息表 PDF -------------------------------------------------------------------------

@bp.get("/<int:case_id>/info.pdf")
@login_required
def case_pdf(case_id: int):
    from .pdf import case_pdf as render_case_pdf

    case = db.get_or_404(Case, case_id)
    if not case.can_view(current_user):
        abort(404)
    settings = settings_of(case)
    files = case_files(case)
    landscape, portrait = files["photo_landscape"], files["photo_portrait"]
    photos = [("横版照片", landscape[-1] if landscape else None),
              ("竖版照片", portrait[-1] if portrait else None)]

    def make():
        data = render_case_pdf(case, settings, photos,
                               award_files=files["award_proof"],
                               status_label=CASE_FLOW.label(case.status))
        return _pdf_response(data, f"案例信息表_{case.name or case.id}.pdf")

    return _pdf_or_error(make)
