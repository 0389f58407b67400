"""The activity state machine (DESIGN.md, seed 002 三(三)/四).

draft → province_pending (归口 省/市/区县科协) | national_pending (有关部委 / 全国学会);
province_pending → national_pending (省管理员通过) | province_rejected (退回, reason);
national_pending → approved (全国通过) | national_rejected (退回, reason).
Editing a submitted activity (rejected, pending or approved) re-submits it to the start
of its route ("对已发布的活动信息进行编辑会重新进入审批流程"), within the edition's
edit cap. Each decision can be undone right after it (撤销), while nothing else has
happened to the activity since.
"""
from __future__ import annotations

from ..workflow import StateMachine, Transition
from .models import (APPROVED, DRAFT, NATIONAL_PENDING, NATIONAL_REJECTED, PROVINCE_PENDING,
                     PROVINCE_REJECTED, SUBMITTED_STATES, is_national)

STATE_LABELS = {
    DRAFT: "草稿",
    PROVINCE_PENDING: "省管理员审批中",
    PROVINCE_REJECTED: "省管理员审批拒绝",
    NATIONAL_PENDING: "全国审批中",
    NATIONAL_REJECTED: "全国审批拒绝",
    APPROVED: "已通过",
}

STATE_HINTS = {
    DRAFT: "活动尚未提交，可继续编辑后提交。",
    PROVINCE_PENDING: "活动已提交，等待所在省级科协管理员审核。",
    PROVINCE_REJECTED: "省级科协管理员未通过审核，请按退回原因修改后重新提交。",
    NATIONAL_PENDING: "等待中国科协（全国）审核。",
    NATIONAL_REJECTED: "全国审核未通过，请按退回原因修改后重新提交。",
    APPROVED: "已通过审核，在全国科普日网站展示。修改后将重新进入审批流程。",
}


def _owner(a, user) -> bool:
    return a.is_owner(user)


def _province(a, user) -> bool:
    return a.is_provincial_reviewer(user)


def _national(a, user) -> bool:
    return is_national(user)


ACTIVITY_FLOW = StateMachine(
    "activity",
    states=STATE_LABELS,
    transitions=[
        Transition("submit_province", {DRAFT} | SUBMITTED_STATES, PROVINCE_PENDING, "提交",
                   allowed=_owner),
        Transition("submit_national", {DRAFT} | SUBMITTED_STATES, NATIONAL_PENDING, "提交",
                   allowed=_owner),
        Transition("province_approve", {PROVINCE_PENDING}, NATIONAL_PENDING, "通过",
                   allowed=_province),
        Transition("province_reject", {PROVINCE_PENDING}, PROVINCE_REJECTED, "退回",
                   allowed=_province, requires_comment=True),
        Transition("national_approve", {NATIONAL_PENDING}, APPROVED, "通过", allowed=_national),
        Transition("national_reject", {NATIONAL_PENDING}, NATIONAL_REJECTED, "退回",
                   allowed=_national, requires_comment=True),
        # 撤销 right after a decision (operations check that nothing happened since).
        Transition("province_unapprove", {NATIONAL_PENDING}, PROVINCE_PENDING, "撤销通过",
                   allowed=_province),
        Transition("province_unreject", {PROVINCE_REJECTED}, PROVINCE_PENDING, "撤销退回",
                   allowed=_province),
        Transition("national_unapprove", {APPROVED}, NATIONAL_PENDING, "撤销通过",
                   allowed=_national),
        Transition("national_unreject", {NATIONAL_REJECTED}, NATIONAL_PENDING, "撤销退回",
                   allowed=_national),
    ],
)

#: What each decision is undone by.
UNDO_OF = {"province_approve": "province_unapprove", "province_reject": "province_unreject",
           "national_approve": "national_unapprove", "national_reject": "national_unreject"}
