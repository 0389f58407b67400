"""The cases call's review list on the shared review queue: a recommender unit's cases
(案例推荐). Covered by ``ix_case_queue_org`` (migration e5a1c7b2d9f4)."""
from __future__ import annotations

from sqlalchemy.orm import joinedload

from ..review_queue import Action, Filter, Queue, Sort
from .flow import STATE_LABELS
from .models import DRAFT, FINALISED, RECOMMENDED, RETURNED, SUBMITTED, Case
from .settings import CasesSettings

LIST_STATES = (SUBMITTED, RETURNED, RECOMMENDED, FINALISED)
STATES = {s: STATE_LABELS[s] for s in LIST_STATES}


def _settings(ctx) -> CasesSettings:
    settings = ctx.extra.get("settings")
    if settings is None:
        settings = ctx.extra["settings"] = CasesSettings(ctx.campaign)
    return settings


def _categories(ctx):
    return {k: spec["label"] for k, spec in _settings(ctx)["categories"].items()}


def _subtypes(ctx):
    out = {}
    for spec in _settings(ctx)["categories"].values():
        for sub in spec.get("subtypes", []):
            out[sub] = sub
    return out


ACTIONS = [
    Action("recommend", "推荐", {SUBMITTED}, style="btn-success", shortcut="a", bulk=True,
           next_label="推荐并下一件", undo="unrecommend"),
    Action("return", "退回修改", {SUBMITTED, RECOMMENDED}, style="btn-danger", comment=True,
           shortcut="r", undo="unreturn", comment_label="退回意见", confirm_label="确认退回"),
    Action("unrecommend", "撤销推荐", {RECOMMENDED}, style=""),
    Action("unreturn", "撤销退回", {RETURNED}, is_undo=True, style=""),
]

UNIT_QUEUE = Queue(
    "cases.unit", Case,
    states=STATES,
    scope=lambda c: [Case.campaign_id == c.campaign_id, Case.org_id == c.org_id,
                     Case.status != DRAFT],
    scope_params=("campaign_id", "org_id"),
    search=(Case.name, Case.impl_unit, Case.contact_name),
    filters=[
        Filter("category", "所属类别", Case.category, choices=_categories),
        Filter("subtype", "子类", Case.subtype, choices=_subtypes),
    ],
    sorts=[
        Sort("submitted", "提交时间", (Case.submitted_at,)),
        Sort("name", "案例名称", (Case.name,), default_order="asc"),
        Sort("category", "所属类别", (Case.category, Case.subtype), default_order="asc"),
        Sort("status", "状态", (Case.status,), default_order="asc"),
    ],
    actions=ACTIONS, search_label="搜索", search_placeholder="案例名称、实施单位或联系人",
    noun="个", item_label="案例", list_endpoint="cases.unit_list",
    detail_endpoint="cases.unit_detail", detail_id_arg="case_id")


#: The implementing unit's own cases (我的案例): every edition, drafts included.
MY_QUEUE = Queue(
    "cases.mine", Case,
    states={s: STATE_LABELS[s] for s in (DRAFT,) + LIST_STATES},
    scope=lambda c: [Case.owner_id == c.user.id], scope_params=("user_id",),
    search=(Case.name,),
    filters=[Filter("needs_action", "需要处理", Case.status, kind="flag",
                    apply=lambda v, c: Case.status.in_((RETURNED, DRAFT)),
                    all_label="全部案例")],
    sorts=[Sort("updated", "更新时间", (Case.updated_at,)),
           Sort("name", "案例名称", (Case.name,), default_order="asc")],
    options=lambda: (joinedload(Case.org), joinedload(Case.campaign),),
    search_label="案例名称", search_placeholder="输入案例名称搜索", noun="个",
    item_label="案例", list_endpoint="cases.my_cases", detail_endpoint="cases.view",
    detail_id_arg="case_id")
