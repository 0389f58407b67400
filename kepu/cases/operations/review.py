"""Unit case admins: 推荐 / 退回 / 撤销推荐 within quotas, the stamped summary scan, and
the platform's unlock.

Seed 004: each recommender unit submits at most ``quota_per_category`` (3) cases per
category and at most ``quota_total`` (6) across the two categories; it downloads the
summary table, stamps it and uploads the scan, which completes its submission
(视为提交成功) and locks its recommendations until a national admin unlocks them.

Quota decisions are race-safe (``kepu.workflow.lock_row``): lock the unit's ``Org``
row, apply the transition, *then* count within the same transaction and roll back when
over. Unit actions are bound by the edition's window; unlocking is not.
"""
from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import func, select
from sqlalchemy.exc import OperationalError

from ...extensions import db
from ...files.models import StoredFile
from ...files.operations import attach
from ...orgs.models import Org
from ...timeutil import utcnow
from ...workflow import OperationError, TransitionError, audit, lock_row
from ..common import require_open_window, settings_of
from ..files import F_SCAN, SUBMISSION_ENTITY
from ..flow import CASE_FLOW
from ..models import COUNTED_STATES, FINALISED, RECOMMENDED, Case, CaseUnitSubmission, is_national

LOCKED_MESSAGE = "本单位已上传盖章汇总表，推荐结果已锁定；如需修改请联系平台管理员解锁"
CONFLICT_MESSAGE = "操作冲突，请刷新后重试"
COMMENT_MAX = 1000
REASON_MAX = 500


# --- read helpers (pages and templates) -------------------------------------------------

def submission_for(campaign_id: int, org_id: int) -> CaseUnitSubmission | None:
    return db.session.scalar(select(CaseUnitSubmission).where(
        CaseUnitSubmission.campaign_id == campaign_id, CaseUnitSubmission.org_id == org_id))


def is_locked(campaign_id: int, org_id: int) -> bool:
    """Fresh from the database (never the session's cached object)."""
    return bool(db.session.scalar(select(CaseUnitSubmission.locked).where(
        CaseUnitSubmission.campaign_id == campaign_id, CaseUnitSubmission.org_id == org_id)))


def counted_by_category(campaign_id: int, org_id: int) -> dict[str, int]:
    """Recommended + finalised cases of one unit, per category."""
    rows = db.session.execute(
        select(Case.category, func.count(Case.id))
        .where(Case.campaign_id == campaign_id, Case.org_id == org_id,
               Case.status.in_(COUNTED_STATES))
        .group_by(Case.category)).all()
    return {cat: n for cat, n in rows}


@dataclass
class MeterItem:
    key: str
    label: str
    used: int
    limit: int

    @property
    def full(self) -> bool:
        return self.used >= self.limit

    @property
    def over(self) -> bool:
        return self.used > self.limit

    @property
    def percent(self) -> int:
        if self.limit <= 0:
            return 100
        return min(100, round(self.used * 100 / self.limit))


def quota_meter(campaign, org_id: int) -> list[MeterItem]:
    """One item per category ("科普活动服务 已推荐 2 / 3") and the total ("合计 3 / 6")."""
    settings = settings_of(campaign)
    per_cat = int(settings["quota_per_category"])
    counts = counted_by_category(campaign.id, org_id)
    items = [MeterItem(key, spec["label"], counts.get(key, 0), per_cat)
             for key, spec in settings["categories"].items()]
    items.append(MeterItem("total", "合计", sum(counts.values()), int(settings["quota_total"])))
    return items


def unit_cases(campaign_id: int, org_id: int, states=COUNTED_STATES) -> list[Case]:
    """The unit's cases in ``states`` in summary order (category, then recommendation)."""
    return list(db.session.scalars(
        select(Case).where(Case.campaign_id == campaign_id, Case.org_id == org_id,
                           Case.status.in_(states))
        .order_by(Case.category, Case.recommended_at, Case.id)))


# --- guards ---------------------------------------------------------------------------

def _require_unit_action(case: Case) -> None:
    require_open_window(case.campaign)
    if is_locked(case.campaign_id, case.org_id):
        raise OperationError(LOCKED_MESSAGE, code="locked")


def _apply(case: Case, action: str, user, comment: str | None = None, data=None):
    try:
        return CASE_FLOW.apply(case, action, user, comment=comment, data=data)
    except TransitionError as e:
        db.session.rollback()
        raise OperationError(e.message, field="comment" if e.code == "comment_required" else None,
                             code=e.code) from None


