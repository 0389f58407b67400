"""Experts (评审任务, scoring) and platform admins (assignment, ranking, selection,
publishing, statistics). Thin: load → 404 → permission → operation → render.

URL map (prefix /works):
  GET       /expert/                       expert_list          experts: own assignments only
  GET/POST  /expert/<assignment_id>        expert_score         the assigned expert (admin: GET, read-only)
  GET/POST  /admin/assign                  admin_assign         platform admin: bulk assignment
  GET/POST  /admin/<work_id>/assign        admin_assign_work    platform admin: per-work experts
  GET       /admin/ranking                 admin_ranking        platform admin
  GET       /admin/ranking.xlsx            admin_ranking_export platform admin
  POST      /admin/<work_id>/select        admin_select         platform admin: 入选 toggle
  POST      /admin/publish                 admin_publish        platform admin
  POST      /admin/unpublish               admin_unpublish      platform admin
  GET       /admin/stats                   admin_stats          platform admin
"""
from __future__ import annotations

from datetime import datetime, timezone

from flask import abort, current_app, flash, request, session, url_for
from flask_login import current_user, login_required
from sqlalchemy import select
from sqlalchemy.orm import selectinload

from ..accounts import roles as R
from ..accounts.permissions import platform_admin_required
from ..exports import xlsx_response
from ..extensions import db
from ..htmx import is_fragment, redirect_to, render
from ..inputs import parse_id
from ..timeutil import fmt
from . import bp, stats
from .flow import STATE_LABELS, status_label
from .models import DRAFT, IN_REVIEW, RECOMMENDED, REVIEWED, Work, WorkAssignment
from .operations import scoring as ops
from .operations.apply import work_files
from .operations.common import OperationError, viewed_campaign
from ..review_queue import QueueContext
from .queues import ASSIGN_QUEUE
from .settings import WorksSettings

ASSIGN_PER_PAGE = 50

#: Tabs shared by the platform admin's works pages (only those that exist are shown).
ADMIN_TABS = [("works.admin_list", "全部作品"), ("works.admin_assign", "分配专家"),
              ("works.admin_ranking", "评审排名与入选"), ("works.admin_stats", "统计")]


def _admin_tabs():
    return [(e, label) for e, label in ADMIN_TABS if e in current_app.view_functions]


def _campaign_or_404():
    campaign = viewed_campaign()
    if campaign is None:
        abort(404)
    return campaign


# =========================================================================== experts

@bp.get("/expert/", endpoint="expert_list")
@login_required
def expert_list():
    campaign = viewed_campaign()
    assignments = []
    if campaign is not None:
        assignments = list(db.session.scalars(
            select(WorkAssignment).join(Work, Work.id == WorkAssignment.work_id)
            .where(WorkAssignment.expert_id == current_user.id,
                   Work.campaign_id == campaign.id)
            .options(selectinload(WorkAssignment.work))
            .order_by(WorkAssignment.submitted_at.is_not(None), Work.category, Work.id)))
    if not current_user.has_role(R.EXPERT) and not assignments:
        abort(404)
    rows = [(a, ops.assignment_state(a)) for a in assignments]
    counts = {"todo": 0, "saved": 0, "submitted": 0}
    for _, (code, _label) in rows:
        counts[code] += 1
    state = request.args.get("state", "")
    if state in counts:
        rows = [r for r in rows if r[1][0] == state]
    else:
        state = ""
    return render("works/expert_list.html", block="results", rows=rows, counts=counts,
                  total=len(assignments), state=state, campaign=campaign,
                  state_labels=STATE_LABELS, fmt_number=ops.fmt_number)


def _score_fields(rubric, assignment, form=None):
    """Per-criterion values for the template: typed values win over stored ones."""
    scores, comments = assignment.scores or {}, assignment.comments or {}
    fields = []
    for c in rubric:
        key = c["key"]
        if form is not None:
            value, comment = form.get(f"score_{key}", ""), form.get(f"comment_{key}", "")
        else:
            value, comment = ops.fmt_number(scores.get(key)), comments.get(key, "")
        fields.append({**c, "value": value, "comment": comment,
                       "max_text": ops.fmt_number(c["max"])})
    overall = form.get("overall", "") if form is not None else comments.get(ops.OVERALL, "")
    return fields, overall


