"""App-wide web plumbing: user loader, security headers, error pages, template globals."""
from __future__ import annotations

from flask import current_app, flash, get_flashed_messages, render_template, request
from flask_login import current_user
from flask_wtf.csrf import CSRFError
from werkzeug.exceptions import HTTPException

from .accounts import roles as R
from .editions import edition_years
from .extensions import db, login_manager
from .timeutil import fmt, to_local

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


@login_manager.user_loader
def load_user(user_id: str):
    from .accounts.models import User

    try:
        uid, _, version = user_id.partition(":")
        user = db.session.get(User, int(uid))
    except (TypeError, ValueError):
        return None
    if user is None or str(user.session_version) != (version or "1"):
        return None
    from .accounts import sessions

    if not sessions.is_live(user):  # logged out (here or everywhere) or expired
        return None
    return user


def nav_items(user) -> list[tuple[str, str]]:
    """(endpoint, label) pairs for the header, by role."""
    items = [("main.index", "首页"), ("works.index", "作品征集"), ("orgs.channels", "推荐渠道查询")]
    if not user.is_authenticated:
        return _existing(items)
    items.append(("works.my_works", "我的作品"))
    items.append(("cases.my_cases", "我的案例"))
    if user.org_ids_for(R.UNIT_ADMIN):
        items.append(("works.unit_list", "作品推荐"))
    if user.org_ids_for(R.CASE_UNIT):
        items.append(("cases.unit_list", "案例推荐"))
    if user.has_role(R.EXPERT):
        items.append(("works.expert_list", "评审任务"))
    items.append(("accounts.profile", "个人中心"))
    if user.org_ids_for(R.UNIT_ADMIN):
        items.append(("orgs.my_units", "我的推荐单位"))
    if user.is_platform_admin:
        items.append(("admin.index", "管理后台"))
    elif user.has_role(R.NATIONAL_ADMIN):
        items.append(("cases.admin_select", "案例遴选"))
    return _existing(items)


def _existing(items: list[tuple[str, str]]) -> list[tuple[str, str]]:
    endpoints = current_app.view_functions
    return [(e, label) for e, label in items if e in endpoints]


def error_response(code: int, description: str | None = None):
    title, message = ERROR_MESSAGES.get(code, ("出错了", "请稍后重试。"))
    if description:
        message = description
    if request.headers.get("HX-Request"):
        return render_template("errors/_fragment.html", code=code, title=title,
                               message=message), code
    return render_template("errors/error.html", code=code, title=title,
                           message=message), code


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
        if current_user and getattr(current_user, "is_authenticated", False):
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
            "nav_items": nav_items(current_user),
            "demo_mode": app.config.get("DEMO_MODE"),
        }

    app.jinja_env.filters["dt"] = fmt
    app.jinja_env.filters["localtime"] = to_local
    app.jinja_env.globals["get_flashed_messages"] = get_flashed_messages
    app.jinja_env.globals["flash"] = flash
    app.jinja_env.globals["edition_years"] = edition_years
