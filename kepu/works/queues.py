"""The works call's review lists, declared on the shared review queue.

- ``UNIT_QUEUE``: a recommender unit's works (作品推荐审核): the non-draft works whose
  推荐渠道 is that unit.
- ``ADMIN_QUEUE``: the platform admin's list of every non-draft work of the edition,
  with the unit as an extra filter.
- ``ASSIGN_QUEUE``: the 完成推荐 works waiting for experts (分配评审专家).

Covering indexes (migration ``e5a1c7b2d9f4``) serve these scopes: the unit's counts by
status and its default order, and the edition's (tests/core/test_queue_plans.py).
"""
from __future__ import annotations

from sqlalchemy import case
from sqlalchemy.orm import joinedload, load_only

from ..review_queue import Action, Filter, Queue, Sort
from .flow import STATE_LABELS
from .models import DRAFT, IN_REVIEW, PENDING, RECOMMENDED, RETURNED, REVIEWED, Work
from .settings import WorksSettings

#: States shown in review lists (drafts are private to the applicant), in workflow order.
LIST_STATES = (PENDING, RETURNED, RECOMMENDED, IN_REVIEW, REVIEWED)
STATES = {s: STATE_LABELS[s] for s in LIST_STATES}

_STATUS_RANK = case({s: i for i, s in enumerate((DRAFT,) + LIST_STATES)},
                    value=Work.status, else_=99)

SORTS = [
    Sort("submitted", "提交时间", (Work.submitted_at,)),
    Sort("updated", "更新时间", (Work.updated_at,)),
    Sort("title", "作品名称", (Work.title,), default_order="asc"),
    Sort("status", "状态", (_STATUS_RANK,), default_order="asc"),
]


def _settings(ctx) -> WorksSettings:
    settings = ctx.extra.get("settings")
    if settings is None:
        settings = ctx.extra["settings"] = WorksSettings(ctx.campaign)
    return settings


def _types(ctx):
    return {t: t for t in _settings(ctx)["work_types"]}


def _categories(ctx):
    return {c: c for c in _settings(ctx)["categories"]}


def _channels(ctx):
    from .operations.review import recommender_units

    units = ctx.extra.get("channels")
    if units is None:
        units = ctx.extra["channels"] = recommender_units()
    return {str(o.id): o.name for o in units}


COMMON_FILTERS = [
    Filter("work_type", "作品类型", Work.work_type, choices=_types, all_label="全部类型"),
    Filter("category", "作品分类", Work.category, choices=_categories, all_label="全部分类"),
    Filter("unit", "申报单位", Work.applicant_unit, kind="text", placeholder="申报单位名称"),
]

ACTIONS = [
    Action("recommend", "推荐", {PENDING}, style="btn-success", bulk=True, shortcut="a",
           next_label="推荐并下一件", undo="unrecommend"),
    Action("return", "退回修改", {PENDING}, style="btn-danger", comment=True, shortcut="r",
           comment_label="退回意见", confirm_label="确认退回",
           undo="unreturn"),
    Action("unrecommend", "撤销推荐", {RECOMMENDED}, style="btn-small"),
    Action("unreturn", "撤销退回", {RETURNED}, style="btn-small", is_undo=True),
]

_COMMON = dict(states=STATES, search=(Work.title,), sorts=SORTS, default_sort="submitted",
               search_label="作品名称", search_placeholder="输入作品名称搜索", noun="件",
               item_label="作品", detail_endpoint="works.review_detail",
               detail_id_arg="work_id")

def _list_columns():
    """The columns a review list row shows (works/_review_row.html): a row of the table
    carries ~3.5 KB of texts the list never shows. Anything else a list template reads
    would cost a statement per row (tests/test_review_queue.py counts them)."""
    return load_only(Work.id, Work.campaign_id, Work.channel_id, Work.owner_id, Work.status,
                     Work.title, Work.work_type, Work.category, Work.author_name,
                     Work.applicant_unit, Work.submitted_at, Work.return_comment)


def _unit_tallies(campaign_id, org_id) -> dict[str, int]:
    from .tally import unit_tallies

    return unit_tallies(campaign_id, org_id)


def _campaign_tallies(campaign_id) -> dict[str, int]:
    from .tally import campaign_tallies

    return campaign_tallies(campaign_id)


UNIT_QUEUE = Queue(
    "works.unit", Work,
    scope=lambda c: [Work.campaign_id == c.campaign_id, Work.channel_id == c.org_id,
                     Work.status != DRAFT],
    scope_params=("campaign_id", "org_id"), options=lambda: (_list_columns(),),
    filters=COMMON_FILTERS, actions=ACTIONS, list_endpoint="works.unit_list",
    # unfiltered, the tabs' counts come from the trigger-kept tallies (kepu.works.tally)
    tallies=lambda c: _unit_tallies(c.campaign_id, c.org_id), **_COMMON)

ADMIN_QUEUE = Queue(
    "works.admin", Work,
    scope=lambda c: [Work.campaign_id == c.campaign_id, Work.status != DRAFT],
    scope_params=("campaign_id",),
    filters=[*COMMON_FILTERS[:2],
             Filter("channel", "推荐单位", Work.channel_id, choices=_channels, as_int=True,
                    all_label="全部推荐单位"),
             COMMON_FILTERS[2]],
    actions=[Action("assign", "分配专家", {RECOMMENDED}, style="btn-primary", bulk=True,
                    link=True)],
    options=lambda: (_list_columns(), joinedload(Work.channel)),
    list_endpoint="works.admin_list",
    tallies=lambda c: _campaign_tallies(c.campaign_id), **_COMMON)

ASSIGN_QUEUE = Queue(
    "works.assign", Work,
    scope=lambda c: [Work.campaign_id == c.campaign_id, Work.status == RECOMMENDED],
    scope_params=("campaign_id",),
    filters=ADMIN_QUEUE.filters,
    options=lambda: (joinedload(Work.channel),), list_endpoint="works.admin_assign",
    **{**_COMMON, "states": {RECOMMENDED: STATES[RECOMMENDED]},
       "detail_endpoint": "works.admin_assign_work"})


#: The applicant's own works (我的作品): every edition, drafts included.
MY_STATES = {s: STATE_LABELS[s] for s in (DRAFT,) + LIST_STATES}

MY_QUEUE = Queue(
    "works.mine", Work,
    states=MY_STATES,
    scope=lambda c: [Work.owner_id == c.user.id], scope_params=("user_id",),
    search=(Work.title,),
    filters=[Filter("needs_action", "需要处理", Work.status,
                    kind="flag", apply=lambda v, c: Work.status.in_((RETURNED, DRAFT)),
                    all_label="全部作品")],
    sorts=[Sort("updated", "更新时间", (Work.updated_at,)),
           Sort("title", "作品名称", (Work.title,), default_order="asc")],
    options=lambda: (joinedload(Work.channel), joinedload(Work.campaign),),
    search_label="作品名称", search_placeholder="输入作品名称搜索", noun="件",
    item_label="作品", list_endpoint="works.my_works", detail_endpoint="works.view",
    detail_id_arg="work_id")