def _render_score(assignment, status=200, form=None, errors=None, form_error=None, notice=None,
                  confirm_submit=False):
    work = assignment.work
    settings = WorksSettings(work.campaign)
    rubric = settings.rubric
    fields, overall = _score_fields(rubric, assignment, form)
    editable = assignment.can_score(current_user) and work.status == IN_REVIEW
    if not editable and assignment.expert_id == current_user.id and assignment.submitted_at is None:
        form_error = form_error or (
            f"作品当前状态为“{STATE_LABELS.get(work.status, work.status)}”，不在专家评审阶段，暂不能评分")
    return render(
        "works/expert_score.html", block="score_form", status=status, a=assignment, work=work,
        settings=settings, files=work_files(work), fields=fields, overall=overall,
        errors=errors or {}, form_error=form_error, notice=notice, editable=editable,
        state=ops.assignment_state(assignment), comment_max=ops.COMMENT_MAX,
        overall_max=ops.OVERALL_MAX, fmt_number=ops.fmt_number,
        weight_sum=sum(float(c.get("weight") or 0) for c in rubric),
        # score messages name their criterion already; comment messages do not
        error_labels={f"comment_{c['key']}": f"{c['label']}评语" for c in rubric},
        confirm_submit=confirm_submit and editable)


@bp.route("/expert/<int:assignment_id>", methods=["GET", "POST"], endpoint="expert_score")
@login_required
def expert_score(assignment_id: int):
    assignment = db.get_or_404(WorkAssignment, assignment_id)
    if request.method == "GET":
        if not assignment.can_view(current_user):
            abort(404)
        return _render_score(assignment)
    # Only the assigned expert may write, not even the platform admin.
    if assignment.expert_id != current_user.id:
        abort(404)
    action = request.form.get("action")
    if action == "submit":
        # 提交评分 validates first and only then asks "确定提交？" (a server-side step:
        # the scores are kept as 暂存 meanwhile; 确认提交 posts action=confirm_submit).
        problems = ops.check_scores(assignment, request.form)
        if problems:
            return _render_score(assignment, status=422, form=request.form, errors=problems,
                                 form_error=f"请修改下列 {len(problems)} 处内容后再提交评分")
    submit = action == "confirm_submit"
    try:
        ops.save_scores(assignment, request.form, current_user, submit=submit)
    except OperationError as e:
        db.session.rollback()
        form_error = None if e.errors else e.message
        if e.errors:
            form_error = f"请修改下列 {len(e.errors)} 处内容"
        return _render_score(assignment, status=422, form=request.form, errors=e.errors,
                             form_error=form_error)
    if action == "submit":
        return _render_score(assignment, form=request.form, confirm_submit=True)
    if submit:
        message = "评分已提交。"
        if assignment.work.status != IN_REVIEW:
            message += "该作品的全部专家均已提交，作品已进入“专家已评审”。"
        flash(message, "success")
        return redirect_to(url_for("works.expert_score", assignment_id=assignment.id))
    if is_fragment():
        return _render_score(assignment, notice=f"已暂存 {fmt(assignment.saved_at, '%H:%M:%S')}")
    flash("评分已暂存，提交前可继续修改。", "success")
    return redirect_to(url_for("works.expert_score", assignment_id=assignment.id))


# =========================================================================== assignment

def _assign_context(campaign) -> QueueContext:
    return QueueContext(current_user, campaign, extra={"settings": WorksSettings(campaign)})


