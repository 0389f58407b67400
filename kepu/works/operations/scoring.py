"""Expert assignment, scoring, ranking, selection and publishing of the works call.

Every write validates its rules, moves the work through ``WORK_FLOW`` (which writes the
audit row) and commits once.

Conflict of interest (回避): an expert's own units are the ``org_id`` of their expert
grant(s) for this edition, plus every unit they administer (unit_admin / case_unit
grants). Their unit *names* are those units' names plus ``user.unit_name``. A work
conflicts with an expert when its recommender unit (``channel_id``) is one of their
units, or when a normalised name (NFKC: full-width → half-width, no whitespace,
case-folded) of theirs equals the work's recommender-unit name or ``applicant_unit``.
Conflicting experts are never assigned, in bulk or per work.

Scores: ``WorkAssignment.scores`` maps rubric key → number (integer or one decimal,
0..max); ``comments`` maps rubric key → optional comment, and ``OVERALL`` ("_overall")
→ the overall comment, required when submitting. ``total`` = Σ(score/max × weight) /
Σweight × 100, rounded to two decimals, set once every criterion has a score.
"""
from __future__ import annotations

import re
import statistics
import unicodedata
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import timezone

from sqlalchemy import func, or_, select
from sqlalchemy.orm import selectinload

from ...accounts import roles as R
from ...accounts.models import Grant, User
from ...admin.models import Campaign
from ...extensions import db
from ...orgs.models import Org
from ...timeutil import utcnow
from ...workflow import AuditLog, OperationError, TransitionError, audit, lock_row
from ..flow import STATE_LABELS, WORK_FLOW
from ..models import IN_REVIEW, RECOMMENDED, REVIEWED, Work, WorkAssignment
from ..settings import WorksSettings

OVERALL = "_overall"
COMMENT_MAX = 500
OVERALL_MAX = 1000
MAX_EXPERTS_PER_WORK = 10

ASSIGN_BATCH_ACTION = "assign_experts"


# --------------------------------------------------------------------------- experts

def normalize_name(value: str | None) -> str:
    """Unit names compared for conflicts: NFKC (full-width → half-width), no
    whitespace at all, case-folded."""
    text = unicodedata.normalize("NFKC", value or "")
    return re.sub(r"\s+", "", text).casefold()


def experts_query(campaign):
    """Active users holding an expert grant for every edition or for this one."""
    scope = Grant.campaign_id.is_(None)
    if campaign is not None:
        scope = or_(scope, Grant.campaign_id == campaign.id)
    expert_ids = select(Grant.user_id).where(Grant.role == R.EXPERT, scope)
    return (select(User).where(User.id.in_(expert_ids), User.active.is_(True))
            .options(selectinload(User.grants)).order_by(User.id))


def experts_for(campaign) -> list[User]:
    return list(db.session.scalars(experts_query(campaign)))


def is_expert_for(user, campaign) -> bool:
    return bool(getattr(user, "is_authenticated", False)) and user.has_role(
        R.EXPERT, campaign_id=campaign.id if campaign is not None else None)


@dataclass
class ExpertProfile:
    """What the conflict check needs to know about one expert."""

    user: User
    org_ids: set[int]
    names: set[str]


def expert_profile(user: User, campaign, org_names: dict[int, str] | None = None) -> ExpertProfile:
    cid = campaign.id if campaign is not None else None
    org_ids = {g.org_id for g in user.grants
               if g.org_id is not None and (
                   (g.role == R.EXPERT and g.campaign_id in (None, cid))
                   or g.role in (R.UNIT_ADMIN, R.CASE_UNIT))}
    if org_names is None:
        org_names = _org_names(org_ids)
    names = {normalize_name(user.unit_name)}
    names.update(normalize_name(org_names.get(oid, "")) for oid in org_ids)
    names.discard("")
    return ExpertProfile(user=user, org_ids=org_ids, names=names)


def _org_names(org_ids) -> dict[int, str]:
    org_ids = set(org_ids)
    if not org_ids:
        return {}
    return dict(db.session.execute(select(Org.id, Org.name).where(Org.id.in_(org_ids))).all())


def profiles_for(experts: list[User], campaign) -> list[ExpertProfile]:
    all_orgs = {g.org_id for u in experts for g in u.grants if g.org_id is not None}
    names = _org_names(all_orgs)
    return [expert_profile(u, campaign, names) for u in experts]


