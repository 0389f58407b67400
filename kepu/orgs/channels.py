"""推荐渠道 (channels): which recommender units an applicant may choose (seed 000 四(二)).

A channel is an org of the right kind that has at least one approved unit admin
(a ``unit_admin`` grant, created when a platform admin approves an application).
"""
from __future__ import annotations

from sqlalchemy import exists, func, select

from ..accounts.models import Grant
from ..accounts.roles import UNIT_ADMIN
from ..extensions import db
from .models import ORG_ACTIVE, Org
from .search import kind_clause

#: 申报单位类型, in the order of the seed.
UNIT_TYPES = ["纲要办成员单位", "全国学会", "省级科协", "高校科协", "园区（企业）科协", "其他主体"]

#: 申报单位类型 → 推荐渠道类别 (the org kind offered as channels).
CHANNEL_FOR = {
    "纲要办成员单位": "纲要办成员单位",
    "全国学会": "全国学会",
    "省级科协": "省级科协",
    "高校科协": "省级科协",
    "园区（企业）科协": "省级科协",
    "其他主体": "省级科协",
}

#: The distinct channel categories, in display order.
CHANNEL_KINDS = ["纲要办成员单位", "全国学会", "省级科协"]

#: Seed 000 四(三): what to do when the wanted unit is not listed.
MISSING_CHANNEL_STEPS = [
    "请与推荐单位联系，确认该推荐单位是否已在系统完成管理员账号注册并通过审核。推荐单位完成注册并审核通过后，"
    "方可在系统【推荐渠道】列表中显示；未完成注册的单位，不予显示。",
    "如推荐单位尚未注册，请联系该单位尽快完成管理员注册，再进行作品申报。",
    "暂无推荐单位的【其他主体】申报用户，可联系本省省级科协作为推荐渠道。",
]


def _has_admin():
    return exists().where(Grant.org_id == Org.id, Grant.role == UNIT_ADMIN)


def channel_query(kind: str):
    """Approved recommender units of ``kind`` (their kind or a further kind, 兼属类别)."""
    stmt = select(Org).where(kind_clause([kind]), Org.status == ORG_ACTIVE, _has_admin())
    if kind == "省级科协":
        stmt = stmt.order_by(Org.region_code.is_(None), Org.region_code, Org.pinyin, Org.id)
    else:
        stmt = stmt.order_by(Org.pinyin, Org.id)
    return stmt


def channel_units(unit_type: str | None) -> list[Org]:
    """Approved recommender units offered for ``unit_type`` (empty for an unknown type)."""
    kind = CHANNEL_FOR.get(unit_type or "")
    if not kind:
        return []
    return list(db.session.scalars(channel_query(kind)))


def channels_by_kind() -> dict[str, list[Org]]:
    """Every channel grouped by category (for the no-JS <optgroup> list)."""
    return {k: list(db.session.scalars(channel_query(k))) for k in CHANNEL_KINDS}


def channel_counts() -> dict[str, int]:
    return {k: db.session.scalar(select(func.count(Org.id)).where(
        kind_clause([k]), Org.status == ORG_ACTIVE, _has_admin())) or 0 for k in CHANNEL_KINDS}


def is_recommender_unit(org_id: int | None) -> bool:
    if not org_id:
        return False
    return bool(db.session.scalar(
        select(func.count(Grant.id)).where(Grant.org_id == org_id, Grant.role == UNIT_ADMIN)))


def _to_int(value) -> int | None:
    try:
        return int(value)
    except (TypeError, ValueError):
        return None


def validate_channel(unit_type: str | None, org_id) -> str | None:
    """Error message (Chinese) for a (申报单位类型, 推荐渠道) pair, or None when valid."""
    if not unit_type or unit_type not in CHANNEL_FOR:
        return "请选择申报单位类型"
    oid = _to_int(org_id)
    if not oid:
        return "请选择推荐渠道"
    if oid not in {o.id for o in channel_units(unit_type)}:
        return "所选推荐渠道与申报单位类型不符"
    return None
