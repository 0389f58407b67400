"""Editions of the works call: create an edition, save its settings, list them.

An edition is a ``Campaign`` row of kind ``works``; everything year-specific lives in
its ``settings`` (see ``kepu.works.settings.DEFAULTS``). A new edition copies the
settings of the latest edition (or the defaults), with the submission window moved to
the new year, so admins only adjust what changed.

``ensure_edition(year)`` is the idempotent entry point for ``flask kepu demo``.
"""
from __future__ import annotations

from datetime import datetime

from sqlalchemy import func, select

from ... import editions as shared
from ...admin.models import Campaign
from ...editions import TITLE_MAX, YEAR_MAX, YEAR_MIN  # noqa: F401 (used by the forms)
from ...editions import latest_edition as _latest_edition
from ...extensions import db
from ...timeutil import utcnow
from ..models import Work, WorkAssignment
from ..settings import KIND, WorksSettings

#: the setting keys an admin edits on the settings page (results_published_at is set
#: by publishing the selection, not here)
EDITABLE_KEYS = ("window_open", "window_close", "work_types", "categories", "limits",
                 "award_extensions", "work_file_extensions", "declaration", "rubric",
                 "experts_per_work", "sms_notify", "help")


def default_title(year: int) -> str:
    return f"{year}年全国优质科普作品征集"


def editions() -> list[Campaign]:
    """Every works-call edition, newest first."""
    return list(db.session.scalars(
        select(Campaign).where(Campaign.kind == KIND).order_by(Campaign.year.desc())))


def edition_by_year(year: int) -> Campaign | None:
    return db.session.scalar(select(Campaign).where(Campaign.kind == KIND,
                                                    Campaign.year == year))


def latest_edition() -> Campaign | None:
    return _latest_edition(KIND)


def work_counts() -> dict[int, dict[str, int]]:
    """{campaign_id: {status: n}} over every works-call edition."""
    out: dict[int, dict[str, int]] = {}
    stmt = select(Work.campaign_id, Work.status, func.count(Work.id)).group_by(
        Work.campaign_id, Work.status)
    for cid, status, n in db.session.execute(stmt):
        out.setdefault(cid, {})[status] = n
    return out


PHASES = {"open": "征集进行中", "upcoming": "未开始", "closed": "已截止"}


def window_phase(settings, now: datetime | None = None) -> dict:
    """{"key": open|upcoming|closed, "label": 征集进行中 / 未开始 / 已截止, "message"}."""
    now = now or utcnow()
    state = settings.window(now)
    if state.open:
        key = "open"
    else:
        opens = settings.window_open_at
        key = "upcoming" if opens and now < opens else "closed"
    return {"key": key, "label": PHASES[key], "message": state.message}


def score_count(campaign: Campaign) -> int:
    """Expert score sheets saved or submitted in this edition."""
    stmt = (select(func.count(WorkAssignment.id)).join(Work, Work.id == WorkAssignment.work_id)
            .where(Work.campaign_id == campaign.id,
                   (WorkAssignment.saved_at.is_not(None))
                   | (WorkAssignment.submitted_at.is_not(None))))
    return db.session.scalar(stmt) or 0


def settings_for_new_edition(year: int, source: Campaign | None = None) -> dict:
    """A new ``year`` edition's settings: ``source``'s (or the defaults), the window
    moved to the new year, no published result."""
    return shared.settings_for_new_edition(WorksSettings, year, source,
                                           cleared=("results_published_at",))


def check_year(year) -> int:
    return shared.check_year(WorksSettings, year)


def create_edition(year, title: str | None, user=None) -> Campaign:
    """Create the ``year`` edition (year unique per kind, title required)."""
    return shared.create_edition(WorksSettings, year, title, user,
                                 cleared=("results_published_at",))


def ensure_edition(year: int, title: str | None = None, user=None) -> tuple[Campaign, bool]:
    """The works-call edition of ``year``, created if missing. Returns (campaign, created).

    Idempotent: an existing edition (and its edited settings) is left untouched.
    """
    existing = edition_by_year(int(year))
    if existing is not None:
        return existing, False
    return create_edition(int(year), title or default_title(int(year)), user=user), True


def settings_digest(campaign: Campaign) -> str:
    return shared.settings_digest(campaign, WorksSettings, EDITABLE_KEYS)


def save_settings(campaign: Campaign, title: str, values: dict, user,
                  digest: str | None = None) -> list[str]:
    """Store validated settings (``values``: the EDITABLE_KEYS) and the title; see
    ``kepu.editions.save_edition_settings`` (``digest``: the form's version check)."""
    return shared.save_edition_settings(campaign, WorksSettings, title, values,
                                        EDITABLE_KEYS, user, digest=digest)