def conflict_reason(profile: ExpertProfile, work: Work) -> str | None:
    """Chinese reason why this expert must not score this work, or None."""
    if work.channel_id is not None and work.channel_id in profile.org_ids:
        return "专家所在单位即该作品的推荐单位，需回避"
    channel_name = normalize_name(work.channel.name) if work.channel is not None else ""
    if channel_name and channel_name in profile.names:
        return "专家所在单位与该作品的推荐单位同名，需回避"
    applicant = normalize_name(work.applicant_unit)
    if applicant and applicant in profile.names:
        return "专家所在单位与该作品的申报单位相同，需回避"
    return None


def assignment_counts(campaign) -> dict[int, int]:
    """expert id → number of works assigned to them in this edition."""
    rows = db.session.execute(
        select(WorkAssignment.expert_id, func.count(WorkAssignment.id))
        .join(Work, Work.id == WorkAssignment.work_id)
        .where(Work.campaign_id == campaign.id)
        .group_by(WorkAssignment.expert_id)).all()
    return {expert_id: n for expert_id, n in rows}


# --------------------------------------------------------------------------- assignment

def parse_experts_per_work(raw, n_experts: int) -> int:
    """The 每件作品专家人数 field: an integer 1..min(10, number of experts)."""
    text = unicodedata.normalize("NFKC", str(raw or "")).strip()
    if not text:
        raise OperationError("请填写每件作品的评审专家人数", field="experts_per_work")
    if not text.isdigit():
        raise OperationError("专家人数须为正整数", field="experts_per_work")
    k = int(text)
    if k < 1 or k > MAX_EXPERTS_PER_WORK:
        raise OperationError(f"专家人数须在 1 到 {MAX_EXPERTS_PER_WORK} 之间", field="experts_per_work")
    if n_experts == 0:
        raise OperationError("系统中还没有评审专家，请先在用户管理中授予“评审专家”角色",
                             field="experts_per_work")
    if k > n_experts:
        raise OperationError(f"专家人数不能超过现有专家总数（{n_experts} 位）", field="experts_per_work")
    return k


def parse_work_ids(values) -> list[int]:
    ids: list[int] = []
    for v in values or []:
        try:
            i = int(v)
        except (TypeError, ValueError):
            continue
        if i > 0 and i not in ids:
            ids.append(i)
    return ids


class NoneAssigned(OperationError):
    """Nothing could be assigned; ``result.failed`` says why for each work."""

    def __init__(self, result: "AssignResult"):
        message = "所选作品均未能分配专家，原因见下方列表"
        super().__init__(message, errors={"work_ids": message}, code="none_assigned")
        self.result = result


@dataclass
class AssignResult:
    assigned: dict[int, list[int]] = field(default_factory=dict)  # work id → expert ids
    failed: list[tuple[int, str]] = field(default_factory=list)   # (work id, reason)
    batch_id: int | None = None


def _category_order(settings: WorksSettings, works: list[Work]) -> list[str]:
    order = list(settings["categories"])
    for w in works:
        if w.category not in order:
            order.append(w.category)
    return order


