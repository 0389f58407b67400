"""Request input, cleaned once for the whole app.

``CleanInputRequest`` (a mixin of the app's request class) strips characters nobody
types on purpose from every query-string value, form value and key and uploaded file
name, before any route, form or operation sees them:

- NUL and the other C0 control characters except tab, line feed and carriage return
  (PostgreSQL refuses NUL in text; xlsx cannot hold the others);
- the bidi embedding/override/isolate controls U+202A–U+202E and U+2066–U+2069, which
  make a name or title display as something else ("Trojan Source").

Right-to-left text itself, and the line breaks and tabs of text areas, are kept.

``parse_id(raw)`` turns a submitted id into an int only when it is plain ASCII digits
that fit an id column (``kepu.urls.MAX_ID``; ``None`` otherwise), so a huge or odd id
is a miss (404), not a database error.
"""
from __future__ import annotations

import re

from werkzeug.datastructures import FileStorage, MultiDict

from .urls import MAX_ID

_STRIP = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\u202a-\u202e\u2066-\u2069]")
_DIGITS = re.compile(r"[0-9]{1,19}")


def clean_text(value: str) -> str:
    """``value`` without NUL, control characters (but tab/CR/LF) and bidi controls."""
    return _STRIP.sub("", value) if _STRIP.search(value) else value


def clean_multidict(data: MultiDict, storage_class=None) -> MultiDict:
    """A copy of ``data`` with every key and string value cleaned (files: their name)."""
    items = []
    changed = False
    for key, value in data.items(multi=True):
        new_key = clean_text(key)
        if isinstance(value, str):
            new_value = clean_text(value)
        else:
            new_value = value
            if isinstance(value, FileStorage) and value.filename:
                cleaned = clean_text(value.filename)
                if cleaned != value.filename:
                    value.filename = cleaned
        changed = changed or new_key != key or new_value is not value
        items.append((new_key, new_value))
    if not changed:
        return data
    return (storage_class or type(data))(items)


def parse_id(raw) -> int | None:
    """A positive id from a form or query value, or None (never raises)."""
    if isinstance(raw, int) and not isinstance(raw, bool):
        return raw if 0 < raw <= MAX_ID else None
    if not isinstance(raw, str):
        return None
    raw = raw.strip()
    if not _DIGITS.fullmatch(raw):
        return None
    value = int(raw)
    return value if 0 < value <= MAX_ID else None


def parse_int(raw, minimum: int = 0, maximum: int = MAX_ID) -> int | None:
    """A whole number (ASCII digits, optional sign) within ``minimum..maximum``, or
    None (never raises). For versions, counts and other numbers that reach SQL."""
    if isinstance(raw, int) and not isinstance(raw, bool):
        value = raw
    elif isinstance(raw, str) and re.fullmatch(r"[+-]?[0-9]{1,19}", raw.strip()):
        value = int(raw.strip())
    else:
        return None
    return value if minimum <= value <= maximum else None


def parse_page(raw, default: int = 1, maximum: int = 100_000) -> int:
    """A page number from a query value: ``default`` when absent or odd, at most
    ``maximum`` (deeper pages are empty anyway)."""
    value = parse_id(raw)
    return min(value, maximum) if value is not None else default


class CleanInputRequest:
    """Mixin for the Flask request class: ``args``, ``form`` and ``files`` come cleaned."""

    @property
    def args(self):
        cached = self.__dict__.get("_kepu_args")
        if cached is None:
            raw = super().args  # type: ignore[misc]
            cached = clean_multidict(raw, self.parameter_storage_class)  # type: ignore[attr-defined]
            self.__dict__["_kepu_args"] = cached
        return cached

    def _load_form_data(self) -> None:
        super()._load_form_data()  # type: ignore[misc]
        d = self.__dict__
        if not d.get("_kepu_form_clean"):
            d["form"] = clean_multidict(d["form"], self.parameter_storage_class)  # type: ignore[attr-defined]
            d["files"] = clean_multidict(d["files"], self.parameter_storage_class)  # type: ignore[attr-defined]
            d["_kepu_form_clean"] = True
