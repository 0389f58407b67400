"""Counting queries for the works-call statistics page (``works.admin_stats``).

Every count is over the edition's submitted works (status ≠ 草稿); drafts are counted
separately. Each breakdown is a list of ``Bar(label, count, percent)`` where
``percent`` is the share of the largest count (0..100), for the CSS-free bar chart.
"""
from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import func, select

from ..extensions import db
from ..orgs.models import Org
from .flow import STATE_LABELS
from .models import DRAFT, Work
from .settings import WorksSettings

NO_VALUE = "（未填写）"
NO_UNIT = "（未选择推荐单位）"


@dataclass
class Bar:
    label: str
    count: int
    percent: float = 0.0  # of the largest count in its breakdown
    share: float = 0.0    # of all counted works


def _bars(pairs: list[tuple[str, int]], total: int) -> list[Bar]:
    top = max((n for _, n in pairs), default=0)
    return [Bar(label, n, round(n / top * 100, 1) if top else 0.0,
                round(n / total * 100, 1) if total else 0.0) for label, n in pairs]


def _base(campaign):
    return (Work.campaign_id == campaign.id, Work.status != DRAFT)


def _grouped(column, campaign) -> dict:
    rows = db.session.execute(
        select(column, func.count(Work.id)).where(*_base(campaign)).group_by(column)).all()
    return {key: n for key, n in rows}


def _ordered(counts: dict, order: list[str]) -> list[tuple[str, int]]:
    """Configured values first (zeros included), then any other stored value."""
    pairs = [(v, counts.get(v, 0)) for v in order]
    extra: dict[str, int] = {}
    for key, n in counts.items():
        if key not in order:
            label = key or NO_VALUE
            extra[label] = extra.get(label, 0) + n
    return pairs + sorted(extra.items(), key=lambda p: (-p[1], p[0]))


def by_status(campaign) -> list[tuple[str, int]]:
    counts = _grouped(Work.status, campaign)
    return [(STATE_LABELS[s], counts.get(s, 0)) for s in STATE_LABELS if s != DRAFT]


def by_work_type(campaign) -> list[tuple[str, int]]:
    return _ordered(_grouped(Work.work_type, campaign), list(WorksSettings(campaign)["work_types"]))


def by_category(campaign) -> list[tuple[str, int]]:
    return _ordered(_grouped(Work.category, campaign), list(WorksSettings(campaign)["categories"]))


def by_unit(campaign) -> list[tuple[str, int]]:
    """Recommender units that received works, most works first."""
    rows = db.session.execute(
        select(Org.name, func.count(Work.id))
        .select_from(Work).outerjoin(Org, Org.id == Work.channel_id)
        .where(*_base(campaign)).group_by(Work.channel_id, Org.name)).all()
    return sorted(((name or NO_UNIT, n) for name, n in rows), key=lambda p: (-p[1], p[0]))


def draft_count(campaign) -> int:
    return db.session.scalar(select(func.count(Work.id)).where(
        Work.campaign_id == campaign.id, Work.status == DRAFT)) or 0


def selected_count(campaign) -> int:
    return db.session.scalar(select(func.count(Work.id)).where(
        *_base(campaign), Work.selected.is_(True))) or 0


def work_stats(campaign) -> dict:
    total = db.session.scalar(select(func.count(Work.id)).where(*_base(campaign))) or 0
    return {
        "total": total,
        "drafts": draft_count(campaign),
        "selected": selected_count(campaign),
        "sections": [
            ("by_status", "按状态", "状态", _bars(by_status(campaign), total)),
            ("by_unit", "按推荐单位", "推荐单位", _bars(by_unit(campaign), total)),
            ("by_type", "按作品类型", "作品类型", _bars(by_work_type(campaign), total)),
            ("by_category", "按作品分类", "作品分类", _bars(by_category(campaign), total)),
        ],
    }
