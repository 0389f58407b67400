"""全国科普日 edition administration (platform admins), like the other calls':

- science_day.admin_editions  GET/POST /science-day/admin/editions
      every edition (filing window phase, activities by state) and creating the next
      (settings copied from the latest edition, every window moved to the new year)
- science_day.admin_settings  GET/POST /science-day/admin/editions/<campaign_id>/settings
      every setting of one edition; a save made while another admin saved is refused
      (409) with everything typed kept
"""
from __future__ import annotations

from flask import abort, flash, redirect, request, url_for
from flask_login import current_user

from ..accounts.permissions import platform_admin_required
from ..admin.models import Campaign
from ..editions import SETTINGS_CONFLICT, window_phase
from ..extensions import db
from ..htmx import render
from ..timeutil import utcnow
from ..workflow import OperationError
from . import bp
from .admin_forms import (LIMITS, SECTION_LIMITS, SETTING_GROUPS, EditionForm, SettingsForm,
                          setting_groups)
from .flow import STATE_LABELS
from .operations import editions as ops
from .settings import KIND, WINDOWS, ScienceDaySettings


def _editions_page(form: EditionForm, status: int = 200):
    counts = ops.activity_counts()
    rows = []
    for c in ops.editions():
        s = ScienceDaySettings(c)
        by_status = counts.get(c.id, {})
        rows.append({"campaign": c, "settings": s, "phase": window_phase(s),
                     "counts": [(label, by_status[k]) for k, label in STATE_LABELS.items()
                                if by_status.get(k)],
                     "total": sum(by_status.values())})
    return render("science_day/admin_editions.html", status=status, rows=rows, form=form)


@bp.route("/admin/editions", methods=["GET", "POST"])
@platform_admin_required
def admin_editions():
    if request.method == "GET":
        latest = ops.editions()
        year = (latest[0].year + 1) if latest else utcnow().year
        form = EditionForm(formdata=None, data={"year": year, "title": ops.default_title(year)})
        return _editions_page(form)
    form = EditionForm()
    if form.validate():
        try:
            campaign = ops.create_edition(form.year.data, form.title.data, user=current_user)
        except OperationError as e:
            db.session.rollback()
            getattr(form, e.field or "year", form.year).errors.append(e.message)
        else:
            flash(f"已创建 {campaign.year} 年全国科普日，设置已从上一届复制，各时间节点已顺延到 "
                  f"{campaign.year} 年：请核对主题、时间节点和活动分类后保存", "success")
            return redirect(url_for("science_day.admin_settings", campaign_id=campaign.id), 303)
    return _editions_page(form, status=422)


def _load(campaign_id: int) -> Campaign:
    campaign = db.get_or_404(Campaign, campaign_id)
    if campaign.kind != KIND:
        abort(404)
    return campaign


def _settings_page(campaign, form, status: int = 200, differing=None):
    settings = ScienceDaySettings(campaign)
    phases = [(key, label, settings.phase(key)) for key, (label, _w) in WINDOWS.items()]
    return render("science_day/admin_settings.html", status=status, campaign=campaign,
                  form=form, settings=settings, phases=phases, windows=WINDOWS,
                  limits=LIMITS, section_limits=SECTION_LIMITS, groups=SETTING_GROUPS,
                  differing=differing)


@bp.route("/admin/editions/<int:campaign_id>/settings", methods=["GET", "POST"])
@platform_admin_required
def admin_settings(campaign_id: int):
    campaign = _load(campaign_id)
    if request.method == "GET":
        form = SettingsForm.from_settings(campaign, ScienceDaySettings(campaign),
                                          ops.settings_digest(campaign))
        return _settings_page(campaign, form)
    form = SettingsForm()
    if not form.validate():
        return _settings_page(campaign, form, status=422)
    title, values = form.values()
    digest = (form.settings_digest.data or "").strip()
    try:
        if not digest:
            raise OperationError(SETTINGS_CONFLICT, code="conflict")
        changed = ops.save_settings(campaign, title, values, current_user, digest=digest)
    except OperationError as e:
        db.session.rollback()
        db.session.refresh(campaign)
        if e.code != "conflict":
            form.conflict = e.message
            return _settings_page(campaign, form, status=422)
        form.conflict = e.message
        form.settings_digest.data = ops.settings_digest(campaign)
        stored = ScienceDaySettings(campaign)
        keys = (["title"] if title != campaign.title else []) + [
            k for k, v in values.items() if v != stored.get(k)]
        return _settings_page(campaign, form, status=409, differing=setting_groups(keys))
    flash("设置已保存，立即生效" if changed else "设置没有变化，无需保存",
          "success" if changed else "info")
    return redirect(url_for("science_day.admin_settings", campaign_id=campaign.id), 303)
