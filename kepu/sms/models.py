from __future__ import annotations

from datetime import datetime

from sqlalchemy import Index, String
from sqlalchemy.orm import Mapped, mapped_column

from ..extensions import db
from ..timeutil import utcnow


class SmsCode(db.Model):
    """One verification code sent. Only a keyed hash of the code is stored."""

    __tablename__ = "sms_code"
    __table_args__ = (Index("ix_sms_code_phone_purpose_created", "phone", "purpose", "created_at"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    phone: Mapped[str] = mapped_column(String(11))
    purpose: Mapped[str] = mapped_column(String(20))
    code_hash: Mapped[str] = mapped_column(String(64))
    ip: Mapped[str] = mapped_column(String(45), default="", index=True)
    created_at: Mapped[datetime] = mapped_column(default=utcnow, index=True)
    expires_at: Mapped[datetime]
    attempts: Mapped[int] = mapped_column(default=0)
    used_at: Mapped[datetime | None]
    # False for the silent (not sent) rows written for unregistered phones on
    # login/reset, so that limits and answers do not reveal registration.
    delivered: Mapped[bool] = mapped_column(default=True)
