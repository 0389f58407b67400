"""The case collection on the workbench, the header, the front door and the admin home.

Cards (current edition = the latest cases edition):

- 案例填报 (everyone; own entries): 退回修改 / 草稿 / 待推荐 / 已推荐 of the person's cases;
- 案例推荐 (case admins of a recommender unit, one card per unit): 待推荐 (to decide),
  退回修改, 已推荐 against the quota, the stamped summary, and the unit's 推荐码 with
  ready-to-send wording;
- 案例遴选 (national and platform admins): recommended cases, units that uploaded their
  stamped summary, showcase selection against its limit.

Counts are grouped counts over ``ix_case_campaign_org_status`` / ``case.owner_id``.
"""
from __future__ import annotations

from sqlalchemy import func, select

from ..accounts import roles as R
from ..editions import window_phase
from ..extensions import db
from ..orgs.models import Org
from ..workbench import (Call, CampaignEntry, Card, Count, Figure, FigureGroup, Link,
                         deadline_of, register, register_campaign, url_or_none)
from .common import current_campaign, settings_of
from .flow import STATE_LABELS
from .models import (COUNTED_STATES, DRAFT, FINALISED, RECOMMENDED, RETURNED, SUBMITTED, Case,
                     CaseUnitSubmission, RecommendCode, is_national)
from .operations import select as select_ops
from .operations.codes import format_code


def status_counts(*where) -> dict[str, int]:
    rows = db.session.execute(select(Case.status, func.count(Case.id)).where(*where)
                              .group_by(Case.status))
    return {status: n for status, n in rows}


def unit_counts(campaign, org_ids) -> dict[int, dict[str, int]]:
    """{org_id: {status: n}} of the submitted cases of each unit (one grouped count)."""
    out: dict[int, dict[str, int]] = {org_id: {} for org_id in org_ids}
    if not org_ids:
        return out
    rows = db.session.execute(
        select(Case.org_id, Case.status, func.count(Case.id))
        .where(Case.campaign_id == campaign.id, Case.org_id.in_(sorted(org_ids)),
               Case.status != DRAFT)
        .group_by(Case.org_id, Case.status))
    for org_id, status, n in rows:
        out.setdefault(org_id, {})[status] = n
    return out


def invitation_text(org_name: str, code: str, campaign, settings) -> str:
    """The message a unit admin sends to implementing units with its 推荐码: the code,
    a link that fills it in (``cases.start?code=``) and the deadline."""
    from ..timeutil import fmt

    link = url_or_none("cases.start", code=format_code(code), _external=True) or ""
    close = settings.window_close_at
    deadline = f"截止时间：{fmt(close, '%Y年%m月%d日 %H:%M')}（北京时间）。" if close else ""
    return (f"【{campaign.title}】{org_name}邀请贵单位填报科普案例。"
            f"本单位推荐码：{format_code(code)}。"
            f"请打开 {link} （首次使用请先用手机号注册并登录），确认推荐单位后填写案例信息表并提交。"
            f"{deadline}")


# --------------------------------------------------------------------------- cards

