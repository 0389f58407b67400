"""推优 of 全国科普日 (seed 002 五, issue 13): pending 推优 admin grants by phone, quotas per
scope, recommended excellent activities.

A *scope* is who recommends: a province (route key, ``province:11``; the 兵团 is
``province:659``) or a 全国学会 / 有关部委 org (``org:5``), the keys of
kepu.science_day.annual. Quotas hold both figures (excellent activities and excellent
organiser units); ``units_used`` counts ExcellentUnit rows the way ``activities_used``
counts ExcellentActivity rows, and ``units_cast_used`` those of them that are 科协
organisations (the 70% rule, kept by the same conditional UPDATE).

National results: the national admin selects recommended activities and units
(``selected_at``) and publishes the edition's result (TuiyouPublication).
"""
from __future__ import annotations

from datetime import datetime

from sqlalchemy import Boolean, ForeignKey, Index, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from ..extensions import db
from ..timeutil import utcnow


class TuiyouGrant(db.Model):
    """The national admin's naming of a scope's 推优 admin, by name and phone. One per
    scope; applied (a ``grant`` row made) as soon as a user with that phone exists —
    at once, or when they register or log in (kepu.accounts.hooks)."""

    __tablename__ = "tuiyou_grant"
    __table_args__ = (UniqueConstraint("scope_key", name="uq_tuiyou_grant_scope"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    scope_key: Mapped[str] = mapped_column(String(40))
    region_code: Mapped[str | None] = mapped_column(String(12))
    org_id: Mapped[int | None] = mapped_column(ForeignKey("org.id"))
    name: Mapped[str] = mapped_column(String(50), default="")
    phone: Mapped[str] = mapped_column(String(20), index=True)
    user_id: Mapped[int | None] = mapped_column(ForeignKey("user.id", ondelete="SET NULL"))
    applied_at: Mapped[datetime | None]
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("user.id"))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)

    user: Mapped["User | None"] = relationship(foreign_keys=[user_id])  # noqa: F821


class TuiyouQuota(db.Model):
    """A scope's quotas in one edition. ``*_used`` is the number recommended, changed
    only by conditional UPDATEs in the recommending transaction (never past the quota,
    also when two admins click at once)."""

    __tablename__ = "tuiyou_quota"

    campaign_id: Mapped[int] = mapped_column(ForeignKey("campaign.id", ondelete="CASCADE"),
                                             primary_key=True)
    scope_key: Mapped[str] = mapped_column(String(40), primary_key=True)
    activities: Mapped[int] = mapped_column(default=0)
    units: Mapped[int] = mapped_column(default=0)
    activities_used: Mapped[int] = mapped_column(default=0)
    units_used: Mapped[int] = mapped_column(default=0)
    # of units_used, how many are 科协 organisations (any level): at most the edition's
    # share (70%) of units_used, checked in the same conditional UPDATE
    units_cast_used: Mapped[int] = mapped_column(default=0, server_default="0")
    # what the formula suggested when the quota was last set (shown next to it)
    suggested_activities: Mapped[int | None]
    suggested_units: Mapped[int | None]
    # a cut below the suggestion / previous figure, with the reason the 推优 admin sees
    cut_reason: Mapped[str] = mapped_column(Text, default="")
    updated_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_by_id: Mapped[int | None] = mapped_column(ForeignKey("user.id"))


class ExcellentActivity(db.Model):
    """An activity recommended as excellent by its scope's 推优 admin (withdrawn =
    deleted, with an audit entry)."""

    __tablename__ = "excellent_activity"
    __table_args__ = (
        UniqueConstraint("activity_id", name="uq_excellent_activity_activity"),
        Index("ix_excellent_activity_scope", "campaign_id", "scope_key", "created_at"),
        Index("ix_excellent_activity_selected", "campaign_id", "selected_at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    campaign_id: Mapped[int] = mapped_column(ForeignKey("campaign.id", ondelete="CASCADE"))
    scope_key: Mapped[str] = mapped_column(String(40))
    activity_id: Mapped[int] = mapped_column(ForeignKey("activity.id", ondelete="CASCADE"))
    recommended_by_id: Mapped[int | None] = mapped_column(ForeignKey("user.id"))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    # the national admin's selection (None: recommended, not selected)
    selected_at: Mapped[datetime | None]
    selected_by_id: Mapped[int | None] = mapped_column(ForeignKey("user.id"))

    activity: Mapped["Activity"] = relationship()  # noqa: F821


class ExcellentUnit(db.Model):
    """An organiser unit (a 主办单位 of one of the scope's recommended excellent
    activities) recommended as excellent by the scope's 推优 admin. A unit is recommended
    once per edition (``unit_key``: the org id when the host was picked from the org
    library, else its normalised name). ``is_cast`` is fixed when recommended."""

    __tablename__ = "excellent_unit"
    __table_args__ = (
        UniqueConstraint("campaign_id", "unit_key", name="uq_excellent_unit_unit"),
        Index("ix_excellent_unit_scope", "campaign_id", "scope_key", "created_at"),
        Index("ix_excellent_unit_selected", "campaign_id", "selected_at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    campaign_id: Mapped[int] = mapped_column(ForeignKey("campaign.id", ondelete="CASCADE"))
    scope_key: Mapped[str] = mapped_column(String(40))
    # "org:<id>" or "name:<normalised name>"
    unit_key: Mapped[str] = mapped_column(String(220))
    org_id: Mapped[int | None] = mapped_column(ForeignKey("org.id", ondelete="SET NULL"))
    name: Mapped[str] = mapped_column(String(200))
    is_cast: Mapped[bool] = mapped_column(Boolean, default=False)
    recommended_by_id: Mapped[int | None] = mapped_column(ForeignKey("user.id"))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    selected_at: Mapped[datetime | None]
    selected_by_id: Mapped[int | None] = mapped_column(ForeignKey("user.id"))

    org: Mapped["Org | None"] = relationship()  # noqa: F821


class TuiyouPublication(db.Model):
    """The published national result of an edition (the public page shows the selected
    activities and units while ``published_at`` is set; unpublishing clears it)."""

    __tablename__ = "tuiyou_publication"

    campaign_id: Mapped[int] = mapped_column(ForeignKey("campaign.id", ondelete="CASCADE"),
                                             primary_key=True)
    published_at: Mapped[datetime | None]
    published_by_id: Mapped[int | None] = mapped_column(ForeignKey("user.id"))
    note: Mapped[str] = mapped_column(Text, default="")
    updated_at: Mapped[datetime] = mapped_column(default=utcnow)
