"""The works call on the workbench, the header, the front door and the admin home.

Cards (current edition = the latest works edition):

- 我的作品 (everyone; own entries): 退回修改 / 草稿 / 待推荐 … of the person's works;
- 作品推荐 (unit admins, one card per unit): 待推荐 / 退回修改 / 完成推荐 of the works
  that chose the unit, with the unit's quota when it has one;
- 专家评审 (experts): 待评分 / 已暂存 / 已提交 of their assignments;
- 作品征集管理 (platform admins): 待推荐 / 完成推荐（待分配专家） / 专家评审中 / 专家已评审.

Every count is one grouped ``COUNT`` over indexed columns (work: campaign+status,
campaign+channel, owner; work_assignment: expert) and links to the list filtered the
same way (the review lists keep the ``status`` / ``state`` / ``needs_action`` args).
"""
from __future__ import annotations

from sqlalchemy import case, func, select

from ..accounts import roles as R
from ..editions import window_phase
from ..extensions import db
from ..orgs.models import Org
from ..workbench import (Call, CampaignEntry, Card, Count, Figure, FigureGroup, Link,
                         deadline_of, register, register_campaign, url_or_none)
from .flow import STATE_LABELS
from .models import (DRAFT, IN_REVIEW, PENDING, RECOMMENDED, RETURNED, REVIEWED, Work,
                     WorkAssignment, WorkUnitQuota)
from .operations.common import current_campaign
from .settings import WorksSettings

#: States that count against a unit's quota (recommended and everything after).
RECOMMENDED_STATES = (RECOMMENDED, IN_REVIEW, REVIEWED)


# --------------------------------------------------------------------------- counting

def status_counts(*where) -> dict[str, int]:
    """{status: n} of the works matching ``where`` (one grouped count)."""
    rows = db.session.execute(select(Work.status, func.count(Work.id)).where(*where)
                              .group_by(Work.status))
    return {status: n for status, n in rows}


def own_counts(user, campaign) -> dict[str, int]:
    return status_counts(Work.owner_id == user.id, Work.campaign_id == campaign.id)


def unit_counts(campaign, org_ids) -> dict[int, dict[str, int]]:
    """{org_id: {status: n}} of the submitted works that chose each unit."""
    out: dict[int, dict[str, int]] = {org_id: {} for org_id in org_ids}
    if not org_ids:
        return out
    rows = db.session.execute(
        select(Work.channel_id, Work.status, func.count(Work.id))
        .where(Work.campaign_id == campaign.id, Work.channel_id.in_(sorted(org_ids)),
               Work.status != DRAFT)
        .group_by(Work.channel_id, Work.status))
    for org_id, status, n in rows:
        out.setdefault(org_id, {})[status] = n
    return out


def expert_counts(user, campaign) -> dict[str, int]:
    """{todo, saved, submitted} of the expert's assignments in ``campaign`` (the states
    of ``operations.scoring.assignment_state``)."""
    state = case((WorkAssignment.submitted_at.is_not(None), "submitted"),
                 (WorkAssignment.saved_at.is_not(None), "saved"), else_="todo")
    rows = db.session.execute(
        select(state, func.count(WorkAssignment.id))
        .join(Work, Work.id == WorkAssignment.work_id)
        .where(WorkAssignment.expert_id == user.id, Work.campaign_id == campaign.id)
        .group_by(state))
    counts = {"todo": 0, "saved": 0, "submitted": 0}
    counts.update({s: n for s, n in rows})
    return counts


def _first(user, campaign, status: str) -> Work | None:
    return db.session.scalar(
        select(Work).where(Work.owner_id == user.id, Work.campaign_id == campaign.id,
                           Work.status == status)
        .order_by(Work.updated_at.desc(), Work.id.desc()).limit(1))


def _edit_url(work: Work) -> str | None:
    step = work.step if work.step in (1, 2, 3) else 1
    return url_or_none("works.edit", work_id=work.id, step=step)


# --------------------------------------------------------------------------- cards

