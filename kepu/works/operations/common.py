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


#: The state a notice is about: sent only if the work is still in it when it is due (a
#: decision undone in the meantime — 撤销 — sends nothing).
NOTICE_STATES = {"return": ("returned",), "recommend": ("recommended", "in_review", "reviewed")}


def notify(work, event: str, comment: str = "") -> None:
    """SMS the applicant when their work is returned or recommended (if enabled), after
    ``SMS_NOTICE_DELAY_SECONDS`` (default 120) on the task queue, so that a reviewer's
    撤销 right after the decision means no message at all; 0 sends at once."""
    if event not in NOTICE_STATES or not settings_of(work).get("sms_notify", True):
        return
    delay = float(current_app.config.get("SMS_NOTICE_DELAY_SECONDS", 120) or 0)
    if delay > 0:
        from ..tasks import send_notice

        send_notice.schedule(work.id, event, delay=delay)
    else:
        send_notice_now(work, event)


def send_notice_now(work, event: str) -> bool:
    """Send the notice if the work is still where the decision put it. Failures are
    logged, never raised: the review decision stands without the SMS."""
    if work is None or work.status not in NOTICE_STATES.get(event, ()):
        return False
    settings = settings_of(work)
    if not settings.get("sms_notify", True):
        return False
    title = work.display_title
    if len(title) > 20:
        title = title[:20] + "…"
    if event == "return":
        text = f"您申报的作品《{title}》已被推荐单位退回修改，请登录系统查看退回意见并修改后重新提交。"
    else:
        text = f"您申报的作品《{title}》已通过推荐单位审核，完成推荐。"
    backend = current_app.extensions["kepu_sms"].backend
    try:
        backend.notify(work.owner.phone, text, f"works_{event}", [title])
    except Exception:  # noqa: BLE001 - an SMS outage must not undo a review decision
        log.exception("SMS notice for work %s failed", work.id)
        return False
    return True
