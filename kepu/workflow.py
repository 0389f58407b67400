"""Declarative state machines with an audit trail, shared by the campaigns.

A campaign declares its states and transitions as data::

    WORK_FLOW = StateMachine(
        "work",
        states={"draft": "草稿", "pending": "待推荐", "returned": "退回修改", ...},
        transitions=[
            Transition("submit", {"draft", "returned"}, "pending", "提交",
                       allowed=lambda work, user: work.owner_id == user.id),
            Transition("return", {"pending"}, "returned", "退回修改",
                       allowed=lambda work, user: work.can_review(user),
                       requires_comment=True),
        ],
    )

and an operation calls ``WORK_FLOW.apply(work, "return", user, comment=...)``. The
state change is a conditional UPDATE (``WHERE status = <current>``), so of two
concurrent requests for the same object only one wins; the loser gets a
``TransitionError``. ``apply`` writes the audit row but does not commit: the calling
operation commits once, with the rest of its writes.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Callable, Iterable

from sqlalchemy import JSON, ForeignKey, Index, String, Text, select, update
from sqlalchemy.orm import Mapped, mapped_column, relationship

from .extensions import db
from .timeutil import utcnow


class AuditLog(db.Model):
    __tablename__ = "audit_log"
    __table_args__ = (Index("ix_audit_log_entity", "entity_type", "entity_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    entity_type: Mapped[str] = mapped_column(String(30))
    entity_id: Mapped[int]
    action: Mapped[str] = mapped_column(String(40))
    from_state: Mapped[str | None] = mapped_column(String(30))
    to_state: Mapped[str | None] = mapped_column(String(30))
    actor_id: Mapped[int | None] = mapped_column(ForeignKey("user.id"), index=True)
    comment: Mapped[str] = mapped_column(Text, default="")
    data: Mapped[dict] = mapped_column(JSON, default=dict)
    at: Mapped[datetime] = mapped_column(default=utcnow, index=True)

    actor: Mapped["User | None"] = relationship()  # noqa: F821


class TransitionError(Exception):
    """A refused transition. ``message`` is shown to the user (Chinese)."""

    def __init__(self, message: str, code: str = "refused"):
        super().__init__(message)
        self.message = message
        self.code = code


class OperationError(Exception):
    """A refused write in a campaign operation. ``message`` is Chinese and shown to the
    user; ``field`` names the form field it belongs to (None: the whole form);
    ``errors`` maps several fields to messages."""

    def __init__(self, message: str, field: str | None = None,
                 errors: dict[str, str] | None = None, code: str = "refused"):
        super().__init__(message)
        self.message = message
        self.field = field
        self.errors = errors or ({field: message} if field else {})
        self.code = code


Predicate = Callable[[Any, Any], bool]
Guard = Callable[[Any, Any], "str | None"]


@dataclass(frozen=True)
class Transition:
    action: str
    sources: frozenset[str] | set[str]
    target: str
    label: str
    allowed: Predicate | None = None          # who may do it: (obj, user) -> bool
    requires_comment: bool = False
    guards: tuple[Guard, ...] = field(default=())  # (obj, user) -> error message or None

    def __post_init__(self):
        object.__setattr__(self, "sources", frozenset(self.sources))


class StateMachine:
    def __init__(self, entity_type: str, states: dict[str, str],
                 transitions: Iterable[Transition], state_attr: str = "status"):
        self.entity_type = entity_type
        self.states = dict(states)
        self.state_attr = state_attr
        self.transitions: dict[str, Transition] = {}
        for t in transitions:
            unknown = (set(t.sources) | {t.target}) - set(self.states)
            if unknown:
                raise ValueError(f"{entity_type}.{t.action}: unknown states {sorted(unknown)}")
            if t.action in self.transitions:
                raise ValueError(f"{entity_type}: duplicate action {t.action}")
            self.transitions[t.action] = t

    def label(self, state: str | None) -> str:
        return self.states.get(state or "", state or "")

    def state_of(self, obj) -> str:
        return getattr(obj, self.state_attr)

    def transition(self, action: str) -> Transition:
        try:
            return self.transitions[action]
        except KeyError:
            raise TransitionError("不支持的操作", "unknown_action") from None

    def check(self, obj, action: str, user, comment: str | None = None) -> Transition:
        """Raise TransitionError unless ``user`` may do ``action`` on ``obj`` now."""
        t = self.transition(action)
        if t.allowed is not None and not t.allowed(obj, user):
            raise TransitionError("无权执行此操作", "forbidden")
        current = self.state_of(obj)
        if current not in t.sources:
            raise TransitionError(
                f"当前状态为“{self.label(current)}”，不能执行“{t.label}”", "wrong_state"
            )
        for guard in t.guards:
            message = guard(obj, user)
            if message:
                raise TransitionError(message, "guard")
        if t.requires_comment and not (comment or "").strip():
            raise TransitionError(f"请填写{t.label}意见", "comment_required")
        return t

    def can(self, obj, action: str, user) -> bool:
        try:
            t = self.check(obj, action, user, comment="-")
        except TransitionError:
            return False
        return t is not None

    def available(self, obj, user) -> list[Transition]:
        return [t for a, t in self.transitions.items() if self.can(obj, a, user)]

    def apply(self, obj, action: str, user, comment: str | None = None,
              data: dict | None = None) -> AuditLog:
        t = self.check(obj, action, user, comment)
        current = self.state_of(obj)
        model = type(obj)
        column = getattr(model, self.state_attr)
        result = db.session.execute(
            update(model)
            .where(model.id == obj.id, column == current)
            .values({self.state_attr: t.target})
            .execution_options(synchronize_session=False)
        )
        if result.rowcount != 1:
            db.session.rollback()
            raise TransitionError("该记录已被他人处理，请刷新后重试", "conflict")
        setattr(obj, self.state_attr, t.target)
        entry = AuditLog(
            entity_type=self.entity_type, entity_id=obj.id, action=action,
            from_state=current, to_state=t.target,
            actor_id=getattr(user, "id", None), comment=(comment or "").strip(),
            data=data or {},
        )
        db.session.add(entry)
        return entry

    def history(self, obj) -> list[AuditLog]:
        return list(db.session.scalars(
            select(AuditLog)
            .where(AuditLog.entity_type == self.entity_type, AuditLog.entity_id == obj.id)
            .order_by(AuditLog.at, AuditLog.id)
        ))


def audit(entity_type: str, entity_id: int, action: str, user, comment: str = "",
          data: dict | None = None) -> AuditLog:
    """Record an action that is not a state transition (e.g. org merge)."""
    entry = AuditLog(entity_type=entity_type, entity_id=entity_id, action=action,
                     actor_id=getattr(user, "id", None), comment=comment, data=data or {})
    db.session.add(entry)
    return entry


def lock_row(model, object_id: int) -> None:
    """Serialise quota decisions on one parent row (e.g. the recommender unit).

    Call it *before* the conditional UPDATE of a transition and count afterwards,
    within the same transaction. PostgreSQL takes a row lock (``SELECT … FOR
    UPDATE``), so a second request waits until the first commits and then counts its
    row. SQLite ignores ``FOR UPDATE``, but only one connection can write at a time:
    once the transition's UPDATE holds the write lock, the count sees every committed
    recommendation, and a writer whose snapshot went stale gets an error (→ conflict).
    """
    db.session.execute(select(model.id).where(model.id == object_id).with_for_update())
