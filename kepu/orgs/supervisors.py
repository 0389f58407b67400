"""归口单位 (an activity's supervising unit): categories, the orgs each offers, the
直辖市 rule, the province an activity is routed to, and the higher levels to fall back
on (seed 002 三(二) 归口, seed 001 三.5, seed 003 一.2).

Shared by the org picker (``org_picker(..., category_field=...)``) and by the Science
Day activity form, which validates its choice with ``check_supervisor`` and routes with
``province_code_of``.
"""
from __future__ import annotations

from sqlalchemy import select

from ..extensions import db
from . import regions
from .generate import BINGTUAN_KEY, BINGTUAN_PREFIX, region_key
from .models import CAST_KINDS, ORG_ACTIVE, Org

MINISTRY = "有关部委"
PROVINCE = "省科协"
CITY = "市科协"
COUNTY = "区县科协"
SOCIETY = "全国学会"

#: 归口 category → the org kinds it offers, in the order of seed 002.
SUPERVISOR_CATEGORIES: dict[str, list[str]] = {
    MINISTRY: ["部委"],
    PROVINCE: ["省级科协"],
    CITY: ["市级科协"],
    COUNTY: ["县级科协"],
    SOCIETY: ["全国学会"],
}
CATEGORIES = list(SUPERVISOR_CATEGORIES)
#: Reviewed by the provincial admin first, then nationally (seed 002 三(二) 归口 (3)).
PROVINCIAL_ROUTE = {PROVINCE, CITY, COUNTY}
#: Reviewed nationally only.
NATIONAL_ROUTE = {MINISTRY, SOCIETY}
#: The certifications shown as 已认证 for a 归口 科协 (seed 001 三.5).
SUPERVISOR_CERTIFICATIONS = ["全国科普示范县（市、区）", "示范县创建单位"]


def kinds_for(category: str | None) -> list[str] | None:
    return SUPERVISOR_CATEGORIES.get(category or "")


def all_supervisor_kinds() -> list[str]:
    return [k for kinds in SUPERVISOR_CATEGORIES.values() for k in kinds]


def category_of(org: Org | None) -> str | None:
    """The category under which ``org`` is offered (by its kind, then further kinds)."""
    if org is None:
        return None
    for kind in org.all_kinds:
        for category, kinds in SUPERVISOR_CATEGORIES.items():
            if kind in kinds:
                return category
    return None


def in_category(org: Org, category: str) -> bool:
    kinds = kinds_for(category)
    return bool(kinds) and org.has_kind(kinds)


def province_code_of(org: Org | None, fallback_region: str | None = None) -> str | None:
    """The province an activity with 归口 ``org`` belongs to: from the org's own region
    code, never from its parent chain (a wrong parent must not hide an activity from its
    province, seed 003 一.2(4)); else from ``fallback_region`` (the activity's 所在地区).
    The 兵团 shares 新疆's code "65": see ``provincial_org_of`` to tell them apart."""
    code = regions.province_code(org.region_code) if org is not None else None
    return code or regions.province_code(fallback_region)


def is_bingtuan(org: Org | None) -> bool:
    if org is None:
        return False
    return org.generated_key == BINGTUAN_KEY or (
        bool(org.region_code) and org.region_code.startswith(BINGTUAN_PREFIX))


def in_direct_municipality(org: Org | None) -> bool:
    """A district or county (below the city level) of a 直辖市."""
    r = regions.get(org.region_code) if org is not None else None
    return bool(r and r.level >= 2 and regions.is_direct(regions.province_code(r.code)))


def check_supervisor(category: str | None, org: Org | None) -> str | None:
    """Why (``category``, ``org``) is not a valid 归口单位, in Chinese, or None."""
    if category not in SUPERVISOR_CATEGORIES:
        return "请选择归口单位类别"
    if org is None:
        return "请选择归口单位"
    if org.status != ORG_ACTIVE:
        return "请从组织库中选择已审核的归口单位"
    if category == COUNTY and in_direct_municipality(org):
        return (f"直辖市的区县请将归口单位类别选为“{CITY}”，再选择「{org.name}」"
                "（见全国科普日平台说明：直辖市有关区县，请首先选择“市科协”）")
    if not in_category(org, category):
        right = category_of(org)
        if right:
            return f"「{org.name}」属于“{right}”，请将归口单位类别选为“{right}”"
        return f"「{org.name}」不是{category}，请重新选择"
    return None


