"""Shared helpers of 全国科普日: the current and viewed edition, settings, windows."""
from __future__ import annotations

from ...admin.models import Campaign
from ...editions import latest_edition, viewed_edition
from ...workflow import OperationError  # noqa: F401 (re-export)
from ..settings import KIND, ScienceDaySettings


def current_campaign() -> Campaign | None:
    """The latest 全国科普日 edition (new activities always go there)."""
    return latest_edition(KIND)


def viewed_campaign() -> Campaign | None:
    """The edition the review, statistics and public pages show (the 届次 switch)."""
    return viewed_edition(KIND)


def settings_of(activity_or_campaign) -> ScienceDaySettings:
    campaign = getattr(activity_or_campaign, "campaign", activity_or_campaign)
    return ScienceDaySettings(campaign)


def require_window(campaign: Campaign | None, key: str) -> None:
    """Refuse outside the edition's ``key`` window, with the deadline in the message
    (seed 001: "若超过截止时间，系统将自动关闭")."""
    if campaign is None:
        raise OperationError("当前没有进行中的全国科普日活动", code="no_campaign")
    state = ScienceDaySettings(campaign).phase(key)
    if not state.open:
        raise OperationError(state.message, code="window_closed")
