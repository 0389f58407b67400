"""A dict that lives as long as the current request (never longer: tests and the CLI
keep one app context, and ``flask.g`` with it, across many requests)."""
from __future__ import annotations

from flask import has_request_context, request


def request_cache() -> dict | None:
    """The current request's cache, or None outside a request."""
    if not has_request_context():
        return None
    cache = getattr(request, "_kepu_cache", None)
    if cache is None:
        cache = {}
        request._kepu_cache = cache
    return cache
