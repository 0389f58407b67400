"""State of the reusable form widgets (org picker, region select, channel cascade).

Registered as Jinja *globals* (not context processors) so that the macros work when
imported without context (``{% from "_macros/org_picker.html" import org_picker %}``).
Each function reads the current request so that the no-JavaScript fallbacks (a GET
re-render of the page with the search term / partial selection in the query string)
work on any page that uses the macro.
"""
from __future__ import annotations

from urllib.parse import urlencode

from flask import request
from flask_login import current_user

from . import channels as ch
from . import regions

PICKER_SUFFIXES = ("_q", "_search", "_change", "_pick")


def _values():
    return request.values if request else {}


def parse_kinds(kinds) -> list[str] | None:
    if not kinds:
        return None
    if isinstance(kinds, str):
        kinds = kinds.split(",")
    out = [k.strip() for k in kinds if k and k.strip()]
    return out or None


def kinds_param(kinds) -> str:
    return ",".join(parse_kinds(kinds) or [])


def field_name_ok(name: str | None) -> bool:
    return bool(name) and name.replace("_", "").isalnum() and name.isascii()


def picker_return_url(field_name: str) -> str:
    """The current page URL without the picker's own parameters."""
    keep = [(k, v) for k, v in request.args.items(multi=True)
            if k != field_name and k not in {field_name + s for s in PICKER_SUFFIXES}]
    return request.path + ("?" + urlencode(keep) if keep else "")


def region_from_values(prefix: str | None, values=None) -> str | None:
    """The most specific region code of a region_select(prefix) in the request."""
    if not prefix or not field_name_ok(prefix):
        return None
    values = _values() if values is None else values
    return regions.from_parts(values.get(f"{prefix}_province"), values.get(f"{prefix}_city"),
                              values.get(f"{prefix}_county"))


def category_state(category_field: str | None, category: str | None, selected, q: str,
                   searched_empty: bool, region_prefix: str | None) -> dict:
    """The 归口 category part of a picker (``category_field`` set): the category select,
    other categories' matches for an empty search, the region's 科协 levels to fall
    back on, and the levels above a chosen county / city 科协."""
    from . import supervisors as sv

    if not category_field:
        return {"category_field": None}
    if category not in sv.SUPERVISOR_CATEGORIES:
        category = None
    if category is None and selected is not None:
        category = sv.category_of(selected)
    region_code = region_from_values(region_prefix)
    out = {
        "category_field": category_field,
        "categories": sv.CATEGORIES,
        "category": category,
        "region_prefix": region_prefix if field_name_ok(region_prefix) else None,
        "elsewhere": [],
        "fallbacks": [],
        "higher": sv.higher_levels(selected) if selected is not None else [],
        "problem": sv.check_supervisor(category, selected) if (selected and category) else None,
    }
    if searched_empty:
        out["elsewhere"] = sv.elsewhere(category, q, current_user)
        out["fallbacks"] = [lv for lv in sv.levels_for_region(region_code)
                            if not any(lv[1].id == h.org.id for _c, h in out["elsewhere"])]
    out["direct_hint"] = category == sv.COUNTY and any(
        sv.in_direct_municipality(h.org) for _c, h in out["elsewhere"])
    return out


def picker_common(field_name: str, kinds: str, allow_add: bool, require_active: bool,
                  category_field: str | None = None, region_prefix: str | None = None) -> dict:
    """Query parameters every request of one picker carries."""
    common = {"field": field_name, "kinds": kinds, "allow_add": "1" if allow_add else "0",
              "active_only": "1" if require_active else "0"}
    if category_field:
        common["category_field"] = category_field
        if region_prefix and field_name_ok(region_prefix):
            common["region"] = region_prefix
    return common


def parse_pick(raw: str | None) -> tuple[str | None, str | None]:
    """"市科协:123" (a one-click choice of category and org) → ("市科协", "123")."""
    if not raw or ":" not in raw:
        return None, None
    category, _, oid = raw.rpartition(":")
    return category, (oid if oid.isdigit() else None)


