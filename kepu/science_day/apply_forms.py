"""Reading the activity form (templates/science_day/apply/form.html) into an
``ActivityInput``, and the values the form shows.

Only the fields present in a post are stored, so a partial post never blanks the others.
Repeated inputs carry the lists: ``<list>_id`` / ``<list>_name`` pairs for the org lists
(主办 / 承办 / 合作单位), ``sci_name`` / ``sci_unit`` / ``sci_title`` rows for the
scientists; a hidden ``<list>__present`` says that a list (or a group of checkboxes) was
on the page even when nothing is in it.
"""
from __future__ import annotations

from types import SimpleNamespace

from ..editions import DATE_RANGE_MESSAGE, parse_local
from ..inputs import parse_int
from ..orgs import regions
from ..timeutil import to_local
from .operations.apply import (ALL_FIELDS, BOOL_FIELDS, DATE_FIELDS, FILE_KEYS,
                               FILE_TARGETS, ITEM_FIELDS, MULTI_LINE, ORG_LISTS,
                               SCIENTIST_ROWS_MAX, TEXT_FIELDS, ActivityInput, LABELS,
                               current_values)

SCIENTIST_ROWS = 3


def normalize_text(value: str | None, multiline: bool = False) -> str:
    value = (value or "").replace("\r\n", "\n").replace("\r", "\n")
    return value if multiline else value.strip()


def org_items(form, key: str) -> list[dict]:
    ids, names = form.getlist(f"{key}_id"), form.getlist(f"{key}_name")
    out = []
    for i in range(max(len(ids), len(names))):
        name = normalize_text(names[i] if i < len(names) else "")
        oid = parse_int(ids[i]) if i < len(ids) and ids[i] else None
        if name or oid:
            item = {"name": name}
            if oid:
                item["id"] = oid
            out.append(item)
    return out


def scientist_rows(form) -> list[dict]:
    names, units, titles = (form.getlist("sci_name"), form.getlist("sci_unit"),
                            form.getlist("sci_title"))
    rows = []
    for i in range(min(max(len(names), len(units), len(titles)), SCIENTIST_ROWS_MAX)):
        row = {k: normalize_text(v[i] if i < len(v) else "")
               for k, v in (("name", names), ("unit", units), ("title", titles))}
        if any(row.values()):
            rows.append(row)
    return rows


def read_form(form, files=None, *, uploads: bool = True) -> ActivityInput:
    values, bad = {}, {}
    for name in TEXT_FIELDS:
        if name in form:
            values[name] = normalize_text(form.get(name), multiline=name in MULTI_LINE)
    for name in BOOL_FIELDS:
        if name in form:
            values[name] = form.get(name) == "1"
    for name in ITEM_FIELDS:
        if name in form or f"{name}__present" in form:
            values[name] = [v for v in dict.fromkeys(form.getlist(name)) if v][:50]
    for name in ORG_LISTS:
        if f"{name}__present" in form:
            values[name] = org_items(form, name)
    for name in DATE_FIELDS:
        if name in form:
            raw = (form.get(name) or "").strip()
            try:
                values[name] = parse_local(raw) if raw else None
            except (ValueError, OverflowError):
                year = raw[:4]
                bad[name] = (DATE_RANGE_MESSAGE if year.isdigit() and not 2000 <= int(year) <= 2100
                             else f"{LABELS[name]}格式不正确，请按“2026-09-20 09:00”的格式填写")
    if "region_province" in form:
        values["region_code"] = regions.from_parts(
            form.get("region_province"), form.get("region_city"), form.get("region_county"))
    if "supervisor__present" in form:
        values["supervisor_org_id"] = parse_int(form.get("supervisor_org_id")) or None
    if "sci__present" in form:
        values["scientists"] = scientist_rows(form)
    file_ids, posted = {}, {}
    for key in FILE_KEYS:
        target = FILE_TARGETS[key]
        file_ids[key] = form.getlist(target)
        if uploads and files is not None:
            posted[key] = [f for f in files.getlist(f"{target}__upload") if f and f.filename]
    return ActivityInput(values=values, bad=bad, file_ids=file_ids, uploads=posted,
                         version=parse_int(form.get("version")))


def local_input(dt) -> str:
    local = to_local(dt)
    return local.strftime("%Y-%m-%dT%H:%M") if local else ""


def display_values(activity, data: ActivityInput | None = None, form=None) -> SimpleNamespace:
    """What the form shows: the stored (or pending) values, with a refused post's values
    over them (nothing typed is lost)."""
    v = current_values(activity)
    if data is not None:
        for name, value in data.values.items():
            if name in ALL_FIELDS:
                setattr(v, name, value)
    dates = {name: local_input(getattr(v, name)) for name in DATE_FIELDS}
    if form is not None:
        for name in DATE_FIELDS:
            if data is not None and name in data.bad:
                dates[name] = form.get(name) or ""
    v.dates = dates
    rows = list(v.scientists or [])
    while len(rows) < SCIENTIST_ROWS:
        rows.append({"name": "", "unit": "", "title": ""})
    v.scientist_rows = rows
    return v
