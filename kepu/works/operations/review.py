"""推荐 / 退回 by the recommender unit, bulk 推荐 and the per-unit quota.

Every function checks the rules on the server, changes state only through
``WORK_FLOW.apply`` (which writes the audit row), commits once and then sends the
SMS notice (``common.notify``, which honours the edition's ``sms_notify`` setting).
Refusals raise ``OperationError`` with a Chinese ``message`` (``code`` tells why:
forbidden / wrong_state / conflict / quota / comment_required / busy).

Quota race safety (see ``kepu.workflow.lock_row``): the recommender unit's Org row is
locked *before* the transition's conditional UPDATE, the recommended works are counted
*after* it in the same transaction, and the whole thing is rolled back when the count
exceeds the quota. On PostgreSQL the second of two concurrent requests waits on the
row lock and then counts the first one's work; on SQLite the UPDATE takes the single
write lock, so the count sees every committed recommendation.
"""
from __future__ import annotations

from dataclasses import dataclass, field

from sqlalchemy import func, select
from sqlalchemy.exc import DBAPIError

from ...accounts import roles as R
from ...accounts.models import Grant
from ...extensions import db
from ...inputs import parse_id, parse_int
from ...orgs.models import Org
from ...timeutil import utcnow
from ...workflow import TransitionError, audit, lock_row
from ..flow import WORK_FLOW
from ..models import IN_REVIEW, RECOMMENDED, REVIEWED, Work, WorkUnitQuota
from .common import OperationError, notify, settings_of

#: States that use up a unit's quota (a recommended work stays counted in expert review).
COUNTED_STATES = (RECOMMENDED, IN_REVIEW, REVIEWED)
RETURN_COMMENT_MAX = 1000


# --- quota ----------------------------------------------------------------------------
def quota_of(campaign_id: int, org_id: int) -> int | None:
    """The unit's cap in this edition; None = unlimited (no row, or quota NULL)."""
    return db.session.scalar(select(WorkUnitQuota.quota).where(
        WorkUnitQuota.campaign_id == campaign_id, WorkUnitQuota.org_id == org_id))


def recommended_count(campaign_id: int, org_id: int) -> int:
    """Works of this edition the unit has recommended (including those now in review)."""
    return db.session.scalar(select(func.count(Work.id)).where(
        Work.campaign_id == campaign_id, Work.channel_id == org_id,
        Work.status.in_(COUNTED_STATES))) or 0


@dataclass
class QuotaInfo:
    used: int
    quota: int | None

    @property
    def unlimited(self) -> bool:
        return self.quota is None

    @property
    def remaining(self) -> int | None:
        return None if self.quota is None else max(self.quota - self.used, 0)

    @property
    def full(self) -> bool:
        return self.quota is not None and self.used >= self.quota

    @property
    def label(self) -> str:
        return f"已推荐 {self.used} / " + ("不限" if self.quota is None else f"限额 {self.quota}")


_CAP_STMT = None


def _cap_statement():
    """A unit's cap, built once with bind parameters (every unit list page reads it)."""
    global _CAP_STMT
    if _CAP_STMT is None:
        from sqlalchemy import bindparam

        _CAP_STMT = select(WorkUnitQuota.quota).where(
            WorkUnitQuota.campaign_id == bindparam("campaign_id"),
            WorkUnitQuota.org_id == bindparam("org_id")).limit(1)
    return _CAP_STMT


def quota_info(campaign_id: int, org_id: int, counts: dict[str, int] | None = None
               ) -> QuotaInfo:
    """Used and cap of one unit, in one statement (the review list shows it). With the
    unit's unfiltered status counts at hand (the list's tabs), "used" is their sum and
    only the cap is read: counting the unit's recommended works again costs a scan."""
    if counts is not None and all(s in counts for s in COUNTED_STATES):
        cap = db.session.scalar(_cap_statement(),
                                {"campaign_id": campaign_id, "org_id": org_id})
        return QuotaInfo(sum(counts[s] for s in COUNTED_STATES), cap)
    used = (select(func.count(Work.id)).where(
        Work.campaign_id == campaign_id, Work.channel_id == org_id,
        Work.status.in_(COUNTED_STATES)).scalar_subquery())
    cap = (select(WorkUnitQuota.quota).where(
        WorkUnitQuota.campaign_id == campaign_id, WorkUnitQuota.org_id == org_id)
        .limit(1).scalar_subquery())
    row = db.session.execute(select(used, cap)).one()
    return QuotaInfo(row[0] or 0, row[1])


