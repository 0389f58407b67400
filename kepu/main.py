"""Home page (the front door), the workbench, health check and the 届次 (edition) switch
of the campaign lists."""
from flask import Blueprint, abort, flash, redirect, render_template, request, url_for
from flask_login import current_user, login_required

from . import workbench as wb

bp = Blueprint("main", __name__)


@bp.get("/")
def index():
    """Each campaign's current call with its dates and 立即申报; campaigns without an
    edition (or not built yet, like 全国科普日 for now) get a card without links."""
    from .admin.models import CAMPAIGN_KINDS

    calls = wb.calls()
    entries = {e.kind: e for e in wb.campaigns()}
    return render_template("index.html", calls=calls, entries=entries,
                           kinds=list(CAMPAIGN_KINDS.items()))


@bp.get("/workbench")
@login_required
def workbench():
    """工作台: the cards of the current user's grants and entries (kepu/workbench.py)."""
    cards = wb.cards_for(current_user)
    alerts = [a for c in cards for a in c.alerts]
    return render_template("workbench.html", cards=cards, alerts=alerts)


@bp.get("/healthz")
def healthz():
    from sqlalchemy import text

    from .extensions import db

    db.session.execute(text("SELECT 1"))
    return {"status": "ok"}


@bp.post("/edition/<kind>")
@login_required
def view_edition(kind: str):
    """Show another edition of a campaign on its review, export and selection pages."""
    from sqlalchemy import select

    from .admin.models import Campaign
    from .editions import VIEWABLE_KINDS, latest_edition
    from .editions import view_edition as remember
    from .extensions import db
    from .urls import safe_next

    if kind not in VIEWABLE_KINDS:
        abort(404)
    back = safe_next(request.form.get("next")) or url_for("main.index")
    raw = (request.form.get("year") or "").strip()
    latest = latest_edition(kind)
    if not raw.isascii() or not raw.isdigit() or len(raw) > 4:
        flash("请选择要查看的届次", "error")
        return redirect(back, 303)
    campaign = db.session.scalar(select(Campaign).where(Campaign.kind == kind,
                                                        Campaign.year == int(raw)))
    if campaign is None:
        flash(f"没有 {raw} 年度的{VIEWABLE_KINDS[kind]}", "error")
        return redirect(back, 303)
    is_latest = latest is not None and campaign.id == latest.id
    remember(kind, None if is_latest else campaign.year)
    if is_latest:
        flash(f"已返回本届：{campaign.title}", "info")
    return redirect(back, 303)
