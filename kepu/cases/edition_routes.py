"""Edition administration of the 典赞·科普中国 cases call (platform admins only).

- cases.admin_editions  GET/POST /cases/admin/editions
      list every edition (window phase, cases by status) and create a new one
      (settings copied from the latest edition, dates moved to the new year)
- cases.admin_settings  GET/POST /cases/admin/editions/<campaign_id>/settings
      every setting of one edition; the form carries the settings' fingerprint and a
      save is refused with 409 when another admin saved meanwhile
Everyone else gets what ``platform_admin_required`` gives (login redirect / 404).
"""
from __future__ import annotations

from flask import abort, current_app, flash, redirect, request, url_for
from flask_login import current_user

from ..accounts.permissions import platform_admin_required
from ..admin.models import Campaign
from ..editions import SETTINGS_CONFLICT, window_phase
from ..extensions import db
from ..htmx import render
from ..timeutil import utcnow
from ..workflow import OperationError
from . import bp
from .admin_forms import (LIMITS, SETTING_GROUPS, EditionForm, SettingsForm,
                          setting_groups)
from .common import unit_kinds
from .flow import STATE_LABELS
from .operations import editions as ops
from .settings import KIND, CasesSettings


def _has_endpoint(endpoint: str) -> bool:
    return endpoint in current_app.view_functions


# --- list + create ---------------------------------------------------------------------

def _editions_page(form: EditionForm, status: int = 200):
    counts = ops.case_counts()
    rows = []
    for c in ops.editions():
        s = CasesSettings(c)
        by_status = counts.get(c.id, {})
        rows.append({
            "campaign": c, "settings": s, "phase": window_phase(s),
            "counts": [(label, by_status[k]) for k, label in STATE_LABELS.items()
                       if by_status.get(k)],
            "total": sum(by_status.values()),
        })
    return render("cases/admin_editions.html", status=status, rows=rows, form=form,
                  has_endpoint=_has_endpoint)


@bp.route("/admin/editions", methods=["GET", "POST"])
@platform_admin_required
def admin_editions():
    if request.method == "GET":
        latest = ops.latest_edition()
        year = (latest.year + 1) if latest else utcnow().year
        form = EditionForm(formdata=None, data={"year": year, "title": ops.default_title(year)})
        return _editions_page(form)
    form = EditionForm()
    if form.validate():
        try:
            campaign = ops.create_edition(form.year.data, form.title.data, user=current_user)
        except OperationError as e:
            db.session.rollback()
            field = getattr(form, e.field or "year", form.year)
            field.errors.append(e.message)
        else:
            flash(f"已创建 {campaign.year} 年度案例征集，设置已从上一届复制，日期已顺延到 "
                  f"{campaign.year} 年：请核对征集时间、案例工作起始日期和往届案例规则等设置后保存",
                  "success")
            return redirect(url_for("cases.admin_settings", campaign_id=campaign.id), 303)
    return _editions_page(form, status=422)


# --- settings -------------------------------------------------------------------------------

def _load_edition(campaign_id: int) -> Campaign:
    campaign = db.get_or_404(Campaign, campaign_id)
    if campaign.kind != KIND:
        abort(404)
    return campaign


def _settings_page(campaign: Campaign, form: SettingsForm, status: int = 200,
                   differing: list | None = None):
    settings = CasesSettings(campaign)
    phase = window_phase(settings)
    return render("cases/admin_settings.html", status=status, campaign=campaign,
                  form=form, settings=settings, phase=phase, limits=LIMITS,
                  groups=SETTING_GROUPS, differing=differing,
                  current_kinds=unit_kinds(settings), has_endpoint=_has_endpoint)


def _differing_groups(campaign: Campaign, title: str, values: dict) -> list:
    """The setting groups where what the admin typed differs from what is stored now."""
    stored = CasesSettings(campaign)
    keys = ["title"] if title != campaign.title else []
    for key, value in values.items():
        now = unit_kinds(stored) if key == "unit_kinds" else stored.get(key)
        if key == "unit_kinds":
            if set(value) != set(now):
                keys.append(key)
        elif value != now:
            keys.append(key)
    return setting_groups(keys)


def _conflict(campaign: Campaign, form: SettingsForm, title: str, values: dict,
              message: str = SETTINGS_CONFLICT):
    """Re-render everything typed with the conflict message and the current fingerprint
    (so a second 保存 deliberately overwrites)."""
    db.session.rollback()
    db.session.refresh(campaign)
    form.conflict = message
    form.settings_digest.data = ops.settings_digest(campaign)
    return _settings_page(campaign, form, status=409,
                          differing=_differing_groups(campaign, title, values))


@bp.route("/admin/editions/<int:campaign_id>/settings", methods=["GET", "POST"])
@platform_admin_required
def admin_settings(campaign_id: int):
    campaign = _load_edition(campaign_id)
    if request.method == "GET":
        form = SettingsForm.from_settings(campaign, CasesSettings(campaign),
                                          ops.settings_digest(campaign))
        return _settings_page(campaign, form)
    form = SettingsForm()
    if not form.validate():
        return _settings_page(campaign, form, status=422)
    title, values = form.values()
    digest = (form.settings_digest.data or "").strip()
    if not digest:  # a form without the fingerprint: treat like a conflict
        return _conflict(campaign, form, title, values)
    try:
        changed = ops.save_settings(campaign, title, values, current_user, digest=digest)
    except OperationError as e:
        if e.code == "conflict":
            return _conflict(campaign, form, title, values, e.message)
        db.session.rollback()
        field = form._fields.get(e.field or "")
        if field is not None:
            field.errors.append(e.message)
        else:
            form.conflict = e.message
        return _settings_page(campaign, form, status=422)
    if not changed:
        flash("设置没有变化，无需保存", "info")
    else:
        flash("设置已保存，立即生效", "success")
    return redirect(url_for("cases.admin_settings", campaign_id=campaign.id), 303)