def quota_message(quota: int) -> str:
    return f"已达到本单位推荐限额（{quota}件），不能继续推荐"


def recommender_units(q: str = "") -> list[Org]:
    """Orgs with at least one unit_admin grant (the recommender units), by name."""
    stmt = (select(Org).where(Org.id.in_(
        select(Grant.org_id).where(Grant.role == R.UNIT_ADMIN, Grant.org_id.is_not(None))))
        .order_by(Org.name, Org.id))
    if q:
        from ...review_queue import escape_like

        stmt = stmt.where(func.lower(Org.name).like("%" + escape_like(q.lower()) + "%",
                                                    escape="\\"))
    return list(db.session.scalars(stmt))


def usage_by_unit(campaign_id: int, org_ids) -> dict[int, QuotaInfo]:
    """{org_id: QuotaInfo} for many units in two queries."""
    org_ids = list(org_ids)
    if not org_ids:
        return {}
    used = dict(db.session.execute(
        select(Work.channel_id, func.count(Work.id))
        .where(Work.campaign_id == campaign_id, Work.channel_id.in_(org_ids),
               Work.status.in_(COUNTED_STATES))
        .group_by(Work.channel_id)).all())
    quotas = dict(db.session.execute(
        select(WorkUnitQuota.org_id, WorkUnitQuota.quota)
        .where(WorkUnitQuota.campaign_id == campaign_id,
               WorkUnitQuota.org_id.in_(org_ids))).all())
    return {oid: QuotaInfo(used.get(oid, 0), quotas.get(oid)) for oid in org_ids}


def parse_quota(raw: str | None) -> tuple[int | None, str | None]:
    """'' -> unlimited; an integer ≥ 0 -> that cap. Returns (value, error message)."""
    raw = (raw or "").strip()
    if raw == "":
        return None, None
    value = parse_int(raw)
    if value is None or not raw.isdigit():
        return None, "请输入不小于0的整数，留空表示不限"
    if value > 100000:
        return None, "限额不能超过100000"
    return value, None


def set_quotas(campaign, values: dict[int, int | None], user) -> int:
    """Store the caps {org_id: quota or None}; returns how many changed. Commits."""
    existing = {q.org_id: q for q in db.session.scalars(select(WorkUnitQuota).where(
        WorkUnitQuota.campaign_id == campaign.id,
        WorkUnitQuota.org_id.in_(list(values))))}
    changed = 0
    now = utcnow()
    for org_id, quota in values.items():
        row = existing.get(org_id)
        before = row.quota if row is not None else None
        if before == quota:
            continue
        if row is None:
            row = WorkUnitQuota(campaign_id=campaign.id, org_id=org_id)
            db.session.add(row)
        row.quota = quota
        row.updated_at = now
        row.updated_by_id = user.id
        audit("work_unit_quota", org_id, "set_quota", user,
              data={"campaign_id": campaign.id, "from": before, "to": quota})
        changed += 1
    db.session.commit()
    return changed


# --- decisions ------------------------------------------------------------------------
def _refuse(e: TransitionError) -> OperationError:
    db.session.rollback()
    message = e.message
    if e.code == "forbidden":
        message = "您不是该作品推荐渠道的推荐单位管理员，不能处理此作品"
    return OperationError(message, code=e.code)


def _busy() -> OperationError:
    db.session.rollback()
    return OperationError("系统繁忙，该作品未能处理，请稍后重试", code="busy")


def _require_review_window(work: Work) -> None:
    state = settings_of(work).review_window()
    if not state.open:
        raise OperationError(state.message, code="window_closed")


def _require_reviewer(work: Work, user) -> None:
    if not work.can_review(user):
        raise OperationError("您不是该作品推荐渠道的推荐单位管理员，不能处理此作品",
                             code="forbidden")


