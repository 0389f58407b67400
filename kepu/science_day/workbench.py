"""全国科普日 on the workbench (cards by grant), in the header, on the front door and on
the admin home.

Cards (current edition = the latest Science Day edition):

- 我的活动 (everyone; own entries): 退回 (省/全国审批拒绝) / 待补充信息或总结 (held,
  approved, not complete) / 草稿 / 审核中 / 已通过, the filing deadline, 发布活动;
- 省级审核 (provincial admins, one card per province): 省管理员审批中 to decide, then what
  went on to national review and what was approved — from the trigger-kept tallies;
- 全国审核 (national admins): 全国审批中 to decide, 已通过;
- 归口活动 (society / ministry admins, per org) and 本地区活动 (city / county admins): to
  read, by state.
"""
from __future__ import annotations

from sqlalchemy import func, select

from ..accounts import roles as R
from ..editions import PHASES, window_phase
from ..extensions import db
from ..orgs import regions
from ..timeutil import utcnow
from ..workbench import (Call, CampaignEntry, Card, Count, Deadline, Figure, FigureGroup, Link,
                         register, register_campaign, url_or_none)
from .models import (APPROVED, DRAFT, NATIONAL_PENDING, NATIONAL_REJECTED, PROVINCE_PENDING,
                     PROVINCE_REJECTED, Activity, is_national, provinces_of)
from .operations.common import current_campaign, settings_of
from .routing import route_label
from .tally import tallies

REJECTED = (PROVINCE_REJECTED, NATIONAL_REJECTED)
IN_REVIEW = (PROVINCE_PENDING, NATIONAL_PENDING)


def _deadline(settings) -> Deadline | None:
    close = settings.window_of("filing")[1]
    return Deadline("活动信息填报截止", close) if close else None


def _status_counts(*where) -> dict[str, int]:
    return {s: n for s, n in db.session.execute(
        select(Activity.status, func.count(Activity.id)).where(*where)
        .group_by(Activity.status))}


def own_card(user, campaign, settings) -> Card | None:
    counts = _status_counts(Activity.owner_id == user.id, Activity.campaign_id == campaign.id)
    officer = user.has_role(R.INFO_OFFICER)
    if not counts and not officer:
        return None
    mine = url_or_none("science_day.my_activities")
    rejected = sum(counts.get(s, 0) for s in REJECTED)

    def link(qs):
        return mine and f"{mine}?{qs}"

    card = Card(key="science_day.own", title="我的活动", subtitle=campaign.title, role=False,
                optional=not counts, order=45, deadline=_deadline(settings))
    unfinished = _unfinished_after_event(user, campaign) if counts.get(APPROVED) else []
    card.counts = [
        Count("退回修改", rejected, link("needs_action=1"), "warn"),
        Count("草稿", counts.get(DRAFT, 0), link(f"status={DRAFT}"), "todo"),
        Count("审核中", sum(counts.get(s, 0) for s in IN_REVIEW), mine),
        Count("已通过", counts.get(APPROVED, 0), link(f"status={APPROVED}")),
    ]
    if unfinished:
        # held and approved, but 补充活动信息 or 活动总结 is missing (seed 001 三.9)
        card.counts.insert(1, Count("待补充信息或总结", len(unfinished),
                                    link(f"status={APPROVED}"), "todo"))
    window = settings.phase("filing")
    new = url_or_none("science_day.new_activity")
    after_open = settings.phase("supplement").open or settings.phase("summary").open
    view = url_or_none("science_day.view_activity", activity_id=unfinished[0].id) \
        if unfinished else None
    if rejected:
        card.action = Link("修改退回的活动", link("needs_action=1"))
    elif unfinished and after_open and view:
        card.action = Link("补充活动信息和总结", view)
    elif window.open and new:
        card.action = Link("发布活动", new)
    elif mine:
        card.action = Link("查看我的活动", mine)
    if not window.open:
        card.note = window.message
    return card


def _unfinished_after_event(user, campaign) -> list:
    """The user's approved activities that have ended and are not complete (the shared
    completeness predicate), soonest ended first."""
    from .completeness import check_many

    ended = list(db.session.scalars(
        select(Activity).where(Activity.owner_id == user.id,
                               Activity.campaign_id == campaign.id,
                               Activity.status == APPROVED, Activity.end_at < utcnow())
        .order_by(Activity.end_at)))
    if not ended:
        return []
    checks = check_many(ended)
    return [a for a in ended if not checks[a.id].complete]


