"""全国科普日 推优 (issue 13): quotas and 推优 admins (national admin), excellent
activities (each scope's 推优 admin).

URL map (blueprint ``science_day``, prefix /science-day):

  GET   /tuiyou/quotas            tuiyou_quotas        national: every scope's quotas, the
                                                       suggestion and its formula
  POST  /tuiyou/quotas/formula    tuiyou_formula       national: the formula's parameters
  POST  /tuiyou/quotas/save       tuiyou_quota_save    national: one scope's quotas (+reason)
  GET   /tuiyou/admins            tuiyou_admins        national: 推优 admins by scope
  POST  /tuiyou/admins/grant      tuiyou_grant         national: name a scope's admin by
                                                       phone (replacing asks to confirm)
  GET   /tuiyou                   tuiyou_home          推优 admin: candidates (?scope= q=
                                                       show=eligible|ineligible|recommended)
  POST  /tuiyou/recommend         tuiyou_recommend     推优 admin: recommend one
  POST  /tuiyou/withdraw          tuiyou_withdraw      推优 admin: withdraw one

Anyone else gets 404; anonymous users are sent to log in.
"""
from __future__ import annotations

from flask import abort, flash, redirect, request, url_for
from flask_login import current_user, login_required

from ..htmx import render
from ..inputs import parse_id, parse_page
from . import bp
from . import tuiyou as ops
from .operations.common import OperationError, current_campaign
from .settings import ScienceDaySettings


def campaign_or_404():
    campaign = current_campaign()
    if campaign is None:
        abort(404)
    return campaign


def require_national():
    if not ops.can_manage(current_user):
        abort(404)


def _quota_page(campaign, *, status=200, errors=None, scope_key=None, form=None,
                formula_errors=None):
    counts = ops.approved_counts(campaign.id)
    total = sum(counts.values())
    formula = ops.formula_of(campaign)
    stored = ops.quotas(campaign.id)
    rows = []
    for s in ops.all_scopes(campaign.id, counts):
        n = counts.get(s.key, 0)
        rows.append({"scope": s, "n": n, "quota": stored.get(s.key),
                     "s_acts": formula.suggest(total, n),
                     "s_units": formula.suggest(total, n, "units")})
    return render("science_day/tuiyou/quotas.html", status=status, campaign=campaign,
                  rows=rows, total=total, formula=formula, errors=errors or {},
                  scope_key=scope_key, form=form or {}, formula_errors=formula_errors or {},
                  settings=ScienceDaySettings(campaign))


@bp.route("/tuiyou/quotas")
@login_required
def tuiyou_quotas():
    require_national()
    return _quota_page(campaign_or_404())


@bp.route("/tuiyou/quotas/formula", methods=["POST"])
@login_required
def tuiyou_formula():
    require_national()
    campaign = campaign_or_404()
    errors = ops.save_formula(campaign, request.form, current_user)
    if errors:
        return _quota_page(campaign, status=422, formula_errors=errors, form=request.form)
    flash("已保存建议名额计算参数", "success")
    return redirect(url_for("science_day.tuiyou_quotas"), 303)


@bp.route("/tuiyou/quotas/save", methods=["POST"])
@login_required
def tuiyou_quota_save():
    require_national()
    campaign = campaign_or_404()
    scope = ops.scope_from_key(request.form.get("scope", ""))
    if scope is None:
        abort(404)
    errors = ops.save_quota(campaign, scope, request.form, current_user)
    if errors:
        return _quota_page(campaign, status=422, errors=errors, scope_key=scope.key,
                           form=request.form)
    flash(f"已保存{scope.name}的推荐名额", "success")
    return redirect(url_for("science_day.tuiyou_quotas") + f"#q-{scope.key.replace(':', '-')}",
                    303)


def _admins_page(*, status=200, errors=None, scope_key=None, form=None, confirm=None):
    campaign = current_campaign()
    counts = ops.approved_counts(campaign.id) if campaign else {}
    scopes = ops.all_scopes(campaign.id, counts) if campaign else [
        ops.province_scope(k) for k in ops.province_keys()]
    return render("science_day/tuiyou/admins.html", status=status, scopes=scopes,
                  grants=ops.grants(), errors=errors or {}, scope_key=scope_key,
                  form=form or {}, confirm=confirm)


@bp.route("/tuiyou/admins")
@login_required
def tuiyou_admins():
    require_national()
    return _admins_page()


@bp.route("/tuiyou/admins/grant", methods=["POST"])
@login_required
def tuiyou_grant():
    require_national()
    scope = ops.scope_from_key(request.form.get("scope", ""))
    if scope is None:
        abort(404)
    try:
        errors = ops.grant_by_phone(scope, request.form.get("name", ""),
                                    request.form.get("phone", ""), current_user,
                                    confirm=request.form.get("confirm") == "1")
    except ops.NeedsConfirm as e:
        return _admins_page(status=409, scope_key=scope.key, form=request.form,
                            confirm=e.current)
    if errors:
        return _admins_page(status=422, errors=errors, scope_key=scope.key, form=request.form)
    flash(f"已将{scope.name}的推优管理员设为 {request.form.get('name', '').strip()}", "success")
    return redirect(url_for("science_day.tuiyou_admins") + f"#g-{scope.key.replace(':', '-')}",
                    303)


def acting_scope_or_404():
    found = ops.acting_scope(current_user, request.values.get("scope"))
    if found is None:
        abort(404)
    return found


SHOWS = {"": "全部", "eligible": "可推荐", "ineligible": "不符合条件", "recommended": "已推荐"}


def _home(campaign, scopes, scope, *, status=200, message=None, message_kind="error",
          row_error=None):
    q = (request.values.get("q") or "").strip()[:50]
    show = request.values.get("show") or ""
    show = show if show in SHOWS else ""
    page = parse_page(request.values.get("page"))
    start = parse_page(request.values.get("start"), default=0, maximum=10_000_000)
    result = ops.candidates(campaign.id, scope, q=q, show=show, page=page, start=start)
    settings = ScienceDaySettings(campaign)
    return render("science_day/tuiyou/home.html", status=status, campaign=campaign,
                  scopes=scopes, scope=scope, q=q, show=show, shows=SHOWS, result=result,
                  quota=ops.quota_of(campaign.id, scope.key),
                  window=settings.phase("recommend"), settings=settings, message=message,
                  message_kind=message_kind, row_error=row_error)


@bp.route("/tuiyou")
@login_required
def tuiyou_home():
    scopes, scope = acting_scope_or_404()
    return _home(campaign_or_404(), scopes, scope)


def _act(fn, done: str):
    scopes, scope = acting_scope_or_404()
    campaign = campaign_or_404()
    activity_id = parse_id(request.form.get("activity_id"))
    if activity_id is None:
        abort(404)
    try:
        activity = fn(campaign, scope, activity_id, current_user)
    except LookupError:
        abort(404)
    except OperationError as e:
        return _home(campaign, scopes, scope, status=422, message=e.message,
                     row_error=(activity_id, e.message))
    flash(done.format(name=activity.display_name), "success")
    args = {k: request.form.get(k) for k in ("q", "show", "page") if request.form.get(k)}
    return redirect(url_for("science_day.tuiyou_home", scope=scope.key, **args), 303)


@bp.route("/tuiyou/recommend", methods=["POST"])
@login_required
def tuiyou_recommend():
    return _act(ops.recommend, "已推荐“{name}”为优秀活动")


@bp.route("/tuiyou/withdraw", methods=["POST"])
@login_required
def tuiyou_withdraw():
    return _act(ops.withdraw, "已撤回对“{name}”的推荐")
