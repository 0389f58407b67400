"""National (platform / national admin) view of the cases call: every recommended case
by category and unit, the units' submission status (stamped scan) with 解锁, the
showcase selection (入选展示) with live counters, and the xlsx export.

科普作品传播 lists the works marked 入选 in the same-year works edition; choosing one
for the showcase adds a ``ShowcaseWork`` row. Not bound by the entry window.
"""
from __future__ import annotations

from flask import abort, flash, make_response, redirect, render_template, request, url_for
from flask_login import current_user, login_required
from jinja2_fragments.flask import render_block
from sqlalchemy import func, or_, select

from ..exports import xlsx_response
from ..extensions import db
from ..htmx import is_fragment, render
from ..orgs.models import Org
from ..timeutil import fmt
from ..urls import next_from_request
from ..workflow import OperationError
from . import bp
from .common import settings_of, viewed_campaign
from .flow import STATE_LABELS
from .models import (COUNTED_STATES, Case, CaseUnitSubmission, RecommendCode, ShowcaseWork,
                     is_national)
from .operations import review as review_ops
from .operations import select as ops

PER_PAGE = 50
SUB_FILTERS = {"yes": "已上传盖章扫描件", "no": "未上传"}
SEL_FILTERS = {"1": "已入选", "0": "未入选"}


def _national_or_404():
    if not is_national(current_user):
        abort(404)


def _campaign_or_404():
    campaign = viewed_campaign()
    if campaign is None:
        abort(404)
    return campaign


def _tabs(settings) -> dict[str, str]:
    tabs = {ops.WORKS: settings.category_label(ops.WORKS)}
    for key, spec in settings["categories"].items():
        tabs[key] = spec["label"]
    tabs["units"] = "推荐单位提交情况"
    return tabs


def _filters(tabs) -> dict:
    a = request.args
    tab = a.get("tab", "")
    if tab not in tabs:
        tab = next(iter(k for k in tabs if k != ops.WORKS), ops.WORKS)
    try:
        page = max(1, int(a.get("page", 1)))
    except ValueError:
        page = 1
    try:
        org = int(a.get("org", "") or 0) or None
    except ValueError:
        org = None
    return {"tab": tab, "q": a.get("q", "").strip()[:100], "org": org,
            "sub": a.get("sub", "") if a.get("sub", "") in SUB_FILTERS else "",
            "sel": a.get("sel", "") if a.get("sel", "") in SEL_FILTERS else "",
            "page": page}


def _page_url(f: dict, **override) -> str:
    args = {k: v for k, v in {**f, **override}.items() if v is not None and v != ""}
    if args.get("page") == 1:
        args.pop("page")
    return url_for("cases.admin_select", **args)


def _safe_next(default: str) -> str:
    return next_from_request(default, under=url_for("cases.admin_select"))


# --- queries ----------------------------------------------------------------------------

def _locked_subq(campaign):
    return (select(CaseUnitSubmission.org_id)
            .where(CaseUnitSubmission.campaign_id == campaign.id,
                   CaseUnitSubmission.locked.is_(True)))


def _cases_query(campaign, category: str, f: dict):
    stmt = (select(Case).join(Org, Org.id == Case.org_id)
            .where(Case.campaign_id == campaign.id, Case.category == category,
                   Case.status.in_(COUNTED_STATES)))
    if f["q"]:
        like = f"%{f['q']}%"
        stmt = stmt.where(or_(Case.name.ilike(like), Case.impl_unit.ilike(like),
                              Org.name.ilike(like)))
    if f["org"]:
        stmt = stmt.where(Case.org_id == f["org"])
    if f["sub"] == "yes":
        stmt = stmt.where(Case.org_id.in_(_locked_subq(campaign)))
    elif f["sub"] == "no":
        stmt = stmt.where(Case.org_id.not_in(_locked_subq(campaign)))
    if f["sel"]:
        stmt = stmt.where(Case.selected.is_(f["sel"] == "1"))
    return stmt.order_by(Org.name, Case.recommended_at, Case.id)


