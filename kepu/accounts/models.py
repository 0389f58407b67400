from __future__ import annotations

from datetime import datetime

from flask_login import UserMixin
from sqlalchemy import ForeignKey, String, UniqueConstraint, select
from sqlalchemy.orm import Mapped, mapped_column, relationship
from werkzeug.security import check_password_hash, generate_password_hash

from ..extensions import db
from ..timeutil import utcnow
from . import roles as R


class User(UserMixin, db.Model):
    __tablename__ = "user"

    id: Mapped[int] = mapped_column(primary_key=True)
    phone: Mapped[str] = mapped_column(String(11), unique=True, index=True)
    password_hash: Mapped[str] = mapped_column(String(256))
    name: Mapped[str] = mapped_column(String(50), default="")
    unit_name: Mapped[str] = mapped_column(String(100), default="")
    job_title: Mapped[str] = mapped_column(String(50), default="")
    email: Mapped[str] = mapped_column(String(120), default="")
    # Real-name certification: the name, a masked ID number for display and a keyed
    # hash to detect reuse. The full ID number is never stored.
    real_name: Mapped[str | None] = mapped_column(String(50))
    id_number_masked: Mapped[str | None] = mapped_column(String(18))
    id_number_hash: Mapped[str | None] = mapped_column(String(64), unique=True)
    real_name_verified_at: Mapped[datetime | None]
    active: Mapped[bool] = mapped_column(default=True)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    last_login_at: Mapped[datetime | None]
    # Bumped on password change: invalidates other sessions.
    session_version: Mapped[int] = mapped_column(default=1)

    grants: Mapped[list["Grant"]] = relationship(
        back_populates="user", cascade="all, delete-orphan", foreign_keys="Grant.user_id"
    )

    # --- Flask-Login -----------------------------------------------------
    @property
    def is_active(self) -> bool:  # type: ignore[override]
        return self.active

    def get_id(self) -> str:
        return f"{self.id}:{self.session_version}"

    # --- passwords (werkzeug scrypt, a slow KDF) ---------------------------
    def set_password(self, password: str) -> None:
        self.password_hash = generate_password_hash(password, method="scrypt")

    def check_password(self, password: str) -> bool:
        return bool(self.password_hash) and check_password_hash(self.password_hash, password)

    @staticmethod
    def check_no_password(password: str) -> bool:
        """Spend the time ``check_password`` spends, for a phone nobody registered, so
        that the answer's timing does not tell registered phones apart. Always False."""
        check_password_hash(dummy_password_hash(), password)
        return False

    # --- roles --------------------------------------------------------------
    def has_role(self, role: str, org_id: int | None = None,
                 region_code: str | None = None, campaign_id: int | None = None) -> bool:
        for g in self.grants:
            if g.role != role:
                continue
            if org_id is not None and g.org_id != org_id:
                continue
            if region_code is not None and g.region_code != region_code:
                continue
            if campaign_id is not None and g.campaign_id not in (None, campaign_id):
                continue
            return True
        return False

    def grants_for(self, role: str) -> list["Grant"]:
        return [g for g in self.grants if g.role == role]

    def org_ids_for(self, role: str) -> set[int]:
        return {g.org_id for g in self.grants if g.role == role and g.org_id is not None}

    def orgs_for(self, role: str) -> list:
        """The orgs of the user's ``role`` grants, by name (loaded with the user)."""
        orgs = {g.org.id: g.org for g in self.grants
                if g.role == role and g.org is not None}
        return sorted(orgs.values(), key=lambda o: (o.name, o.id))

    @property
    def is_platform_admin(self) -> bool:
        return self.has_role(R.PLATFORM_ADMIN)

    @property
    def display_name(self) -> str:
        return self.real_name or self.name or mask_phone(self.phone)

    @property
    def masked_phone(self) -> str:
        return mask_phone(self.phone)

    @classmethod
    def by_phone(cls, phone: str) -> "User | None":
        return db.session.scalar(select(cls).where(cls.phone == phone))


class UserSession(db.Model):
    """One login (a browser session) on the server. The session cookie carries a random
    token whose hash is stored here: logging out deletes the row, so a copy of the cookie
    opens nothing afterwards (``kepu.accounts.sessions``)."""

    __tablename__ = "user_session"

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("user.id", ondelete="CASCADE"), index=True)
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class Grant(db.Model):
    """One row per (user, role, scope). Scope columns are optional by role."""

    __tablename__ = "grant"
    __table_args__ = (
        UniqueConstraint("user_id", "role", "org_id", "region_code", "campaign_id",
                         name="uq_grant_scope"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("user.id", ondelete="CASCADE"), index=True)
    role: Mapped[str] = mapped_column(String(30), index=True)
    org_id: Mapped[int | None] = mapped_column(ForeignKey("org.id"), index=True)
    region_code: Mapped[str | None] = mapped_column(String(12), index=True)
    campaign_id: Mapped[int | None] = mapped_column(ForeignKey("campaign.id"))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("user.id"))

    user: Mapped[User] = relationship(back_populates="grants", foreign_keys=[user_id])
    org: Mapped["Org | None"] = relationship(foreign_keys=[org_id])  # noqa: F821

    @property
    def role_label(self) -> str:
        return R.label(self.role)


_DUMMY_HASH: list[str] = []


def dummy_password_hash() -> str:
    """A hash made like every real one (same KDF and cost), of a random password."""
    if not _DUMMY_HASH:
        import secrets

        _DUMMY_HASH.append(generate_password_hash(secrets.token_hex(16), method="scrypt"))
    return _DUMMY_HASH[0]


def mask_phone(phone: str) -> str:
    return phone[:3] + "****" + phone[-4:] if phone and len(phone) == 11 else phone
