"""全国科普日 推优 of excellent organiser units (issue 13): each scope's 推优 admin
recommends 主办单位 of its recommended excellent activities, under the quota and the
科协 share limit (kepu.science_day.tuiyou_units).

URL map (blueprint ``science_day``, prefix /science-day):

  GET   /tuiyou/units             excellent_units          推优 admin: candidates, quota
                                                           and 科协 share meter (?scope=)
  POST  /tuiyou/units/recommend   excellent_unit_recommend 推优 admin: recommend one
                                                           (scope, unit_key)
  POST  /tuiyou/units/withdraw    excellent_unit_withdraw  推优 admin: withdraw one

Anyone else gets 404; anonymous users are sent to log in. The POSTs answer a plain form
with 303 → the page; an HTMX request gets the list and meter (block ``panel``) back,
a refusal 422 with the reason next to the unit.
"""
from __future__ import annotations

from flask import abort, flash, redirect, request, url_for
from flask_login import current_user, login_required

from ..htmx import is_fragment, render
from . import bp
from . import tuiyou_units as ops
from .operations.common import OperationError
from .settings import ScienceDaySettings
from .tuiyou_routes import acting_scope_or_404, campaign_or_404


def _page(campaign, scopes, scope, *, status=200, message=None, message_kind="error",
          row_error=None):
    settings = ScienceDaySettings(campaign)
    return render("science_day/tuiyou/units.html", block="panel", status=status,
                  campaign=campaign, scopes=scopes, scope=scope,
                  board=ops.board(campaign, scope), window=settings.phase("recommend"),
                  settings=settings, message=message, message_kind=message_kind,
                  row_error=row_error)


@bp.route("/tuiyou/units")
@login_required
def excellent_units():
    scopes, scope = acting_scope_or_404()
    return _page(campaign_or_404(), scopes, scope)


def _act(fn, done: str):
    scopes, scope = acting_scope_or_404()
    campaign = campaign_or_404()
    unit_key = (request.form.get("unit_key") or "").strip()
    if not unit_key or len(unit_key) > 220:
        abort(404)
    try:
        unit = fn(campaign, scope, unit_key, current_user)
    except LookupError:
        abort(404)
    except OperationError as e:
        return _page(campaign, scopes, scope, status=422, message=e.message,
                     row_error=(unit_key, e.message))
    text = done.format(name=unit.name)
    if is_fragment():
        return _page(campaign, scopes, scope, message=text, message_kind="success")
    flash(text, "success")
    return redirect(url_for("science_day.excellent_units", scope=scope.key), 303)


@bp.route("/tuiyou/units/recommend", methods=["POST"])
@login_required
def excellent_unit_recommend():
    return _act(ops.recommend, "已推荐“{name}”为优秀组织单位")


@bp.route("/tuiyou/units/withdraw", methods=["POST"])
@login_required
def excellent_unit_withdraw():
    return _act(ops.withdraw, "已撤回对“{name}”的推荐")