def own_card(user, campaign, settings) -> Card:
    counts = status_counts(Case.owner_id == user.id, Case.campaign_id == campaign.id)
    returned, drafts = counts.get(RETURNED, 0), counts.get(DRAFT, 0)
    mine = url_or_none("cases.my_cases")
    card = Card(key="cases.own", title="案例填报", subtitle=campaign.title, role=False,
                optional=not counts, order=40, deadline=deadline_of(settings))
    card.counts = [
        Count("退回修改", returned, mine and f"{mine}?needs_action=1", "warn"),
        Count("草稿", drafts, mine and f"{mine}?status={DRAFT}", "todo"),
        Count("待推荐", counts.get(SUBMITTED, 0), mine and f"{mine}?status={SUBMITTED}"),
        Count("已推荐", sum(counts.get(s, 0) for s in COUNTED_STATES), mine),
    ]
    window = settings.window()

    def first(status):
        return db.session.scalar(
            select(Case.id).where(Case.owner_id == user.id, Case.campaign_id == campaign.id,
                                  Case.status == status)
            .order_by(Case.updated_at.desc(), Case.id.desc()).limit(1))

    if returned:
        one = first(RETURNED) if returned == 1 else None
        target = (url_or_none("cases.edit", case_id=one) if one else None) \
            or (mine and f"{mine}?needs_action=1")
        card.alerts.append(Link(f"您有 {returned} 个案例被推荐单位退回修改，请修改后重新提交", target))
        card.action = Link("修改退回的案例", target)
    elif drafts and window.open:
        card.action = Link("继续填写草稿", url_or_none("cases.edit", case_id=first(DRAFT)) or mine)
    elif window.open and url_or_none("cases.start"):
        card.action = Link("凭推荐码录入案例", url_or_none("cases.start"))
    elif mine:
        card.action = Link("查看我的案例", mine)
    if not window.open:
        card.note = window.message
    if mine and card.action and card.action.url != mine:
        card.links.append(Link("全部案例", mine))
    return card


def unit_cards(user, campaign, settings) -> list[Card]:
    org_ids = user.org_ids_for(R.CASE_UNIT)
    if not org_ids:
        return []
    orgs = list(db.session.scalars(select(Org).where(Org.id.in_(sorted(org_ids)))
                                   .order_by(Org.name, Org.id)))
    counts = unit_counts(campaign, org_ids)
    codes = dict(db.session.execute(
        select(RecommendCode.org_id, RecommendCode.code)
        .where(RecommendCode.campaign_id == campaign.id,
               RecommendCode.org_id.in_(sorted(org_ids)))).all())
    scans = dict(db.session.execute(
        select(CaseUnitSubmission.org_id, CaseUnitSubmission.locked)
        .where(CaseUnitSubmission.campaign_id == campaign.id,
               CaseUnitSubmission.org_id.in_(sorted(org_ids)))).all())
    base = url_or_none("cases.unit_list")
    summary = url_or_none("cases.unit_summary")
    many = len(orgs) > 1
    quota_total = int(settings["quota_total"])
    cards = []
    for org in orgs:
        c = counts.get(org.id, {})

        def link(status=None, _org=org, _base=base):
            if not _base:
                return None
            args = [f"status={status}"] if status else []
            if many:
                args.append(f"org={_org.id}")
            return _base + ("?" + "&".join(args) if args else "")

        waiting = c.get(SUBMITTED, 0)
        counted = sum(c.get(s, 0) for s in COUNTED_STATES)
        card = Card(key=f"cases.unit.{org.id}", title="案例推荐", subtitle=org.name, order=25,
                    deadline=deadline_of(settings))
        card.counts = [
            Count("待推荐", waiting, link(SUBMITTED), "todo"),
            Count("退回修改", c.get(RETURNED, 0), link(RETURNED)),
            Count(f"已推荐（限额 {quota_total}）", counted, link(RECOMMENDED)),
        ]
        locked = scans.get(org.id)
        if locked:
            card.note = "已上传盖章汇总表，推荐结果已锁定。"
        elif counted:
            card.note = "推荐完成后，请下载汇总表打印盖章，扫描上传后视为提交成功。"
            if summary:
                card.links.append(Link("汇总表与盖章扫描件",
                                       summary + (f"?org={org.id}" if many else "")))
        card.action = (Link(f"审核待推荐案例（{waiting}）", link(SUBMITTED)) if waiting
                       else Link("案例推荐列表", link()))
        code = codes.get(org.id)
        page = url_or_none("cases.unit_code", org=org.id)
        if code:
            card.extra_template = "cases/_workbench_code.html"
            card.extra = {"code": format_code(code), "page": page,
                          "text": invitation_text(org.name, code, campaign, settings)}
        cards.append(card)
    return cards


