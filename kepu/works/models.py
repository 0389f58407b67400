"""优质科普作品征集 models: works, expert assignments and scores, per-unit quotas.

Permission predicates live here so routes and templates share one rule:
``work.can_view(user)``, ``work.can_edit(user)``, ``work.can_review(user)`` (the unit
admin of the chosen recommender unit), ``assignment.can_score(user)``.
"""
from __future__ import annotations

from datetime import datetime

from sqlalchemy import JSON, ForeignKey, Index, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from ..accounts import roles as R
from ..extensions import db
from ..timeutil import utcnow

ENTITY = "work"

# State names (DESIGN.md glossary). Labels are in kepu.works.flow.
DRAFT, PENDING, RETURNED, RECOMMENDED, IN_REVIEW, REVIEWED = (
    "draft", "pending", "returned", "recommended", "in_review", "reviewed")
EDITABLE_STATES = frozenset({DRAFT, PENDING, RETURNED})

# Upload field names (kepu.files specs, resolved per edition: "works:<campaign_id>:<name>").
F_COVER, F_COVER_SUB, F_WORK_FILES, F_AWARD_FILES = "cover", "cover_sub", "work_file", "award_file"


#: Columns the review lists filter, search and sort by, carried in their indexes.
_QUEUE_COLS = ("title", "work_type", "category", "applicant_unit", "updated_at")


