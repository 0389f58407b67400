"""Platform administration (platform admins only; everyone else gets 404)."""
from __future__ import annotations

from flask import abort, current_app, flash, redirect, request, url_for
from flask_login import current_user
from werkzeug.datastructures import MultiDict

from ..accounts import operations as account_ops
from ..accounts.models import Grant, User
from ..accounts.permissions import platform_admin_required
from ..extensions import db
from ..htmx import is_fragment, render
from . import bp
from . import operations as ops
from .forms import GrantForm, choice, province_choices, subregion_groups

#: form fields of the add-grant form that operation errors may name
_FIELD_MAP = {"region_code": "province", "active": "role"}


def has_endpoint(endpoint: str) -> bool:
    return endpoint in current_app.view_functions


def _int_or_none(value) -> int | None:
    try:
        return int(value) if value not in (None, "") else None
    except (TypeError, ValueError):
        return None



@bp.get("/")
@platform_admin_required
def index():
    from ..workbench import admin_figures

    return render("admin/index.html", counts=ops.dashboard_counts(), figures=admin_figures(),
                  has_endpoint=has_endpoint)


@bp.get("/users")
@platform_admin_required
def users():
    q = request.args.get("q", "").strip()
    page = max(1, _int_or_none(request.args.get("page")) or 1)
    pagination = ops.search_users(q, page, current_app.config.get("PAGE_SIZE", 20))
    return render("admin/users.html", block="rows", q=q, pagination=pagination)


def _grant_form(formdata=None) -> GrantForm:
    form = GrantForm(formdata=formdata) if formdata is not None else GrantForm()
    org_id = _int_or_none(form.org_id.data)
    orgs = ops.org_options(form.org_q.data, org_id)
    form.org_id.choices = [choice("", "请选择单位")] + [choice(str(o.id), o.name) for o in orgs]
    form.province.choices = province_choices()
    form.subregion.choices = [choice("", "")]
    form.campaign_id.choices = [choice("", "全部征集活动")] + [
        choice(str(c.id), f"{c.year} {c.kind_label}") for c in ops.campaign_options()]
    return form


def _detail(user: User, form: GrantForm | None = None, status: int = 200,
            block: str | None = None, **extra):
    form = form or _grant_form()
    grants = sorted(user.grants, key=lambda g: g.id)
    return render("admin/user_detail.html", block=block, status=status, user=user,
                  grants=[(g, account_ops.grant_scope_label(g)) for g in grants],
                  form=form, subregions=subregion_groups(form.province.data), **extra)


@bp.get("/users/<int:user_id>")
@platform_admin_required
def user_detail(user_id: int):
    user = db.get_or_404(User, user_id)
    if request.args.get("role") is not None or request.args.get("org_q") is not None:
        # HTMX refresh of the scope choices (org filter, province → cities/counties)
        form = _grant_form(request.args)
        return _detail(user, form, block="grant_scope")
    return _detail(user)


@bp.post("/users/<int:user_id>/grants")
@platform_admin_required
def grant_add(user_id: int):
    user = db.get_or_404(User, user_id)
    form = _grant_form()
    if request.form.get("action") == "refresh":  # refresh the scope choices only
        return _detail(user, form, block="grants_section")
    status = 200
    if form.validate():
        try:
            ops.add_grant(user, form.role.data, _int_or_none(form.org_id.data),
                          form.province.data, form.subregion.data,
                          _int_or_none(form.campaign_id.data), by=current_user)
        except ops.AccountError as e:
            name = _FIELD_MAP.get(e.field, e.field) or "role"
            field = getattr(form, name, form.role)
            field.errors = list(field.errors) + [e.message]
            status = 422
        else:
            if not is_fragment():
                flash("已添加角色", "success")
                return redirect(url_for("admin.user_detail", user_id=user.id), 303)
            db.session.refresh(user)
            return _detail(user, _grant_form(formdata=MultiDict()), block="grants_section",
                           notice="已添加角色")
    else:
        status = 422
    return _detail(user, form, status=status, block="grants_section")


@bp.post("/users/<int:user_id>/grants/<int:grant_id>/delete")
@platform_admin_required
def grant_remove(user_id: int, grant_id: int):
    user = db.get_or_404(User, user_id)
    grant = db.session.get(Grant, grant_id)
    if grant is None or grant.user_id != user.id:
        abort(404)
    try:
        ops.remove_grant(grant, by=current_user)
    except ops.AccountError as e:
        if is_fragment():
            return render("admin/user_detail.html", block="grant_row", status=422, user=user,
                          grant=grant, scope=account_ops.grant_scope_label(grant),
                          row_error=e.message)
        flash(e.message, "error")
        return redirect(url_for("admin.user_detail", user_id=user.id), 303)
    if is_fragment():
        return ""  # the row disappears
    flash("已移除角色", "success")
    return redirect(url_for("admin.user_detail", user_id=user.id), 303)


@bp.post("/users/<int:user_id>/toggle-active")
@platform_admin_required
def user_toggle_active(user_id: int):
    user = db.get_or_404(User, user_id)
    error = None
    try:
        ops.toggle_active(user, by=current_user)
    except ops.AccountError as e:
        error = e.message
    if is_fragment():
        return render("admin/user_detail.html", block="account_status",
                      status=422 if error else 200, user=user, status_error=error)
    if error:
        flash(error, "error")
    else:
        flash("账号已启用" if user.active else "账号已停用", "success")
    return redirect(url_for("admin.user_detail", user_id=user.id), 303)
