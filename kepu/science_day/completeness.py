"""Completeness of an activity (seed 001 三.9): 活动填报信息, 补充活动信息 and 活动总结,
item by item. One predicate for the lists, the detail pages and 推优 (issue 13):
``check(activity)`` (or ``activity.completeness()``) returns a ``Completeness``.

Completeness is about what is filled in; the 推优 minimums (participants ≥ 50 线下 /
≥ 100 线上, seed 002 五(一)) are reported as ``notes`` with ``eligible`` False, because a
lower figure may be filed but is not eligible.

For a page of rows, ``check_many(activities)`` loads the supplements and file counts of
all of them in two statements. (The scientists list is not an item: the seeds ask for it
but set no minimum for 推优.)
"""
from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta
from urllib.parse import urlsplit

from sqlalchemy import func, select

from ..extensions import db
from ..files.models import StoredFile
from .after_models import (F_EFFECT_PHOTO, F_EFFECT_VIDEO, F_PARTICIPANT_PHOTO,
                           SUMMARY_PARTS, ActivitySupplement)
from .files import field_name
from .models import APPROVED, ENTITY, Activity

# seed 002 五(一): 3–10 photos, 1–3 videos of ≤ 3 minutes (videos optional: "可上传")
PHOTOS_MIN, PHOTOS_MAX, VIDEOS_MAX, VIDEO_SECONDS_MAX = 3, 10, 3, 180
OFFLINE_MIN, ONLINE_MIN = 50, 100
SUMMARY_DAYS = 10
NOT_FILLED = "未填写"


@dataclass
class Item:
    key: str
    section: str           # "filing" | "supplement" | "summary"
    label: str
    ok: bool
    detail: str = ""


@dataclass
class Completeness:
    items: list[Item] = field(default_factory=list)
    notes: list[Item] = field(default_factory=list)     # 推优 minimums (eligibility)

    @property
    def complete(self) -> bool:
        return all(i.ok for i in self.items)

    @property
    def eligible(self) -> bool:
        """Complete and every 推优 minimum met."""
        return self.complete and all(n.ok for n in self.notes)

    def section_ok(self, section: str) -> bool:
        return all(i.ok for i in self.items if i.section == section)

    @property
    def missing(self) -> list[Item]:
        return [i for i in self.items if not i.ok]

    @property
    def sections(self) -> list[tuple[str, str, bool]]:
        return [(key, label, self.section_ok(key)) for key, label in SECTIONS]


SECTIONS = (("filing", "活动填报信息"), ("supplement", "补充活动信息"), ("summary", "活动总结"))


def valid_link(url: str) -> bool:
    try:
        parts = urlsplit((url or "").strip())
    except ValueError:
        return False
    return parts.scheme in ("http", "https") and bool(parts.netloc) and " " not in url


def summary_due(activity: Activity) -> datetime | None:
    """The last moment the summary counts as on time: 10 days after the activity's end."""
    return activity.end_at + timedelta(days=SUMMARY_DAYS) if activity.end_at else None


def needs_offline(activity: Activity) -> bool:
    return "线下" in (activity.mode or "")


def needs_online(activity: Activity) -> bool:
    return "线上" in (activity.mode or "")


def _figure(value) -> str:
    return f"已填 {value} 人" if isinstance(value, int) else NOT_FILLED


def _count(n: int, lo: int, hi: int | None) -> bool:
    return n >= lo and (hi is None or n <= hi)


