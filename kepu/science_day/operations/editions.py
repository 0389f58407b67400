"""全国科普日 editions: create one per year (settings copied from the latest edition,
every window moved by the year difference), and the settings the admin edits."""
from __future__ import annotations

from sqlalchemy import func, select

from ... import editions as shared
from ...admin.models import Campaign
from ...extensions import db
from ..models import Activity
from ..settings import KIND, ScienceDaySettings

#: the setting keys an admin edits on the settings page
EDITABLE_KEYS = ("windows", "edit_cap", "notice_days", "theme", "activity_types", "modes",
                 "joint_actions", "special_actions", "limits", "food_safety_keyword", "help",
                 "resources", "annual_report")


def default_title(year: int) -> str:
    return f"{year}年全国科普日"


def editions() -> list[Campaign]:
    return list(db.session.scalars(
        select(Campaign).where(Campaign.kind == KIND).order_by(Campaign.year.desc())))


def edition_by_year(year: int) -> Campaign | None:
    return db.session.scalar(select(Campaign).where(Campaign.kind == KIND,
                                                    Campaign.year == year))


def shift_windows(settings: dict, years: int) -> None:
    """Move every window of ``settings`` by ``years`` (29 Feb becomes 28 Feb)."""
    windows = settings.get("windows") or {}
    for w in windows.values():
        for part in ("open", "close"):
            if w.get(part):
                w[part] = shared.shift_year(w[part], years)


def create_edition(year, title: str | None, user=None, **windows) -> Campaign:
    """Create the ``year`` edition; ``windows`` override whole windows of the copy
    (e.g. ``filing={"open": …, "close": …}`` for a demo)."""
    def adjust(settings, years):
        shift_windows(settings, years)
        for key, value in windows.items():
            settings.setdefault("windows", {})[key] = dict(value)
        # an admin's 暂停 of the thank-you SMS was about that edition's sending
        thanks = settings.get("thanks_sms")
        if isinstance(thanks, dict):
            settings["thanks_sms"] = {k: v for k, v in thanks.items() if k != "paused"}

    return shared.create_edition(ScienceDaySettings, year, title, user, adjust=adjust,
                                 shifted=())


def ensure_edition(year: int, title: str | None = None, user=None, **windows):
    """The edition of ``year``, created if missing: (campaign, created). Idempotent."""
    existing = edition_by_year(int(year))
    if existing is not None:
        return existing, False
    return create_edition(int(year), title or default_title(int(year)), user, **windows), True


def activity_counts() -> dict[int, dict[str, int]]:
    """{campaign_id: {status: n}} over every edition (the editions list)."""
    out: dict[int, dict[str, int]] = {}
    stmt = select(Activity.campaign_id, Activity.status, func.count(Activity.id)).group_by(
        Activity.campaign_id, Activity.status)
    for cid, status, n in db.session.execute(stmt):
        out.setdefault(cid, {})[status] = n
    return out


def settings_digest(campaign: Campaign) -> str:
    return shared.settings_digest(campaign, ScienceDaySettings, EDITABLE_KEYS)


def save_settings(campaign: Campaign, title: str, values: dict, user,
                  digest: str | None = None) -> list[str]:
    """Store validated settings (audited); a stale ``digest`` is refused (conflict)."""
    return shared.save_edition_settings(campaign, ScienceDaySettings, title, values,
                                        EDITABLE_KEYS, user, digest=digest)
