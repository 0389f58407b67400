"""Shared helpers of the cases call (used by entry, code, review and select routes).

- ``current_campaign()``: the latest 典赞 edition (kind "cases"); ``viewed_campaign()``:
  the one the review and selection pages show (the 届次 switch).
- ``settings_of(case_or_campaign)``: its ``CasesSettings``.
- ``require_open_window(campaign)``: raise ``OperationError`` outside the entry window.
- ``unit_kinds(settings)``: org kinds that are recommender units (get a 推荐码).
- ``normalise(text)``: the key used to compare case and unit names (2025 duplicates).
"""
from __future__ import annotations

import re
import unicodedata


from ..admin.models import Campaign
from ..editions import latest_edition, viewed_edition
from ..extensions import db
from ..workflow import OperationError
from .settings import KIND, CasesSettings

#: Seed 004 二: the units that recommend cases (each gets one 推荐码). A setting
#: ("unit_kinds") may override the list per edition.
DEFAULT_UNIT_KINDS = [
    "全国学会",
    "省级科协",
    "高校科协",
    "园区（企业）科协",
    "纲要办成员单位",
    "中国公众科学素质促进联合体成员单位",
    "网络科普联合行动参与平台",
]


def current_campaign() -> Campaign | None:
    """The latest cases edition (highest year)."""
    return latest_edition(KIND)


def viewed_campaign() -> Campaign | None:
    """The edition the unit list, summary and selection pages show (the 届次 switch)."""
    return viewed_edition(KIND)


def settings_of(case_or_campaign) -> CasesSettings:
    """Settings of a case's edition (or of a campaign)."""
    campaign = case_or_campaign
    if not isinstance(case_or_campaign, Campaign) and case_or_campaign is not None:
        campaign = getattr(case_or_campaign, "campaign", None)
        if campaign is None and getattr(case_or_campaign, "campaign_id", None):
            campaign = db.session.get(Campaign, case_or_campaign.campaign_id)
    return CasesSettings(campaign)


def require_open_window(campaign: Campaign | None) -> None:
    """Refuse binding / creating / editing / submitting outside the entry window."""
    if campaign is None:
        raise OperationError("当前没有进行中的案例征集", code="no_campaign")
    state = CasesSettings(campaign).window()
    if not state.open:
        raise OperationError(state.message, code="window_closed")


def window_state(campaign: Campaign | None):
    """The WindowState of ``campaign`` (``.open``, ``.message``) for templates."""
    from ..editions import WindowState

    if campaign is None:
        return WindowState(False, "当前没有进行中的案例征集")
    return CasesSettings(campaign).window()


def unit_kinds(settings: CasesSettings | None = None) -> list[str]:
    if settings is None:
        return list(DEFAULT_UNIT_KINDS)
    kinds = settings.get("unit_kinds", DEFAULT_UNIT_KINDS)
    return list(kinds or DEFAULT_UNIT_KINDS)


# Everything that is not a letter, digit or CJK ideograph counts as punctuation /
# whitespace and is dropped (covers ，。、《》“”‘’「」（）【】·—… and ASCII marks).
_DROP = re.compile(r"[\W_]+", re.UNICODE)


def normalise(text: str | None) -> str:
    """Comparison key: NFKC, lower case, no whitespace or punctuation.

    ``normalise("《流动科技馆  进乡村》")`` == ``normalise("流动科技馆进乡村")``.
    """
    if not text:
        return ""
    value = unicodedata.normalize("NFKC", str(text)).lower()
    value = "".join(ch for ch in value
                    if not unicodedata.category(ch).startswith(("P", "S", "Z", "C")))
    return _DROP.sub("", value)
