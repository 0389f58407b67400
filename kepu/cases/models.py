"""典赞·科普中国 case collection models (seed 004).

- ``RecommendCode``: one unguessable 推荐码 per recommender unit and edition.
- ``Case``: a case entered by an implementing unit (实施单位) under a recommender unit.
- ``CaseUnitSubmission``: a unit's stamped summary scan; uploading it finalises and
  locks the unit's recommendations (视为提交成功); a platform admin can unlock.
- ``PastCase``: cases selected in earlier editions (imported), which must not come again.
- ``ShowcaseWork``: works-call works chosen for the 科普作品传播 showcase category.

Predicates: ``case.can_view / can_edit / can_review(user)``.
"""
from __future__ import annotations

from datetime import datetime

from sqlalchemy import JSON, ForeignKey, Index, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from ..accounts import roles as R
from ..extensions import db
from ..timeutil import utcnow

__all__ = ["RecommendCode", "Case", "CaseUnitSubmission", "PastCase", "ShowcaseWork"]

ENTITY = "case"

# Case states (DESIGN.md): draft → submitted → returned | recommended → finalised.
DRAFT, SUBMITTED, RETURNED, RECOMMENDED, FINALISED = (
    "draft", "submitted", "returned", "recommended", "finalised")
EDITABLE_STATES = frozenset({DRAFT, RETURNED})
COUNTED_STATES = frozenset({RECOMMENDED, FINALISED})  # count against the unit's quota

# Upload fields (kepu.files specs, registered in kepu.cases.files).
F_PHOTO_LANDSCAPE, F_PHOTO_PORTRAIT, F_AWARD_PROOF = (
    "case_photo_landscape", "case_photo_portrait", "case_award_proof")


def _is_user(user) -> bool:
    return bool(getattr(user, "is_authenticated", False))


def is_national(user) -> bool:
    return _is_user(user) and (user.is_platform_admin or user.has_role(R.NATIONAL_ADMIN))


