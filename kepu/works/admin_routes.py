"""Works call: the public landing and help pages, and the edition administration
(platform admins: list / create editions, edit every setting of an edition)."""
from __future__ import annotations

from flask import abort, current_app, flash, redirect, request, url_for
from flask_login import current_user

from ..accounts import roles as R
from ..accounts.permissions import platform_admin_required
from ..admin.models import Campaign
from ..extensions import db
from ..htmx import render
from ..inputs import parse_id
from ..orgs.channels import (CHANNEL_FOR, CHANNEL_KINDS, MISSING_CHANNEL_STEPS, UNIT_TYPES,
                             channel_counts)
from . import bp
from .admin_forms import (FILE_LIMITS, TEXT_LIMITS, EditionForm, SettingsForm, setting_groups,
                          upload_cap_mb)
from .files import IMAGE_EXTS
from .flow import STATE_HINTS, STATE_LABELS
from .models import EDITABLE_STATES
from .operations import editions as ops
from .operations.common import OperationError, current_campaign
from .settings import KIND, WorksSettings


def has_endpoint(endpoint: str) -> bool:
    return endpoint in current_app.view_functions


def _phase(settings: WorksSettings) -> dict:
    return ops.window_phase(settings)


# --- public pages ---------------------------------------------------------------------

@bp.get("/")
def index():
    campaign = current_campaign()
    if campaign is None:
        return render("works/index.html", campaign=None, has_endpoint=has_endpoint)
    settings = WorksSettings(campaign)
    user = current_user
    entries = []
    if user.is_authenticated:
        entries.append(("works.my_works", "我的作品", "查看已提交作品的状态，修改待推荐或退回的作品"))
        if user.org_ids_for(R.UNIT_ADMIN):
            entries.append(("works.unit_list", "推荐审核", "审核选择本单位为推荐渠道的作品"))
        if user.has_role(R.EXPERT):
            entries.append(("works.expert_list", "评审任务", "为分配给您的作品评分"))
        if user.is_platform_admin:
            entries.append(("works.admin_list", "作品管理", "全部作品、专家分配、评审结果"))
            entries.append(("works.admin_editions", "届次与设置", "征集时间、作品分类、字数与文件限制、评分标准"))
    entries = [e for e in entries if has_endpoint(e[0])]
    return render("works/index.html", campaign=campaign, settings=settings,
                  phase=_phase(settings), entries=entries, has_endpoint=has_endpoint)


@bp.get("/help")
def help():  # noqa: A001 - the endpoint is works.help
    year = request.args.get("year")
    if year:
        if parse_id(year) is None:
            abort(404)
        campaign = ops.edition_by_year(parse_id(year))
        if campaign is None:
            abort(404)
    else:
        campaign = current_campaign()
    settings = WorksSettings(campaign)
    counts = channel_counts()
    states = [(s, STATE_LABELS[s], STATE_HINTS.get(s, ""), s in EDITABLE_STATES)
              for s in STATE_LABELS]
    editable = [STATE_LABELS[s] for s in STATE_LABELS if s in EDITABLE_STATES]
    return render(
        "works/help.html", campaign=campaign, settings=settings,
        phase=_phase(settings) if campaign else None,
        unit_types=[(t, CHANNEL_FOR[t]) for t in UNIT_TYPES],
        counts=[(k, counts.get(k, 0)) for k in CHANNEL_KINDS], total=sum(counts.values()),
        steps=MISSING_CHANNEL_STEPS, states=states, editable_labels=editable,
        image_exts=IMAGE_EXTS, others=[c for c in ops.editions() if c is not campaign],
        has_endpoint=has_endpoint)


# --- edition administration --------------------------------------------------------------

def _editions_page(form: EditionForm, status: int = 200):
    items = ops.editions()
    counts = ops.work_counts()
    rows = []
    for c in items:
        s = WorksSettings(c)
        by_status = counts.get(c.id, {})
        rows.append({
            "campaign": c, "settings": s, "phase": _phase(s),
            "counts": [(STATE_LABELS.get(k, k), by_status[k]) for k in STATE_LABELS
                       if by_status.get(k)],
            "total": sum(by_status.values()),
        })
    return render("works/admin_editions.html", status=status,
                  rows=rows, form=form)


@bp.route("/admin/editions", methods=["GET", "POST"])
@platform_admin_required
def admin_editions():
    if request.method == "GET":
        latest = ops.latest_edition()
        year = (latest.year + 1) if latest else None
        form = EditionForm(formdata=None, data={
            "year": year, "title": ops.default_title(year) if year else ""})
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
            flash(f"已创建 {campaign.year} 年度作品征集，设置已从上一届复制，请检查征集时间等设置",
                  "success")
            return redirect(url_for("works.admin_settings", campaign_id=campaign.id), 303)
    return _editions_page(form, status=422)


def _load_edition(campaign_id: int) -> Campaign:
    campaign = db.get_or_404(Campaign, campaign_id)
    if campaign.kind != KIND:
        abort(404)
    return campaign


def _settings_page(campaign: Campaign, form: SettingsForm, status: int = 200,
                   block: str | None = None, differs: list | None = None):
    settings = WorksSettings(campaign)
    phase = _phase(settings)
    return render("works/admin_settings.html", block=block, status=status,
                  campaign=campaign, form=form, settings=settings,
                  phase_key=phase["key"], phase_label=phase["label"],
                  score_count=ops.score_count(campaign), text_limits=TEXT_LIMITS,
                  file_limits=FILE_LIMITS, upload_cap=upload_cap_mb(),
                  differs=differs, has_endpoint=has_endpoint)


@bp.route("/admin/editions/<int:campaign_id>/settings", methods=["GET", "POST"])
@platform_admin_required
def admin_settings(campaign_id: int):
    campaign = _load_edition(campaign_id)
    if request.method == "GET":
        return _settings_page(campaign, SettingsForm.from_settings(campaign,
                                                                   WorksSettings(campaign)))
    form = SettingsForm()
    if request.form.get("action") == "add_row":
        # 添加评分项: keep everything typed (the posted settings_digest too), add one
        # empty row; nothing is saved.
        form.rubric.append_entry()
        return _settings_page(campaign, form, block="rubric")
    if not form.validate():
        return _settings_page(campaign, form, status=422)
    title, values = form.values()
    try:
        # a missing digest never matches: the save is refused as a conflict
        changed = ops.save_settings(campaign, title, values, current_user,
                                    digest=(form.settings_digest.data or "").strip())
    except OperationError as e:
        db.session.rollback()
        if e.code == "conflict":
            # Another admin saved meanwhile: keep what this admin typed, show where it
            # differs from the stored settings, and carry the new fingerprint so that
            # pressing 保存 again deliberately saves this version.
            form.conflict = e.message
            form.settings_digest.data = ops.settings_digest(campaign)
            differs = setting_groups(ops.settings_diff(campaign, title, values), values,
                                     WorksSettings(campaign).data)
            return _settings_page(campaign, form, status=409, differs=differs)
        form.add_operation_errors(e)
        return _settings_page(campaign, form, status=422)
    if not changed:
        flash("设置没有变化，无需保存", "info")
    else:
        flash("设置已保存，立即生效", "success")
        if changed.recomputed:
            flash(f"评分标准已修改，已按新权重重新计算 {changed.recomputed} 份评分的总分，"
                  "评审排名随之更新", "info")
    return redirect(url_for("works.admin_settings", campaign_id=campaign.id), 303)