def assign_bulk(campaign, work_ids: list[int], k_raw, admin) -> AssignResult:
    """自动分配: k experts to each selected 完成推荐 work, balanced round-robin by category.

    Within each category (in the edition's category order) the works are taken by id;
    each gets the k non-conflicting experts with the fewest assignments in this edition
    so far, then the fewest in this category, ties broken round-robin after the
    previous pick. A work that cannot get k experts gets none and is reported. One
    commit for the whole batch (all or nothing on a concurrent change).
    """
    experts = experts_for(campaign)
    errors: dict[str, str] = {}
    k = None
    try:
        k = parse_experts_per_work(k_raw, len(experts))
    except OperationError as e:
        errors.update(e.errors)
    if not work_ids:
        errors["work_ids"] = "请至少勾选一件作品"
    if errors:
        raise OperationError(next(iter(errors.values())), errors=errors)

    works = list(db.session.scalars(
        select(Work).where(Work.id.in_(work_ids), Work.campaign_id == campaign.id)
        .options(selectinload(Work.assignments), selectinload(Work.channel))
        .order_by(Work.id)))
    found = {w.id for w in works}
    result = AssignResult()
    for wid in work_ids:
        if wid not in found:
            result.failed.append((wid, "作品不存在或不属于本届征集"))

    profiles = profiles_for(experts, campaign)
    index = {p.user.id: i for i, p in enumerate(profiles)}
    load = defaultdict(int, assignment_counts(campaign))
    cat_load: dict[tuple[int, str], int] = defaultdict(int)
    for expert_id, category in db.session.execute(
            select(WorkAssignment.expert_id, Work.category)
            .join(Work, Work.id == WorkAssignment.work_id)
            .where(Work.campaign_id == campaign.id)).all():
        cat_load[(expert_id, category)] += 1

    settings = WorksSettings(campaign)
    by_cat: dict[str, list[Work]] = defaultdict(list)
    for w in works:
        if w.status != RECOMMENDED:
            result.failed.append(
                (w.id, f"作品状态为“{STATE_LABELS.get(w.status, w.status)}”，"
                       "只有“完成推荐”的作品可以批量分配"))
            continue
        by_cat[w.category].append(w)

    n = len(profiles)
    cursor = 0
    now = utcnow()
    for category in _category_order(settings, works):
        for work in by_cat.get(category, []):
            existing = {a.expert_id for a in work.assignments}
            need = k - len(existing)
            conflicts = 0
            candidates = []
            for p in profiles:
                if p.user.id in existing:
                    continue
                if conflict_reason(p, work):
                    conflicts += 1
                    continue
                candidates.append(p)
            if len(candidates) < need:
                reason = f"可分配的专家不足：需要 {need} 位，无回避关系的专家只有 {len(candidates)} 位"
                if conflicts:
                    reason += f"（{conflicts} 位专家与该作品单位相同，已回避）"
                result.failed.append((work.id, reason))
                continue
            candidates.sort(key=lambda p: (load[p.user.id], cat_load[(p.user.id, category)],
                                           (index[p.user.id] - cursor) % n))
            chosen = candidates[:max(need, 0)]
            for p in chosen:
                db.session.add(WorkAssignment(work_id=work.id, expert_id=p.user.id,
                                              assigned_by_id=admin.id, assigned_at=now))
                load[p.user.id] += 1
                cat_load[(p.user.id, category)] += 1
            if chosen:
                cursor = (index[chosen[-1].user.id] + 1) % n
            expert_ids = sorted(existing | {p.user.id for p in chosen})
            try:
                WORK_FLOW.apply(work, "assign", admin, data={"experts": expert_ids})
            except TransitionError as e:
                db.session.rollback()
                raise OperationError(e.message, code=e.code) from e
            result.assigned[work.id] = expert_ids

    if not result.assigned:
        db.session.rollback()
        raise NoneAssigned(result)
    entry = audit("campaign", campaign.id, ASSIGN_BATCH_ACTION, admin, data={
        "k": k,
        "assigned": {str(wid): ids for wid, ids in result.assigned.items()},
        "failed": [[wid, reason] for wid, reason in result.failed],
    })
    db.session.commit()
    result.batch_id = entry.id
    return result


def load_batch(campaign, batch_id: int) -> dict | None:
    """The stored result of a bulk assignment (its audit row), for the result table."""
    entry = db.session.get(AuditLog, batch_id)
    if (entry is None or entry.entity_type != "campaign" or entry.entity_id != campaign.id
            or entry.action != ASSIGN_BATCH_ACTION):
        return None
    data = entry.data or {}
    assigned = {int(wid): ids for wid, ids in (data.get("assigned") or {}).items()}
    failed = [(int(wid), reason) for wid, reason in data.get("failed") or []]
    ids = set(assigned) | {wid for wid, _ in failed}
    works = {w.id: w for w in db.session.scalars(select(Work).where(Work.id.in_(ids)))}
    expert_ids = {e for ids_ in assigned.values() for e in ids_}
    users = {u.id: u for u in db.session.scalars(select(User).where(User.id.in_(expert_ids)))}
    return {
        "entry": entry,
        "k": data.get("k"),
        "assigned": [(works.get(wid), [users.get(e) for e in eids if users.get(e)])
                     for wid, eids in assigned.items() if works.get(wid)],
        "failed": [(works.get(wid), wid, reason) for wid, reason in failed],
    }


