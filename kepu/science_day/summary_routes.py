"""活动总结 (seed 001 二.1(3), 002 三(四).1(4)) and the completeness panels (001 三.9).

URL map (blueprint ``science_day``, prefix /science-day):

  GET|POST  /activities/<id>/summary            summary           the owner's 活动总结 page;
                                                                  action = draft | file
  POST      /activities/<id>/summary/autosave   summary_autosave  htmx autosave (409 conflict)

Only the owner reaches these (anyone else: 404). The summary is written after the
activity has ended, by the owner of an approved activity, and can be saved or filed until
``min(end_at + 10 days, the edition's 活动总结填报 window close)``; after that, or before
the activity ended, the server refuses with the reason (and the date it closed).

The five parts live in ``ActivitySupplement.summary`` (the row is created lazily; the
补充活动信息 page writes other columns of the same row). Every save is conditional on the
row's ``version`` and bumps it, so two tabs (or the two pages) never overwrite each other.

Filing (提交总结) sets ``summary_filed_at`` the first time only: that is the moment the
summary was on time (completeness checks it against the 10-day rule). Corrections are
allowed while the deadline has not passed, by filing again (提交修改: every part required
and within its limit); once filed, drafts are no longer autosaved, so reviewers never see
a half-edited summary. The time of the latest correction is ``updated_at`` of the row.

Jinja globals for the page hooks: ``sd_after_owner(activity)`` (the owner's panel on the
activity page), ``sd_after_review(activity)`` (the reviewers' panel on the detail page),
``sd_completeness_for(activities)`` (我的活动 badges: ``check_many``, a constant number of
statements per page) and ``sd_mask_phone(phone)``.
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from flask import abort, current_app, flash, redirect, request, url_for
from flask_login import current_user, login_required
from sqlalchemy import select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import joinedload

from ..extensions import db
from ..files.operations import files_for
from ..htmx import render, render_fragment
from ..timeutil import fmt, utcnow
from ..workflow import OperationError
from . import bp
from .after_models import (F_EFFECT_PHOTO, F_EFFECT_VIDEO, F_PARTICIPANT_PHOTO,
                           SUMMARY_PARTS, ActivityScientist, ActivitySupplement)
from .completeness import (SUMMARY_DAYS, check_many, needs_offline, needs_online,
                           summary_due)
from .files import field_name
from .models import APPROVED, ENTITY, Activity
from .settings import DEFAULTS, ScienceDaySettings

TEMPLATE = "science_day/after/summary.html"
PART_KEYS = tuple(k for k, _ in SUMMARY_PARTS)
PART_LABELS = dict(SUMMARY_PARTS)
#: what a draft may hold in one part at most, whatever the edition's limit (a stored
#: page never grows without bound)
STORE_CAP = 50_000

CONFLICT = ("此活动的总结或补充信息已在其他窗口或设备上修改。为避免覆盖，本次修改未保存；"
            "请复制需要保留的内容后刷新页面，在最新内容上继续填写。")
FILED_NO_DRAFT = "总结已提交：修改后请点击“提交修改”，修改后的内容同样须五部分齐全。"


class SummaryConflict(OperationError):
    def __init__(self, message: str = CONFLICT):
        super().__init__(message, code="conflict")


# --------------------------------------------------------------------------- rules

def part_limit(settings: ScienceDaySettings) -> int:
    """Characters allowed in each part (edition setting ``limits.summary_part``); a stored
    value that cannot be read falls back to the default rather than taking a page down."""
    try:
        value = int((settings.data.get("limits") or {}).get("summary_part"))
    except (TypeError, ValueError):
        value = 0
    return value if value > 0 else int(DEFAULTS["limits"]["summary_part"])


@dataclass
class SummaryWindow:
    """When the summary may be written: ``deadline`` = min(end + 10 days, window close);
    ``refusal`` says why it cannot be saved or filed now (None: it can)."""

    deadline: datetime | None
    ten_days: datetime | None
    by_window: bool            # the edition's window closes before the 10 days end
    refusal: str | None
    closed: bool               # the deadline has passed
    ended: bool

    @property
    def deadline_text(self) -> str:
        return fmt(self.deadline) if self.deadline else "不限"

    @property
    def rule_text(self) -> str:
        return "本届活动总结填报截止" if self.by_window else f"活动结束后 {SUMMARY_DAYS} 日内"

    def left_text(self, now: datetime | None = None) -> str:
        """还剩 N 天 / 今天截止 / 已截止 (to the deadline)."""
        if self.deadline is None:
            return ""
        now = now or utcnow()
        if now > self.deadline:
            return "已截止"
        left = self.deadline - now
        if left.days >= 1:
            return f"还剩 {left.days} 天"
        hours = int(left.total_seconds() // 3600)
        return f"还剩 {hours} 小时" if hours >= 1 else "即将截止"


def summary_window(activity: Activity, settings: ScienceDaySettings,
                   now: datetime | None = None) -> SummaryWindow:
    now = now or utcnow()
    ten = summary_due(activity)
    opens, closes, readable = settings._read("summary")
    deadline, by_window = ten, False
    if readable and closes is not None and (deadline is None or closes < deadline):
        deadline, by_window = closes, True
    ended = activity.end_at is not None and now > activity.end_at
    closed = deadline is not None and now > deadline
    w = SummaryWindow(deadline, ten, by_window, None, closed, ended)
    if activity.status != APPROVED:
        w.refusal = "活动审核通过后，才能填写活动总结"
    elif not ended:
        when = f"（活动结束时间 {fmt(activity.end_at)}）" if activity.end_at else ""
        w.refusal = f"活动尚未结束{when}，活动结束后才能填写活动总结"
    elif not readable:
        w.refusal = settings.phase("summary", now).message
    elif closed:
        w.refusal = (f"活动总结已于 {fmt(deadline)} 截止（{w.rule_text}），不能再提交")
    elif opens is not None and now < opens:
        w.refusal = settings.phase("summary", now).message
    return w


def normalise(text) -> str:
    return str(text or "").replace("\r\n", "\n").replace("\r", "\n")


def read_parts(form) -> dict[str, str]:
    """The parts present in the posted form (a part not posted is left as stored)."""
    return {k: normalise(form.get(k)) for k in PART_KEYS if k in form}


def check_parts(parts: dict[str, str], limit: int, *, filing: bool) -> dict[str, str]:
    errors = {}
    for key in PART_KEYS:
        text = parts.get(key, "")
        label = PART_LABELS[key]
        if len(text) > limit:
            errors[key] = f"{label}不能超过{limit}字（现为{len(text)}字）"
        elif filing and not text.strip():
            errors[key] = f"请填写{label}"
    return errors


def stored_parts(sup: ActivitySupplement | None) -> dict[str, str]:
    raw = sup.summary if sup is not None and isinstance(sup.summary, dict) else {}
    return {k: str(raw.get(k) or "") if isinstance(raw.get(k), (str, int, float)) else ""
            for k in PART_KEYS}


def supplement_of(activity: Activity) -> ActivitySupplement | None:
    return db.session.get(ActivitySupplement, activity.id)


@dataclass
class SaveOutcome:
    version: int
    errors: dict[str, str]
    filed: bool
    saved_at: datetime


def save_summary(activity: Activity, posted: dict[str, str], version: int | None, *,
                 filing: bool, now: datetime | None = None) -> SaveOutcome:
    """Store the posted parts (conditional on ``version``; 0 = no row yet) and file them
    when ``filing`` and every part is there. Parts over the limit are not stored (their
    error is returned); when filing with errors, nothing is filed (an unfiled summary
    keeps the valid parts as its draft, a filed one stays as filed)."""
    now = now or utcnow()
    settings = ScienceDaySettings(activity.campaign)
    window = summary_window(activity, settings, now)
    if window.refusal:
        raise OperationError(window.refusal, code="closed")
    if version is None:
        raise SummaryConflict("页面已过期，请刷新页面后重试。")
    sup = supplement_of(activity)
    already_filed = sup is not None and sup.summary_filed_at is not None
    if already_filed and not filing:
        raise SummaryConflict(FILED_NO_DRAFT)
    current = stored_parts(sup)
    merged = {**current, **posted}
    errors = check_parts(merged if filing else posted, part_limit(settings), filing=filing)
    if filing and errors and already_filed:
        return SaveOutcome(version, errors, False, now)
    keep = {k: v for k, v in posted.items() if k not in errors}
    summary = {**current, **{k: v[:STORE_CAP] for k, v in keep.items()}}
    values = dict(summary=summary, updated_at=now)
    do_file = filing and not errors
    if do_file and not already_filed:
        values["summary_filed_at"] = now
    if sup is None:
        if version != 0:
            raise SummaryConflict()
        row = ActivitySupplement(activity_id=activity.id, version=1, media_reports=[],
                                 video_durations={}, **values)
        db.session.add(row)
        try:
            db.session.commit()
        except IntegrityError:        # the supplement page created the row meanwhile
            db.session.rollback()
            raise SummaryConflict() from None
        return SaveOutcome(1, errors, do_file, now)
    t = ActivitySupplement.__table__
    result = db.session.execute(
        update(t).where(t.c.activity_id == activity.id, t.c.version == version)
        .values(**values, version=t.c.version + 1)
        .execution_options(synchronize_session=False))
    if result.rowcount != 1:
        db.session.rollback()
        raise SummaryConflict()
    db.session.commit()
    db.session.expire_all()
    return SaveOutcome(version + 1, errors, do_file, now)


# --------------------------------------------------------------------------- routes

def _own(activity_id: int) -> Activity:
    activity = db.get_or_404(Activity, activity_id, options=(joinedload(Activity.campaign),))
    if not activity.is_owner(current_user):
        abort(404)
    return activity


def _version_of(raw) -> int | None:
    try:
        value = int(raw)
    except (TypeError, ValueError):
        return None
    return value if value >= 0 else None


def _page(activity: Activity, *, status: int = 200, parts=None, errors=None,
          alert: str | None = None, alert_kind: str = "error", version: int | None = None):
    settings = ScienceDaySettings(activity.campaign)
    sup = supplement_of(activity)
    stored = stored_parts(sup)
    shown = {**stored, **(parts or {})}
    return render(
        TEMPLATE, status=status, activity=activity, settings=settings, sup=sup,
        parts=SUMMARY_PARTS, values=shown, errors=errors or {}, alert=alert,
        alert_kind=alert_kind, limit=part_limit(settings),
        window=summary_window(activity, settings),
        filed_at=sup.summary_filed_at if sup else None,
        version=version if version is not None else (sup.version if sup else 0))


@bp.route("/activities/<int:activity_id>/summary", methods=["GET", "POST"])
@login_required
def summary(activity_id: int):
    activity = _own(activity_id)
    if request.method == "GET":
        return _page(activity)
    filing = request.form.get("action") == "file"
    posted = read_parts(request.form)
    version = _version_of(request.form.get("version"))
    try:
        outcome = save_summary(activity, posted, version, filing=filing)
    except SummaryConflict as e:
        return _page(activity, status=409, parts=posted, alert=e.message, version=version)
    except OperationError as e:
        return _page(activity, status=403, parts=posted, alert=e.message, version=version)
    if outcome.errors:
        return _page(activity, status=422, parts=posted, errors=outcome.errors,
                     alert=("总结未提交，请按提示修改后再提交。" if filing
                            else "部分内容未能保存，请按提示修改。"),
                     version=outcome.version)
    if filing:
        flash("活动总结已提交。" if outcome.filed else "活动总结已保存。", "success")
        return redirect(url_for(".view_activity", activity_id=activity.id,
                                _anchor="after-panel"), 303)
    flash("已暂存。", "success")
    return redirect(url_for(".summary", activity_id=activity.id), 303)


@bp.post("/activities/<int:activity_id>/summary/autosave")
@login_required
def summary_autosave(activity_id: int):
    activity = _own(activity_id)
    posted = read_parts(request.form)
    try:
        outcome = save_summary(activity, posted, _version_of(request.form.get("version")),
                               filing=False)
    except OperationError as e:
        return render_fragment(TEMPLATE, "autosave_reply", status=409, conflict=True,
                               message=e.message)
    return render_fragment(
        TEMPLATE, "autosave_reply", status=422 if outcome.errors else 200, conflict=False,
        saved_at=outcome.saved_at, version=outcome.version, errors=outcome.errors,
        keys=PART_KEYS, labels=PART_LABELS,
        message=("已自动保存，但" + "；".join(outcome.errors.values()))
        if outcome.errors else None)


# --------------------------------------------------------------------------- panels

def supplement_url(activity: Activity) -> str | None:
    """The 补充活动信息 page, when that route exists (another module builds it)."""
    if "science_day.supplement" not in current_app.view_functions:
        return None
    return url_for("science_day.supplement", activity_id=activity.id)


@bp.app_template_global()
def sd_mask_phone(phone) -> str:
    """138****0001: reviewers see the scientists' phones masked."""
    p = str(phone or "")
    if len(p) >= 11:
        return p[:3] + "****" + p[-4:]
    if len(p) >= 7:
        return p[:2] + "*" * (len(p) - 4) + p[-2:]
    return "*" * len(p)


