"""Unit case admins (role ``case_unit``, scoped to their recommender units): the unit's
cases with search/filters and inline 推荐 / 退回 / 撤销推荐 within quotas, the summary
table (PDF / xlsx), the stamped scan upload; and the printable 案例信息表 of one case.

A user administering several units switches with ``?org=<id>`` (only their own units,
anything else is 404). Every write goes through ``operations.review``.
"""
from __future__ import annotations

from urllib.parse import quote

from flask import Response, abort, flash, redirect, request, session, url_for
from flask_login import current_user, login_required
from sqlalchemy import select

from ..accounts import roles as R
from ..exports import xlsx_response
from ..extensions import db
from ..files.operations import UploadError, claim_uploads, save_uploads_from_request
from ..files.specs import get_field
from ..files.storage import accepts_uploads, limit_for
from ..htmx import render
from ..review_queue import Deadline, QueueContext
from ..review_queue.views import QueueViews
from ..orgs.models import Org
from ..timeutil import fmt, utcnow
from ..workflow import AuditLog, OperationError
from . import bp
from .common import settings_of, viewed_campaign, window_state
from .files import F_SCAN
from .flow import CASE_FLOW, STATE_LABELS
from .models import FINALISED, RECOMMENDED, RETURNED, SUBMITTED, Case
from .operations import review as ops
from .operations.entry import case_files
from .queues import UNIT_QUEUE

BADGES = {SUBMITTED: "badge-pending", RETURNED: "badge-bad", RECOMMENDED: "badge-ok",
          FINALISED: "badge-ok"}
LIST_TEMPLATE = "cases/unit_list.html"


# --- scope ------------------------------------------------------------------------------

def _campaign_or_404():
    campaign = viewed_campaign()
    if campaign is None:
        abort(404)
    return campaign


def _unit_orgs() -> list[Org]:
    return current_user.orgs_for(R.CASE_UNIT)


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


def _unit_state(campaign, org: Org, meter: bool = True) -> dict:
    sub = ops.submission_for(campaign.id, org.id)
    window = window_state(campaign)
    locked = bool(sub and sub.locked)
    state = {"submission": sub, "locked": locked, "window": window,
             "can_act": window.open and not locked}
    if meter:
        state["meter"] = ops.quota_meter(campaign, org.id)
    return state


def _context(case: Case | None = None, orgs: list[Org] | None = None) -> QueueContext:
    """The unit list's context: the case's unit, or the unit picked with ?org=."""
    if case is not None:
        campaign, org = case.campaign, case.org
        several = len(current_user.org_ids_for(R.CASE_UNIT)) > 1
    else:
        campaign = _campaign_or_404()
        org = _current_org(orgs or [])
        several = len(orgs) > 1
    state = _unit_state(campaign, org, meter=False)
    return QueueContext(current_user, campaign, org, can_decide=state["can_act"],
                        extra={"settings": settings_of(campaign), "orgs": orgs or [],
                               "state": state,
                               "list_url_args": {"org": org.id} if several else {}})


def _deadline(campaign) -> Deadline | None:
    close = settings_of(campaign).window_close_at
    return Deadline("推荐截止", close) if close is not None else None


def _page_extra(page) -> dict:
    ctx = page.ctx
    # Read after a decision (the meter shows the slot it took or freed).
    meter = ops.quota_meter(ctx.campaign, ctx.org.id)
    return dict(campaign=ctx.campaign, settings=ctx.extra["settings"], org=ctx.org,
                orgs=ctx.extra.get("orgs", []), state_labels=STATE_LABELS, badges=BADGES,
                deadline=_deadline(ctx.campaign), meter=meter, **ctx.extra["state"])


def _detail_ctx(case: Case) -> dict:
    from .entry_routes import history_rows

    return dict(case=case, settings=settings_of(case), files=case_files(case),
                history=history_rows(case), state_labels=STATE_LABELS, badges=BADGES)


OPERATIONS = {
    "recommend": lambda case, user, comment: ops.recommend(case, user),
    "return": lambda case, user, comment: ops.return_case(case, user, comment),
    "unrecommend": lambda case, user, comment: ops.unrecommend(case, user),
    "unreturn": lambda case, user, comment: ops.unreturn(case, user),
}
VIEWS = QueueViews(
    UNIT_QUEUE, list_template=LIST_TEMPLATE, row_template="cases/_unit_row.html",
    detail_template="cases/unit_detail.html", context=lambda case: _context(case),
    operations=OPERATIONS, detail_context=_detail_ctx, page_context=_page_extra,
    notices={"recommend": "已推荐“{title}”。", "return": "已将“{title}”退回修改。",
             "unrecommend": "已撤销推荐“{title}”。", "unreturn": "已撤销退回，“{title}”回到待推荐。"},
    title=lambda c: c.display_name,
    action_endpoints={"recommend": "cases.unit_recommend", "return": "cases.unit_return",
                      "unrecommend": "cases.unit_unrecommend",
                      "unreturn": "cases.unit_unreturn"},
    row_endpoint="cases.unit_row", bulk_endpoint="cases.unit_bulk", id_arg="case_id",
    row_id_prefix="case-row-")


# --- list -------------------------------------------------------------------------------

@bp.get("/unit/")
@login_required
def unit_list():
    orgs = _unit_orgs()
    return VIEWS.list_page(_context(orgs=orgs), clear_selection=session.pop("queue_clear", None))


@bp.get("/unit/cases/<int:case_id>")
@login_required
def unit_detail(case_id: int):
    return VIEWS.detail(_reviewable(case_id))


@bp.get("/unit/cases/<int:case_id>/row")
@login_required
def unit_row(case_id: int):
    return VIEWS.row(_reviewable(case_id))


@bp.post("/unit/cases/<int:case_id>/recommend")
@login_required
def unit_recommend(case_id: int):
    return VIEWS.decide(_reviewable(case_id), "recommend")


@bp.post("/unit/cases/<int:case_id>/unrecommend")
@login_required
def unit_unrecommend(case_id: int):
    return VIEWS.decide(_reviewable(case_id), "unrecommend")


@bp.post("/unit/cases/<int:case_id>/unreturn")
@login_required
def unit_unreturn(case_id: int):
    return VIEWS.decide(_reviewable(case_id), "unreturn")


@bp.route("/unit/cases/<int:case_id>/return", methods=["GET", "POST"])
@login_required
def unit_return(case_id: int):
    case = _reviewable(case_id)
    if request.method == "GET":
        return VIEWS.open_comment(case, "return")
    return VIEWS.decide(case, "return")


@bp.post("/unit/bulk")
@login_required
def unit_bulk():
    orgs = _unit_orgs()
    if not orgs:
        abort(404)
    return VIEWS.bulk(_context(orgs=orgs), request.form.get("action") or "recommend",
                      "queue/confirm.html")


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
