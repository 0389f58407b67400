"""全国科普日 活动管理 lists on the shared review queue (seed 002 四(三), with what its list
said would come later: search, filters, sort, pages, bulk 通过, export).

- ``PROVINCE_QUEUE``: a provincial admin's activities (first review by route province);
- ``NATIONAL_QUEUE``: every submitted activity of the edition (second review);
- ``SUPERVISOR_QUEUE``: society / ministry admins: the activities 归口 to their org
  (read, export);
- ``REGION_QUEUE``: city / county admins: their region's activities, read-only.

At a million activities the status tabs come from the trigger-kept tallies
(kepu.science_day.tally) and a search or filter is counted up to 10,000.
"""
from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import and_, false, or_
from sqlalchemy.orm import joinedload

from ..accounts import roles as R
from ..orgs import regions
from ..review_queue import Action, Filter, Queue, Sort, escape_like
from .flow import STATE_LABELS
from .models import (APPROVED, DRAFT, NATIONAL_PENDING, NATIONAL_REJECTED, PROVINCE_PENDING,
                     PROVINCE_REJECTED, Activity)
from .settings import ScienceDaySettings

LIST_STATES = (PROVINCE_PENDING, PROVINCE_REJECTED, NATIONAL_PENDING, NATIONAL_REJECTED,
               APPROVED)
STATES = {s: STATE_LABELS[s] for s in LIST_STATES}
COUNT_CAP = 10_000


def _settings(ctx) -> ScienceDaySettings:
    settings = ctx.extra.get("settings")
    if settings is None:
        settings = ctx.extra["settings"] = ScienceDaySettings(ctx.campaign)
    return settings


def _options(key):
    return lambda ctx: {v: v for v in _settings(ctx)[key]}


def _region_choices(ctx, current: str = ""):
    """所在地区 to drill into: the viewer's region (or the provinces) and, once one is
    chosen, its chain and its children — province → city → county."""
    base = ctx.extra.get("region_base")
    out: dict[str, str] = {}
    top = regions.children(base) if base else regions.provinces()
    for r in top:
        out[r.code] = r.name
    chosen = regions.get(current)
    if chosen is not None and _within(chosen.code, base):
        for r in regions.chain(chosen.code):
            if _within(r.code, base) and r.code not in out:
                out[r.code] = regions.full_name(r.code)
        for r in regions.children(chosen.code):
            out[r.code] = "　" + regions.full_name(r.code)
    return out


def _within(code: str, base: str | None) -> bool:
    return not base or code.startswith(base)


def _region_valid(value: str, ctx) -> bool:
    code = regions.normalize(value)
    return code is not None and code == value and _within(code, ctx.extra.get("region_base"))


def _region_clause(value: str, ctx):
    """所在地区 at any level: the code itself and everything below it."""
    code = regions.normalize(value)
    if not code:
        return false()
    return or_(Activity.region_code == code,
               Activity.region_code.like(escape_like(code) + "%", escape="\\"))


def _date_clause(bound: str):
    def clause(value: str, ctx):
        try:
            day = datetime.strptime(value, "%Y-%m-%d")
        except ValueError:
            return and_()   # ignored: never an error
        from ..timeutil import BEIJING
        from datetime import timezone

        start = day.replace(tzinfo=BEIJING).astimezone(timezone.utc).replace(tzinfo=None)
        if bound == "from":
            return Activity.start_at >= start
        return Activity.start_at < start + timedelta(days=1)
    return clause


FILTERS = [
    Filter("region", "所在地区", Activity.region_code, choices=_region_choices,
           apply=_region_clause, validate=_region_valid, all_label="全部地区"),
    Filter("mode", "活动方式", Activity.mode, choices=_options("modes"), all_label="全部方式"),
    Filter("type", "活动类型", Activity.activity_type, choices=_options("activity_types"),
           all_label="全部类型"),
    Filter("category", "归口类别", Activity.supervisor_category,
           choices=lambda ctx: {c: c for c in ("有关部委", "省科协", "市科协", "区县科协", "全国学会")},
           all_label="全部类别"),
    Filter("food", "食品安全", Activity.food_safety, kind="flag", all_label="全部"),
    Filter("joint", "纳入联合行动", Activity.joint_action, kind="flag", all_label="全部"),
    Filter("short", "提前不足7天", Activity.short_notice, kind="flag", all_label="全部"),
    Filter("from", "活动开始自", Activity.start_at, kind="date", apply=_date_clause("from")),
    Filter("to", "活动开始至", Activity.start_at, kind="date", apply=_date_clause("to")),
]

