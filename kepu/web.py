"""App-wide web plumbing: user loader, security headers, error pages, template globals."""
from __future__ import annotations

import re
from datetime import datetime

from flask import (current_app, flash, get_flashed_messages, render_template, request,
                   session)
from flask_login import current_user
from markupsafe import Markup, escape
from flask_wtf.csrf import CSRFError
from werkzeug.exceptions import HTTPException

from . import workbench as wb
from .editions import edition_years
from .extensions import db, login_manager
from .timeutil import BEIJING, fmt, to_local

CSP = (
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data: blob:; "
    "font-src 'self'; connect-src 'self'; object-src 'none'; base-uri 'self'; "
    "form-action 'self'; frame-ancestors 'none'"
)

ERROR_MESSAGES = {
    400: ("请求有误", "提交的内容无法处理，请返回检查后重试。"),
    403: ("无权访问", "您没有执行此操作的权限。"),
    404: ("页面不存在", "您访问的页面不存在，或您无权查看。"),
    405: ("请求方式不支持", "请通过页面上的按钮或链接操作。"),
    413: ("文件过大", "上传的文件超过了允许的大小，请压缩或拆分后重试。"),
    429: ("操作过于频繁", "请稍后再试。"),
    500: ("服务器出错了", "系统遇到了意外错误，请稍后重试；如持续出现，请联系技术支持。"),
}


_USER_STMT = None


def _user_statement():
    """The user loader's statement, built once (bind parameters ``uid`` and
    ``token_hash``): every request runs it, and building a select with its loader
    options and cache key costs more than executing it."""
    global _USER_STMT
    if _USER_STMT is None:
        from sqlalchemy import bindparam, select
        from sqlalchemy.orm import joinedload

        from .accounts import sessions
        from .accounts.models import Grant, User

        # The grants (and their orgs) and this login's row come in the same statement:
        # every page asks them (navigation, scopes, the unit switch), and a list request
        # has a budget of six.
        _USER_STMT = (
            select(User, sessions.login_started_column(User, bindparam("token_hash")))
            .options(joinedload(User.grants).joinedload(Grant.org))
            .where(User.id == bindparam("uid")))
    return _USER_STMT


@login_manager.user_loader
def load_user(user_id: str):
    from .accounts import sessions

    token_hash = sessions.current_token_hash()
    if token_hash is None:  # no server-side login behind this cookie
        return None
    try:
        uid, _, version = user_id.partition(":")
        uid = int(uid)
        if not -2**63 <= uid < 2**63:
            return None
        row = db.session.execute(_user_statement(),
                                 {"uid": uid, "token_hash": token_hash}).unique().first()
    except (TypeError, ValueError, OverflowError):
        return None
    if row is None:
        return None
    user, started = row
    if str(user.session_version) != (version or "1"):
        return None
    if not sessions.started_is_live(started):  # logged out (here or everywhere) or expired
        return None
    return user


#: Admin areas (a side menu): /admin/…, /<blueprint>/admin/…
ADMIN_PATH = re.compile(r"^/(?:[a-z_]+/)?admin(?:/|\.|$)")


def admin_menu_for_request() -> list:
    """The admin side menu for this page, or [] outside the admin areas."""
    if not ADMIN_PATH.match(request.path or ""):
        return []
    try:
        return wb.admin_menu(current_user)
    except Exception:  # noqa: BLE001 - an error page must still render
        current_app.logger.exception("admin menu could not be built")
        return []


def error_response(code: int, description: str | None = None):
    title, message = ERROR_MESSAGES.get(code, ("出错了", "请稍后重试。"))
    if description:
        message = description
    if request.headers.get("HX-Request"):
        return render_template("errors/_fragment.html", code=code, title=title,
                               message=message), code
    return render_template("errors/error.html", code=code, title=title,
                           message=message), code


_URL_CACHE_MAX = 4096
_URL_VALUE_TYPES = (str, int)


def template_url_for(endpoint: str, **values) -> str:
    """``url_for`` for templates, remembered per process: a page builds the same
    twenty-odd URLs (header, menus, static files, forms) on every request, and Werkzeug's
    URL building costs more than rendering them. Only what cannot differ between two
    requests is remembered: an absolute endpoint, plain string or integer arguments, no
    ``_external`` / ``_anchor`` / ``_scheme`` / ``_method``, no URL-defaults hooks
    (then it is Flask's ``url_for``), keyed by everything the request's URL adapter
    adds (script root, host, scheme, subdomain)."""
    from flask import url_for

    app = current_app._get_current_object()
    adapter = _request_adapter()
    if (adapter is None or endpoint[:1] == "." or app.url_default_functions
            or any(k[:1] == "_" or type(v) not in _URL_VALUE_TYPES
                   for k, v in values.items())):
        return url_for(endpoint, **values)
    key = (adapter.script_name, adapter.server_name, adapter.url_scheme, adapter.subdomain,
           endpoint, tuple(sorted(values.items())) if values else ())
    cache = app.extensions.get("kepu_url_cache")
    if cache is None:
        cache = app.extensions["kepu_url_cache"] = {}
    url = cache.get(key)
    if url is None:
        url = url_for(endpoint, **values)
        if len(cache) >= _URL_CACHE_MAX:
            cache.clear()
        cache[key] = url
    return url


_DEFAULT_DT = "%Y-%m-%d %H:%M"
_LOCAL_OFFSET = BEIJING.utcoffset(None)


