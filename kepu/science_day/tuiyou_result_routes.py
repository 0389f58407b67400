"""全国科普日 推优 national results (issue 13): the national admin's overview, per-scope
selection, publication and export; the public results page.

URL map (blueprint ``science_day``, prefix /science-day; the endpoints are named
``excellent_*`` so they stay out of tuiyou_routes' own matrix check):

  GET   /tuiyou/results               excellent_overview   national: every scope's quotas,
                                                           recommended and selected
  GET   /tuiyou/results/scope         excellent_scope      national: one scope's
                                                           recommendations (?scope=
                                                           show=selected|unselected)
  POST  /tuiyou/results/select        excellent_select     national: 入选 / 取消入选 (bulk
                                                           ``ids`` + ``action``, or one
                                                           row's ``row`` button)
  POST  /tuiyou/results/publish       excellent_publish    national: publish (asks to
                                                           confirm first)
  POST  /tuiyou/results/unpublish     excellent_unpublish  national: withdraw the result
  GET   /tuiyou/results/export.xlsx   excellent_export     national: everything, xlsx
  GET   /excellent                    public_excellent     anyone: the published result
                                                           (?year= an edition)

Anyone else gets 404 on the national routes; anonymous users are sent to log in.
"""
from __future__ import annotations

from flask import abort, flash, redirect, request, url_for
from flask_login import current_user, login_required

from ..exports import xlsx_response
from ..htmx import render
from ..inputs import parse_id
from . import bp
from . import tuiyou_results as ops
from .operations.common import OperationError
from .public_routes import _edition
from .tuiyou import scope_from_key
from .tuiyou_routes import campaign_or_404, require_national


def _overview(campaign, *, status=200, confirm=False, message=None, form=None):
    ov = ops.overview(campaign)
    acts, units = ops.selected_totals(campaign.id)
    return render("science_day/tuiyou/results.html", status=status, campaign=campaign,
                  ov=ov, pub=ops.publication(campaign.id), selected=(acts, units),
                  confirm=confirm, message=message, form=form or {})


@bp.route("/tuiyou/results")
@login_required
def excellent_overview():
    require_national()
    return _overview(campaign_or_404())


def _scope_arg():
    scope = scope_from_key((request.values.get("scope") or "").strip())
    if scope is None:
        abort(404)
    return scope


def _show():
    show = request.values.get("show") or ""
    return show if show in ops.SHOWS else ""


def _scope_page(campaign, scope, *, status=200, message=None, kind=None, checked=()):
    show = _show()
    return render("science_day/tuiyou/results_scope.html", status=status, campaign=campaign,
                  scope=scope, show=show, shows=ops.SHOWS,
                  activities=ops.activity_items(campaign.id, scope.key, show),
                  units=ops.unit_items(campaign.id, scope.key, show),
                  counts=ops.scope_counts(campaign.id, scope.key),
                  published=ops.is_published(campaign.id), message=message,
                  message_kind=kind, checked=set(checked), kinds=ops.KINDS)


@bp.route("/tuiyou/results/scope")
@login_required
def excellent_scope():
    require_national()
    return _scope_page(campaign_or_404(), _scope_arg())


@bp.route("/tuiyou/results/select", methods=["POST"])
@login_required
def excellent_select():
    require_national()
    campaign = campaign_or_404()
    scope = _scope_arg()
    kind = request.form.get("kind", "")
    if kind not in ops.KINDS:
        abort(404)
    row = request.form.get("row", "")
    if row:      # one row's own button: "select:<id>" / "unselect:<id>"
        action, _, raw = row.partition(":")
        raw_ids = [raw]
    else:
        action = request.form.get("action", "")
        raw_ids = request.form.getlist("ids")
    if action not in ("select", "unselect"):
        abort(404)
    ids = [i for i in (parse_id(r) for r in raw_ids) if i is not None]
    try:
        n = ops.set_selected(campaign, scope, kind, ids, action == "select", current_user)
    except OperationError as e:
        return _scope_page(campaign, scope, status=422, message=e.message, kind=kind,
                           checked=[f"{kind}:{i}" for i in ids])
    label = ops.KINDS[kind]
    flash(f"已将 {n} 个{label}{'设为入选' if action == 'select' else '取消入选'}", "success")
    args = {"scope": scope.key}
    if _show():
        args["show"] = _show()
    return redirect(url_for("science_day.excellent_scope", **args) + f"#{kind}s", 303)


@bp.route("/tuiyou/results/publish", methods=["POST"])
@login_required
def excellent_publish():
    require_national()
    campaign = campaign_or_404()
    if request.form.get("confirmed") != "1":
        if ops.is_published(campaign.id):
            return _overview(campaign, status=422, message="评选结果已公布")
        return _overview(campaign, status=409, confirm=True, form=request.form)
    try:
        ops.publish(campaign, current_user, request.form.get("note", ""))
    except OperationError as e:
        return _overview(campaign, status=422, message=e.message,
                         confirm=e.field == "note", form=request.form)
    flash("已公布推优评选结果", "success")
    return redirect(url_for("science_day.excellent_overview"), 303)


@bp.route("/tuiyou/results/unpublish", methods=["POST"])
@login_required
def excellent_unpublish():
    require_national()
    campaign = campaign_or_404()
    try:
        ops.unpublish(campaign, current_user)
    except OperationError as e:
        return _overview(campaign, status=422, message=e.message)
    flash("已撤销公布，入选名单可以调整", "success")
    return redirect(url_for("science_day.excellent_overview"), 303)


@bp.route("/tuiyou/results/export.xlsx")
@login_required
def excellent_export():
    require_national()
    campaign = campaign_or_404()
    return xlsx_response(f"{campaign.title}_推优名额推荐与入选.xlsx",
                         ops.export_sheets(campaign), widths={0: 24, 1: 12, 2: 36, 3: 24,
                                                              4: 30, 5: 18, 6: 12})


@bp.get("/excellent", endpoint="public_excellent")
def public_excellent():
    campaign = _edition()
    groups = ops.public_result(campaign)
    year_arg = {"year": campaign.year} if request.args.get("year") else {}
    return render("science_day/public/excellent.html", campaign=campaign, groups=groups,
                  pub=ops.publication(campaign.id), year_arg=year_arg)