def org_picker_state(field_name: str, selected_org=None, kinds=None, allow_add: bool = True,
                     require_active: bool = False, category_field: str | None = None,
                     category: str | None = None, region_prefix: str | None = None) -> dict:
    """State of one org picker. With ``category_field`` the picker is a 归口单位 picker:
    a category select (named ``category_field``) limits the orgs to its kinds."""
    from . import supervisors as sv
    from .forms import check_org_choice
    from .search import search_orgs

    values = _values()
    kinds = parse_kinds(kinds)
    changing = bool(values.get(field_name + "_change"))
    q = (values.get(field_name + "_q") or "").strip()
    selected = None if changing else selected_org
    if category_field:
        if category is None:
            category = values.get(category_field) or None
        pick_category, pick_id = parse_pick(values.get(field_name + "_pick"))
        if pick_id:
            org, err = check_org_choice(pick_id, kinds=sv.all_supervisor_kinds(),
                                        require_active=True)
            if err is None:
                selected, changing = org, False
                category = pick_category if sv.in_category(org, pick_category or "") \
                    else sv.category_of(org)
        kinds = sv.kinds_for(category) or sv.all_supervisor_kinds()
    if selected is None and not changing:
        raw = values.get(field_name)
        if raw and str(raw).strip().isdigit():
            # A 归口 choice that does not fit its category stays shown, with the reason
            # (check_supervisor) beside it: nothing the user chose is dropped.
            selected, _err = check_org_choice(
                raw, kinds=sv.all_supervisor_kinds() if category_field else kinds,
                require_active=require_active)
    searched = bool(values.get(field_name + "_search")) and selected is None
    results = []
    if searched and q:
        results = [h for h in search_orgs(q, current_user, kinds, limit=20)
                   if not require_active or h.org.status == "active"]
    state = {
        "selected": selected,
        "q": q,
        "searched": searched,
        "results": results,
        "kinds": "" if category_field else kinds_param(kinds),
        "can_add": allow_add and current_user.is_authenticated and len(q) >= 2,
        "logged_in": current_user.is_authenticated,
        "return_url": picker_return_url(field_name) if request else "/",
    }
    state.update(category_state(category_field, category, selected, q,
                                searched and bool(q) and not results, region_prefix))
    state["common"] = picker_common(field_name, state["kinds"], allow_add, require_active,
                                    category_field, region_prefix)
    return state


def region_state(prefix: str = "region", code: str | None = None, levels: int = 3) -> dict:
    values = _values()
    if code is None and any(values.get(f"{prefix}_{p}") for p in ("province", "city", "county")):
        code = regions.from_parts(values.get(f"{prefix}_province"), values.get(f"{prefix}_city"),
                                  values.get(f"{prefix}_county"))
    p, c, d = regions.split(code)
    return {
        "province": p, "city": c, "county": d,
        "provinces": regions.provinces(),
        "cities": regions.children(p) if p else [],
        "counties": regions.children(c) if (c and levels >= 3) else [],
        "direct": regions.is_direct(p),
        "code": regions.normalize(code),
        "full_name": regions.full_name(code),
    }


def channel_state(unit_type_field: str = "unit_type", channel_field: str = "channel_id",
                  unit_type: str | None = None, channel_id=None, errors=None) -> dict:
    values = _values()
    if unit_type is None:
        unit_type = values.get(unit_type_field) or None
    if channel_id is None:
        channel_id = values.get(channel_field) or None
    try:
        channel_id = int(channel_id) if channel_id else None
    except (TypeError, ValueError):
        channel_id = None
    if unit_type not in ch.CHANNEL_FOR:
        unit_type = None
    err_type = err_channel = None
    if isinstance(errors, dict):
        err_type, err_channel = errors.get("unit_type"), errors.get("channel")
    elif isinstance(errors, (list, tuple)):
        errors = errors[0] if errors else None
    if isinstance(errors, str):
        if errors == "请选择申报单位类型":
            err_type = errors
        else:
            err_channel = errors
    category = ch.CHANNEL_FOR.get(unit_type or "")
    return {
        "unit_types": ch.UNIT_TYPES,
        "unit_type": unit_type,
        "channel_id": channel_id,
        "category": category,
        "units": ch.channel_units(unit_type) if unit_type else [],
        "groups": ch.channels_by_kind() if not unit_type else {},
        "err_type": err_type,
        "err_channel": err_channel,
        "steps": ch.MISSING_CHANNEL_STEPS,
    }


def supervisor_category(org) -> str | None:
    from .supervisors import category_of

    return category_of(org)


def register(bp) -> None:
    bp.add_app_template_global(supervisor_category)
    bp.add_app_template_global(org_picker_state)
    bp.add_app_template_global(region_state)
    bp.add_app_template_global(channel_state)