def fmt_dt(value, pattern: str = _DEFAULT_DT) -> str:
    """The ``dt`` filter: ``kepu.timeutil.fmt``, with a fast path for what lists show
    on every row (a naive UTC time in the default pattern): Beijing time has a fixed
    offset, and formatting the fields costs a third of ``astimezone`` + ``strftime``."""
    if (pattern == _DEFAULT_DT and type(value) is datetime and value.tzinfo is None
            and 1000 <= value.year < 9999):
        t = value + _LOCAL_OFFSET
        return "%04d-%02d-%02d %02d:%02d" % (t.year, t.month, t.day, t.hour, t.minute)
    return fmt(value, pattern)


def _request_adapter():
    from flask.globals import _cv_request

    ctx = _cv_request.get(None)
    return ctx.url_adapter if ctx is not None else None


def init_web(app) -> None:
    @app.after_request
    def security_headers(resp):
        h = resp.headers
        h.setdefault("Content-Security-Policy", CSP)
        h.setdefault("X-Content-Type-Options", "nosniff")
        h.setdefault("X-Frame-Options", "DENY")
        h.setdefault("Referrer-Policy", "same-origin")
        h.setdefault("Permissions-Policy", "camera=(), microphone=(), geolocation=()")
        if app.config.get("SESSION_COOKIE_SECURE"):
            h.setdefault("Strict-Transport-Security", "max-age=31536000")
        if request.headers.get("HX-Request") or resp.vary:
            resp.vary.add("HX-Request")
        # A logged-in session's pages are private. Asked of the session, not of
        # current_user: that would load the user (a query) on requests that never
        # needed it, and reload it after a commit expired it.
        if session.get("_user_id") is not None:
            h.setdefault("Cache-Control", "no-store")
        return resp

    @app.errorhandler(CSRFError)
    def csrf_error(e):
        return error_response(400, "页面已过期或请求来源无效（CSRF 校验失败），请刷新页面后重试。")

    @app.errorhandler(HTTPException)
    def http_error(e: HTTPException):
        if e.code in (301, 302, 303, 307, 308):
            return e
        if e.code == 429:
            return error_response(429, "操作过于频繁，请稍后再试。")
        if e.code == 413 and not getattr(e, "user_message", None) \
                and not request.__dict__.get("_kepu_max_files"):
            return error_response(413, "提交的内容超过了允许的大小（此处不能上传文件），"
                                       "请删减后重试。")
        return error_response(e.code or 500, getattr(e, "user_message", None))

    @app.errorhandler(Exception)
    def unhandled(e):  # pragma: no cover - exercised via a test route
        if isinstance(e, HTTPException):
            return http_error(e)
        current_app.logger.exception("Unhandled error")
        db.session.rollback()
        return error_response(500)

    @app.context_processor
    def globals_():
        return {
            "platform_name": app.config["PLATFORM_NAME"],
            "header_campaigns": wb.campaigns(),
            "admin_menu": admin_menu_for_request(),
            "platform_operator": app.config.get("PLATFORM_OPERATOR", ""),
            "platform_contacts": _lines(app.config.get("PLATFORM_CONTACTS")),
            "demo_mode": app.config.get("DEMO_MODE"),
        }

    app.jinja_env.globals["url_for"] = template_url_for
    app.jinja_env.filters["dt"] = fmt_dt
    app.jinja_env.filters["keep_numbers"] = keep_numbers
    app.jinja_env.filters["localtime"] = to_local
    app.jinja_env.globals["get_flashed_messages"] = get_flashed_messages
    app.jinja_env.globals["flash"] = flash
    app.jinja_env.globals["edition_years"] = edition_years
    app.jinja_env.globals["current_calls"] = wb.footer_calls
    app.jinja_env.globals["footer_contacts"] = wb.footer_contacts
    app.jinja_env.globals["form_errors"] = form_errors
    app.jinja_env.globals.setdefault(
        "has_endpoint", lambda endpoint: endpoint in current_app.view_functions)


#: Phone numbers, codes and ids: a run of digits with dashes, e.g. 010-68526368,
#: 15901291219, 400-810-0000, ZAMH7-S8FYY is not matched (letters) but is shown whole
#: by its own markup.
_NUMBER_RUN = re.compile(r"\+?\d[\d-]{4,}\d(?:(?:转|-)\d{1,6})?")


def keep_numbers(text) -> Markup:
    """Escape ``text`` and wrap each phone number / numeric id in a ``.nowrap`` span,
    so a line never breaks inside one (pages, footer and the PDFs)."""
    escaped = str(escape(text or ""))
    return Markup(_NUMBER_RUN.sub(lambda m: f'<span class="nowrap">{m.group(0)}</span>',
                                  escaped))


def form_errors(form) -> dict:
    """{"errors", "labels", "anchors"} of a WTForms form for the error summary macro:
    the first message of every field with errors, in form order, nested FormField /
    FieldList entries included; the anchor is the field's id."""
    errors: dict[str, str] = {}
    labels: dict[str, str] = {}
    anchors: dict[str, str] = {}

    def walk(field) -> None:
        if field.type == "FormField":
            for sub in field.form:
                walk(sub)
        elif field.type == "FieldList":
            for entry in field.entries:
                walk(entry)
        elif field.errors and field.type != "CSRFTokenField":
            first = field.errors[0] if isinstance(field.errors, (list, tuple)) else field.errors
            if isinstance(first, str):
                errors[field.name] = first
                labels[field.name] = field.label.text if field.label else ""
                anchors[field.name] = field.id

    for f in form:
        walk(f)
    for i, message in enumerate(getattr(form, "form_errors", None) or []):
        errors[f"_form{i}"] = message
    return {"errors": errors, "labels": labels, "anchors": anchors}


def _lines(value) -> list[str]:
    """A config value given as a list or as one string with lines separated by "|"."""
    if not value:
        return []
    if isinstance(value, str):
        return [p.strip() for p in value.split("|") if p.strip()]
    return [str(p) for p in value if str(p).strip()]
