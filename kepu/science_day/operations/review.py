"""Two-level review of activities (seed 002 四; seed 001 一.2).

The provincial admin of an activity's route (``route_province``) decides first (通过 →
全国审批中, 退回 with a reason → 省管理员审批拒绝); the national admin (中国科协) decides
next (通过 → 已通过, the public snapshot is written; 退回 → 全国审批拒绝). Activities
归口 to 有关部委 / 全国学会 start at 全国审批中. Each decision can be undone right after
it (撤销) while nothing else has happened to the activity since; a national approval can
be undone only while it was the activity's first (its public page is then withdrawn
again: an earlier approved version cannot be brought back).

Every function checks the rules on the server, changes state only through
``ACTIVITY_FLOW.apply`` (which writes the audit row) and commits once. Refusals raise
``OperationError`` with a Chinese message.
"""
from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.exc import DBAPIError

from ...extensions import db
from ...timeutil import utcnow
from ...workflow import AuditLog, OperationError, TransitionError
from ..flow import ACTIVITY_FLOW, UNDO_OF
from ..models import Activity, ActivityPublic

REASON_MAX = 1000
DECISIONS = ("province_approve", "province_reject", "national_approve", "national_reject")


def _refuse(e: TransitionError) -> OperationError:
    db.session.rollback()
    message = e.message
    if e.code == "forbidden":
        message = "您不是该活动的审核管理员，不能处理此活动"
    if e.code == "comment_required":
        return OperationError("请填写退回原因", field="comment", code=e.code)
    return OperationError(message, code=e.code)


def _busy() -> OperationError:
    db.session.rollback()
    return OperationError("系统繁忙，该活动未能处理，请稍后重试", code="busy")


def decide(activity: Activity, action: str, user, comment: str | None = None) -> Activity:
    """One review decision (``DECISIONS``); 退回 needs a reason (≤ REASON_MAX)."""
    if action not in DECISIONS:
        raise OperationError("不支持的操作", code="unknown_action")
    comment = (comment or "").strip()
    rejecting = action.endswith("reject")
    if rejecting:
        if not comment:
            raise OperationError("请填写退回原因", field="comment", code="comment_required")
        if len(comment) > REASON_MAX:
            raise OperationError(f"退回原因不能超过{REASON_MAX}字（当前{len(comment)}字）",
                                 field="comment", code="too_long")
    first_approval = action == "national_approve" and activity.approved_at is None
    try:
        ACTIVITY_FLOW.apply(activity, action, user, comment=comment if rejecting else None,
                            data={"version": activity.version,
                                  "first_approval": first_approval})
        now = utcnow()
        activity.decided_at = now
        if rejecting:
            activity.reject_reason = comment
        if action == "national_approve":
            from .listing import publish_snapshot

            activity.approved_at = now
            activity.reject_reason = ""
            publish_snapshot(activity)
        db.session.commit()
    except TransitionError as e:
        raise _refuse(e) from None
    except DBAPIError:
        raise _busy() from None
    return activity


def undo(activity: Activity, undo_action: str, user) -> Activity:
    """撤销 a decision right after it: the activity's last audited action must be that
    decision, by this user, and the activity unchanged since."""
    decision = next((d for d, u in UNDO_OF.items() if u == undo_action), None)
    if decision is None:
        raise OperationError("不支持的操作", code="unknown_action")
    last = db.session.scalar(
        select(AuditLog).where(AuditLog.entity_type == "activity",
                               AuditLog.entity_id == activity.id)
        .order_by(AuditLog.at.desc(), AuditLog.id.desc()).limit(1))
    if (last is None or last.action != decision or last.actor_id != getattr(user, "id", None)
            or (last.data or {}).get("version") != activity.version):
        raise OperationError("该活动在此之后已有其他处理或修改，不能再撤销", code="changed")
    if decision == "national_approve" and not (last.data or {}).get("first_approval"):
        raise OperationError("该活动此前已通过并展示，撤销会使已公开的版本无法恢复，不能撤销",
                             code="not_first")
    try:
        ACTIVITY_FLOW.apply(activity, undo_action, user)
        activity.decided_at = utcnow()
        if decision.endswith("reject"):
            activity.reject_reason = ""
        if decision == "national_approve":
            activity.approved_at = None
            public = db.session.get(ActivityPublic, activity.id)
            if public is not None:
                db.session.delete(public)
        db.session.commit()
    except TransitionError as e:
        raise _refuse(e) from None
    except DBAPIError:
        raise _busy() from None
    return activity


def history(activity: Activity) -> list[AuditLog]:
    return ACTIVITY_FLOW.history(activity)