def add_expert(work: Work, expert_id_raw, admin) -> WorkAssignment:
    """Per-work: add one expert. 完成推荐 → 专家评审中 (assign); 专家已评审 → 专家评审中
    (reopen_review); in 专家评审中 the state stays."""
    campaign = work.campaign
    try:
        expert_id = int(expert_id_raw)
    except (TypeError, ValueError):
        raise OperationError("请选择要添加的专家", field="expert_id") from None
    expert = db.session.get(User, expert_id)
    if expert is None or not expert.active or not is_expert_for(expert, campaign):
        raise OperationError("所选用户不是本届征集的评审专家", field="expert_id")
    if work.status not in (RECOMMENDED, IN_REVIEW, REVIEWED):
        raise OperationError(
            f"作品状态为“{STATE_LABELS.get(work.status, work.status)}”，不能分配专家",
            field="expert_id")
    if any(a.expert_id == expert.id for a in work.assignments):
        raise OperationError(f"{expert.display_name} 已是该作品的评审专家", field="expert_id")
    reason = conflict_reason(expert_profile(expert, campaign), work)
    if reason:
        raise OperationError(f"不能分配 {expert.display_name}：{reason}", field="expert_id")

    assignment = WorkAssignment(work_id=work.id, expert_id=expert.id, assigned_by_id=admin.id,
                                assigned_at=utcnow())
    db.session.add(assignment)
    data = {"expert_id": expert.id}
    try:
        if work.status == RECOMMENDED:
            WORK_FLOW.apply(work, "assign", admin, data={"experts": [expert.id]})
        elif work.status == REVIEWED:
            WORK_FLOW.apply(work, "reopen_review", admin, data=data)
        else:
            audit("work", work.id, "add_expert", admin, data=data)
    except TransitionError as e:
        db.session.rollback()
        raise OperationError(e.message, field="expert_id", code=e.code) from e
    db.session.commit()
    return assignment


def remove_expert(work: Work, assignment_id_raw, admin) -> None:
    """Per-work: remove an expert who has not submitted. When everyone left has
    submitted, the work becomes 专家已评审 (complete_review)."""
    try:
        assignment_id = int(assignment_id_raw)
    except (TypeError, ValueError):
        raise OperationError("请选择要移除的专家", field="remove") from None
    assignment = next((a for a in work.assignments if a.id == assignment_id), None)
    if assignment is None:
        raise OperationError("该专家不是本作品的评审专家", field="remove")
    if assignment.submitted_at is not None:
        raise OperationError("该专家已提交评分，不能移除", field="remove")
    remaining = [a for a in work.assignments if a.id != assignment.id]
    if not remaining:
        raise OperationError("作品至少需要一位评审专家：请先添加新专家，再移除该专家",
                             field="remove")
    name = assignment.expert.display_name
    expert_id = assignment.expert_id
    work.assignments.remove(assignment)
    db.session.delete(assignment)
    audit("work", work.id, "remove_expert", admin, data={"expert_id": expert_id, "name": name})
    try:
        if work.status == IN_REVIEW and all(a.submitted_at is not None for a in remaining):
            WORK_FLOW.apply(work, "complete_review", admin)
    except TransitionError as e:
        db.session.rollback()
        raise OperationError(e.message, field="remove", code=e.code) from e
    db.session.commit()


# --------------------------------------------------------------------------- scoring

_NUMBER = re.compile(r"^\d{1,4}(\.\d+)?$")


def parse_score(raw: str, maximum: float) -> tuple[float | int | None, str | None]:
    """(value, error) for one score field; blank → (None, None)."""
    text = unicodedata.normalize("NFKC", raw or "").strip()
    if not text:
        return None, None
    if not _NUMBER.match(text):
        return None, "请输入数字，如 85 或 85.5"
    if "." in text and len(text.split(".", 1)[1]) > 1:
        return None, "最多保留一位小数"
    value = float(text)
    if value < 0 or value > maximum:
        return None, f"分数须在 0 到 {fmt_number(maximum)} 之间"
    return (int(value) if value == int(value) else value), None


def fmt_number(value) -> str:
    if value is None:
        return ""
    value = float(value)
    return str(int(value)) if value == int(value) else f"{value:g}"


