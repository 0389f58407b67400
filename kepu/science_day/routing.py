"""Where an activity goes for review (seed 002 三(二) 归口 (3), seed 003 一.2).

省/市/区县科协 → the provincial admin of its province first, then national; 有关部委 /
全国学会 → national only. The province is read from the 归口 org's own region code,
else from the activity's 所在地区 — never from the org's parent chain, so a wrong or
missing parent cannot hide an activity from its province. The 兵团 reviews like a
province (route key 659: its cities are coded 659xxx under 新疆).
"""
from __future__ import annotations

from ..orgs import supervisors
from ..orgs.models import Org
from .models import BINGTUAN_ROUTE, PROVINCIAL_ROUTE


def route_province(category: str | None, org: Org | None, region_code: str | None) -> str | None:
    """The route key of the first (provincial) review, or None for national-only."""
    if category not in PROVINCIAL_ROUTE:
        return None
    if supervisors.is_bingtuan(org):
        return BINGTUAN_ROUTE
    if org is None and region_code and region_code.startswith(BINGTUAN_ROUTE):
        return BINGTUAN_ROUTE
    return supervisors.province_code_of(org, region_code)


def route_label(key: str | None) -> str:
    from ..orgs import regions

    if key is None:
        return "全国"
    if key == BINGTUAN_ROUTE:
        return "新疆生产建设兵团"
    return regions.name(key) or key
