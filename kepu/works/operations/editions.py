"""Editions of the works call: create an edition, save its settings, list them.

An edition is a ``Campaign`` row of kind ``works``; everything year-specific lives in
its ``settings`` (see ``kepu.works.settings.DEFAULTS``). A new edition copies the
settings of the latest edition (or the defaults), with the submission window moved to
the new year, so admins only adjust what changed.

``ensure_edition(year)`` is the idempotent entry point for ``flask kepu demo``.
"""
from __future__ import annotations

from sqlalchemy import func, select

from ... import editions as shared
from ...admin.models import Campaign
from ...editions import TITLE_MAX, YEAR_MAX, YEAR_MIN  # noqa: F401 (used by the forms)
from ...editions import window_phase  # noqa: F401 (used by the routes)
from ...editions import latest_edition as _latest_edition
from ...extensions import db
from ...workflow import OperationError, audit
from ..models import Work, WorkAssignment
from ..settings import KIND, WorksSettings

#: the setting keys an admin edits on the settings page (results_published_at is set
#: by publishing the selection, not here)
EDITABLE_KEYS = ("window_open", "window_close", "review_close", "work_types", "categories", "limits",
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
                                 shifted=("window_open", "window_close", "review_close"),
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


class SavedSettings(list):
    """The changed keys of a save (a list), plus ``recomputed``: how many expert score
    sheets got their total recomputed under a changed rubric (0: none)."""

    recomputed: int = 0


def _fmt(value) -> str:
    value = float(value)
    return str(int(value)) if value == int(value) else f"{value:g}"


def check_rubric_change(campaign: Campaign, old: list[dict], new: list[dict]) -> None:
    """Refuse a rubric change that would leave the edition's expert scores inconsistent.

    Once a score sheet exists (saved or submitted), no criterion may be added or
    removed (the set of keys is fixed; names, weights, maxima and hints stay
    editable). A criterion's 满分 may never drop below a score already given for it.
    Raises OperationError with ``field`` "rubric"; its ``errors`` hold "rubric" (the
    rubric as a whole) and ``rubric.<key>.<field>`` for the rows concerned (the new
    row's 标识, the removed row's 删除此项, the 满分 that is too low).
    """
    from .scoring import given_maxima

    n = score_count(campaign)
    old_keys = [c["key"] for c in old]
    new_keys = [c["key"] for c in new]
    if n and set(old_keys) != set(new_keys):
        added = [f"“{c['label']}（{c['key']}）”" for c in new if c["key"] not in old_keys]
        removed = [f"“{c['label']}（{c['key']}）”" for c in old if c["key"] not in new_keys]
        parts = []
        if added:
            parts.append("本次新增了" + "、".join(added))
        if removed:
            parts.append(("删除了" if added else "本次删除了") + "、".join(removed))
        detail = "，".join(parts)
        if added and removed:
            detail += "（修改标识相当于删除原评分项并新增一项）"
        message = (f"本届已有 {n} 份专家评分，不能增加或删除评分项（已有评分将无法汇总）；"
                   f"可以修改名称、权重、满分和评分说明。{detail}。")
        errors = {"rubric": message}
        for c in new:
            if c["key"] not in old_keys:
                errors[f"rubric.{c['key']}.key"] = "已有专家评分，不能新增评分项或修改标识"
        for key in old_keys:
            if key not in new_keys:
                errors[f"rubric.{key}.remove"] = "已有专家评分，不能删除此评分项"
        raise OperationError(message, field="rubric", errors=errors)
    given = given_maxima(campaign)
    errors = {}
    for c in new:
        high = given.get(c["key"])
        if high is not None and float(c["max"]) < high:
            errors[f"rubric.{c['key']}.max"] = f"不能低于已给出的最高分 {_fmt(high)}"
    if errors:
        first = next(c for c in new if f"rubric.{c['key']}.max" in errors)
        raise OperationError(
            f"已有专家为“{first['label']}”打出 {_fmt(given[first['key']])} 分，"
            f"满分不能低于 {_fmt(given[first['key']])}", field="rubric", errors=errors)


def save_settings(campaign: Campaign, title: str, values: dict, user,
                  digest: str | None = None) -> SavedSettings:
    """Store validated settings (``values``: the EDITABLE_KEYS) and the title; see
    ``kepu.editions.save_edition_settings`` (``digest``: the form's version check;
    a mismatch raises OperationError code "conflict").

    A changed rubric is checked against the expert scores already given
    (``check_rubric_change``) and, in the same transaction, every score sheet's total
    is recomputed with the new rubric, with one ``recompute_totals`` audit row."""
    from .scoring import recompute_totals

    result = SavedSettings()

    def before_commit(changed: list[str], before: dict) -> None:
        if "rubric" not in changed:
            return
        old, new = before["rubric"], values["rubric"]
        check_rubric_change(campaign, old, new)
        n = recompute_totals(campaign, new)
        if n:
            audit("campaign", campaign.id, "recompute_totals", user, data={
                "recomputed": n,
                "before": {c["key"]: {"weight": c["weight"], "max": c["max"]} for c in old},
                "after": {c["key"]: {"weight": c["weight"], "max": c["max"]} for c in new},
            })
        result.recomputed = n

    result.extend(shared.save_edition_settings(
        campaign, WorksSettings, title, values, EDITABLE_KEYS, user, digest=digest,
        before_commit=before_commit))
    return result


def settings_diff(campaign: Campaign, title: str, values: dict) -> list[str]:
    """The keys (and "title") where ``values`` differ from the stored settings."""
    stored = WorksSettings.merged(campaign.settings)
    out = ["title"] if title != campaign.title else []
    return out + [k for k in EDITABLE_KEYS if k in values and values[k] != stored.get(k)]