def province_cards(user, campaign, settings) -> list[Card]:
    keys = sorted(provinces_of(user))
    base = url_or_none("science_day.review_province")
    cards = []
    for key in keys:
        t = tallies(campaign.id, key)

        def link(status=None, _key=key):
            if not base:
                return None
            args = [f"status={status}"] if status else []
            if len(keys) > 1:
                args.append(f"route={_key}")
            return base + ("?" + "&".join(args) if args else "")

        waiting = t.get(PROVINCE_PENDING, 0)
        card = Card(key=f"science_day.province.{key}", title="活动审核（省级）",
                    subtitle=f"{route_label(key)} · {campaign.title}", order=30,
                    deadline=_deadline(settings))
        card.counts = [
            Count("待审核", waiting, link(PROVINCE_PENDING), "todo"),
            Count("已退回", t.get(PROVINCE_REJECTED, 0), link(PROVINCE_REJECTED)),
            Count("全国审批中", t.get(NATIONAL_PENDING, 0), link(NATIONAL_PENDING)),
            Count("已通过", t.get(APPROVED, 0), link(APPROVED)),
        ]
        card.action = (Link(f"审核待审活动（{waiting}）", link(PROVINCE_PENDING)) if waiting
                       else Link("活动管理", link()))
        cards.append(card)
    return cards


def national_card(user, campaign, settings) -> Card | None:
    if not is_national(user):
        return None
    t = tallies(campaign.id)
    base = url_or_none("science_day.review_national")
    waiting = t.get(NATIONAL_PENDING, 0)
    card = Card(key="science_day.national", title="活动审核（全国）", subtitle=campaign.title,
                order=35, deadline=_deadline(settings))

    def link(status):
        return base and f"{base}?status={status}"

    card.counts = [
        Count("全国审批中", waiting, link(NATIONAL_PENDING), "todo"),
        Count("省管理员审批中", t.get(PROVINCE_PENDING, 0), link(PROVINCE_PENDING)),
        Count("已通过", t.get(APPROVED, 0), link(APPROVED)),
    ]
    if base:
        card.action = (Link(f"审核全国审批中的活动（{waiting}）", link(NATIONAL_PENDING))
                       if waiting else Link("活动管理", base))
    return card


def reader_cards(user, campaign) -> list[Card]:
    """归口 org and region lists: read-only, counts by state."""
    out = []
    sup = sorted({(g.org.id, g.org.name) for g in user.grants
                  if g.role in (R.SOCIETY_ADMIN, R.MINISTRY_ADMIN) and g.org is not None})
    base = url_or_none("science_day.review_supervisor")
    for org_id, name in sup:
        counts = _status_counts(Activity.campaign_id == campaign.id,
                                Activity.supervisor_org_id == org_id, Activity.status != DRAFT)
        url = base and (f"{base}?org={org_id}" if len(sup) > 1 else base)
        card = Card(key=f"science_day.supervisor.{org_id}", title="归口活动", subtitle=name,
                    order=60)
        card.counts = [Count("审核中", sum(counts.get(s, 0) for s in IN_REVIEW), url),
                       Count("已通过", counts.get(APPROVED, 0), url)]
        card.action = Link("查看归口活动", url) if url else None
        out.append(card)
    codes = sorted({g.region_code for g in user.grants
                    if g.role in (R.CITY_ADMIN, R.COUNTY_ADMIN) and g.region_code})
    base = url_or_none("science_day.review_region")
    for code in codes:
        counts = _status_counts(Activity.campaign_id == campaign.id, Activity.status != DRAFT,
                                Activity.region_code.like(code + "%"))
        url = base and (f"{base}?region={code}" if len(codes) > 1 else base)
        card = Card(key=f"science_day.region.{code}", title="本地区活动",
                    subtitle=regions.full_name(code) or code, order=65)
        card.counts = [Count("审核中", sum(counts.get(s, 0) for s in IN_REVIEW), url),
                       Count("已通过", counts.get(APPROVED, 0), url)]
        card.action = Link("查看本地区活动", url) if url else None
        out.append(card)
    return out


def cards(user) -> list[Card]:
    campaign = current_campaign()
    if campaign is None:
        return []
    settings = settings_of(campaign)
    out = []
    card = own_card(user, campaign, settings)
    if card:
        out.append(card)
    out += province_cards(user, campaign, settings)
    card = national_card(user, campaign, settings)
    if card:
        out.append(card)
    out += reader_cards(user, campaign)
    out += tuiyou_cards(user, campaign, settings)
    stats = url_or_none("science_day.stats")
    if stats:
        from .stats import scopes_of

        if scopes_of(user):      # a 推优 admin alone has no statistics scope (404)
            for card in out:
                if card.role:    # the admins' cards: their scope's statistics
                    card.links.append(Link("统计", stats))
    return out