def weighted_total(rubric: list[dict], scores: dict) -> float | None:
    """Σ(score/max × weight) / Σweight × 100, or None while a criterion is missing."""
    weight_sum = 0.0
    acc = 0.0
    for c in rubric:
        value = scores.get(c["key"])
        if value is None:
            return None
        weight = float(c.get("weight") or 0)
        acc += float(value) / float(c["max"]) * weight
        weight_sum += weight
    if weight_sum <= 0:
        return None
    return round(acc / weight_sum * 100, 2)


def scored_assignments(campaign) -> list[WorkAssignment]:
    """The edition's score sheets holding at least one score (saved or submitted)."""
    rows = db.session.scalars(
        select(WorkAssignment).join(Work, Work.id == WorkAssignment.work_id)
        .where(Work.campaign_id == campaign.id).order_by(WorkAssignment.id))
    return [a for a in rows if a.scores]


def given_maxima(campaign) -> dict[str, float]:
    """{rubric key: the highest score any expert gave for it} in this edition."""
    out: dict[str, float] = {}
    for a in scored_assignments(campaign):
        for key, value in (a.scores or {}).items():
            if value is not None and float(value) > out.get(key, float("-inf")):
                out[key] = float(value)
    return out


def recompute_totals(campaign, rubric: list[dict] | None = None) -> int:
    """Recompute ``total`` of every score sheet of the edition that has scores, with
    ``rubric`` (default: the edition's stored one; pass the new rubric while its
    settings are being saved). A sheet missing a criterion keeps ``total`` None.
    Does not commit (the caller's transaction). Returns how many sheets were
    recomputed."""
    rubric = WorksSettings(campaign).rubric if rubric is None else rubric
    n = 0
    for a in scored_assignments(campaign):
        a.total = weighted_total(rubric, a.scores or {})
        n += 1
    return n


def assignment_state(a: WorkAssignment) -> tuple[str, str]:
    """(code, label) shown to the expert: 待评分 / 已暂存 / 已提交."""
    if a.submitted_at is not None:
        return "submitted", "已提交"
    if a.saved_at is not None:
        return "saved", "已暂存"
    return "todo", "待评分"


def save_scores(assignment: WorkAssignment, form, user, submit: bool) -> WorkAssignment:
    """暂存 (submit=False: blanks allowed, entered values validated) or 提交评分
    (every criterion and the overall comment required; then read-only). Submitting the
    last open assignment of a work moves it to 专家已评审 in the same transaction."""
    if assignment.expert_id != getattr(user, "id", None):
        raise OperationError("无权为该作品评分", code="forbidden")
    work = assignment.work
    if assignment.submitted_at is not None:
        raise OperationError("评分已提交，不能再修改", code="submitted")
    if work.status != IN_REVIEW:
        raise OperationError(
            f"作品当前状态为“{STATE_LABELS.get(work.status, work.status)}”，不在专家评审阶段，不能评分",
            code="wrong_state")

    # Read the rubric under a share lock of the edition row: an admin's rubric change
    # (which locks it exclusively and recomputes every total) then either waits for
    # this save or is seen by it, never half of each.
    db.session.execute(select(Campaign.id).where(Campaign.id == work.campaign_id)
                       .with_for_update(read=True))
    db.session.refresh(work.campaign)
    rubric = WorksSettings(work.campaign).rubric
    scores, comments, errors = _read_scores(rubric, form, submit)
    if errors:
        raise OperationError("请修改标红的内容" if len(errors) > 1 else next(iter(errors.values())),
                             errors=errors, code="invalid")
    _store_scores(assignment, work, rubric, scores, comments, user, submit)
    return assignment


def check_scores(assignment: WorkAssignment, form) -> dict[str, str]:
    """The errors 提交评分 would report for ``form`` (nothing is written): the page asks
    "确定提交？" only once these are gone."""
    rubric = WorksSettings(assignment.work.campaign).rubric
    return _read_scores(rubric, form, submit=True)[2]


