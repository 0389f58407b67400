from __future__ import annotations

import logging

from flask import current_app

from ...admin.models import Campaign
from ...editions import latest_edition, viewed_edition
from ...workflow import OperationError  # noqa: F401 (re-export)
from ..settings import KIND, WorksSettings

log = logging.getLogger(__name__)


def current_campaign() -> Campaign | None:
    """The latest works-call edition (highest year)."""
    return latest_edition(KIND)


def viewed_campaign() -> Campaign | None:
    """The edition the review, export and ranking pages show (the 届次 switch)."""
    return viewed_edition(KIND)


def settings_of(work_or_campaign) -> WorksSettings:
    campaign = getattr(work_or_campaign, "campaign", work_or_campaign)
    return WorksSettings(campaign)


def require_open_window(campaign: Campaign) -> None:
    state = WorksSettings(campaign).window()
    if not state.open:
        raise OperationError(state.message, code="window_closed")


def notify(work, event: str, comment: str = "") -> None:
    """SMS the applicant when their work is returned or recommended (if enabled).

    Failures are logged, never raised: the review decision stands without the SMS.
    """
    settings = settings_of(work)
    if not settings.get("sms_notify", True):
        return
    title = work.display_title
    if len(title) > 20:
        title = title[:20] + "…"
    if event == "return":
        text = f"您申报的作品《{title}》已被推荐单位退回修改，请登录系统查看退回意见并修改后重新提交。"
    elif event == "recommend":
        text = f"您申报的作品《{title}》已通过推荐单位审核，完成推荐。"
    else:
        return
    backend = current_app.extensions["kepu_sms"].backend
    try:
        backend.notify(work.owner.phone, text, f"works_{event}", [title])
    except Exception:  # noqa: BLE001 - an SMS outage must not undo a review decision
        log.exception("SMS notice for work %s failed", work.id)