def _evaluate(activity: Activity, sup: ActivitySupplement | None,
              counts: dict[str, int]) -> Completeness:
    c = Completeness()
    add = c.items.append
    approved = activity.status == APPROVED
    add(Item("filing", "filing", "活动填报信息已提交并审核通过", approved,
             "已通过" if approved else "尚未审核通过"))

    reports = [r for r in (sup.media_reports if sup and isinstance(sup.media_reports, list)
                           else []) if isinstance(r, dict)]
    good = [r for r in reports if str(r.get("title") or "").strip() and valid_link(
        str(r.get("url") or ""))]
    add(Item("media", "supplement", "至少 1 篇媒体报道（标题和链接）", len(good) >= 1,
             f"已填 {len(good)} 篇"))
    photos = counts.get(F_EFFECT_PHOTO, 0)
    add(Item("photos", "supplement", f"{PHOTOS_MIN}–{PHOTOS_MAX} 张反映活动成效的照片",
             _count(photos, PHOTOS_MIN, PHOTOS_MAX), f"已上传 {photos} 张"))
    videos = counts.get(F_EFFECT_VIDEO, 0)
    durations = sup.video_durations if sup and isinstance(sup.video_durations, dict) else {}
    long_ones = [d for d in durations.values()
                 if isinstance(d, (int, float)) and d > VIDEO_SECONDS_MAX]
    add(Item("videos", "supplement", f"活动短视频不超过 {VIDEOS_MAX} 段，每段 3 分钟以内（选填）",
             videos <= VIDEOS_MAX and not long_ones, f"已上传 {videos} 段"))

    offline = sup.participants_offline if sup else None
    online = sup.participants_online if sup else None
    wanted = []
    if needs_offline(activity):
        wanted.append(("线下", offline))
    if needs_online(activity):
        wanted.append(("线上", online))
    if not wanted:       # mode not set: either figure will do
        wanted = [("线下", offline), ("线上", online)]
        filled = any(isinstance(v, int) for _, v in wanted)
    else:
        filled = all(isinstance(v, int) for _, v in wanted)
    shown = "，".join(f"{k} {v} 人" if isinstance(v, int) else f"{k}未填" for k, v in wanted)
    add(Item("participants", "supplement", "参与人数（线下、线上分别填写）", filled, shown))
    evidence = counts.get(F_PARTICIPANT_PHOTO, 0)
    add(Item("participant_photos", "supplement", "参与人数佐证照片", evidence >= 1,
             f"已上传 {evidence} 张"))

    summary = sup.summary if sup and isinstance(sup.summary, dict) else {}
    empty = [label for key, label in SUMMARY_PARTS if not str(summary.get(key) or "").strip()]
    add(Item("summary_parts", "summary", "活动总结五部分齐全", not empty,
             "缺：" + "、".join(empty) if empty else "齐全"))
    filed = sup.summary_filed_at if sup else None
    due = summary_due(activity)
    on_time = filed is not None and (due is None or filed <= due)
    if filed is None:
        detail = "尚未提交"
    elif on_time:
        detail = "已按时提交"
    else:
        detail = "提交晚于活动结束后 10 日"
    add(Item("summary_filed", "summary", "活动结束后 10 日内提交总结", on_time, detail))

    if needs_offline(activity):
        c.notes.append(Item("offline_min", "supplement", f"线下参与人数不少于 {OFFLINE_MIN} 人",
                            isinstance(offline, int) and offline >= OFFLINE_MIN,
                            _figure(offline)))
    if needs_online(activity):
        c.notes.append(Item("online_min", "supplement", f"线上参与人数不少于 {ONLINE_MIN} 人",
                            isinstance(online, int) and online >= ONLINE_MIN,
                            _figure(online)))
    return c


_FIELDS = (F_EFFECT_PHOTO, F_EFFECT_VIDEO, F_PARTICIPANT_PHOTO)


def check_many(activities: list[Activity]) -> dict[int, Completeness]:
    """Completeness of each activity (by id), in two statements for the whole page."""
    ids = [a.id for a in activities if a.id is not None]
    if not ids:
        return {a.id: _evaluate(a, None, {}) for a in activities}
    sups = {s.activity_id: s for s in db.session.scalars(
        select(ActivitySupplement).where(ActivitySupplement.activity_id.in_(ids)))}
    names = {field_name(a.campaign_id, f): f for a in activities for f in _FIELDS}
    counts: dict[int, dict[str, int]] = {}
    rows = db.session.execute(
        select(StoredFile.entity_id, StoredFile.field, func.count())
        .where(StoredFile.entity_type == ENTITY, StoredFile.entity_id.in_(ids),
               StoredFile.field.in_(list(names)))
        .group_by(StoredFile.entity_id, StoredFile.field))
    for entity_id, fname, n in rows:
        counts.setdefault(entity_id, {})[names[fname]] = n
    return {a.id: _evaluate(a, sups.get(a.id), counts.get(a.id, {})) for a in activities}


def check(activity: Activity) -> Completeness:
    return check_many([activity])[activity.id]