def _read_scores(rubric, form, submit: bool) -> tuple[dict, dict, dict[str, str]]:
    """(scores, comments, errors) of a posted score sheet."""
    errors: dict[str, str] = {}
    scores: dict = {}
    comments: dict = {}
    for c in rubric:
        key = c["key"]
        value, error = parse_score(form.get(f"score_{key}", ""), float(c["max"]))
        if error:
            errors[f"score_{key}"] = error
        elif value is None and submit:
            errors[f"score_{key}"] = f"请为“{c['label']}”打分"
        if value is not None:
            scores[key] = value
        comment = (form.get(f"comment_{key}", "") or "").strip()
        if len(comment) > COMMENT_MAX:
            errors[f"comment_{key}"] = f"评语不能超过 {COMMENT_MAX} 字（当前 {len(comment)} 字）"
        if comment:
            comments[key] = comment
    overall = (form.get("overall", "") or "").strip()
    if len(overall) > OVERALL_MAX:
        errors["overall"] = f"总体评价不能超过 {OVERALL_MAX} 字（当前 {len(overall)} 字）"
    elif submit and not overall:
        errors["overall"] = "提交评分前请填写总体评价"
    if overall:
        comments[OVERALL] = overall
    return scores, comments, errors


def _store_scores(assignment, work, rubric, scores, comments, user, submit: bool) -> None:
    # Serialise the "am I the last one?" decision on the work row (see lock_row).
    lock_row(Work, work.id)
    now = utcnow()
    assignment.scores = scores
    assignment.comments = comments
    assignment.total = weighted_total(rubric, scores)
    assignment.saved_at = now
    if submit:
        assignment.submitted_at = now
        audit("work", work.id, "score_submit", user,
              data={"assignment_id": assignment.id, "total": assignment.total})
        db.session.flush()
        open_left = db.session.scalar(
            select(func.count(WorkAssignment.id)).where(
                WorkAssignment.work_id == work.id, WorkAssignment.submitted_at.is_(None)))
        if open_left == 0:
            try:
                WORK_FLOW.apply(work, "complete_review", user)
            except TransitionError as e:
                db.session.rollback()
                raise OperationError(e.message, code=e.code) from e
    db.session.commit()


# --------------------------------------------------------------------------- ranking

@dataclass
class RankRow:
    work: Work
    n_assigned: int
    n_submitted: int
    totals: list[float]
    criterion_means: dict[str, float | None]
    mean: float | None
    spread: float | None
    stdev: float | None
    rank: int | None = None


def rank_row(work: Work, rubric: list[dict]) -> RankRow:
    submitted = [a for a in work.assignments if a.submitted_at is not None]
    totals = [float(a.total) for a in submitted if a.total is not None]
    means: dict[str, float | None] = {}
    for c in rubric:
        vals = [float(a.scores[c["key"]]) for a in submitted
                if (a.scores or {}).get(c["key"]) is not None]
        means[c["key"]] = round(statistics.fmean(vals), 2) if vals else None
    mean = round(statistics.fmean(totals), 2) if totals else None
    spread = round(max(totals) - min(totals), 2) if totals else None
    # Population standard deviation of the experts' totals (σ).
    stdev = round(statistics.pstdev(totals), 2) if totals else None
    return RankRow(work=work, n_assigned=len(work.assignments), n_submitted=len(submitted),
                   totals=totals, criterion_means=means, mean=mean, spread=spread, stdev=stdev)


def ranking(campaign, category: str = "", work_type: str = "") -> list[RankRow]:
    """Works in 专家评审中 / 专家已评审, sorted by mean total (desc; unscored last)."""
    query = (select(Work).where(Work.campaign_id == campaign.id,
                                Work.status.in_((IN_REVIEW, REVIEWED)))
             .options(selectinload(Work.assignments).selectinload(WorkAssignment.expert),
                      selectinload(Work.channel)))
    if category:
        query = query.where(Work.category == category)
    if work_type:
        query = query.where(Work.work_type == work_type)
    rubric = WorksSettings(campaign).rubric
    rows = [rank_row(w, rubric) for w in db.session.scalars(query)]
    rows.sort(key=lambda r: (r.mean is None, -(r.mean or 0), -r.n_submitted, r.work.id))
    rank = 0
    previous = object()
    for i, r in enumerate(rows, start=1):
        if r.mean is None:
            continue
        if r.mean != previous:
            rank = i
            previous = r.mean
        r.rank = rank
    return rows