@bp.route("/admin/assign", methods=["GET", "POST"], endpoint="admin_assign")
@platform_admin_required
def admin_assign():
    campaign = _campaign_or_404()
    settings = WorksSettings(campaign)
    values = request.values
    ctx = _assign_context(campaign)
    args = ASSIGN_QUEUE.parse(values, ctx)
    # ticked here (work_ids) or brought from the works list's bulk form (ids)
    preselected = ops.parse_work_ids(values.getlist("work_ids") + values.getlist("ids"))
    k_value = values.get("experts_per_work") or str(settings.get("experts_per_work", 2))
    errors: dict[str, str] = {}
    failed = []
    status = 200

    if request.method == "POST" and "experts_per_work" in request.form:
        if request.form.get("scope") == "all":
            work_ids = ASSIGN_QUEUE.ids(ctx, args, limit=100_000)
        else:
            work_ids = preselected
        try:
            result = ops.assign_bulk(campaign, work_ids, request.form.get("experts_per_work"),
                                     current_user)
        except ops.NoneAssigned as e:
            errors, failed, status = e.errors, e.result.failed, 422
        except OperationError as e:
            db.session.rollback()
            errors = e.errors or {"_form": e.message}
            status = 422
        else:
            message = f"已为 {len(result.assigned)} 件作品分配专家，作品进入“专家评审中”。"
            if result.failed:
                message += f"另有 {len(result.failed)} 件未能分配，原因见分配结果。"
            flash(message, "success" if not result.failed else "warning")
            session["queue_clear"] = ASSIGN_QUEUE.key
            return redirect_to(url_for("works.admin_assign", batch=result.batch_id))

    page = ASSIGN_QUEUE.page(ctx, args)
    total_matching = page.total
    on_page = {w.id for w in page.items}
    extra_selected = []
    if preselected:
        extra_selected = list(db.session.scalars(
            select(Work).where(Work.id.in_([i for i in preselected if i not in on_page]),
                               Work.campaign_id == campaign.id, Work.status != DRAFT)
            .order_by(Work.id)))
    experts = ops.experts_for(campaign)
    loads = ops.assignment_counts(campaign)
    batch = None
    if request.method == "GET" and parse_id(request.args.get("batch")):
        batch = ops.load_batch(campaign, parse_id(request.args["batch"]))
    failed_rows = []
    if failed:
        works = {w.id: w for w in db.session.scalars(
            select(Work).where(Work.id.in_([wid for wid, _ in failed])))}
        failed_rows = [(works.get(wid), wid, reason) for wid, reason in failed]
    return render(
        "works/admin_assign.html", block="results", status=status, campaign=campaign,
        settings=settings, page=page, total_matching=total_matching,
        preselected=set(preselected), extra_selected=extra_selected, k_value=k_value,
        errors=errors, failed_rows=failed_rows, experts=experts, loads=loads, batch=batch,
        state_labels=STATE_LABELS, admin_tabs=_admin_tabs(),
        clear_selection=session.pop("queue_clear", None) if request.method == "GET" else None)


def _assign_work_page(work, status=200, errors=None, notice=None, expert_value=""):
    campaign = work.campaign
    assigned_ids = {a.expert_id for a in work.assignments}
    loads = ops.assignment_counts(campaign)
    candidates = []
    experts = ops.experts_for(campaign)
    for p in ops.profiles_for(experts, campaign):
        if p.user.id in assigned_ids:
            continue
        candidates.append((p.user, ops.conflict_reason(p, work), loads.get(p.user.id, 0)))
    return render(
        "works/admin_assign_work.html", block="panel", status=status, work=work,
        candidates=candidates, loads=loads, errors=errors or {}, notice=notice,
        expert_value=str(expert_value or ""), state_labels=STATE_LABELS,
        assignment_state=ops.assignment_state, fmt_number=ops.fmt_number,
        assignable=work.status in (RECOMMENDED, IN_REVIEW, REVIEWED))


@bp.route("/admin/<int:work_id>/assign", methods=["GET", "POST"], endpoint="admin_assign_work")
@platform_admin_required
def admin_assign_work(work_id: int):
    work = db.get_or_404(Work, work_id)
    if not work.can_view(current_user) or work.status == DRAFT:
        abort(404)
    if request.method == "GET":
        return _assign_work_page(work)
    action = request.form.get("action")
    try:
        if action == "add":
            assignment = ops.add_expert(work, request.form.get("expert_id"), current_user)
            notice = f"已添加专家 {assignment.expert.display_name}。"
        elif action == "remove":
            ops.remove_expert(work, request.form.get("assignment_id"), current_user)
            notice = "已移除该专家。"
        else:
            abort(400)
    except OperationError as e:
        db.session.rollback()
        db.session.refresh(work)
        errors = e.errors or {"_form": e.message}
        if action == "remove":
            errors = {"remove": e.message,
                      "remove_id": str(request.form.get("assignment_id", ""))}
        return _assign_work_page(work, status=422, errors=errors,
                                 expert_value=request.form.get("expert_id", ""))
    if is_fragment():
        db.session.refresh(work)
        return _assign_work_page(work, notice=notice)
    flash(notice, "success")
    return redirect_to(url_for("works.admin_assign_work", work_id=work.id))


# =========================================================================== ranking

def _ranking_filters(values):
    return {"category": (values.get("category") or "").strip()[:50],
            "work_type": (values.get("work_type") or "").strip()[:50]}


