"""推荐码 and the 2025 list (routes are thin: load → permission → operation → render).

- cases.admin_codes            GET  /cases/admin/codes                 platform admin
- cases.admin_codes_generate   POST /cases/admin/codes/generate        platform admin
- cases.admin_code_regenerate  POST /cases/admin/codes/<id>/regenerate platform admin (HTMX: row)
- cases.admin_codes_export     GET  /cases/admin/codes.xlsx            platform admin
- cases.bind                   GET/POST /cases/bind                    logged-in user
- cases.admin_past             GET/POST /cases/admin/past              platform admin
- cases.admin_past_delete      POST /cases/admin/past/<id>/delete      platform admin
"""
from __future__ import annotations

from flask import abort, current_app, flash, redirect, request, url_for
from flask_limiter.util import get_remote_address
from flask_login import current_user, login_required
from sqlalchemy import select

from ..accounts import roles as R
from ..admin.models import Campaign
from ..accounts.permissions import platform_admin_required
from ..exports import xlsx_response
from ..extensions import db, limiter
from ..files.storage import accepts_uploads, limit_for
from ..htmx import is_fragment, redirect_to, render
from ..urls import next_from_request
from ..workflow import OperationError
from . import bp
from .common import current_campaign, settings_of, unit_kinds, window_state
from .forms import BindForm, PastImportForm
from .models import PastCase, RecommendCode
from .operations import codes as code_ops
from .operations import past as past_ops


# --- rate limit of code entry (bind / start) ----------------------------------------------

def code_limit() -> str:
    return current_app.config.get("CASES_CODE_RATE_LIMIT", "10 per minute")


def code_limit_key() -> str:
    if current_user and current_user.is_authenticated:
        return f"user:{current_user.id}"
    return get_remote_address()


TOO_MANY = "推荐码输入错误次数过多，请1分钟后再试"
_LIMIT_NAMESPACE = "cases_recommend_code"


def _limits():
    from limits import parse_many

    return parse_many(code_limit())


def _limiting() -> bool:
    return bool(limiter.enabled and getattr(limiter, "initialized", False))


def code_attempts_blocked() -> bool:
    """Too many wrong 推荐码 from this user lately? (shared by bind and start)."""
    if not _limiting():
        return False
    key = code_limit_key()
    return any(not limiter.limiter.test(item, _LIMIT_NAMESPACE, key) for item in _limits())


def record_wrong_code() -> None:
    """Only refused codes count against the limit (a typo costs one attempt)."""
    if not _limiting():
        return
    key = code_limit_key()
    for item in _limits():
        limiter.limiter.hit(item, _LIMIT_NAMESPACE, key)


# --- 推荐码 admin ----------------------------------------------------------------------------

def _codes_context(campaign, **extra):
    q = request.args.get("q", "").strip()[:50]
    kind = request.args.get("kind", "")
    page = request.args.get("page", 1, type=int)
    kinds = unit_kinds(settings_of(campaign)) if campaign else []
    if kind not in kinds:
        kind = ""
    pagination = code_ops.unit_rows(campaign, q=q, kind=kind, page=page,
                                    per_page=current_app.config.get("PAGE_SIZE", 20)) \
        if campaign else None
    return dict(campaign=campaign, q=q, kind=kind, kinds=kinds, pagination=pagination,
                missing=code_ops.missing_count(campaign) if campaign else 0,
                format_code=code_ops.format_code, **extra)


@bp.get("/admin/codes")
@platform_admin_required
def admin_codes():
    campaign = current_campaign()
    return render("cases/codes.html", block="results", **_codes_context(campaign))


@bp.post("/admin/codes/generate")
@platform_admin_required
def admin_codes_generate():
    campaign = current_campaign()
    try:
        created = code_ops.ensure_codes(campaign, by=current_user)
    except OperationError as e:
        flash(e.message, "error")
        return redirect(url_for(".admin_codes"), 303)
    flash(f"已为 {created} 个单位生成推荐码" if created else "所有推荐单位均已有推荐码", "success")
    return redirect_to(url_for(".admin_codes"))


@bp.post("/admin/codes/<int:code_id>/regenerate")
@platform_admin_required
def admin_code_regenerate(code_id: int):
    code = db.get_or_404(RecommendCode, code_id)
    code_ops.regenerate(code, by=current_user)
    if is_fragment():
        campaign = db.session.get(Campaign, code.campaign_id)
        return render("cases/codes.html", block="row", r=code_ops.unit_row(campaign, code),
                      format_code=code_ops.format_code, just_regenerated=True)
    flash(f"已为“{code.org.name}”重新生成推荐码：{code_ops.format_code(code.code)}，"
          "原推荐码已失效", "success")
    return redirect(_back_to_codes(), 303)