class Work(db.Model):
    __tablename__ = "work"
    __table_args__ = (
        # The review queue's covering indexes (kepu.works.queues; migration e5a1c7b2d9f4):
        # counts by status and pages in submitted order, for a unit and for the edition.
        Index("ix_work_queue_status", "campaign_id", "status", "submitted_at", *_QUEUE_COLS,
              "channel_id"),
        Index("ix_work_queue_unit_status", "campaign_id", "channel_id", "status",
              "submitted_at", *_QUEUE_COLS),
        Index("ix_work_queue_unit_time", "campaign_id", "channel_id", "submitted_at",
              "status", *_QUEUE_COLS),
        Index("ix_work_queue_time", "campaign_id", "submitted_at", "status", *_QUEUE_COLS,
              "channel_id"),
        # A unit's tab sorted by 作品名称 (e.g. 待推荐 A→Z) in index order (c4e8a2f6b1d3).
        Index("ix_work_queue_unit_title", "campaign_id", "channel_id", "status", "title"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    campaign_id: Mapped[int] = mapped_column(ForeignKey("campaign.id"), index=True)
    owner_id: Mapped[int] = mapped_column(ForeignKey("user.id"), index=True)
    status: Mapped[str] = mapped_column(String(20), default=DRAFT)
    # The step the applicant last worked on (1 基本信息, 2 补充信息, 3 预览).
    step: Mapped[int] = mapped_column(default=1)
    # Bumped on every save; a save carrying an older version is refused (two tabs).
    version: Mapped[int] = mapped_column(default=1)

    # Step 1: 基本信息
    title: Mapped[str] = mapped_column(String(200), default="")
    work_type: Mapped[str] = mapped_column(String(50), default="")
    category: Mapped[str] = mapped_column(String(50), default="")
    intro: Mapped[str] = mapped_column(Text, default="")

    # Step 2: 补充信息
    author_name: Mapped[str] = mapped_column(String(100), default="")
    applicant_unit: Mapped[str] = mapped_column(String(200), default="")
    unit_address: Mapped[str] = mapped_column(String(200), default="")
    contact_name: Mapped[str] = mapped_column(String(50), default="")
    contact_phone: Mapped[str] = mapped_column(String(30), default="")
    email: Mapped[str] = mapped_column(String(120), default="")
    job_title: Mapped[str] = mapped_column(String(100), default="")
    unit_type: Mapped[str] = mapped_column(String(30), default="")
    channel_id: Mapped[int | None] = mapped_column(ForeignKey("org.id"))
    highlights: Mapped[str] = mapped_column(Text, default="")
    # [{"title": "...", "url": "https://..."}], at most limits.media_items
    media_reports: Mapped[list] = mapped_column(JSON, default=list)
    awards: Mapped[str] = mapped_column(Text, default="")

    # Review
    return_comment: Mapped[str] = mapped_column(Text, default="")
    submitted_at: Mapped[datetime | None]
    recommended_at: Mapped[datetime | None]
    # 入选: decided by the platform admin from the ranking; shown once published.
    selected: Mapped[bool] = mapped_column(default=False)

    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow)

    owner: Mapped["User"] = relationship(foreign_keys=[owner_id])  # noqa: F821
    channel: Mapped["Org | None"] = relationship(foreign_keys=[channel_id])  # noqa: F821
    campaign: Mapped["Campaign"] = relationship()  # noqa: F821
    assignments: Mapped[list["WorkAssignment"]] = relationship(
        back_populates="work", cascade="all, delete-orphan", order_by="WorkAssignment.id")

    # --- predicates -----------------------------------------------------------
    def is_owner(self, user) -> bool:
        return bool(getattr(user, "is_authenticated", False)) and self.owner_id == user.id

    def can_review(self, user) -> bool:
        """The admin of the recommender unit this work chose (after submission)."""
        if not getattr(user, "is_authenticated", False) or self.channel_id is None:
            return False
        if self.status == DRAFT:
            return False
        return self.channel_id in user.org_ids_for(R.UNIT_ADMIN)

    def is_assigned_expert(self, user) -> bool:
        if not getattr(user, "is_authenticated", False):
            return False
        return any(a.expert_id == user.id for a in self.assignments)

    def can_view(self, user) -> bool:
        if not getattr(user, "is_authenticated", False):
            return False
        return (self.is_owner(user) or user.is_platform_admin or self.can_review(user)
                or self.is_assigned_expert(user))

    def can_edit(self, user) -> bool:
        """Owner, in 草稿 / 待推荐 / 退回修改, while the submission window is open
        (also decides whether the owner may remove an attached file)."""
        from .settings import WorksSettings

        return (self.is_owner(user) and self.status in EDITABLE_STATES
                and WorksSettings(self.campaign).window().open)

    @property
    def display_title(self) -> str:
        return self.title or "（未命名作品）"


class WorkTally(db.Model):
    """How many works of an edition are in each state, per recommender unit
    (``channel_key`` = the org id, 0 without one). Kept by database triggers on ``work``
    (kepu.works.tally, migration c4e8a2f6b1d3), so no code path can let it drift; the
    unit's review list reads its status tabs from it unless a search or filter is on."""

    __tablename__ = "work_tally"

    campaign_id: Mapped[int] = mapped_column(ForeignKey("campaign.id", ondelete="CASCADE"),
                                             primary_key=True)
    channel_key: Mapped[int] = mapped_column(primary_key=True, autoincrement=False)
    status: Mapped[str] = mapped_column(String(20), primary_key=True)
    n: Mapped[int] = mapped_column(default=0)


class WorkAssignment(db.Model):
    """One expert assigned to one work, with their scores."""

    __tablename__ = "work_assignment"
    __table_args__ = (UniqueConstraint("work_id", "expert_id", name="uq_work_assignment"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    work_id: Mapped[int] = mapped_column(ForeignKey("work.id", ondelete="CASCADE"), index=True)
    expert_id: Mapped[int] = mapped_column(ForeignKey("user.id"), index=True)
    assigned_by_id: Mapped[int | None] = mapped_column(ForeignKey("user.id"))
    assigned_at: Mapped[datetime] = mapped_column(default=utcnow)
    # {"scientific": 85, ...} and {"scientific": "comment", ...}
    scores: Mapped[dict] = mapped_column(JSON, default=dict)
    comments: Mapped[dict] = mapped_column(JSON, default=dict)
    # Weighted total (0..100) computed from scores and the rubric when saved.
    total: Mapped[float | None]
    saved_at: Mapped[datetime | None]
    submitted_at: Mapped[datetime | None]

    work: Mapped[Work] = relationship(back_populates="assignments")
    expert: Mapped["User"] = relationship(foreign_keys=[expert_id])  # noqa: F821

    def can_score(self, user) -> bool:
        return (getattr(user, "is_authenticated", False) and self.expert_id == user.id
                and self.submitted_at is None)

    def can_view(self, user) -> bool:
        return getattr(user, "is_authenticated", False) and (
            self.expert_id == user.id or user.is_platform_admin)


class WorkUnitQuota(db.Model):
    """Optional cap on how many works a recommender unit may recommend in an edition
    (no row = unlimited)."""

    __tablename__ = "work_unit_quota"
    __table_args__ = (UniqueConstraint("campaign_id", "org_id", name="uq_work_unit_quota"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    campaign_id: Mapped[int] = mapped_column(ForeignKey("campaign.id"), index=True)
    org_id: Mapped[int] = mapped_column(ForeignKey("org.id"), index=True)
    quota: Mapped[int | None]
    updated_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_by_id: Mapped[int | None] = mapped_column(ForeignKey("user.id"))


def load_work(work_id: int) -> Work | None:
    return db.session.get(Work, work_id)