SORTS = [
    Sort("submitted", "提交时间", (Activity.submitted_at,)),
    Sort("start", "活动时间", (Activity.start_at,), default_order="asc"),
    Sort("name", "活动名称", (Activity.name,), default_order="asc"),
]

PROVINCE_ACTIONS = [
    Action("province_approve", "通过", {PROVINCE_PENDING}, style="btn-success", bulk=True,
           shortcut="a", next_label="通过并下一件", undo="province_unapprove"),
    Action("province_reject", "退回", {PROVINCE_PENDING}, style="btn-danger", comment=True,
           shortcut="r", undo="province_unreject", comment_label="退回原因",
           confirm_label="确认退回"),
    Action("province_unapprove", "撤销通过", {NATIONAL_PENDING}, is_undo=True, style=""),
    Action("province_unreject", "撤销退回", {PROVINCE_REJECTED}, is_undo=True, style=""),
]
NATIONAL_ACTIONS = [
    Action("national_approve", "通过", {NATIONAL_PENDING}, style="btn-success", bulk=True,
           shortcut="a", next_label="通过并下一件", undo="national_unapprove"),
    Action("national_reject", "退回", {NATIONAL_PENDING}, style="btn-danger", comment=True,
           shortcut="r", undo="national_unreject", comment_label="退回原因",
           confirm_label="确认退回"),
    Action("national_unapprove", "撤销通过", {APPROVED}, is_undo=True, style=""),
    Action("national_unreject", "撤销退回", {NATIONAL_REJECTED}, is_undo=True, style=""),
]

_COMMON = dict(
    states=STATES, search=(Activity.name,), filters=FILTERS, sorts=SORTS,
    default_sort="submitted", search_label="活动名称", search_placeholder="输入活动名称搜索",
    noun="个", item_label="活动", detail_endpoint="science_day.review_detail",
    detail_id_arg="activity_id", count_cap=COUNT_CAP,
    options=lambda: (joinedload(Activity.owner),))


def _tallies(route_key_of):
    def tallies(ctx):
        from .tally import tallies as read

        return read(ctx.campaign_id, route_key_of(ctx))
    return tallies


PROVINCE_QUEUE = Queue(
    "science_day.province", Activity,
    scope=lambda c: [Activity.campaign_id == c.campaign_id,
                     Activity.route_province == c.extra["route"], Activity.status != DRAFT],
    actions=PROVINCE_ACTIONS, list_endpoint="science_day.review_province",
    tallies=_tallies(lambda c: c.extra["route"]), **_COMMON)

NATIONAL_QUEUE = Queue(
    "science_day.national", Activity,
    scope=lambda c: [Activity.campaign_id == c.campaign_id, Activity.status != DRAFT],
    actions=NATIONAL_ACTIONS, list_endpoint="science_day.review_national",
    tallies=_tallies(lambda c: None), **_COMMON)

SUPERVISOR_QUEUE = Queue(
    "science_day.supervisor", Activity,
    scope=lambda c: [Activity.campaign_id == c.campaign_id,
                     Activity.supervisor_org_id == c.org_id, Activity.status != DRAFT],
    list_endpoint="science_day.review_supervisor", **_COMMON)

REGION_QUEUE = Queue(
    "science_day.region", Activity,
    scope=lambda c: [Activity.campaign_id == c.campaign_id, Activity.status != DRAFT,
                     _region_clause(c.extra["region_base"], c)],
    list_endpoint="science_day.review_region", **_COMMON)


def review_roles(user) -> list[tuple[str, str]]:
    """(list endpoint, label) of the 活动管理 lists the user has, most central first."""
    from .models import is_national

    out = []
    if is_national(user):
        out.append(("science_day.review_national", "全国审核"))
    if any(g.role == R.PROVINCIAL_ADMIN for g in user.grants):
        out.append(("science_day.review_province", "省级审核"))
    if any(g.role in (R.SOCIETY_ADMIN, R.MINISTRY_ADMIN) for g in user.grants):
        out.append(("science_day.review_supervisor", "归口活动"))
    if any(g.role in (R.CITY_ADMIN, R.COUNTY_ADMIN) for g in user.grants):
        out.append(("science_day.review_region", "本地区活动"))
    return out