def _apply_in_unlocked_unit(case: Case, action: str, user, comment: str | None = None,
                            data: dict | None = None) -> None:
    """The transition, serialised on the unit row; refused when the unit was locked
    meanwhile (re-read inside the write transaction: a scan upload may have won)."""
    lock_row(Org, case.org_id)
    _apply(case, action, user, comment=comment, data=data)
    if is_locked(case.campaign_id, case.org_id):
        db.session.rollback()
        raise OperationError(LOCKED_MESSAGE, code="locked")


def _conflict(exc: Exception) -> OperationError:
    db.session.rollback()
    return OperationError(CONFLICT_MESSAGE, code="conflict")


def _quota_error(case: Case) -> str | None:
    """Counted after the transition, within the locked transaction."""
    settings = settings_of(case.campaign)
    per_cat = int(settings["quota_per_category"])
    total_limit = int(settings["quota_total"])
    counts = counted_by_category(case.campaign_id, case.org_id)
    in_cat = counts.get(case.category, 0)
    if in_cat > per_cat:
        label = settings.category_label(case.category)
        return (f"本单位“{label}”类已推荐{per_cat}个案例，已达上限（每类不超过{per_cat}个）")
    total = sum(counts.values())
    if total > total_limit:
        return f"两类案例合计已推荐{total_limit}个，已达上限（合计不超过{total_limit}个）"
    return None


# --- unit actions ---------------------------------------------------------------------

def recommend(case: Case, user) -> None:
    """推荐 within the unit's quotas (race-safe); refused when locked or out of window."""
    if not case.can_review(user):
        raise OperationError("无权执行此操作", code="forbidden")
    _require_unit_action(case)
    settings = settings_of(case.campaign)
    if case.category not in settings["categories"]:
        raise OperationError("该案例未选择有效的所属类别，请退回实施单位修改", code="category")
    try:
        _apply_in_unlocked_unit(case, "recommend", user)
        message = _quota_error(case)
        if message:
            db.session.rollback()
            raise OperationError(message, code="quota")
        now = utcnow()
        case.recommended_at = now
        case.updated_at = now
        case.return_comment = ""
        db.session.commit()
    except OperationalError as e:  # SQLite: "database is locked" / stale snapshot
        raise _conflict(e) from None


def return_case(case: Case, user, comment: str | None) -> None:
    """退回修改 (comment required) from 待推荐 or 已推荐, while the unit is not locked."""
    comment = (comment or "").strip()
    if not case.can_review(user):
        raise OperationError("无权执行此操作", code="forbidden")
    if not comment:
        raise OperationError("请填写退回修改意见", field="comment", code="comment_required")
    if len(comment) > COMMENT_MAX:
        raise OperationError(f"退回意见不能超过{COMMENT_MAX}字", field="comment",
                             code="comment_too_long")
    _require_unit_action(case)
    try:
        _apply_in_unlocked_unit(case, "return", user, comment=comment,
                                data={"version": case.version,
                                      "recommended_at": case.recommended_at.isoformat()
                                      if case.recommended_at else None})
        now = utcnow()
        case.return_comment = comment
        case.recommended_at = None
        case.selected = False
        case.selected_at = None
        case.updated_at = now
        db.session.commit()
    except OperationalError as e:
        raise _conflict(e) from None


def unrecommend(case: Case, user) -> None:
    """撤销推荐: back to 待推荐, freeing a quota slot (not once locked)."""
    if not case.can_review(user):
        raise OperationError("无权执行此操作", code="forbidden")
    _require_unit_action(case)
    try:
        _apply_in_unlocked_unit(case, "unrecommend", user)
        case.recommended_at = None
        case.selected = False
        case.selected_at = None
        case.updated_at = utcnow()
        db.session.commit()
    except OperationalError as e:
        raise _conflict(e) from None