def set_selected(work: Work, value: bool, admin) -> None:
    """入选 toggle: only 专家已评审 works can be selected; frozen while published."""
    if WorksSettings(work.campaign).results_published:
        raise OperationError("评审结果已发布，如需调整入选名单，请先撤销发布")
    if value and work.status != REVIEWED:
        raise OperationError(
            f"作品状态为“{STATE_LABELS.get(work.status, work.status)}”，专家评审完成后才能设为入选")
    if bool(work.selected) == value:
        return
    work.selected = value
    work.updated_at = utcnow()
    audit("work", work.id, "select" if value else "unselect", admin)
    db.session.commit()


def publish_counts(campaign) -> dict:
    rows = dict(db.session.execute(
        select(Work.status, func.count(Work.id)).where(
            Work.campaign_id == campaign.id, Work.status.in_((RECOMMENDED, IN_REVIEW, REVIEWED)))
        .group_by(Work.status)).all())
    selected = db.session.scalar(select(func.count(Work.id)).where(
        Work.campaign_id == campaign.id, Work.selected.is_(True))) or 0
    return {"selected": selected, "reviewed": rows.get(REVIEWED, 0),
            "in_review": rows.get(IN_REVIEW, 0), "recommended": rows.get(RECOMMENDED, 0)}


def publish_results(campaign, admin, confirmed: bool) -> None:
    """发布评审结果: applicants then see 入选 / 未入选."""
    if not confirmed:
        raise OperationError("请勾选确认后再发布", field="confirm")
    if WorksSettings(campaign).results_published:
        raise OperationError("评审结果已发布", field="confirm")
    counts = publish_counts(campaign)
    if counts["selected"] == 0:
        raise OperationError("还没有入选作品，请先在排名中设置入选", field="confirm")
    stamp = utcnow().replace(tzinfo=timezone.utc).isoformat(timespec="seconds")
    settings = dict(campaign.settings or {})
    settings["results_published_at"] = stamp
    campaign.settings = settings  # a new dict, so SQLAlchemy sees the change
    audit("campaign", campaign.id, "publish_results", admin, data=counts)
    db.session.commit()


def unpublish_results(campaign, admin) -> None:
    if not WorksSettings(campaign).results_published:
        raise OperationError("评审结果尚未发布")
    settings = dict(campaign.settings or {})
    settings["results_published_at"] = None
    campaign.settings = settings
    audit("campaign", campaign.id, "unpublish_results", admin)
    db.session.commit()


def export_sheets(campaign, rows: list[RankRow]):
    """[(title, header, rows)] for exports.xlsx_response: the ranking and every score."""
    rubric = WorksSettings(campaign).rubric
    published = WorksSettings(campaign).results_published
    head = (["排名", "作品编号", "作品名称", "作品类型", "作品分类", "推荐单位", "申报单位", "状态",
             "已提交/已分配"] + [f"{c['label']}（均分，满分{fmt_number(c['max'])}）" for c in rubric]
            + ["平均总分", "极差", "标准差", "各专家总分", "是否入选"])
    ranking_rows = []
    for r in rows:
        w = r.work
        ranking_rows.append(
            [r.rank, w.id, w.display_title, w.work_type, w.category,
             w.channel.name if w.channel else "", w.applicant_unit, STATE_LABELS.get(w.status, w.status),
             f"{r.n_submitted}/{r.n_assigned}"]
            + [r.criterion_means.get(c["key"]) for c in rubric]
            + [r.mean, r.spread, r.stdev, "、".join(fmt_number(t) for t in r.totals),
               "入选" if w.selected else ("未入选" if published else "")])
    score_head = (["作品编号", "作品名称", "专家", "专家单位", "评分状态"]
                  + [x for c in rubric for x in (f"{c['label']}得分", f"{c['label']}评语")]
                  + ["总分", "总体评价", "提交时间"])
    score_rows = []
    from ...timeutil import fmt
    for r in rows:
        for a in r.work.assignments:
            scores, comments = a.scores or {}, a.comments or {}
            score_rows.append(
                [r.work.id, r.work.display_title, a.expert.display_name, a.expert.unit_name,
                 assignment_state(a)[1]]
                + [x for c in rubric for x in (scores.get(c["key"]), comments.get(c["key"], ""))]
                + [a.total, comments.get(OVERALL, ""), fmt(a.submitted_at)])
    return [("评审排名", head, ranking_rows), ("专家评分明细", score_head, score_rows)]