def own_card(user, campaign, settings: WorksSettings) -> Card:
    counts = own_counts(user, campaign)
    returned, drafts = counts.get(RETURNED, 0), counts.get(DRAFT, 0)
    mine = url_or_none("works.my_works")
    card = Card(key="works.own", title="我的作品", subtitle=campaign.title, role=False,
                optional=not counts, order=10, deadline=deadline_of(settings))
    card.counts = [
        Count("退回修改", returned, mine and f"{mine}?needs_action=1", "warn"),
        Count("草稿", drafts, mine and f"{mine}?status={DRAFT}", "todo"),
        Count("待推荐", counts.get(PENDING, 0), mine and f"{mine}?status={PENDING}"),
        Count("已推荐", sum(counts.get(s, 0) for s in RECOMMENDED_STATES), mine),
    ]
    window = settings.window()
    if returned:
        only = _first(user, campaign, RETURNED) if returned == 1 else None
        target = (_edit_url(only) if only else None) or (mine and f"{mine}?needs_action=1")
        card.alerts.append(Link(f"您有 {returned} 件作品被退回修改，请按退回意见修改后重新提交", target))
        card.action = Link("修改退回的作品", target)
    elif drafts and window.open:
        draft = _first(user, campaign, DRAFT)
        card.action = Link("继续填写草稿", _edit_url(draft) or mine)
    elif window.open and url_or_none("works.new"):
        card.action = Link("提交作品", url_or_none("works.new"))
    elif mine:
        card.action = Link("查看我的作品", mine)
    if not window.open:
        card.note = window.message
    if mine and card.action and card.action.url != mine:
        card.links.append(Link("全部作品", mine))
    if window.open and url_or_none("works.new") and card.action \
            and card.action.label != "提交作品":
        card.links.append(Link("提交新作品", url_or_none("works.new")))
    return card


def unit_cards(user, campaign, settings: WorksSettings) -> list[Card]:
    org_ids = user.org_ids_for(R.UNIT_ADMIN)
    if not org_ids:
        return []
    orgs = list(db.session.scalars(select(Org).where(Org.id.in_(sorted(org_ids)))
                                   .order_by(Org.name, Org.id)))
    counts = unit_counts(campaign, org_ids)
    quotas = dict(db.session.execute(
        select(WorkUnitQuota.org_id, WorkUnitQuota.quota)
        .where(WorkUnitQuota.campaign_id == campaign.id,
               WorkUnitQuota.org_id.in_(sorted(org_ids)))).all())
    base = url_or_none("works.unit_list")
    many = len(orgs) > 1
    cards = []
    for org in orgs:
        c = counts.get(org.id, {})

        def link(status: str | None = None, _org=org) -> str | None:
            if not base:
                return None
            args = [f"status={status}"] if status else []
            if many:
                args.append(f"org={_org.id}")
            return base + ("?" + "&".join(args) if args else "")

        pending = c.get(PENDING, 0)
        recommended = sum(c.get(s, 0) for s in RECOMMENDED_STATES)
        card = Card(key=f"works.unit.{org.id}", title="作品推荐", subtitle=org.name, order=20,
                    deadline=deadline_of(settings))
        card.counts = [
            Count("待推荐", pending, link(PENDING), "todo"),
            Count("退回修改", c.get(RETURNED, 0), link(RETURNED)),
            Count("完成推荐", c.get(RECOMMENDED, 0), link(RECOMMENDED)),
        ]
        quota = quotas.get(org.id)
        if quota is not None:
            card.note = f"本届推荐限额 {quota} 件，已推荐 {recommended} 件"
        card.action = (Link(f"审核待推荐作品（{pending}）", link(PENDING)) if pending
                       else Link("作品推荐列表", link()))
        cards.append(card)
    return cards


def expert_card(user, campaign) -> Card | None:
    if not user.has_role(R.EXPERT):
        return None
    counts = expert_counts(user, campaign)
    base = url_or_none("works.expert_list")
    total = sum(counts.values())
    card = Card(key="works.expert", title="专家评审", subtitle=campaign.title, order=30)
    card.counts = [
        Count("待评分", counts["todo"], base and f"{base}?state=todo", "todo"),
        Count("已暂存", counts["saved"], base and f"{base}?state=saved", "todo"),
        Count("已提交", counts["submitted"], base and f"{base}?state=submitted"),
    ]
    if not total:
        card.note = "暂无分配给您的评审作品。平台管理员分配后会出现在这里。"
    open_ = counts["todo"] + counts["saved"]
    card.action = (Link(f"去评分（{open_}）", f"{base}?state=todo" if counts["todo"]
                        else f"{base}?state=saved") if open_ and base
                   else (Link("评审任务", base) if base else None))
    return card