def cast_org_for_region(code: str | None) -> Org | None:
    """The (active) 科协 of a region: the generated one, else any 科协 with that code."""
    code = regions.normalize(code)
    if not code:
        return None
    org = db.session.scalar(select(Org).where(Org.generated_key == region_key(code),
                                              Org.status == ORG_ACTIVE))
    if org is not None:
        return org
    return db.session.scalar(
        select(Org).where(Org.region_code == code, Org.kind.in_(CAST_KINDS),
                          Org.status == ORG_ACTIVE, Org.generated_key.is_(None))
        .order_by(Org.id).limit(1))


def bingtuan_org() -> Org | None:
    return db.session.scalar(select(Org).where(Org.generated_key == BINGTUAN_KEY,
                                               Org.status == ORG_ACTIVE))


def provincial_org_of(org: Org | None, fallback_region: str | None = None) -> Org | None:
    """The provincial-level 科协 an activity with 归口 ``org`` is reviewed by: the 兵团科协
    for the 兵团 and its cities, else the 省级科协 of ``province_code_of``."""
    if is_bingtuan(org):
        return bingtuan_org()
    if org is None and fallback_region and fallback_region.startswith(BINGTUAN_PREFIX):
        return bingtuan_org()
    return cast_org_for_region(province_code_of(org, fallback_region))


def levels_for_region(code: str | None) -> list[tuple[str, Org]]:
    """(category, 科协) of a region and the regions above it, most specific first:
    区县科协 → 市科协 → 省科协 (seed 003: pick the higher level when the unit is missing)."""
    out: list[tuple[str, Org]] = []
    seen: set[int] = set()
    for r in reversed(regions.chain(code)):
        if r.level == 1 and code and regions.normalize(code).startswith(BINGTUAN_PREFIX):
            org = bingtuan_org()
        else:
            org = cast_org_for_region(r.code)
        if org is None or org.id in seen:
            continue
        category = category_of(org)
        if category in PROVINCIAL_ROUTE:
            out.append((category, org))
            seen.add(org.id)
    return out


def higher_levels(org: Org | None) -> list[tuple[str, Org]]:
    """The 科协 above ``org`` by its region (not its parent): for a county 科协 its city's
    and province's, for a city 科协 its province's."""
    if org is None or not org.region_code or category_of(org) not in (CITY, COUNTY):
        return []
    return [(c, o) for c, o in levels_for_region(org.region_code)
            if o.id != org.id and o.region_code != org.region_code]


def search_supervisors(category: str | None, q: str | None, user=None, limit: int = 10):
    """Autocomplete hits of ``category`` (all supervisor kinds when None); active orgs only."""
    from .search import search_orgs

    kinds = kinds_for(category) or all_supervisor_kinds()
    return [h for h in search_orgs(q, user, kinds, limit=limit * 2)
            if h.org.status == ORG_ACTIVE][:limit]


def elsewhere(category: str | None, q: str | None, user=None, limit: int = 5):
    """(category, hit) in the *other* categories for a query that found nothing in
    ``category``: e.g. 东城区 under 区县科协 → 北京市东城区科学技术协会 under 市科协."""
    if not category or not q:
        return []
    others = [k for c, kinds in SUPERVISOR_CATEGORIES.items() if c != category for k in kinds]
    from .search import search_orgs

    out = []
    for h in search_orgs(q, user, others, limit=limit * 2):
        c = category_of(h.org)
        if h.org.status == ORG_ACTIVE and c and c != category:
            out.append((c, h))
    return out[:limit]


def validate_supervisor(category: str | None, org_id) -> tuple[Org | None, str | None]:
    """(org, error) for a submitted category and org id (merged orgs resolve)."""
    from .forms import check_org_choice

    if category not in SUPERVISOR_CATEGORIES:
        return None, "请选择归口单位类别"
    if not org_id:
        return None, "请选择归口单位"
    org, error = check_org_choice(org_id, require_active=True)
    if error:
        return None, error
    error = check_supervisor(category, org)
    return (None, error) if error else (org, None)
