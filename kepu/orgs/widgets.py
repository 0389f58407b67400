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

PICKER_SUFFIXES = ("_q", "_search", "_change")


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


def picker_return_url(field_name: str) -> str:
    """The current page URL without the picker's own parameters."""
    keep = [(k, v) for k, v in request.args.items(multi=True)
            if k != field_name and k not in {field_name + s for s in PICKER_SUFFIXES}]
    return request.path + ("?" + urlencode(keep) if keep else "")


def org_picker_state(field_name: str, selected_org=None, kinds=None, allow_add: bool = True,
                     require_active: bool = False) -> dict:
    from .forms import check_org_choice
    from .search import search_orgs

    values = _values()
    kinds = parse_kinds(kinds)
    changing = bool(values.get(field_name + "_change"))
    q = (values.get(field_name + "_q") or "").strip()
    selected = None if changing else selected_org
    if selected is None and not changing:
        raw = values.get(field_name)
        if raw and str(raw).strip().isdigit():
            selected, _err = check_org_choice(raw, kinds=kinds, require_active=require_active)
    searched = bool(values.get(field_name + "_search")) and selected is None
    results = []
    if searched and q:
        results = [h for h in search_orgs(q, current_user, kinds, limit=20)
                   if not require_active or h.org.status == "active"]
    return {
        "selected": selected,
        "q": q,
        "searched": searched,
        "results": results,
        "kinds": kinds_param(kinds),
        "can_add": allow_add and current_user.is_authenticated and len(q) >= 2,
        "logged_in": current_user.is_authenticated,
        "return_url": picker_return_url(field_name) if request else "/",
    }


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


def register(bp) -> None:
    bp.add_app_template_global(org_picker_state)
    bp.add_app_template_global(region_state)
    bp.add_app_template_global(channel_state)