def tuiyou_cards(user, campaign, settings) -> list[Card]:
    """推优 (issue 13): a card per scope for its 推优 admin (quota used / total, the
    deadline); national admins get one linking to quotas and 推优 admins."""
    from . import tuiyou

    out = []
    close = settings.window_of("recommend")[1]
    deadline = Deadline("推优截止", close) if close else None
    base = url_or_none("science_day.tuiyou_home")
    scopes = tuiyou.scopes_of(user)
    for scope in scopes:
        q = tuiyou.quota_of(campaign.id, scope.key)
        url = base and (f"{base}?scope={scope.key}" if len(scopes) > 1 else base)
        card = Card(key=f"science_day.tuiyou.{scope.key}", title="推荐优秀活动",
                    subtitle=scope.name, order=40, deadline=deadline)
        card.counts = [Count("已推荐活动", q.activities_used if q else 0, url),
                       Count("活动名额", q.activities if q else 0, url)]
        card.action = Link("推荐优秀活动", url) if url else None
        units = url_or_none("science_day.excellent_units")
        if units:
            units = f"{units}?scope={scope.key}" if len(scopes) > 1 else units
            card.counts += [Count("已推荐组织单位", q.units_used if q else 0, units),
                            Count("组织单位名额", q.units if q else 0, units)]
            card.links = [Link("推荐优秀组织单位", units)]
        out.append(card)
    quotas = url_or_none("science_day.tuiyou_quotas")
    if is_national(user) and quotas:
        card = Card(key="science_day.tuiyou.national", title="推优", subtitle=campaign.title,
                    order=38, deadline=deadline)
        card.action = Link("设置推优名额", quotas)
        admins = url_or_none("science_day.tuiyou_admins")
        card.counts = [Count("已授权推优管理员", len(tuiyou.grants()), admins)]
        if admins:
            card.links = [Link("推优管理员", admins)]
        results = url_or_none("science_day.excellent_overview")
        if results:
            card.links.append(Link("推优评选结果", results))
        out.append(card)
    return out


register(cards, key="science_day")


# --------------------------------------------------------------------------- front door

SUMMARY = "科普中国信息员发布科普日活动，省级科协与中国科协两级审核后在全国科普日网站展示。"


def call() -> Call | None:
    """The edition on the front door: the filing window, 发布活动 while it is open, and
    the public site's home and activity list."""
    campaign = current_campaign()
    if campaign is None:
        return None
    from .operations.search import edition_settings

    settings = edition_settings(campaign)
    # on every page's footer: the filing window read once (window_phase reads them all)
    opens, closes, readable = settings._read("filing")
    if readable:
        now = utcnow()
        key = "upcoming" if opens and now < opens else (
            "closed" if closes and now > closes else "open")
        phase = {"key": key, "label": PHASES[key],
                 "message": "" if key == "open" else settings.phase("filing", now).message}
    else:
        phase = window_phase(settings)
    new = url_or_none("science_day.new_activity")
    links = [Link(label, url) for label, url in (
        ("活动首页", url_or_none("science_day.public_home")),
        ("浏览活动", url_or_none("science_day.public_list"))) if url]
    contacts = (settings.get("help") or {}).get("contacts")
    return Call(kind="science_day", title=campaign.title, summary=SUMMARY,
                opens=opens, closes=closes, phase=phase,
                apply=Link("发布活动", new) if phase["key"] == "open" and new else None,
                links=links, contacts=[contacts] if contacts else [])


def figures() -> FigureGroup | None:
    campaign = current_campaign()
    if campaign is None:
        return None
    t = tallies(campaign.id)
    base = url_or_none("science_day.review_national")

    def link(status):
        return base and f"{base}?status={status}"

    return FigureGroup(
        title=campaign.title, url=base,
        figures=[Figure("已提交", sum(t.values()) - t.get(DRAFT, 0), base),
                 Figure("省管理员审批中", t.get(PROVINCE_PENDING, 0), link(PROVINCE_PENDING)),
                 Figure("全国审批中", t.get(NATIONAL_PENDING, 0), link(NATIONAL_PENDING)),
                 Figure("审批拒绝", t.get(PROVINCE_REJECTED, 0) + t.get(NATIONAL_REJECTED, 0),
                        link(NATIONAL_REJECTED)),
                 Figure("已通过", t.get(APPROVED, 0), link(APPROVED))],
        note=f"草稿 {t.get(DRAFT, 0)} 个（未提交，不计入）")


register_campaign(CampaignEntry(
    kind="science_day", label="科普日", endpoint="science_day.public_home", order=20,
    summary=SUMMARY, call=call, admin_figures=figures, admin_title="全国科普日",
    admin_menu=[("science_day.review_home", "活动管理"),
                ("science_day.stats", "统计"),
                ("science_day.admin_officers", "科普中国信息员"),
                ("science_day.admin_editions", "届次与设置"),
                ("science_day.admin_resources", "下载资源"),
                ("science_day.annual_list", "年度工作总结"),
                ("science_day.admin_thanks", "科学家感谢短信")]))
