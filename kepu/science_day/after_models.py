"""全国科普日 after the event (seed 001 三.1, 三.6, 三.7, 三.9, 二.2(1); 002 三(四).1, 五(一)).

- ``ActivitySupplement``: 补充活动信息 and 活动总结 of one activity (1:1). Photos, videos
  and participant evidence are ``StoredFile`` rows attached to the activity under the
  fields ``effect_photo``, ``effect_video`` and ``participant_photo``.
- ``ActivityScientist``: the scientists list (≤ 100 per activity, phones unique per
  activity); the thank-you SMS goes to each phone once per edition.
- ``ScientistThanks``: one row per (edition, phone): the thank-you SMS queue with its
  state (待发送 / 已发送 / 失败), attempts and times.
- ``Resource``: 下载资源 of an edition (a file or a link), including poster backgrounds.
- ``AnnualReport``: 年度工作总结 of a provincial 科协 (``region_code``) or a 全国学会
  (``org_id``) for an edition; attachments are ``StoredFile`` rows of entity
  ``annual_report``.
"""
from __future__ import annotations

from datetime import datetime

from sqlalchemy import JSON, ForeignKey, Index, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from ..extensions import db
from ..timeutil import utcnow

# Upload fields on the activity (kepu.science_day.files resolves their specs per edition).
F_EFFECT_PHOTO, F_EFFECT_VIDEO, F_PARTICIPANT_PHOTO = (
    "effect_photo", "effect_video", "participant_photo")
F_GENERATED_POSTER = "generated_poster"

# The five parts of 活动总结 (seed 002 三(四).1(4)), in the seed's order.
SUMMARY_PARTS = (
    ("basic", "活动基本情况"),
    ("results", "主要成果成效"),
    ("highlights", "特色亮点"),
    ("resources", "形成可复用的科普资源情况"),
    ("experience", "工作体会"),
)

# Thank-you SMS states.
THANKS_PENDING, THANKS_SENT, THANKS_FAILED = "pending", "sent", "failed"
THANKS_LABELS = {THANKS_PENDING: "待发送", THANKS_SENT: "已发送", THANKS_FAILED: "失败"}

# Resource kinds (下载资源 sections).
RESOURCE_KINDS = (
    ("example", "往年优秀活动"),
    ("background", "海报背景"),
    ("guide", "操作指南"),
    ("other", "其他资源"),
)

ANNUAL_REPORT_ENTITY = "annual_report"
RESOURCE_ENTITY = "sd_resource"


class ActivitySupplement(db.Model):
    __tablename__ = "activity_supplement"

    activity_id: Mapped[int] = mapped_column(
        ForeignKey("activity.id", ondelete="CASCADE"), primary_key=True)
    # Bumped on every save; an older version's save is refused (two tabs).
    version: Mapped[int] = mapped_column(default=1)
    media_reports: Mapped[list] = mapped_column(JSON, default=list)   # [{title, url}]
    participants_offline: Mapped[int | None]
    participants_online: Mapped[int | None]
    # seconds of each uploaded video, read from the file on upload: {str(file id): s}
    video_durations: Mapped[dict] = mapped_column(JSON, default=dict)
    # 活动总结: {part key: text} (SUMMARY_PARTS); filed_at set when 提交总结 succeeds.
    summary: Mapped[dict] = mapped_column(JSON, default=dict)
    summary_filed_at: Mapped[datetime | None]
    updated_at: Mapped[datetime] = mapped_column(default=utcnow)

    activity: Mapped["Activity"] = relationship(  # noqa: F821
        backref=db.backref("supplement", uselist=False, passive_deletes=True))


class ActivityScientist(db.Model):
    __tablename__ = "activity_scientist"
    __table_args__ = (
        UniqueConstraint("activity_id", "phone", name="uq_activity_scientist_phone"),
        Index("ix_activity_scientist_phone", "phone"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    activity_id: Mapped[int] = mapped_column(ForeignKey("activity.id", ondelete="CASCADE"),
                                             index=True)
    position: Mapped[int] = mapped_column(default=0)
    name: Mapped[str] = mapped_column(String(50), default="")
    phone: Mapped[str] = mapped_column(String(20))
    unit: Mapped[str] = mapped_column(String(200), default="")
    title: Mapped[str] = mapped_column(String(100), default="")
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class ScientistThanks(db.Model):
    __tablename__ = "scientist_thanks"
    __table_args__ = (
        UniqueConstraint("campaign_id", "phone", name="uq_scientist_thanks_phone"),
        Index("ix_scientist_thanks_queue", "campaign_id", "status", "next_attempt_at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    campaign_id: Mapped[int] = mapped_column(ForeignKey("campaign.id", ondelete="CASCADE"))
    phone: Mapped[str] = mapped_column(String(20))
    name: Mapped[str] = mapped_column(String(50), default="")
    status: Mapped[str] = mapped_column(String(10), default=THANKS_PENDING)
    attempts: Mapped[int] = mapped_column(default=0)
    last_error: Mapped[str] = mapped_column(Text, default="")
    next_attempt_at: Mapped[datetime | None]
    queued_at: Mapped[datetime] = mapped_column(default=utcnow)
    sent_at: Mapped[datetime | None]
    updated_at: Mapped[datetime] = mapped_column(default=utcnow)


class Resource(db.Model):
    __tablename__ = "sd_resource"
    __table_args__ = (Index("ix_sd_resource_list", "campaign_id", "kind", "position"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    campaign_id: Mapped[int] = mapped_column(ForeignKey("campaign.id", ondelete="CASCADE"))
    kind: Mapped[str] = mapped_column(String(20), default="other")
    title: Mapped[str] = mapped_column(String(200), default="")
    description: Mapped[str] = mapped_column(Text, default="")
    url: Mapped[str] = mapped_column(String(500), default="")
    file_id: Mapped[int | None] = mapped_column(ForeignKey("stored_file.id",
                                                           ondelete="SET NULL"))
    position: Mapped[int] = mapped_column(default=0)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow)

    file: Mapped["StoredFile | None"] = relationship()  # noqa: F821


class AnnualReport(db.Model):
    __tablename__ = "sd_annual_report"
    __table_args__ = (
        UniqueConstraint("campaign_id", "scope_key", name="uq_sd_annual_report_scope"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    campaign_id: Mapped[int] = mapped_column(ForeignKey("campaign.id", ondelete="CASCADE"))
    # "province:<code>" or "org:<id>": who files it (one report per scope and edition)
    scope_key: Mapped[str] = mapped_column(String(40))
    region_code: Mapped[str | None] = mapped_column(String(12))
    org_id: Mapped[int | None] = mapped_column(ForeignKey("org.id"))
    scope_name: Mapped[str] = mapped_column(String(200), default="")
    version: Mapped[int] = mapped_column(default=1)
    text: Mapped[str] = mapped_column(Text, default="")
    filed_by_id: Mapped[int | None] = mapped_column(ForeignKey("user.id"))
    filed_at: Mapped[datetime | None]
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow)

    filed_by: Mapped["User | None"] = relationship()  # noqa: F821