def national_card(user, campaign, settings) -> Card | None:
    if not is_national(user):
        return None
    counts = status_counts(Case.campaign_id == campaign.id)
    selected = select_ops.counts(campaign)["total"]
    finalised_units = db.session.scalar(select(func.count(CaseUnitSubmission.id)).where(
        CaseUnitSubmission.campaign_id == campaign.id, CaseUnitSubmission.locked.is_(True))) or 0
    select_url = url_or_none("cases.admin_select")
    card = Card(key="cases.national", title="案例遴选", subtitle=campaign.title, order=70)
    card.counts = [
        Count("已推荐案例", sum(counts.get(s, 0) for s in COUNTED_STATES), select_url),
        Count("已提交盖章汇总表的单位", finalised_units,
              select_url and f"{select_url}?tab=units&sub=yes"),
        Count(f"入选展示（上限 {int(settings['showcase_total'])}）", selected, select_url),
    ]
    if select_url:
        card.action = Link("案例遴选与展示", select_url)
    return card


def cards(user) -> list[Card]:
    campaign = current_campaign()
    if campaign is None:
        return []
    settings = settings_of(campaign)
    out = [own_card(user, campaign, settings)]
    out += unit_cards(user, campaign, settings)
    card = national_card(user, campaign, settings)
    if card:
        out.append(card)
    return out


# --------------------------------------------------------------------------- front door

def call() -> Call | None:
    campaign = current_campaign()
    if campaign is None:
        return None
    settings = settings_of(campaign)
    phase = window_phase(settings)
    start = url_or_none("cases.start")
    contacts = settings.get("contacts") or {}
    links = [Link(label, url) for label, url in (
        ("征集详情", url_or_none("cases.index")),
        ("推荐单位绑定推荐码", url_or_none("cases.bind"))) if url]
    return Call(kind="cases", title=campaign.title,
                summary="实施单位凭推荐单位提供的推荐码录入案例，推荐单位按名额审核推荐并上传盖章汇总表。",
                opens=settings.window_open_at, closes=settings.window_close_at, phase=phase,
                apply=Link("立即申报", start) if phase["key"] == "open" and start else None,
                links=links, contacts=[f"{label}：{contacts[key]}" for key, label in (
                    ("business", "业务咨询"), ("tech", "系统咨询")) if contacts.get(key)])


def figures() -> FigureGroup | None:
    campaign = current_campaign()
    if campaign is None:
        return None
    counts = status_counts(Case.campaign_id == campaign.id)
    selected = select_ops.counts(campaign)["total"]
    select_url = url_or_none("cases.admin_select")
    return FigureGroup(
        title=campaign.title, url=select_url,
        figures=[
            Figure("已提交", sum(n for s, n in counts.items() if s != DRAFT)),
            Figure(STATE_LABELS[SUBMITTED], counts.get(SUBMITTED, 0)),
            Figure(STATE_LABELS[RETURNED], counts.get(RETURNED, 0)),
            Figure("已推荐（待遴选）", counts.get(RECOMMENDED, 0) + counts.get(FINALISED, 0),
                   select_url),
            Figure("入选展示", selected, select_url),
        ],
        note=f"草稿 {counts.get(DRAFT, 0)} 个（未提交，不计入）")


register(cards, key="cases")
register_campaign(CampaignEntry(
    kind="cases", label="典赞案例", endpoint="cases.index", order=30,
    summary="实施单位凭推荐码录入案例，推荐单位按名额推荐并上传盖章汇总表。",
    call=call, admin_figures=figures, admin_title="典赞·科普中国案例征集",
    admin_menu=[("cases.admin_select", "案例遴选与展示"), ("cases.admin_codes", "推荐码管理"),
                ("cases.admin_past", "往年入选案例名单"), ("cases.admin_editions", "届次与设置")]))
