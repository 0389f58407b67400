"""URLs taken from requests: the one redirect-target check, and ids that fit a column.

``safe_next(target, default)`` is the only check of a ``next`` (or referrer) in the
project: every route that redirects to, or links back to, a URL it was given uses it.
A target is followed only when it is a path on this site:

- it starts with a single ``/`` (no scheme, no host, not scheme-relative ``//host``);
- it holds no backslash (browsers read ``/\\host`` as ``//host``), no control or format
  character (browsers drop tab/CR/LF, so ``/<TAB>/host`` becomes ``//host``; CR/LF would
  split the header) and no whitespace;
- decoding it (up to three times) does not produce any of these at the start of the
  path either (``/%2F/host``, ``/%09/host``, ``/%5Chost`` and double-encoded forms);
- it is at most 2000 characters long and, with ``under``, lies below that path.

The result is ASCII (non-ASCII characters percent-encoded), so it is safe in a
``Location`` or ``HX-Redirect`` header.

The app's ``int`` URL converter only matches ids that fit an id column (``MAX_ID``: the
32-bit INTEGER of PostgreSQL), so ``/works/9223372036854775808`` is a 404 like any
other missing object.
"""
from __future__ import annotations

import builtins
import unicodedata
from urllib.parse import unquote, urlsplit

from flask import request
from werkzeug.routing import IntegerConverter
from werkzeug.urls import iri_to_uri

MAX_NEXT_LENGTH = 2000
#: largest value an id column holds on both backends (PostgreSQL INTEGER is 32-bit;
#: SQLite's is 64-bit)
MAX_ID = 2 ** 31 - 1

#: control, format (bidi), surrogate, private, unassigned, line and paragraph separators
_CONTROL = {"Cc", "Cf", "Cs", "Co", "Cn", "Zl", "Zp"}


def _has_bad_char(text: str, spaces: bool = True) -> bool:
    bad = _CONTROL | {"Zs"} if spaces else _CONTROL
    return any(unicodedata.category(ch) in bad for ch in text)


def _decoded_path_is_local(path: str) -> bool:
    """A decoded path (``%20`` is a space there, which is fine) is still ours."""
    return (path.startswith("/") and not path.startswith("//")
            and "\\" not in path and not _has_bad_char(path, spaces=False))


def safe_next(target: str | None, default: str | None = None, *,
              under: str | None = None) -> str | None:
    """``target`` if it is a path on this site (see the module doc), else ``default``."""
    if not isinstance(target, str) or not target or len(target) > MAX_NEXT_LENGTH:
        return default
    if "\\" in target or _has_bad_char(target):
        return default
    if not target.startswith("/") or target.startswith("//"):
        return default
    parts = urlsplit(target)
    if parts.scheme or parts.netloc:
        return default
    decoded = parts.path
    for _ in range(3):
        once = unquote(decoded)
        if once == decoded:
            break
        decoded = once
        if not _decoded_path_is_local(decoded):
            return default
    else:
        if unquote(decoded) != decoded:
            return default  # encoded more than three times: nothing we produce
    if under is not None:
        base = under.rstrip("/")
        if not (parts.path == base or parts.path.startswith(base + "/")):
            return default
    return iri_to_uri(target)


def next_from_request(default: str | None = None, *, under: str | None = None,
                      name: str = "next") -> str | None:
    """The request's ``next`` value (query string or form), checked by ``safe_next``."""
    return safe_next(request.values.get(name), default, under=under)


def local_referrer(default: str | None = None) -> str | None:
    """The Referer's path and query when it is this site's own page, else ``default``."""
    ref = request.referrer
    if not ref or len(ref) > MAX_NEXT_LENGTH or _has_bad_char(ref) or "\\" in ref:
        return default
    parts = urlsplit(ref)
    if parts.netloc != request.host:
        return default
    if parts.scheme not in ("http", "https"):
        return default
    path = (parts.path or "/") + ("?" + parts.query if parts.query else "")
    return safe_next(path, default)


class IdConverter(IntegerConverter):
    """``<int:...>`` that matches only values an id column can hold (``MAX_ID``)."""

    def __init__(self, map, fixed_digits: int = 0, min: int | None = None,  # noqa: A002
                 max: int | None = None, signed: bool = False) -> None:
        super().__init__(map, fixed_digits=fixed_digits, min=min,
                         max=MAX_ID if max is None else builtins.min(max, MAX_ID),
                         signed=signed)


def install_converters(app) -> None:
    """Replace the ``int`` converter before any blueprint adds its rules."""
    app.url_map.converters["int"] = IdConverter
