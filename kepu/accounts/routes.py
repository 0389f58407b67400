"""Accounts: register, login (password / SMS code), logout, personal center,
change and reset password, real-name certification.

Routes are thin: form → operation (kepu/accounts/operations.py) → render.
Forms with an SMS code have a 获取验证码 submit button (``action=send_code``): without
JavaScript the page itself sends the code and re-renders with every value kept; with
HTMX the same button posts to ``sms.send_code`` and swaps only the button and message.
"""
from __future__ import annotations

from flask import current_app, flash, redirect, request, session, url_for
from flask_login import current_user, login_required, login_user, logout_user

from ..extensions import limiter
from ..htmx import is_fragment, render
from ..urls import safe_next
from ..sms.service import SendResult, seconds_until_resend, send_code
from . import bp, hooks, sessions
from . import operations as ops
from . import validators as V
from .forms import (
    ChangePasswordForm,
    PasswordLoginForm,
    ProfileForm,
    RealNameForm,
    RegisterForm,
    ResetPasswordForm,
    SmsLoginForm,
)


def _login_limit() -> str:
    return current_app.config["LOGIN_RATE_LIMIT"]


def _sms_limit() -> str:
    return current_app.config["SMS_RATE_LIMIT"]


def _not_sending() -> bool:
    return request.form.get("action") != "send_code"


def has_endpoint(endpoint: str) -> bool:
    return endpoint in current_app.view_functions


def _start_session(user) -> None:
    """Fresh session for a freshly authenticated user (no session fixation), recorded
    on the server so that logging out ends it (kepu/accounts/sessions.py)."""
    session.clear()
    login_user(user, remember=False)
    sessions.start(user)
    ops.record_login(user)
    hooks.run(user)


def _sms_action(form, purpose: str) -> SendResult:
    """Handle ``action=send_code`` of a page form (the no-JavaScript path)."""
    form.phone.errors = []
    if not form.phone.validate(form):
        return SendResult(False, "")
    return send_code(form.phone.data, purpose, request.remote_addr)


def _wait_for(form, purpose: str, sms: SendResult | None) -> int:
    """Seconds the 获取验证码 button stays disabled on this render."""
    if sms is not None:
        return sms.wait_seconds
    phone = V.normalize_phone(form.phone.data)
    if request.method == "POST" and V.is_valid_phone(phone):
        return seconds_until_resend(phone, purpose)
    return 0


def _apply_error(form, err: ops.AccountError, default: str) -> None:
    field = getattr(form, err.field or default, None) or getattr(form, default)
    field.errors = list(field.errors) + [err.message]


# --- register ------------------------------------------------------------------------

@bp.route("/register", methods=["GET", "POST"])
@limiter.limit(_sms_limit, methods=["POST"], exempt_when=_not_sending)
def register():
    if current_user.is_authenticated:
        return redirect(url_for("main.workbench"), 303)
    form = RegisterForm()
    sms = None
    status = 200
    if request.method == "POST":
        if request.form.get("action") == "send_code":
            sms = _sms_action(form, "register")
            status = 200 if sms.ok else 422
        elif form.validate():
            try:
                ops.register_user(form.phone.data, form.password.data, form.code.data)
            except ops.AccountError as e:
                _apply_error(form, e, "code")
                status = 422
            else:
                flash("注册成功，请登录", "success")
                return redirect(url_for("accounts.login"), 303)
        else:
            status = 422
    return render("accounts/register.html", form=form, sms=sms,
                  wait=_wait_for(form, "register", sms), status=status)


# --- login / logout ---------------------------------------------------------------------

@bp.route("/login", methods=["GET", "POST"])
@limiter.limit(_login_limit, methods=["POST"])
@limiter.limit(_sms_limit, methods=["POST"], exempt_when=_not_sending)
def login():
    method = request.values.get("method", "password")
    if method not in ("password", "sms"):
        method = "password"
    next_url = safe_next(request.values.get("next"))
    if current_user.is_authenticated and request.method == "GET":
        return redirect(next_url or url_for("main.workbench"), 303)
    form = SmsLoginForm() if method == "sms" else PasswordLoginForm()
    sms = None
    status = 200
    if request.method == "POST":
        if method == "sms" and request.form.get("action") == "send_code":
            sms = _sms_action(form, "login")
            status = 200 if sms.ok else 422
        elif form.validate():
            try:
                if method == "sms":
                    user = ops.authenticate_by_code(form.phone.data, form.code.data)
                else:
                    user = ops.authenticate(form.phone.data, form.password.data)
            except ops.AccountError as e:
                _apply_error(form, e, "code" if method == "sms" else "password")
                status = 422
            else:
                _start_session(user)
                flash("登录成功", "success")
                return redirect(next_url or url_for("main.workbench"), 303)
        else:
            status = 422
    wait = _wait_for(form, "login", sms) if method == "sms" else 0
    return render("accounts/login.html", form=form, method=method, next_url=next_url,
                  sms=sms, wait=wait, status=status)


