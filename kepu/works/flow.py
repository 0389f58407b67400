"""The work state machine (DESIGN.md): transitions are data, checked on the server.

draft → pending (submit) → returned (unit, comment required) → pending (确认更新) …;
pending → recommended (unit, within the unit's quota) → in_review (admin assigns
experts) → reviewed (every assigned expert has submitted). 入选 / 未入选 is the
``selected`` flag, shown to applicants once the admin publishes the result.
"""
from __future__ import annotations

from ..workflow import StateMachine, Transition
from .models import DRAFT, IN_REVIEW, PENDING, RECOMMENDED, RETURNED, REVIEWED

STATE_LABELS = {
    DRAFT: "草稿",
    PENDING: "待推荐",
    RETURNED: "退回修改",
    RECOMMENDED: "完成推荐",
    IN_REVIEW: "专家评审中",
    REVIEWED: "专家已评审",
}

# What each state means to the applicant (seed 000 三.3).
STATE_HINTS = {
    DRAFT: "作品尚未提交，可继续编辑后提交。",
    PENDING: "作品已提交，等待推荐单位管理员进行审核推荐。此状态下可编辑修改作品。",
    RETURNED: "推荐单位管理员已将作品退回，请按照退回意见修改后重新提交。",
    RECOMMENDED: "推荐单位管理员已完成作品推荐，作品等待进入专家评审环节。此状态下不可编辑作品。",
    IN_REVIEW: "作品已进入专家评审阶段。此状态下不可编辑作品。",
    REVIEWED: "专家评审已完成。此状态下不可编辑作品。",
}


def _owner(work, user) -> bool:
    return work.is_owner(user)


def _reviewer(work, user) -> bool:
    return work.can_review(user)


def _platform_admin(work, user) -> bool:
    return bool(getattr(user, "is_platform_admin", False))


def _expert_or_admin(work, user) -> bool:
    return _platform_admin(work, user) or work.is_assigned_expert(user)


WORK_FLOW = StateMachine(
    "work",
    states=STATE_LABELS,
    transitions=[
        Transition("submit", {DRAFT}, PENDING, "确认提交", allowed=_owner),
        Transition("update", {PENDING, RETURNED}, PENDING, "确认更新", allowed=_owner),
        Transition("return", {PENDING}, RETURNED, "退回修改", allowed=_reviewer,
                   requires_comment=True),
        Transition("recommend", {PENDING}, RECOMMENDED, "推荐", allowed=_reviewer),
        # Undo by the unit: 撤销推荐 before experts are assigned, 撤销退回 while the
        # applicant has not touched the work (checked in operations.review).
        Transition("unrecommend", {RECOMMENDED}, PENDING, "撤销推荐", allowed=_reviewer),
        Transition("unreturn", {RETURNED}, PENDING, "撤销退回", allowed=_reviewer),
        Transition("assign", {RECOMMENDED}, IN_REVIEW, "分配专家", allowed=_platform_admin),
        Transition("complete_review", {IN_REVIEW}, REVIEWED, "完成评审",
                   allowed=_expert_or_admin),
        # Admin reopens scoring (e.g. an expert is replaced after everyone submitted).
        Transition("reopen_review", {REVIEWED}, IN_REVIEW, "重新评审", allowed=_platform_admin),
    ],
)


def status_label(work, published: bool = False) -> str:
    """The label an applicant sees: 入选 / 未入选 once the result is published."""
    if published and work.status in (REVIEWED, IN_REVIEW, RECOMMENDED):
        return "入选" if work.selected else "未入选"
    return STATE_LABELS.get(work.status, work.status)