@bp.app_template_global()
def sd_after_owner(activity: Activity) -> dict | None:
    """What the owner's panel shows (approved activities only)."""
    if activity is None or activity.status != APPROVED:
        return None
    settings = ScienceDaySettings(activity.campaign)
    sup = supplement_of(activity)
    return dict(completeness=activity.completeness(), window=summary_window(activity, settings),
                supplement_url=supplement_url(activity),
                summary_url=url_for("science_day.summary", activity_id=activity.id),
                filed_at=sup.summary_filed_at if sup else None)


@bp.app_template_global()
def sd_after_review(activity: Activity) -> dict | None:
    """What the reviewers' panel shows (approved activities only)."""
    if activity is None or activity.status != APPROVED:
        return None
    sup = supplement_of(activity)
    files = files_for(ENTITY, activity.id)
    by_field: dict[str, list] = {}
    for f in files:
        by_field.setdefault(f.field, []).append(f)

    def of(field: str) -> list:
        return by_field.get(field_name(activity.campaign_id, field), [])

    reports = [r for r in (sup.media_reports if sup and isinstance(sup.media_reports, list)
                           else []) if isinstance(r, dict)]
    durations = sup.video_durations if sup and isinstance(sup.video_durations, dict) else {}
    scientists = list(db.session.scalars(
        select(ActivityScientist).where(ActivityScientist.activity_id == activity.id)
        .order_by(ActivityScientist.position, ActivityScientist.id)))
    settings = ScienceDaySettings(activity.campaign)
    offline, online = needs_offline(activity), needs_online(activity)
    if not (offline or online):     # mode not set: show both figures
        offline = online = True
    return dict(completeness=activity.completeness(), sup=sup,
                show_offline=offline or (sup is not None and sup.participants_offline is not None),
                show_online=online or (sup is not None and sup.participants_online is not None),
                reports=[{"title": str(r.get("title") or ""), "url": str(r.get("url") or "")}
                         for r in reports],
                photos=of(F_EFFECT_PHOTO), videos=of(F_EFFECT_VIDEO),
                evidence=of(F_PARTICIPANT_PHOTO), durations=durations,
                offline=sup.participants_offline if sup else None,
                online=sup.participants_online if sup else None,
                scientists=scientists, parts=SUMMARY_PARTS, summary=stored_parts(sup),
                filed_at=sup.summary_filed_at if sup else None,
                window=summary_window(activity, settings))


@bp.app_template_global()
def sd_completeness_for(activities) -> dict:
    """Completeness of the approved activities of a list page, by id (``check_many``)."""
    approved = [a for a in (activities or []) if a.status == APPROVED]
    return check_many(approved) if approved else {}


def duration_text(seconds) -> str:
    if not isinstance(seconds, (int, float)):
        return ""
    s = int(round(seconds))
    return f"{s // 60}分{s % 60:02d}秒"


bp.add_app_template_filter(duration_text, "sd_duration")