def _parse_iso(value):
    """The stored ISO UTC stamp → naive UTC datetime (for the |dt filter)."""
    if not value:
        return None
    try:
        stamp = datetime.fromisoformat(str(value))
    except ValueError:
        return None
    if stamp.tzinfo is not None:
        stamp = stamp.astimezone(timezone.utc).replace(tzinfo=None)
    return stamp


def _ranking_page(campaign, status=200, publish_error=None, confirm_checked=False):
    settings = WorksSettings(campaign)
    filters = _ranking_filters(request.values)
    rows = ops.ranking(campaign, **filters)
    return render(
        "works/admin_ranking.html", block="results", status=status, campaign=campaign,
        settings=settings, rubric=settings.rubric, rows=rows, filters=filters,
        published=settings.results_published,
        published_at=_parse_iso(settings.get("results_published_at")),
        counts=ops.publish_counts(campaign), publish_error=publish_error,
        confirm_checked=confirm_checked, state_labels=STATE_LABELS,
        fmt_number=ops.fmt_number, status_label=status_label, admin_tabs=_admin_tabs())


@bp.get("/admin/ranking", endpoint="admin_ranking")
@platform_admin_required
def admin_ranking():
    return _ranking_page(_campaign_or_404())


@bp.get("/admin/ranking.xlsx", endpoint="admin_ranking_export")
@platform_admin_required
def admin_ranking_export():
    campaign = _campaign_or_404()
    rows = ops.ranking(campaign, **_ranking_filters(request.args))
    return xlsx_response(f"{campaign.year}年优质科普作品评审排名.xlsx",
                         ops.export_sheets(campaign, rows))


@bp.post("/admin/<int:work_id>/select", endpoint="admin_select")
@platform_admin_required
def admin_select(work_id: int):
    campaign = _campaign_or_404()
    work = db.get_or_404(Work, work_id)
    if work.campaign_id != campaign.id or not work.can_view(current_user):
        abort(404)
    value = request.form.get("value") == "1"
    row_error = None
    status = 200
    try:
        ops.set_selected(work, value, current_user)
    except OperationError as e:
        db.session.rollback()
        row_error, status = e.message, 422
    if is_fragment():
        settings = WorksSettings(campaign)
        row = next((r for r in ops.ranking(campaign) if r.work.id == work.id), None)
        if row is None:
            row = ops.rank_row(work, settings.rubric)
        return render("works/admin_ranking.html", block="row", status=status, r=row,
                      rubric=settings.rubric, published=settings.results_published,
                      row_error=row_error, notice=None if row_error else (
                          "已设为入选" if value else "已取消入选"),
                      filters=_ranking_filters(request.form), state_labels=STATE_LABELS,
                      fmt_number=ops.fmt_number)
    if row_error:
        flash(row_error, "error")
    else:
        flash(f"已将《{work.display_title}》{'设为入选' if value else '取消入选'}。", "success")
    filters = {k: v for k, v in _ranking_filters(request.form).items() if v}
    return redirect_to(url_for("works.admin_ranking", **filters) + f"#work-{work.id}")


@bp.post("/admin/publish", endpoint="admin_publish")
@platform_admin_required
def admin_publish():
    campaign = _campaign_or_404()
    try:
        ops.publish_results(campaign, current_user, request.form.get("confirm") == "1")
    except OperationError as e:
        db.session.rollback()
        return _ranking_page(campaign, status=422, publish_error=e.message)
    flash("评审结果已发布，申报者现在可以看到“入选”或“未入选”。", "success")
    return redirect_to(url_for("works.admin_ranking"))


@bp.post("/admin/unpublish", endpoint="admin_unpublish")
@platform_admin_required
def admin_unpublish():
    campaign = _campaign_or_404()
    try:
        ops.unpublish_results(campaign, current_user)
    except OperationError as e:
        db.session.rollback()
        flash(e.message, "error")
    else:
        flash("已撤销发布，申报者将重新看到评审状态；现在可以调整入选名单。", "success")
    return redirect_to(url_for("works.admin_ranking"))


# =========================================================================== statistics

@bp.get("/admin/stats", endpoint="admin_stats")
@platform_admin_required
def admin_stats():
    campaign = _campaign_or_404()
    return render("works/admin_stats.html", campaign=campaign, data=stats.work_stats(campaign),
                  admin_tabs=_admin_tabs())
