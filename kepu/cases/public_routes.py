"""The call's landing page and the unit admin's own 推荐码.

- cases.index      GET /cases/             everyone: the current call, its dates, 立即申报
- cases.unit_code  GET /cases/unit/code    case admins of a recommender unit (?org=<id>
                                           among their own units; anything else is 404)
"""
from __future__ import annotations

from flask import abort, request
from flask_login import current_user, login_required
from sqlalchemy import select

from ..accounts import roles as R
from ..editions import window_phase
from ..extensions import db
from ..htmx import render
from ..orgs.models import Org
from . import bp
from .common import current_campaign, settings_of
from .models import RecommendCode
from .operations.codes import format_code
from .workbench import invitation_text


@bp.get("/")
def index():
    campaign = current_campaign()
    settings = settings_of(campaign)
    return render("cases/index.html", campaign=campaign, settings=settings,
                  phase=window_phase(settings) if campaign else None)


@bp.get("/unit/code")
@login_required
def unit_code():
    """本单位推荐码 with ready-to-send wording (a copy button with JavaScript)."""
    ids = current_user.org_ids_for(R.CASE_UNIT)
    if not ids:
        abort(404)
    orgs = list(db.session.scalars(select(Org).where(Org.id.in_(sorted(ids)))
                                   .order_by(Org.name, Org.id)))
    raw = (request.args.get("org") or "").strip()
    org = orgs[0]
    if raw:
        org = next((o for o in orgs if str(o.id) == raw), None)
        if org is None:
            abort(404)
    campaign = current_campaign()
    code = None
    if campaign is not None:
        code = db.session.scalar(select(RecommendCode).where(
            RecommendCode.campaign_id == campaign.id, RecommendCode.org_id == org.id))
    settings = settings_of(campaign)
    return render("cases/unit_code.html", campaign=campaign, settings=settings, org=org,
                  orgs=orgs, code=format_code(code.code) if code else None,
                  text=invitation_text(org.name, code.code, campaign, settings) if code else "")