def _works_query(campaign, f: dict):
    stmt = ops.selected_works_query(campaign)
    if stmt is None:
        return None
    works = ops.works_pool()
    if f["q"]:
        stmt = stmt.where(works.search(f["q"]))
    if f["org"]:
        stmt = stmt.where(works.unit_column == f["org"])
    if f["sel"]:
        chosen = select(ShowcaseWork.work_id).where(
            ShowcaseWork.campaign_id == campaign.id)
        stmt = stmt.where(works.model.id.in_(chosen) if f["sel"] == "1"
                          else works.model.id.not_in(chosen))
    return stmt.order_by(works.category_column, works.model.id)


def _unit_rows(campaign, f: dict | None = None, only_org: int | None = None) -> list[dict]:
    """Units with a 推荐码, cases or a submission in this edition, with their counts."""
    org_ids = set(db.session.scalars(select(RecommendCode.org_id).where(
        RecommendCode.campaign_id == campaign.id)))
    org_ids |= set(db.session.scalars(select(Case.org_id).where(
        Case.campaign_id == campaign.id, Case.status.in_(COUNTED_STATES))))
    subs = {s.org_id: s for s in db.session.scalars(select(CaseUnitSubmission).where(
        CaseUnitSubmission.campaign_id == campaign.id))}
    org_ids |= set(subs)
    if only_org is not None:
        org_ids &= {only_org}
    if not org_ids:
        return []
    counts: dict[int, dict[str, int]] = {}
    for org_id, cat, n in db.session.execute(
            select(Case.org_id, Case.category, func.count(Case.id))
            .where(Case.campaign_id == campaign.id, Case.status.in_(COUNTED_STATES))
            .group_by(Case.org_id, Case.category)):
        counts.setdefault(org_id, {})[cat] = n
    orgs = db.session.scalars(select(Org).where(Org.id.in_(org_ids)).order_by(Org.name))
    rows = []
    for org in orgs:
        sub = subs.get(org.id)
        locked = bool(sub and sub.locked)
        c = counts.get(org.id, {})
        row = {"org": org, "counts": c, "total": sum(c.values()), "submission": sub,
               "locked": locked}
        if f:
            if f["q"] and f["q"].lower() not in org.name.lower():
                continue
            if f["org"] and org.id != f["org"]:
                continue
            if f["sub"] == "yes" and not locked:
                continue
            if f["sub"] == "no" and locked:
                continue
        rows.append(row)
    return rows


def _unit_options(campaign) -> list[Org]:
    ids = set(db.session.scalars(select(Case.org_id).where(
        Case.campaign_id == campaign.id, Case.status.in_(COUNTED_STATES))))
    works = ops.selected_works_query(campaign)
    if works is not None:
        ids |= {w.channel_id for w in db.session.scalars(works) if w.channel_id}
    if not ids:
        return []
    return list(db.session.scalars(select(Org).where(Org.id.in_(ids)).order_by(Org.name)))


# --- page -------------------------------------------------------------------------------

def _page(campaign, status: int = 200, row_errors: dict | None = None,
          unit_errors: dict | None = None, unit_values: dict | None = None,
          tab: str | None = None):
    settings = settings_of(campaign)
    tabs = _tabs(settings)
    f = _filters(tabs)
    if tab in tabs:  # a refused plain-form POST re-renders the tab it came from
        f["tab"] = tab
    counters = ops.counters(campaign)
    pagination = None
    units = []
    if f["tab"] == "units":
        units = _unit_rows(campaign, f)
    elif f["tab"] == ops.WORKS:
        stmt = _works_query(campaign, f)
        if stmt is not None:
            pagination = db.paginate(stmt, page=f["page"], per_page=PER_PAGE, error_out=False)
    else:
        pagination = db.paginate(_cases_query(campaign, f["tab"], f), page=f["page"],
                                 per_page=PER_PAGE, error_out=False)
    locked_orgs = set(db.session.scalars(_locked_subq(campaign)))
    return render(
        "cases/select.html", block="results", status=status, campaign=campaign,
        settings=settings, tabs=tabs, f=f, counters=counters, pagination=pagination,
        units=units, unit_options=_unit_options(campaign), sub_filters=SUB_FILTERS,
        sel_filters=SEL_FILTERS, works_campaign=ops.works_campaign_for(campaign),
        showcase_ids=ops.showcase_work_ids(campaign), locked_orgs=locked_orgs,
        state_labels=STATE_LABELS, page_url=_page_url, next_url=_page_url(f, page=f["page"]),
        row_errors=row_errors or {}, unit_errors=unit_errors or {},
        unit_values=unit_values or {},
        page_errors=list((row_errors or {}).values()) + list((unit_errors or {}).values()))