@bp.post("/logout")
def logout():
    sessions.end()
    logout_user()
    session.clear()
    flash("您已退出登录", "info")
    return redirect(url_for("main.index"), 303)


@bp.post("/logout-everywhere")
@login_required
def logout_everywhere():
    """退出所有设备: every session of this account ends, this one included."""
    ops.end_all_sessions(current_user._get_current_object())
    logout_user()
    session.clear()
    flash("已退出所有设备上的登录，请重新登录", "info")
    return redirect(url_for("accounts.login"), 303)


# --- forgotten password -------------------------------------------------------------------

@bp.route("/reset", methods=["GET", "POST"])
@limiter.limit(_sms_limit, methods=["POST"], exempt_when=_not_sending)
def reset_password():
    form = ResetPasswordForm()
    sms = None
    status = 200
    if request.method == "POST":
        if request.form.get("action") == "send_code":
            sms = _sms_action(form, "reset")
            status = 200 if sms.ok else 422
        elif form.validate():
            try:
                ops.reset_password(form.phone.data, form.code.data, form.password.data)
            except ops.AccountError as e:
                _apply_error(form, e, "code")
                status = 422
            else:
                if current_user.is_authenticated:
                    logout_user()
                session.clear()
                flash("密码已重置，请使用新密码登录", "success")
                return redirect(url_for("accounts.login"), 303)
        else:
            status = 422
    return render("accounts/reset.html", form=form, sms=sms,
                  wait=_wait_for(form, "reset", sms), status=status)


# --- personal center -------------------------------------------------------------------------

def _center_context(**extra):
    grants = [(g, ops.grant_scope_label(g)) for g in current_user.grants]
    return dict(grants=grants, has_endpoint=has_endpoint,
                session_count=sessions.count(current_user), **extra)


@bp.route("/", methods=["GET", "POST"])
@login_required
def profile():
    form = ProfileForm(obj=current_user if request.method == "GET" else None)
    saved = False
    status = 200
    if request.method == "POST":
        if form.validate():
            try:
                ops.update_profile(current_user, form.name.data, form.unit_name.data,
                                   form.job_title.data, form.email.data)
            except ops.AccountError as e:
                _apply_error(form, e, "email")
                status = 422
            else:
                if not is_fragment():
                    flash("已保存", "success")
                    return redirect(url_for("accounts.profile"), 303)
                saved = True
        else:
            status = 422
    return render("accounts/profile.html", block="basic_info", status=status,
                  **_center_context(form=form, saved=saved))


@bp.route("/password", methods=["GET", "POST"])
@login_required
def change_password():
    form = ChangePasswordForm()
    status = 200
    if request.method == "POST":
        if form.validate():
            try:
                ops.change_password(current_user, form.current_password.data,
                                    form.new_password.data)
            except ops.AccountError as e:
                _apply_error(form, e, "current_password")
                status = 422
            else:
                user = current_user._get_current_object()
                session.clear()
                login_user(user, remember=False)  # new session_version in the cookie
                sessions.start(user)  # the others ended with the change
                flash("密码已修改，其他设备上的登录已失效", "success")
                return redirect(url_for("accounts.profile"), 303)
        else:
            status = 422
    return render("accounts/password.html", form=form, status=status, **_center_context())


@bp.route("/realname", methods=["GET", "POST"])
@login_required
def realname():
    form = RealNameForm()
    status = 200
    if request.method == "POST" and current_user.real_name_verified_at is None:
        if form.validate():
            try:
                ops.certify_real_name(current_user, form.real_name.data, form.id_number.data)
            except ops.AccountError as e:
                _apply_error(form, e, "id_number")
                status = 422
            else:
                flash("实名认证成功", "success")
                return redirect(url_for("accounts.realname"), 303)
        else:
            status = 422
    return render("accounts/realname.html", form=form, status=status, **_center_context())