def unreturn(case: Case, user) -> None:
    """撤销退回: back to 待推荐 right after a return, only while the implementing unit has
    not changed the case since (its version is the one recorded with the return). A case
    returned from 已推荐 goes back to 待推荐: its quota slot must be taken again."""
    from ...workflow import AuditLog

    if not case.can_review(user):
        raise OperationError("无权执行此操作", code="forbidden")
    _require_unit_action(case)
    last = db.session.scalar(
        select(AuditLog).where(AuditLog.entity_type == "case", AuditLog.entity_id == case.id)
        .order_by(AuditLog.at.desc(), AuditLog.id.desc()).limit(1))
    if (last is None or last.action != "return"
            or (last.data or {}).get("version") != case.version):
        raise OperationError("实施单位已修改或重新提交该案例，不能再撤销退回", code="changed")
    try:
        _apply_in_unlocked_unit(case, "unreturn", user)
        case.return_comment = ""
        case.updated_at = utcnow()
        db.session.commit()
    except OperationalError as e:
        raise _conflict(e) from None


def upload_scan(campaign, org_id: int, user, scan: StoredFile) -> CaseUnitSubmission:
    """Attach the stamped summary scan: finalise every recommended case and lock the unit.

    ``scan`` is a stored upload of field ``F_SCAN`` owned by ``user``.
    """
    if org_id not in user.org_ids_for("case_unit"):
        raise OperationError("无权执行此操作", code="forbidden")
    if scan is None or scan.field != F_SCAN or scan.owner_id != user.id:
        raise OperationError("请上传盖章汇总表扫描件（PDF或图片）", field="scan", code="scan")
    require_open_window(campaign)
    try:
        lock_row(Org, org_id)
        sub = submission_for(campaign.id, org_id)
        if sub is not None:
            db.session.refresh(sub)
        if sub is not None and sub.locked:
            raise OperationError(LOCKED_MESSAGE, code="locked")
        cases = unit_cases(campaign.id, org_id, states={RECOMMENDED})
        if not cases:
            raise OperationError("本单位还没有已推荐的案例，请先推荐案例再上传盖章汇总表",
                                 field="scan", code="no_cases")
        for case in cases:
            _apply(case, "finalise", user)
        now = utcnow()
        if sub is None:
            sub = CaseUnitSubmission(campaign_id=campaign.id, org_id=org_id)
            db.session.add(sub)
        sub.locked = True
        sub.submitted_at = now
        sub.submitted_by_id = user.id
        sub.scan_file_id = scan.id
        db.session.flush()
        attach(scan, SUBMISSION_ENTITY, sub.id, commit=False)
        audit(SUBMISSION_ENTITY, sub.id, "scan_upload", user,
              data={"file_id": scan.id, "case_ids": [c.id for c in cases],
                    "org_id": org_id, "campaign_id": campaign.id})
        # Any case recommended meanwhile would escape the lock: refuse instead.
        late = db.session.scalar(select(func.count(Case.id)).where(
            Case.campaign_id == campaign.id, Case.org_id == org_id,
            Case.status == RECOMMENDED))
        if late:
            db.session.rollback()
            raise OperationError(CONFLICT_MESSAGE, code="conflict")
        db.session.commit()
        return sub
    except OperationalError as e:
        raise _conflict(e) from None
    except OperationError:
        db.session.rollback()
        raise


def unlock(campaign, org_id: int, user, reason: str | None) -> CaseUnitSubmission:
    """National/platform admin: unlock a unit's submission (reason required); its
    finalised cases go back to 已推荐 so the unit can change them within the window."""
    reason = (reason or "").strip()
    if not is_national(user):
        raise OperationError("无权执行此操作", code="forbidden")
    if not reason:
        raise OperationError("请填写解锁原因", field="reason", code="reason_required")
    if len(reason) > REASON_MAX:
        raise OperationError(f"解锁原因不能超过{REASON_MAX}字", field="reason",
                             code="reason_too_long")
    try:
        lock_row(Org, org_id)
        sub = submission_for(campaign.id, org_id)
        if sub is not None:
            db.session.refresh(sub)
        if sub is None or not sub.locked:
            raise OperationError("该单位的推荐结果未锁定，无需解锁", code="not_locked")
        cases = unit_cases(campaign.id, org_id, states={FINALISED})
        for case in cases:
            _apply(case, "unlock", user, comment=reason)
        now = utcnow()
        sub.locked = False
        sub.unlocked_at = now
        sub.unlocked_by_id = user.id
        audit(SUBMISSION_ENTITY, sub.id, "unlock", user, comment=reason,
              data={"case_ids": [c.id for c in cases], "org_id": org_id,
                    "campaign_id": campaign.id})
        db.session.commit()
        return sub
    except OperationalError as e:
        raise _conflict(e) from None
    except OperationError:
        db.session.rollback()
        raise
