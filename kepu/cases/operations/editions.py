"""Editions of the 典赞·科普中国 cases call: create an edition, save its settings, list them.

An edition is a ``Campaign`` row of kind ``cases``; everything year-specific lives in
its ``settings`` (see ``kepu.cases.settings.DEFAULTS``; plus the optional
``unit_kinds``, see ``kepu.cases.common.unit_kinds``). A new edition copies the settings
of the latest edition (or the defaults), with the entry window and the "work since"
date moved to the new year, so admins only adjust what changed.

``ensure_edition(year)`` is the idempotent entry point for ``flask kepu demo``.
"""
from __future__ import annotations

from sqlalchemy import func, select

from ... import editions as shared
from ...admin.models import Campaign
from ...editions import TITLE_MAX, YEAR_MAX, YEAR_MIN  # noqa: F401 (used by the forms)
from ...editions import latest_edition as _latest_edition
from ...extensions import db
from ..common import DEFAULT_UNIT_KINDS
from ..models import Case
from ..settings import KIND, CasesSettings

#: the setting keys an admin edits on the settings page (all of them)
EDITABLE_KEYS = ("window_open", "window_close", "work_since", "categories", "limits",
                 "quota_per_category", "quota_total", "showcase_total", "showcase_targets",
                 "works_category_label", "detail_outline", "past_years_rule", "contacts",
                 "unit_kinds")

#: dates moved to the new year when an edition is created from the previous one
SHIFTED_KEYS = ("window_open", "window_close", "work_since")


def default_title(year: int) -> str:
    return f"{year}年度“典赞·科普中国”科普案例征集"


def editions() -> list[Campaign]:
    """Every cases-call edition, newest first."""
    return list(db.session.scalars(
        select(Campaign).where(Campaign.kind == KIND)
        .order_by(Campaign.year.desc(), Campaign.id.desc())))


def edition_by_year(year: int) -> Campaign | None:
    return db.session.scalar(select(Campaign).where(Campaign.kind == KIND,
                                                    Campaign.year == year))


def latest_edition() -> Campaign | None:
    return _latest_edition(KIND)


def case_counts() -> dict[int, dict[str, int]]:
    """{campaign_id: {status: n}} over every cases-call edition."""
    out: dict[int, dict[str, int]] = {}
    stmt = (select(Case.campaign_id, Case.status, func.count(Case.id))
            .join(Campaign, Campaign.id == Case.campaign_id)
            .where(Campaign.kind == KIND)
            .group_by(Case.campaign_id, Case.status))
    for cid, status, n in db.session.execute(stmt):
        out.setdefault(cid, {})[status] = n
    return out


def check_year(year) -> int:
    return shared.check_year(CasesSettings, year)


def create_edition(year, title: str | None, user=None, **settings_override) -> Campaign:
    """Create the ``year`` edition (year unique per kind, title required), its settings
    copied from the latest edition with the window and ``work_since`` moved by the
    year difference. ``settings_override`` (e.g. a demo's open window) replaces copied
    keys before the edition is committed."""
    campaign = shared.create_edition(CasesSettings, year, title, user, shifted=SHIFTED_KEYS)
    if settings_override:
        campaign.settings = {**campaign.settings, **settings_override}
        db.session.commit()
    return campaign


def ensure_edition(year: int, title: str | None = None, user=None,
                   **settings_override) -> tuple[Campaign, bool]:
    """The cases edition of ``year``, created if missing. Returns (campaign, created).

    Idempotent: an existing edition (and its edited settings) is left untouched;
    ``settings_override`` only applies to a newly created one.
    """
    year = int(year)
    existing = edition_by_year(year)
    if existing is not None:
        return existing, False
    return create_edition(year, title or default_title(year), user=user,
                          **settings_override), True


def settings_digest(campaign: Campaign) -> str:
    return shared.settings_digest(campaign, CasesSettings, EDITABLE_KEYS)


def _normalised(campaign: Campaign, values: dict) -> dict:
    """``values`` without an unchanged default: an edition without a stored
    ``unit_kinds`` uses DEFAULT_UNIT_KINDS; saving the same kinds keeps it unstored
    (so the default still applies and nothing is reported as changed)."""
    values = dict(values)
    stored = campaign.settings or {}
    kinds = values.get("unit_kinds")
    if "unit_kinds" not in stored and kinds is not None \
            and set(kinds) == set(DEFAULT_UNIT_KINDS):
        values.pop("unit_kinds")
    return values


def save_settings(campaign: Campaign, title: str, values: dict, user,
                  digest: str | None = None) -> list[str]:
    """Store validated settings (``values``: the EDITABLE_KEYS) and the title; see
    ``kepu.editions.save_edition_settings`` (``digest``: the form's version check;
    raises OperationError code "conflict" when another admin saved meanwhile)."""
    return shared.save_edition_settings(campaign, CasesSettings, title,
                                        _normalised(campaign, values), EDITABLE_KEYS, user,
                                        digest=digest)
