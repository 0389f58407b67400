from __future__ import annotations

from datetime import datetime

from sqlalchemy import JSON, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from ..extensions import db
from ..timeutil import utcnow

CAMPAIGN_KINDS = {
    "works": "优质科普作品征集",
    "science_day": "全国科普日",
    "cases": "典赞·科普中国",
}


class Campaign(db.Model):
    """One edition of a campaign kind. Year-specific windows, limits and quotas
    live here (``settings``), never in Python."""

    __tablename__ = "campaign"
    __table_args__ = (UniqueConstraint("kind", "year", name="uq_campaign_kind_year"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    kind: Mapped[str] = mapped_column(String(20), index=True)
    year: Mapped[int]
    title: Mapped[str] = mapped_column(String(100))
    settings: Mapped[dict] = mapped_column(JSON, default=dict)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)

    @property
    def kind_label(self) -> str:
        return CAMPAIGN_KINDS.get(self.kind, self.kind)