def _back_to_codes() -> str:
    """The list page the admin came from (same filters and page), else the list."""
    return next_from_request(url_for(".admin_codes"), under=url_for(".admin_codes"))


@bp.get("/admin/codes.xlsx")
@platform_admin_required
def admin_codes_export():
    campaign = current_campaign()
    if campaign is None:
        abort(404)
    rows = code_ops.export_rows(campaign)
    return xlsx_response(f"{campaign.year}年典赞推荐码.xlsx",
                         [("推荐码", ["单位名称", "单位类别", "所在地区", "推荐码"], rows)],
                         widths={0: 40, 1: 30, 2: 24, 3: 16})


# --- binding (case admins of a recommender unit) --------------------------------------------

def _bind_context(form, **extra):
    campaign = current_campaign()
    bound = []
    if current_user.is_authenticated:
        from ..orgs.models import Org

        ids = current_user.org_ids_for(R.CASE_UNIT)
        if ids:
            bound = list(db.session.scalars(select(Org).where(Org.id.in_(ids)).order_by(Org.name)))
    return dict(form=form, campaign=campaign, window=window_state(campaign), bound=bound,
                settings=settings_of(campaign),
                unit_list_url=_unit_list_url(), **extra)


def _unit_list_url() -> str | None:
    if "cases.unit_list" in current_app.view_functions:
        return url_for("cases.unit_list")
    return None


@bp.route("/bind", methods=["GET", "POST"])
@login_required
def bind():
    form = BindForm()
    if request.method == "GET":
        return render("cases/bind.html", **_bind_context(form))
    if code_attempts_blocked():
        form.code.errors = [TOO_MANY]
        return render("cases/bind.html", status=429, **_bind_context(form))
    campaign = current_campaign()
    try:
        result = code_ops.bind(current_user, form.code.data, campaign)
    except OperationError as e:
        if e.code == "invalid_code":
            record_wrong_code()
        if e.field == "code":
            form.code.errors = [e.message]
            return render("cases/bind.html", status=422, **_bind_context(form))
        return render("cases/bind.html", status=422, **_bind_context(form, alert=e.message))
    unit = result.code.org.name
    if result.already:
        form.code.errors = []
        return render("cases/bind.html", **_bind_context(
            form, notice=f"您已是“{unit}”的案例管理员，无需重复绑定。"))
    flash(f"绑定成功：您已成为“{unit}”的案例管理员，可审核该单位收到的案例。", "success")
    return redirect(url_for(".bind"), 303)


# --- 2025 selected cases (must not come again) ------------------------------------------------

def _past_context(campaign, form, **extra):
    rows = []
    if campaign is not None:
        rows = list(db.session.scalars(select(PastCase).where(PastCase.campaign_id == campaign.id)
                                       .order_by(PastCase.year.desc(), PastCase.id)))
    return dict(campaign=campaign, form=form, rows=rows, **extra)


@bp.route("/admin/past", methods=["GET", "POST"])
@accepts_uploads(lambda: limit_for(max_bytes=past_ops.MAX_IMPORT_BYTES, max_files=1))
@platform_admin_required
def admin_past():
    campaign = current_campaign()
    form = PastImportForm()
    if request.method == "GET":
        return render("cases/past_import.html", **_past_context(campaign, form))
    if campaign is None:
        return render("cases/past_import.html", status=422,
                      **_past_context(campaign, form, error="尚未创建案例征集活动"))
    upload = request.files.get("file")
    try:
        result = past_ops.import_past(campaign, upload.stream if upload else None,
                                      upload.filename if upload else "", by=current_user)
    except OperationError as e:
        return render("cases/past_import.html", status=422,
                      **_past_context(campaign, form, error=e.message))
    return render("cases/past_import.html", **_past_context(campaign, form, result=result))


@bp.post("/admin/past/<int:past_id>/delete")
@platform_admin_required
def admin_past_delete(past_id: int):
    past = db.get_or_404(PastCase, past_id)
    name = past.name
    past_ops.delete_past(past, by=current_user)
    if is_fragment():
        return ""
    flash(f"已删除：{name}", "success")
    return redirect(url_for(".admin_past"), 303)