class RecommendCode(db.Model):
    __tablename__ = "recommend_code"
    __table_args__ = (UniqueConstraint("campaign_id", "org_id", name="uq_recommend_code_unit"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    campaign_id: Mapped[int] = mapped_column(ForeignKey("campaign.id"), index=True)
    org_id: Mapped[int] = mapped_column(ForeignKey("org.id"), index=True)
    code: Mapped[str] = mapped_column(String(16), unique=True)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    regenerated_at: Mapped[datetime | None]

    org: Mapped["Org"] = relationship()  # noqa: F821


class Case(db.Model):
    __tablename__ = "case"
    __table_args__ = (
        # The review queue's covering indexes (kepu.cases.queues; migration e5a1c7b2d9f4).
        Index("ix_case_queue_org", "campaign_id", "org_id", "status", "submitted_at",
              "category", "subtype", "name", "updated_at"),
        Index("ix_case_queue_category", "campaign_id", "category", "status", "org_id",
              "recommended_at", "submitted_at", "subtype", "name", "updated_at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    campaign_id: Mapped[int] = mapped_column(ForeignKey("campaign.id"), index=True)
    # The recommender unit whose 推荐码 the implementing unit entered.
    org_id: Mapped[int] = mapped_column(ForeignKey("org.id"), index=True)
    owner_id: Mapped[int] = mapped_column(ForeignKey("user.id"), index=True)
    status: Mapped[str] = mapped_column(String(20), default=DRAFT)
    version: Mapped[int] = mapped_column(default=1)

    name: Mapped[str] = mapped_column(String(100), default="")          # 案例名称 ≤20
    impl_unit: Mapped[str] = mapped_column(String(200), default="")     # 实施单位
    unit_address: Mapped[str] = mapped_column(String(200), default="")
    contact_name: Mapped[str] = mapped_column(String(50), default="")
    job_title: Mapped[str] = mapped_column(String(100), default="")
    contact_phone: Mapped[str] = mapped_column(String(30), default="")
    email: Mapped[str] = mapped_column(String(120), default="")
    category: Mapped[str] = mapped_column(String(20), default="")       # activity | venue
    subtype: Mapped[str] = mapped_column(String(30), default="")
    subtype_other: Mapped[str] = mapped_column(String(100), default="")
    summary: Mapped[str] = mapped_column(Text, default="")              # 简要概述 ≤500
    media_reports: Mapped[list] = mapped_column(JSON, default=list)     # ≤3 {title,url}
    awards: Mapped[str] = mapped_column(Text, default="")
    details: Mapped[str] = mapped_column(Text, default="")              # 详细材料 ≤3000

    # Near match with a past selected case (shown to the unit admin), e.g. "2025：…".
    duplicate_note: Mapped[str] = mapped_column(String(300), default="")
    return_comment: Mapped[str] = mapped_column(Text, default="")
    submitted_at: Mapped[datetime | None]
    recommended_at: Mapped[datetime | None]
    # National showcase selection (精选展示).
    selected: Mapped[bool] = mapped_column(default=False)
    selected_at: Mapped[datetime | None]

    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow)

    org: Mapped["Org"] = relationship(foreign_keys=[org_id])  # noqa: F821
    owner: Mapped["User"] = relationship(foreign_keys=[owner_id])  # noqa: F821
    campaign: Mapped["Campaign"] = relationship()  # noqa: F821

    def is_owner(self, user) -> bool:
        return _is_user(user) and self.owner_id == user.id

    def can_review(self, user) -> bool:
        """A case admin of the recommender unit (bound by 推荐码), once submitted."""
        if not _is_user(user) or self.status == DRAFT:
            return False
        return self.org_id in user.org_ids_for(R.CASE_UNIT)

    def can_view(self, user) -> bool:
        if not _is_user(user):
            return False
        if self.is_owner(user) or self.can_review(user):
            return True
        return is_national(user) and self.status != DRAFT

    def can_edit(self, user) -> bool:
        """Owner, in 草稿 / 退回修改, while the entry window is open (also decides
        whether the owner may remove an attached file)."""
        from .settings import CasesSettings

        return (self.is_owner(user) and self.status in EDITABLE_STATES
                and CasesSettings(self.campaign).window().open)

    @property
    def display_name(self) -> str:
        return self.name or "（未命名案例）"


class CaseUnitSubmission(db.Model):
    __tablename__ = "case_unit_submission"
    __table_args__ = (UniqueConstraint("campaign_id", "org_id", name="uq_case_unit_submission"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    campaign_id: Mapped[int] = mapped_column(ForeignKey("campaign.id"), index=True)
    org_id: Mapped[int] = mapped_column(ForeignKey("org.id"), index=True)
    scan_file_id: Mapped[int | None] = mapped_column(ForeignKey("stored_file.id"))
    submitted_at: Mapped[datetime | None]
    submitted_by_id: Mapped[int | None] = mapped_column(ForeignKey("user.id"))
    locked: Mapped[bool] = mapped_column(default=False)
    unlocked_at: Mapped[datetime | None]
    unlocked_by_id: Mapped[int | None] = mapped_column(ForeignKey("user.id"))

    org: Mapped["Org"] = relationship()  # noqa: F821
    scan_file: Mapped["StoredFile | None"] = relationship()  # noqa: F821

    def can_view(self, user) -> bool:
        return _is_user(user) and (self.org_id in user.org_ids_for(R.CASE_UNIT)
                                   or is_national(user))


class PastCase(db.Model):
    """A case selected in an earlier edition; a new case matching it is refused."""

    __tablename__ = "past_case"
    __table_args__ = (Index("ix_past_case_norm", "norm_name", "norm_unit"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    campaign_id: Mapped[int] = mapped_column(ForeignKey("campaign.id"), index=True)
    year: Mapped[int]
    name: Mapped[str] = mapped_column(String(200))
    unit_name: Mapped[str] = mapped_column(String(200))
    norm_name: Mapped[str] = mapped_column(String(200))
    norm_unit: Mapped[str] = mapped_column(String(200))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class ShowcaseWork(db.Model):
    """A works-call work (marked 入选 there) chosen for the 科普作品传播 showcase."""

    __tablename__ = "showcase_work"
    __table_args__ = (UniqueConstraint("campaign_id", "work_id", name="uq_showcase_work"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    campaign_id: Mapped[int] = mapped_column(ForeignKey("campaign.id"), index=True)
    work_id: Mapped[int] = mapped_column(ForeignKey("work.id", ondelete="CASCADE"), index=True)
    selected_at: Mapped[datetime] = mapped_column(default=utcnow)
    selected_by_id: Mapped[int | None] = mapped_column(ForeignKey("user.id"))

    work: Mapped["Work"] = relationship()  # noqa: F821


def load_case(case_id: int) -> Case | None:
    return db.session.get(Case, case_id)


def load_submission(sub_id: int) -> CaseUnitSubmission | None:
    return db.session.get(CaseUnitSubmission, sub_id)
