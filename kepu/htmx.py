"""HTMX helpers: one template per page, its named blocks are the fragments.

``render("orgs/list.html", block="rows", **ctx)`` renders only ``{% block rows %}``
when the request is a plain HTMX request, and the full page otherwise (normal
requests, boosted requests and history restores, which need the whole page).
"""
from __future__ import annotations

from flask import Response, make_response, render_template, request
from jinja2_fragments.flask import render_block

from .extensions import htmx


def is_fragment() -> bool:
    """True when the client wants only a fragment of the page."""
    if not htmx:
        return False
    if htmx.boosted or htmx.history_restore_request:
        return False
    return True


def render(template: str, block: str | None = None, status: int = 200, **context) -> Response:
    if block and is_fragment():
        body = render_block(template, block, **context)
    else:
        body = render_template(template, **context)
    resp = make_response(body, status)
    resp.vary.add("HX-Request")
    return resp


def render_fragment(template: str, block: str, status: int = 200, **context) -> Response:
    """Always just ``{% block <block> %}`` (for endpoints only HTMX calls, e.g. autosave)."""
    resp = make_response(render_block(template, block, **context), status)
    resp.vary.add("HX-Request")
    return resp


def redirect_to(url: str, status: int = 303) -> Response:
    """Redirect that also works for HTMX requests (HX-Redirect, full navigation)."""
    from flask import redirect

    if htmx and not htmx.boosted:
        resp = make_response("", 204)
        resp.headers["HX-Redirect"] = url
        return resp
    return redirect(url, code=status)


def add_vary(response: Response) -> Response:
    if request.headers.get("HX-Request"):
        response.vary.add("HX-Request")
    return response
