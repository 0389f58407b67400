"""Editions of the works call: create an edition, save its settings, list them.

An edition is a ``Campaign`` row of kind ``works``; everything year-specific lives in
its ``settings`` (see ``kepu.works.settings.DEFAULTS``). A new edition copies the
settings of the latest edition (or the defaults), with the submission window moved to
the new year, so admins only adjust what changed.

``ensure_edition(year)`` is the idempotent entry point for ``flask kepu demo``.
"""
from __future__ import annotations

import copy
from calendar import isleap
from datetime import datetime

from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError

from ...admin.models import Campaign
from ...editions import latest_edition as _latest_edition
from ...extensions import db
from ...timeutil import utcnow
from ...workflow import audit
from ..models import Work, WorkAssignment
from ..settings import DEFAULTS, KIND, merged
from .common import OperationError

YEAR_MIN, YEAR_MAX = 2000, 2100
TITLE_MAX = 100  # Campaign.title column

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


def _shift_year(value: str | None, years: int) -> str | None:
    """'2026-06-30 23:59' shifted by ``years`` (29 Feb becomes 28 Feb)."""
    if not value or not years:
        return value
    text = value.strip().replace("T", " ")
    for pattern in ("%Y-%m-%d %H:%M", "%Y-%m-%d %H:%M:%S", "%Y-%m-%d"):
        try:
            dt = datetime.strptime(text, pattern)
            break
        except ValueError:
            continue
    else:
        return value
    year = dt.year + years
    day = dt.day
    if dt.month == 2 and dt.day == 29 and not isleap(year):
        day = 28
    return dt.replace(year=year, day=day).strftime(pattern)


def settings_for_new_edition(year: int, source: Campaign | None = None) -> dict:
    """The settings a new ``year`` edition starts with: a full copy of ``source``'s
    (or the defaults), the window moved by the year difference, no published result."""
    if source is not None:
        base = merged(source.settings)
        from_year = source.year
    else:
        base = copy.deepcopy(DEFAULTS)
        start = str(DEFAULTS.get("window_open") or "")
        from_year = int(start[:4]) if start[:4].isdigit() else year
    shift = year - from_year
    base["window_open"] = _shift_year(base.get("window_open"), shift)
    base["window_close"] = _shift_year(base.get("window_close"), shift)
    base["results_published_at"] = None
    return base


def check_year(year, kind: str = KIND) -> int:
    try:
        value = int(year)
    except (TypeError, ValueError):
        raise OperationError("请输入年度，如 2027", field="year") from None
    if not YEAR_MIN <= value <= YEAR_MAX:
        raise OperationError(f"年度应在 {YEAR_MIN}–{YEAR_MAX} 之间", field="year")
    if db.session.scalar(select(Campaign.id).where(Campaign.kind == kind,
                                                   Campaign.year == value)):
        raise OperationError(f"{value} 年度的作品征集已存在", field="year")
    return value


def create_edition(year, title: str | None, user=None) -> Campaign:
    """Create the ``year`` edition (year unique per kind, title required)."""
    year = check_year(year)
    title = (title or "").strip()
    if not title:
        raise OperationError("请填写征集活动名称", field="title")
    if len(title) > TITLE_MAX:
        raise OperationError(f"名称不能超过 {TITLE_MAX} 字", field="title")
    source = latest_edition()
    campaign = Campaign(kind=KIND, year=year, title=title,
                        settings=settings_for_new_edition(year, source))
    db.session.add(campaign)
    try:
        db.session.flush()
    except IntegrityError:  # created by someone else meanwhile (uq_campaign_kind_year)
        db.session.rollback()
        raise OperationError(f"{year} 年度的作品征集已存在", field="year") from None
    audit("campaign", campaign.id, "create", user,
          data={"kind": KIND, "year": year, "copied_from": source.year if source else None})
    db.session.commit()
    return campaign


def ensure_edition(year: int, title: str | None = None, user=None) -> tuple[Campaign, bool]:
    """The works-call edition of ``year``, created if missing. Returns (campaign, created).

    Idempotent: an existing edition (and its edited settings) is left untouched.
    """
    existing = edition_by_year(int(year))
    if existing is not None:
        return existing, False
    return create_edition(int(year), title or default_title(int(year)), user=user), True


def save_settings(campaign: Campaign, title: str, values: dict, user) -> list[str]:
    """Store validated settings (``values``: the EDITABLE_KEYS) and the title.

    Writes a new dict to ``campaign.settings`` (so the JSON change is detected),
    keeps keys not edited here (e.g. results_published_at), audits the changed keys
    and commits. Returns the changed keys (empty: nothing to save, nothing written).
    """
    unknown = set(values) - set(EDITABLE_KEYS)
    if unknown:
        raise ValueError(f"not editable here: {sorted(unknown)}")
    before = merged(campaign.settings)
    changed = []
    if title != campaign.title:
        changed.append("title")
    changed += [k for k in EDITABLE_KEYS if k in values and values[k] != before.get(k)]
    if not changed:
        return []
    new_settings = copy.deepcopy(campaign.settings or {})
    for key, value in values.items():
        new_settings[key] = copy.deepcopy(value)
    campaign.settings = new_settings
    campaign.title = title
    audit("campaign", campaign.id, "settings", user, data={"changed": changed})
    db.session.commit()
    return changed