def admin_card(user, campaign, settings: WorksSettings) -> Card | None:
    if not user.is_platform_admin:
        return None
    counts = status_counts(Work.campaign_id == campaign.id)
    base = url_or_none("works.admin_list")

    def link(status: str) -> str | None:
        return base and f"{base}?status={status}"

    card = Card(key="works.admin", title="作品征集管理", subtitle=campaign.title, order=60,
                deadline=deadline_of(settings))
    card.counts = [
        Count("完成推荐（待分配专家）", counts.get(RECOMMENDED, 0), link(RECOMMENDED), "todo"),
        Count("待推荐", counts.get(PENDING, 0), link(PENDING)),
        Count("专家评审中", counts.get(IN_REVIEW, 0), link(IN_REVIEW)),
        Count("专家已评审", counts.get(REVIEWED, 0), link(REVIEWED)),
    ]
    assign = url_or_none("works.admin_assign")
    if counts.get(RECOMMENDED) and assign:
        card.action = Link("分配评审专家", assign)
    elif base:
        card.action = Link("全部作品", base)
    ranking = url_or_none("works.admin_ranking")
    if ranking:
        card.links.append(Link("评审排名与入选", ranking))
    return card


def cards(user) -> list[Card]:
    campaign = current_campaign()
    if campaign is None:
        return []
    settings = WorksSettings(campaign)
    out = [own_card(user, campaign, settings)]
    out += unit_cards(user, campaign, settings)
    out += [c for c in (expert_card(user, campaign), admin_card(user, campaign, settings)) if c]
    return out


# --------------------------------------------------------------------------- front door

def call() -> Call | None:
    campaign = current_campaign()
    if campaign is None:
        return None
    settings = WorksSettings(campaign)
    phase = window_phase(settings)
    new = url_or_none("works.new")
    apply = None
    if phase["key"] == "open" and new:
        apply = Link("立即申报", new)
    links = [Link(label, url) for label, url in (
        ("征集详情", url_or_none("works.index")),
        ("申报帮助", url_or_none("works.help")),
        ("推荐渠道查询", url_or_none("orgs.channels"))) if url]
    help_ = settings.get("help") or {}
    contacts = [f"{label}：{help_[key]}" for key, label in (("business_contact", "业务咨询"),
                                                           ("tech_contact", "系统咨询"))
                if help_.get(key)]
    return Call(kind="works", title=campaign.title,
                summary="申报者注册后在线提交作品，推荐单位审核推荐，专家评审。",
                opens=settings.window_open_at, closes=settings.window_close_at, phase=phase,
                apply=apply, links=links, contacts=contacts)


def figures() -> FigureGroup | None:
    campaign = current_campaign()
    if campaign is None:
        return None
    counts = status_counts(Work.campaign_id == campaign.id)
    selected = db.session.scalar(select(func.count(Work.id)).where(
        Work.campaign_id == campaign.id, Work.selected.is_(True))) or 0
    base = url_or_none("works.admin_list")

    def link(status: str) -> str | None:
        return base and f"{base}?status={status}"

    submitted = sum(n for s, n in counts.items() if s != DRAFT)
    return FigureGroup(
        title=campaign.title, url=base,
        figures=[
            Figure("已提交", submitted, base),
            Figure(STATE_LABELS[PENDING], counts.get(PENDING, 0), link(PENDING)),
            Figure(STATE_LABELS[RETURNED], counts.get(RETURNED, 0), link(RETURNED)),
            Figure("待分配专家", counts.get(RECOMMENDED, 0), link(RECOMMENDED)),
            Figure(STATE_LABELS[IN_REVIEW], counts.get(IN_REVIEW, 0), link(IN_REVIEW)),
            Figure("入选", selected, url_or_none("works.admin_ranking")),
        ],
        note=f"草稿 {counts.get(DRAFT, 0)} 件（未提交，不计入）")


register(cards, key="works")
register_campaign(CampaignEntry(
    kind="works", label="作品征集", endpoint="works.index", order=10,
    summary="申报者注册后在线提交作品，推荐单位审核推荐，专家评审。",
    call=call, admin_figures=figures, admin_title="优质科普作品征集",
    admin_menu=[("works.admin_list", "全部作品"), ("works.admin_assign", "分配评审专家"),
                ("works.admin_ranking", "评审排名与入选"), ("works.admin_stats", "作品统计"),
                ("works.admin_quotas", "推荐单位限额"), ("works.admin_editions", "届次与设置")]))