@bp.get("/admin/select")
@login_required
def admin_select():
    _national_or_404()
    return _page(_campaign_or_404())


def _row_response(campaign, html: str, status: int = 200):
    html += render_block("cases/select.html", "counters", counters=ops.counters(campaign),
                         oob=True)
    resp = make_response(html, status)
    resp.vary.add("HX-Request")
    return resp


def _case_row_html(case: Case, **extra) -> str:
    campaign = case.campaign
    locked = review_ops.is_locked(campaign.id, case.org_id)
    return render_template("cases/_select_row.html", row_kind="case", case=case,
                           settings=settings_of(campaign), locked_orgs={case.org_id} if locked else set(),
                           state_labels=STATE_LABELS, next_url=_safe_next(url_for(
                               "cases.admin_select", tab=case.category)), **extra)


def _work_row_html(campaign, work, **extra) -> str:
    return render_template("cases/_select_row.html", row_kind="work", work=work,
                           showcase_ids=ops.showcase_work_ids(campaign),
                           next_url=_safe_next(url_for("cases.admin_select", tab=ops.WORKS)),
                           **extra)


def _value() -> bool:
    return request.form.get("value", "") in ("1", "true", "on", "yes")


@bp.post("/admin/cases/<int:case_id>/select")
@login_required
def admin_select_case(case_id: int):
    _national_or_404()
    case = db.get_or_404(Case, case_id)
    if not case.can_view(current_user) or case.status not in COUNTED_STATES:
        abort(404)
    campaign = case.campaign
    value = _value()
    try:
        ops.set_case_selected(case, current_user, value)
    except OperationError as err:
        db.session.rollback()
        case = db.session.get(Case, case_id)
        if is_fragment():
            return _row_response(campaign, _case_row_html(case, error=err.message), 422)
        return _page(campaign, 422, row_errors={("case", case.id): err.message},
                     tab=case.category)
    if is_fragment():
        return _row_response(campaign, _case_row_html(case))
    flash(f"“{case.display_name}”{'已入选展示' if value else '已取消入选'}", "success")
    return redirect(_safe_next(url_for("cases.admin_select", tab=case.category)), 303)


@bp.post("/admin/works/<int:work_id>/select")
@login_required
def admin_select_work(work_id: int):
    _national_or_404()
    campaign = _campaign_or_404()
    works = ops.works_pool()
    if works is None:
        abort(404)
    work = db.get_or_404(works.model, work_id)
    if not ops.work_in_pool(campaign, work) and work.id not in ops.showcase_work_ids(campaign):
        abort(404)
    value = _value()
    try:
        ops.set_work_selected(campaign, work, current_user, value)
    except OperationError as err:
        db.session.rollback()
        work = db.session.get(works.model, work_id)
        if is_fragment():
            return _row_response(campaign, _work_row_html(campaign, work, error=err.message), 422)
        return _page(campaign, 422, row_errors={("work", work.id): err.message},
                     tab=ops.WORKS)
    if is_fragment():
        return _row_response(campaign, _work_row_html(campaign, work))
    flash(f"《{work.display_title}》{'已入选展示' if value else '已取消入选'}", "success")
    return redirect(_safe_next(url_for("cases.admin_select", tab=ops.WORKS)), 303)


