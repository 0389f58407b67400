"""上架 / 下架 of approved activities, from the review detail page (seed 002 三(三).1).

URL map (blueprint ``science_day``, prefix /science-day):

  GET   /listing/<id>            listing_panel    the 上架/下架 panel as a page (without JS)
  POST  /listing/<id>/delist     listing_delist   下架 with a reason
  POST  /listing/<id>/relist     listing_relist   上架 again

National admins manage any activity, provincial admins those of their route province;
everyone else — and any activity without a public version — gets 404. The panel is
included on the review detail page (templates/science_day/_listing.html); HTMX swaps
it in place, a plain form post redirects back to the review detail.
"""
from __future__ import annotations

from flask import abort, flash, redirect, request, url_for
from flask_login import current_user, login_required

from ..extensions import db
from ..htmx import is_fragment, render
from ..urls import safe_next
from . import bp
from .models import Activity
from .operations import listing as ops
from .operations.common import settings_of
from .operations.search import install as _install_search

_install_search()

PANEL = "science_day/public/listing_panel.html"


@bp.app_template_global("sd_listing")
def sd_listing(activity) -> dict | None:
    """What the review detail's 上架/下架 panel shows for the current user (None: no
    panel: not approved yet, or not theirs to manage)."""
    if activity is None or not current_user.is_authenticated:
        return None
    row = ops.public_row(activity.id)
    if row is None or not ops.can_manage_listing(activity, current_user):
        return None
    return {"row": row, "history": ops.listing_history(activity),
            "reason_max": ops.REASON_MAX}


def _load(activity_id: int) -> Activity:
    activity = db.get_or_404(Activity, activity_id)
    if ops.public_row(activity.id) is None or not ops.can_manage_listing(activity,
                                                                          current_user):
        abort(404)
    return activity


def _back(activity: Activity) -> str:
    """Back to the review page the form was on (only there), else the panel's page."""
    return safe_next(request.form.get("next"),
                     url_for("science_day.listing_panel", activity_id=activity.id),
                     under=url_for("science_day.review_home"))


def _panel(activity: Activity, status: int = 200, **extra):
    return render(PANEL, block="panel", status=status, activity=activity,
                  settings=settings_of(activity),
                  next_url=safe_next(request.form.get("next"), "",
                                     under=url_for("science_day.review_home")),
                  **extra)


@bp.get("/listing/<int:activity_id>", endpoint="listing_panel")
@login_required
def listing_panel(activity_id: int):
    return _panel(_load(activity_id))


@bp.post("/listing/<int:activity_id>/delist", endpoint="listing_delist")
@login_required
def listing_delist(activity_id: int):
    activity = _load(activity_id)
    reason = request.form.get("reason", "")
    try:
        ops.delist(activity, current_user, reason)
    except ops.OperationError as e:
        return _panel(activity, 422 if e.field else 409, errors=e.errors or {"": e.message},
                      reason=reason)
    notice = f"已下架“{activity.display_name}”，公众已看不到该活动。"
    if is_fragment():
        return _panel(activity, notice=notice)
    flash(notice, "success")
    return redirect(_back(activity), code=303)


@bp.post("/listing/<int:activity_id>/relist", endpoint="listing_relist")
@login_required
def listing_relist(activity_id: int):
    activity = _load(activity_id)
    try:
        ops.relist(activity, current_user)
    except ops.OperationError as e:
        return _panel(activity, 409, errors={"": e.message})
    notice = f"已上架“{activity.display_name}”，活动重新在全国科普日网站展示。"
    if is_fragment():
        return _panel(activity, notice=notice)
    flash(notice, "success")
    return redirect(_back(activity), code=303)
