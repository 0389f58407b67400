"""The case state machine (DESIGN.md).

draft → submitted (implementing unit, to its recommender unit) → returned (unit admin,
comment required) → submitted …; submitted → recommended (within quota) → finalised
(the unit uploads its stamped summary scan); an unlock by a platform admin sends
finalised cases back to recommended. Showcase selection is the ``selected`` flag.
"""
from __future__ import annotations

from ..workflow import StateMachine, Transition
from .models import DRAFT, FINALISED, RECOMMENDED, RETURNED, SUBMITTED, is_national

STATE_LABELS = {
    DRAFT: "草稿",
    SUBMITTED: "待推荐",
    RETURNED: "退回修改",
    RECOMMENDED: "已推荐",
    FINALISED: "已提交（盖章）",
}


def _owner(case, user):
    return case.is_owner(user)


def _reviewer(case, user):
    return case.can_review(user)


def _national(case, user):
    return is_national(user)


CASE_FLOW = StateMachine(
    "case",
    states=STATE_LABELS,
    transitions=[
        Transition("submit", {DRAFT, RETURNED}, SUBMITTED, "提交", allowed=_owner),
        Transition("return", {SUBMITTED, RECOMMENDED}, RETURNED, "退回修改",
                   allowed=_reviewer, requires_comment=True),
        Transition("recommend", {SUBMITTED}, RECOMMENDED, "推荐", allowed=_reviewer),
        Transition("unrecommend", {RECOMMENDED}, SUBMITTED, "撤销推荐", allowed=_reviewer),
        # 撤销退回 right after a return, while the implementing unit has not touched it.
        Transition("unreturn", {RETURNED}, SUBMITTED, "撤销退回", allowed=_reviewer),
        Transition("finalise", {RECOMMENDED}, FINALISED, "盖章提交", allowed=_reviewer),
        Transition("unlock", {FINALISED}, RECOMMENDED, "解锁", allowed=_national),
    ],
)