def recommend(work: Work, user, *, send_sms: bool = True) -> Work:
    """推荐: pending → recommended within the unit's quota. Commits, then SMS."""
    _require_reviewer(work, user)
    _require_review_window(work)
    campaign_id, channel_id = work.campaign_id, work.channel_id
    try:
        WORK_FLOW.check(work, "recommend", user)
        lock_row(Org, channel_id)
        WORK_FLOW.apply(work, "recommend", user)
        quota = quota_of(campaign_id, channel_id)
        if quota is not None and recommended_count(campaign_id, channel_id) > quota:
            db.session.rollback()
            raise OperationError(quota_message(quota), code="quota")
        work.recommended_at = utcnow()
        work.return_comment = ""
        db.session.commit()
    except TransitionError as e:
        raise _refuse(e) from None
    except DBAPIError:
        raise _busy() from None
    if send_sms:
        notify(work, "recommend")
    return work


def return_work(work: Work, user, comment: str | None) -> Work:
    """退回修改: pending → returned with a required comment. Commits, then SMS."""
    comment = (comment or "").strip()
    _require_reviewer(work, user)
    if not comment:
        raise OperationError("请填写退回意见", field="comment", code="comment_required")
    if len(comment) > RETURN_COMMENT_MAX:
        raise OperationError(f"退回意见不能超过{RETURN_COMMENT_MAX}字（当前{len(comment)}字）",
                             field="comment", code="too_long")
    _require_review_window(work)
    try:
        # The version is kept so that 撤销退回 can tell whether the applicant has
        # touched the work since.
        WORK_FLOW.apply(work, "return", user, comment=comment, data={"version": work.version})
        work.return_comment = comment
        db.session.commit()
    except TransitionError as e:
        raise _refuse(e) from None
    except DBAPIError:
        raise _busy() from None
    notify(work, "return")
    return work


def unrecommend(work: Work, user) -> Work:
    """撤销推荐: recommended → pending, while no expert has been assigned (the quota
    slot is freed). Audited like every transition."""
    _require_reviewer(work, user)
    _require_review_window(work)
    try:
        lock_row(Org, work.channel_id)
        WORK_FLOW.apply(work, "unrecommend", user)
        work.recommended_at = None
        db.session.commit()
    except TransitionError as e:
        raise _refuse(e) from None
    except DBAPIError:
        raise _busy() from None
    return work


def unreturn(work: Work, user) -> Work:
    """撤销退回: returned → pending, only while the applicant has not changed the work
    since it was returned (its version is the one recorded with the return)."""
    from ...workflow import AuditLog

    _require_reviewer(work, user)
    _require_review_window(work)
    last = db.session.scalar(
        select(AuditLog).where(AuditLog.entity_type == "work", AuditLog.entity_id == work.id)
        .order_by(AuditLog.at.desc(), AuditLog.id.desc()).limit(1))
    if (last is None or last.action != "return"
            or (last.data or {}).get("version") != work.version):
        raise OperationError("申报人已修改或重新提交该作品，不能再撤销退回", code="changed")
    try:
        WORK_FLOW.apply(work, "unreturn", user)
        work.return_comment = ""
        db.session.commit()
    except TransitionError as e:
        raise _refuse(e) from None
    except DBAPIError:
        raise _busy() from None
    return work


@dataclass
class BulkResult:
    done: list[Work] = field(default_factory=list)
    # (work id, title or None, Chinese reason)
    refused: list[tuple[int, str | None, str]] = field(default_factory=list)

    @property
    def message(self) -> str:
        text = f"已推荐 {len(self.done)} 件"
        if self.refused:
            reasons = "；".join(
                f"《{title}》{reason}" if title else f"编号{wid}：{reason}"
                for wid, title, reason in self.refused)
            text += f"；未推荐 {len(self.refused)} 件：{reasons}"
        return text + "。"


def bulk_recommend(work_ids, user) -> BulkResult:
    """Recommend each selected work on its own (scope, state, quota checked for each;
    one commit per work, so the quota is never exceeded and one refusal does not undo
    the others). Works the user may not review are reported without their title."""
    result = BulkResult()
    seen: set[int] = set()
    for raw in work_ids:
        wid = parse_id(raw)
        if wid is None:
            continue
        if wid in seen:
            continue
        seen.add(wid)
        work = db.session.get(Work, wid)
        if work is None or not work.can_review(user):
            result.refused.append((wid, None, "作品不存在或不属于本单位"))
            continue
        title = work.display_title
        try:
            recommend(work, user)
        except OperationError as e:
            result.refused.append((wid, title, e.message))
            continue
        result.done.append(work)
    return result
