"""A per-process cache of whole anonymous pages, checked against a data version.

The public 全国科普日 pages are the same for every visitor without an account, and
during the event week they take most of the traffic. ``cached_page(version)`` keeps the
rendered response of such a page in this process, under its URL, the htmx headers that
choose the fragment, and ``version()``: a number the database changes whenever what the
page shows changes (kept by triggers, so every worker sees a change at once). A hit
costs the version read instead of the page's queries and template.

What is never cached: requests of a logged-in user or with flashed messages waiting,
anything but GET, and responses other than 200. The CSRF token rendered into the page
(base.html's ``hx-headers``) is the visitor's own: it is cut out when the page is kept
and the current visitor's token put back on every hit. Entries also expire after
``PAGE_CACHE_SECONDS`` (default 60; 0 turns the cache off), which bounds what depends on
the clock (未开始 / 进行中 / 已结束) rather than on the data.
"""
from __future__ import annotations

import threading
import time
from collections import OrderedDict
from dataclasses import dataclass
from functools import wraps
from typing import Callable

from flask import current_app, make_response, request, session
from flask_wtf.csrf import generate_csrf

MAX_ENTRIES = 512
MAX_BYTES = 64 * 1024 * 1024
TOKEN_MARK = "\x00csrf\x00"
#: headers that change which part of a page is rendered (kepu.htmx.render)
HTMX_HEADERS = ("HX-Request", "HX-Boosted", "HX-History-Restore-Request", "HX-Target")


@dataclass
class Entry:
    body: str
    headers: list[tuple[str, str]]
    expires: float


class PageCache:
    """An LRU of rendered pages, bounded by entries and by bytes, thread-safe."""

    def __init__(self, max_entries: int = MAX_ENTRIES, max_bytes: int = MAX_BYTES):
        self.max_entries, self.max_bytes = max_entries, max_bytes
        self._items: OrderedDict[tuple, Entry] = OrderedDict()
        self._bytes = 0
        self._lock = threading.Lock()
        self.hits = self.misses = 0

    def get(self, key: tuple, now: float) -> Entry | None:
        with self._lock:
            entry = self._items.get(key)
            if entry is None or entry.expires <= now:
                if entry is not None:
                    self._drop(key)
                self.misses += 1
                return None
            self._items.move_to_end(key)
            self.hits += 1
            return entry

    def put(self, key: tuple, entry: Entry) -> None:
        size = len(entry.body)
        if size > self.max_bytes // 8:
            return
        with self._lock:
            if key in self._items:
                self._drop(key)
            self._items[key] = entry
            self._bytes += size
            while len(self._items) > self.max_entries or self._bytes > self.max_bytes:
                self._drop(next(iter(self._items)))

    def _drop(self, key: tuple) -> None:
        entry = self._items.pop(key)
        self._bytes -= len(entry.body)

    def clear(self) -> None:
        with self._lock:
            self._items.clear()
            self._bytes = 0


def cache() -> PageCache:
    """This app's cache (one per app: the tests build an app, and a database, per test)."""
    app = current_app._get_current_object()
    found = app.extensions.get("kepu_pagecache")
    if found is None:
        found = app.extensions.setdefault("kepu_pagecache", PageCache())
    return found


def _personal() -> bool:
    """A request whose page may differ from an anonymous visitor's: logged in (or able to
    be, by Flask-Login's remember cookie), or with messages waiting to be shown."""
    remember = current_app.config.get("REMEMBER_COOKIE_NAME", "remember_token")
    return "_user_id" in session or "_flashes" in session or remember in request.cookies


def cached_page(version: Callable[[], object | None]):
    """Cache the decorated GET view's 200 responses for anonymous visitors under
    ``version()`` (None: do not cache this request)."""

    def decorate(view):
        @wraps(view)
        def wrapper(*args, **kwargs):
            seconds = current_app.config.get("PAGE_CACHE_SECONDS", 60)
            if not seconds or request.method != "GET" or _personal():
                return view(*args, **kwargs)
            v = version()
            if v is None:
                return view(*args, **kwargs)
            key = (request.endpoint, request.full_path, v,
                   *(request.headers.get(h) for h in HTMX_HEADERS))
            now = time.monotonic()
            store = cache()
            entry = store.get(key, now)
            if entry is not None:
                resp = make_response(entry.body.replace(TOKEN_MARK, generate_csrf()), 200)
                for name, value in entry.headers:
                    resp.headers[name] = value
                return resp
            resp = make_response(view(*args, **kwargs))
            if resp.status_code == 200 and not resp.direct_passthrough and \
                    "Set-Cookie" not in resp.headers and _cacheable_type(resp):
                body = resp.get_data(as_text=True)
                token = generate_csrf()
                store.put(key, Entry(body.replace(token, TOKEN_MARK),
                                      [(k, v) for k, v in resp.headers.items()
                                       if k.lower() not in ("content-length", "set-cookie")],
                                      now + seconds))
            return resp

        return wrapper

    return decorate


def _cacheable_type(resp) -> bool:
    return (resp.mimetype or "").startswith("text/html")