@bp.post("/admin/units/<int:org_id>/unlock")
@login_required
def admin_unlock(org_id: int):
    _national_or_404()
    campaign = _campaign_or_404()
    org = db.get_or_404(Org, org_id)
    reason = request.form.get("reason", "")
    try:
        review_ops.unlock(campaign, org.id, current_user, reason)
    except OperationError as err:
        db.session.rollback()
        if is_fragment():
            rows = _unit_rows(campaign, only_org=org.id)
            if not rows:
                abort(404)
            html = render_template("cases/_select_row.html", row_kind="unit", u=rows[0],
                                   unit_error=err.message, unit_value=reason,
                                   next_url=_safe_next(url_for("cases.admin_select", tab="units")),
                                   settings=settings_of(campaign))
            resp = make_response(html, 422)
            resp.vary.add("HX-Request")
            return resp
        return _page(campaign, 422, unit_errors={org.id: err.message},
                     unit_values={org.id: reason}, tab="units")
    if is_fragment():
        rows = _unit_rows(campaign, only_org=org.id)
        html = render_template("cases/_select_row.html", row_kind="unit", u=rows[0],
                               unit_notice="已解锁",
                               next_url=_safe_next(url_for("cases.admin_select", tab="units")),
                               settings=settings_of(campaign))
        resp = make_response(html)
        resp.vary.add("HX-Request")
        return resp
    flash(f"已解锁“{org.name}”的推荐结果", "success")
    return redirect(_safe_next(url_for("cases.admin_select", tab="units")), 303)


# --- export -------------------------------------------------------------------------------

@bp.get("/admin/select.xlsx")
@login_required
def admin_select_export():
    _national_or_404()
    campaign = _campaign_or_404()
    settings = settings_of(campaign)
    yes_no = {True: "是", False: "否"}
    sheets = []
    works_stmt = ops.selected_works_query(campaign)
    chosen = ops.showcase_work_ids(campaign)
    work_rows = []
    if works_stmt is not None:
        works = ops.works_pool()
        for i, w in enumerate(db.session.scalars(
                works_stmt.order_by(works.category_column, works.model.id)), 1):
            work_rows.append([i, w.title, w.work_type, w.category, w.author_name,
                              w.applicant_unit, w.channel.name if w.channel else "",
                              w.contact_name, w.contact_phone, yes_no[w.id in chosen]])
    sheets.append((settings.category_label(ops.WORKS),
                   ["序号", "作品名称", "作品类型", "作品分类", "作者", "申报单位", "推荐单位",
                    "联系人", "联系电话", "入选展示"], work_rows))
    locked_orgs = set(db.session.scalars(_locked_subq(campaign)))
    for key, spec in settings["categories"].items():
        rows = []
        stmt = (select(Case).join(Org, Org.id == Case.org_id)
                .where(Case.campaign_id == campaign.id, Case.category == key,
                       Case.status.in_(COUNTED_STATES))
                .order_by(Org.name, Case.recommended_at, Case.id))
        for i, c in enumerate(db.session.scalars(stmt), 1):
            subtype = c.subtype + (f"（{c.subtype_other}）" if c.subtype == "其他"
                                   and c.subtype_other else "")
            rows.append([i, c.name, subtype, c.org.name, c.impl_unit, c.unit_address,
                         c.contact_name, c.job_title, c.contact_phone, c.email,
                         STATE_LABELS.get(c.status, c.status),
                         yes_no[c.org_id in locked_orgs], fmt(c.recommended_at),
                         yes_no[bool(c.selected)], c.duplicate_note])
        sheets.append((spec["label"],
                       ["序号", "案例名称", "子类", "推荐单位", "实施单位", "单位地址", "联系人",
                        "职务/职称", "联系电话", "电子邮箱", "状态", "单位已上传盖章扫描件",
                        "推荐时间", "入选展示", "疑似重复说明"], rows))
    unit_rows = []
    for i, u in enumerate(_unit_rows(campaign), 1):
        sub = u["submission"]
        unit_rows.append([i, u["org"].name, u["org"].kind,
                          *[u["counts"].get(k, 0) for k in settings["categories"]], u["total"],
                          yes_no[u["locked"]],
                          fmt(sub.submitted_at) if sub and u["locked"] else ""])
    sheets.append(("推荐单位",
                   ["序号", "推荐单位", "单位类型",
                    *[spec["label"] for spec in settings["categories"].values()], "合计",
                    "已上传盖章扫描件", "上传时间"], unit_rows))
    return xlsx_response(f"{campaign.title}_推荐案例与入选展示.xlsx", sheets,
                         widths={1: 30, 2: 14, 3: 24, 4: 24})
