"""Edition settings shared by the campaigns.

An edition (a ``Campaign`` row) stores its windows, taxonomies, limits, quotas and
texts in ``Campaign.settings``; each campaign kind declares ``DEFAULTS`` (what a new
edition starts with) and subclasses ``EditionSettings``, which merges the stored
values over the defaults and answers the window question for the server's checks.
Times are entered and shown in Beijing time and compared in naive UTC.
"""
from __future__ import annotations

import copy
import hashlib
import json
from calendar import isleap
from dataclasses import dataclass
from datetime import date, datetime, timezone

from .timeutil import BEIJING, utcnow

YEAR_MIN, YEAR_MAX = 2000, 2100
TITLE_MAX = 100  # Campaign.title column

#: Shown when another admin saved the same edition's settings meanwhile.
SETTINGS_CONFLICT = ("本届设置已被其他管理员修改。为避免覆盖，本次修改未保存；"
                     "下方保留了您填写的内容，请核对后再次保存（将以您的内容为准）。")


_ALL_EDITIONS = None


def editions_of(kind: str) -> list:
    """Every edition of ``kind``, newest first. Within a request every campaign's
    editions are read once, in one statement (the header, the footer, the lists, the
    届次 switch and the permission checks all ask; editions are a handful per year)."""
    from sqlalchemy import select

    from .admin.models import Campaign
    from .extensions import db
    from .request_cache import request_cache

    cache = request_cache()
    if cache is None:
        order = (Campaign.year.desc(), Campaign.id.desc())
        return list(db.session.scalars(select(Campaign).where(Campaign.kind == kind)
                                       .order_by(*order)))
    by_kind = cache.get("editions")
    if by_kind is None:
        by_kind = {}
        global _ALL_EDITIONS
        if _ALL_EDITIONS is None:     # built once: every request runs it
            _ALL_EDITIONS = select(Campaign).order_by(Campaign.year.desc(), Campaign.id.desc())
        for campaign in db.session.scalars(_ALL_EDITIONS):
            by_kind.setdefault(campaign.kind, []).append(campaign)
        cache["editions"] = by_kind
    return by_kind.get(kind, [])


def forget_editions() -> None:
    """Drop the per-request cache (after creating an edition)."""
    from .request_cache import request_cache

    cache = request_cache()
    if cache is not None:
        cache.pop("editions", None)


def latest_edition(kind: str):
    """The current edition of a campaign kind: the highest year (None if there is none)."""
    found = editions_of(kind)
    return found[0] if found else None


#: Campaign kinds whose lists can show an earlier edition (see ``viewed_edition``).
VIEWABLE_KINDS = {"works": "作品征集", "cases": "案例征集", "science_day": "全国科普日"}


def _view_key(kind: str) -> str:
    return f"view_edition:{kind}"


def viewed_edition(kind: str):
    """The edition the review, export and selection pages show: the one picked with
    the 届次 switch (remembered in the session), else the latest. Creating entries
    always uses ``latest_edition``; actions check the entry's own edition's window."""
    from flask import has_request_context, session

    year = session.get(_view_key(kind)) if has_request_context() else None
    found = editions_of(kind)
    if isinstance(year, int):
        for campaign in found:
            if campaign.year == year:
                return campaign
    return found[0] if found else None


def view_edition(kind: str, year: int | None) -> None:
    """Remember the edition to show for ``kind`` (None: back to the latest)."""
    from flask import session

    if year is None:
        session.pop(_view_key(kind), None)
    else:
        session[_view_key(kind)] = int(year)


def edition_years(kind: str) -> list[tuple[int, str]]:
    """(year, title) of every edition of ``kind``, newest first."""
    return [(c.year, c.title) for c in editions_of(kind)]


LOCAL_PATTERNS = ("%Y-%m-%d %H:%M:%S", "%Y-%m-%d %H:%M", "%Y-%m-%d")
#: shown next to a date field whose typed year is outside YEAR_MIN..YEAR_MAX
DATE_RANGE_MESSAGE = f"请输入 {YEAR_MIN}–{YEAR_MAX} 年之间的日期"


def unreadable_message(value) -> str:
    """Next to a settings field whose stored value cannot be read (shown on the page)."""
    text = str(value)
    if len(text) > 40:
        text = text[:40] + "…"
    return f"已保存的值“{text}”无法识别，请重新填写后保存"


def in_year_range(value: datetime | date) -> bool:
    return YEAR_MIN <= value.year <= YEAR_MAX


def parse_local(value: str | None) -> datetime | None:
    """'2026-06-30 23:59' (Beijing) -> naive UTC datetime; '' -> None. Raises ValueError
    for anything else, a year outside YEAR_MIN..YEAR_MAX included."""
    if not value:
        return None
    if not isinstance(value, str):
        raise ValueError(f"invalid datetime {value!r}")
    text = value.strip().replace("T", " ")
    for pattern in LOCAL_PATTERNS:
        try:
            local = datetime.strptime(text, pattern)
            break
        except ValueError:
            continue
    else:
        raise ValueError(f"invalid datetime {value!r}")
    if not in_year_range(local):
        raise ValueError(f"datetime out of range {value!r}")
    return local.replace(tzinfo=BEIJING).astimezone(timezone.utc).replace(tzinfo=None)


def read_local(value) -> tuple[datetime | None, bool]:
    """(``parse_local(value)``, True), or (None, False) when the stored value cannot be
    read: a page showing or checking it then says so instead of failing."""
    try:
        return parse_local(value), True
    except (ValueError, OverflowError):
        return None, False


_SCALARS = (str, int, float, bool, type(None))


def _fresh(value):
    """A deep copy of JSON-like settings (dicts, lists, scalars); 4x faster than
    ``copy.deepcopy``, which every page paid for each settings object it built."""
    kind = type(value)
    if kind is dict:
        return {k: _fresh(v) for k, v in value.items()}
    if kind is list:
        return [_fresh(v) for v in value]
    if kind in _SCALARS:
        return value
    return copy.deepcopy(value)


def merge_settings(defaults: dict, stored: dict | None, replace: frozenset = frozenset()) -> dict:
    """``defaults`` overlaid with ``stored``; nested dicts are merged one level deep,
    except the keys in ``replace``, which the stored value replaces whole."""
    out = _fresh(defaults)
    for key, value in (stored or {}).items():
        if isinstance(value, dict) and isinstance(out.get(key), dict) and key not in replace:
            out[key].update(value)
        else:
            out[key] = value
    return out


@dataclass
class WindowState:
    open: bool
    message: str  # Chinese, shown when closed


class EditionSettings:
    """Read access to an edition's settings with the defaults filled in."""

    KIND = ""                          # Campaign.kind
    KIND_LABEL = "征集"                 # in messages: "2027 年度的作品征集已存在"
    DEFAULTS: dict = {}
    REPLACE: frozenset = frozenset()   # nested dicts stored whole, not merged
    NOT_YET = "征集将于 {open} 开始"
    CLOSED = "征集已于 {close} 截止"
    #: a window date cannot be read: closed (fail safe) until an admin fixes it
    INVALID = "征集时间设置有误，暂不能办理，请联系平台管理员"
    DATE_KEYS = ("window_open", "window_close")

    def __init__(self, campaign):
        self.campaign = campaign
        self.data = merge_settings(self.DEFAULTS,
                                   campaign.settings if campaign is not None else None,
                                   self.REPLACE)

    @classmethod
    def merged(cls, stored: dict | None) -> dict:
        return merge_settings(cls.DEFAULTS, stored, cls.REPLACE)

    def __getitem__(self, key):
        return self.data[key]

    def get(self, key, default=None):
        return self.data.get(key, default)

    def limit(self, name: str) -> int:
        return int(self.data["limits"][name])

    @property
    def window_open_at(self) -> datetime | None:
        return read_local(self.data.get("window_open"))[0]

    @property
    def window_close_at(self) -> datetime | None:
        return read_local(self.data.get("window_close"))[0]

    @property
    def unreadable_dates(self) -> list[str]:
        """The window keys whose stored value cannot be read."""
        return [k for k in self.DATE_KEYS if not read_local(self.data.get(k))[1]]

    def window_text(self, key: str) -> str:
        """A window date for pages: Beijing time to the minute, 不限 or 设置有误."""
        from .timeutil import fmt

        value, ok = read_local(self.data.get(key))
        if not ok:
            return "设置有误"
        return fmt(value) if value else "不限"

    def window(self, now: datetime | None = None) -> WindowState:
        now = now or utcnow()
        if self.unreadable_dates:
            return WindowState(False, self.INVALID)
        opens, closes = self.window_open_at, self.window_close_at
        if opens and now < opens:
            return WindowState(False, self.NOT_YET.format(open=self.data["window_open"]))
        if closes and now > closes:
            # "2026-06-30 23:59:59" reads as 2026-06-30 23:59 (the whole minute counts).
            close = str(self.data["window_close"]).strip().replace("T", " ")[:16]
            return WindowState(False, self.CLOSED.format(close=close))
        return WindowState(True, "")


PHASES = {"open": "征集进行中", "upcoming": "未开始", "closed": "已截止",
          "invalid": "时间设置有误"}


def window_phase(settings: EditionSettings, now: datetime | None = None) -> dict:
    """{"key": open|upcoming|closed|invalid, "label": 征集进行中 / 未开始 / 已截止 /
    时间设置有误, "message"}."""
    now = now or utcnow()
    state = settings.window(now)
    if state.open:
        key = "open"
    elif settings.unreadable_dates:
        key = "invalid"
    else:
        opens = settings.window_open_at
        key = "upcoming" if opens and now < opens else "closed"
    return {"key": key, "label": PHASES[key], "message": state.message}


# --- creating editions and saving their settings -----------------------------------------

def shift_year(value: str | None, years: int) -> str | None:
    """'2026-06-30 23:59' shifted by ``years`` (29 Feb becomes 28 Feb)."""
    if not value or not years or not isinstance(value, str):
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


def settings_for_new_edition(settings_cls: type[EditionSettings], year: int, source=None,
                             shifted=("window_open", "window_close"), cleared=()) -> dict:
    """The settings a new ``year`` edition starts with: a full copy of ``source``'s
    (or the defaults), the ``shifted`` dates moved by the year difference and the
    ``cleared`` keys (e.g. a published result) set to None."""
    if source is not None:
        base = settings_cls.merged(source.settings)
        from_year = source.year
    else:
        base = copy.deepcopy(settings_cls.DEFAULTS)
        start = str(settings_cls.DEFAULTS.get("window_open") or "")
        from_year = int(start[:4]) if start[:4].isdigit() else year
    shift = year - from_year
    for key in shifted:
        base[key] = shift_year(base.get(key), shift)
    for key in cleared:
        base[key] = None
    return base


def _default_year(settings_cls: type[EditionSettings], year: int) -> int:
    """The year the defaults are written for (their first date), else ``year``."""
    import re

    text = json.dumps(settings_cls.DEFAULTS, ensure_ascii=False, default=str)
    m = re.search(r'"(\d{4})-\d{2}-\d{2}', text)
    return int(m.group(1)) if m else year


def check_year(settings_cls: type[EditionSettings], year) -> int:
    """A valid year with no edition of this kind yet (OperationError on ``year``)."""
    from sqlalchemy import select

    from .admin.models import Campaign
    from .extensions import db
    from .workflow import OperationError

    try:
        value = int(str(year).strip())
    except (TypeError, ValueError):
        raise OperationError("请输入年度，如 2027", field="year") from None
    if not YEAR_MIN <= value <= YEAR_MAX:
        raise OperationError(f"年度应在 {YEAR_MIN}–{YEAR_MAX} 之间", field="year")
    if db.session.scalar(select(Campaign.id).where(Campaign.kind == settings_cls.KIND,
                                                   Campaign.year == value)):
        raise OperationError(f"{value} 年度的{settings_cls.KIND_LABEL}已存在", field="year")
    return value


def create_edition(settings_cls: type[EditionSettings], year, title: str | None, user=None,
                   adjust=None, **new_settings):
    """Create the ``year`` edition of ``settings_cls.KIND`` (year unique per kind, title
    required), its settings copied from the latest edition (``settings_for_new_edition``
    with ``new_settings``). Audited and committed."""
    from sqlalchemy.exc import IntegrityError

    from .admin.models import Campaign
    from .extensions import db
    from .workflow import OperationError, audit

    year = check_year(settings_cls, year)
    title = (title or "").strip()
    if not title:
        raise OperationError("请填写征集活动名称", field="title")
    if len(title) > TITLE_MAX:
        raise OperationError(f"名称不能超过 {TITLE_MAX} 字", field="title")
    source = latest_edition(settings_cls.KIND)
    settings = settings_for_new_edition(settings_cls, year, source, **new_settings)
    if adjust is not None:  # e.g. nested windows a kind shifts itself
        from_year = source.year if source is not None else _default_year(settings_cls, year)
        adjust(settings, year - from_year)
    campaign = Campaign(kind=settings_cls.KIND, year=year, title=title, settings=settings)
    db.session.add(campaign)
    try:
        db.session.flush()
    except IntegrityError:  # created by someone else meanwhile (uq_campaign_kind_year)
        db.session.rollback()
        raise OperationError(f"{year} 年度的{settings_cls.KIND_LABEL}已存在",
                             field="year") from None
    audit("campaign", campaign.id, "create", user,
          data={"kind": settings_cls.KIND, "year": year,
                "copied_from": source.year if source else None})
    db.session.commit()
    forget_editions()
    return campaign


def settings_digest(campaign, settings_cls: type[EditionSettings], keys) -> str:
    """A fingerprint of an edition's title and the settings ``keys`` an admin edits:
    the settings form posts the one it was rendered with, and a save is refused when
    the stored one differs (another admin saved meanwhile)."""
    data = settings_cls.merged(campaign.settings)
    payload = json.dumps({"title": campaign.title, **{k: data.get(k) for k in keys}},
                         sort_keys=True, ensure_ascii=False, default=str)
    return hashlib.sha256(payload.encode()).hexdigest()[:20]


def save_edition_settings(campaign, settings_cls: type[EditionSettings], title: str,
                          values: dict, keys, user, digest: str | None = None,
                          before_commit=None) -> list[str]:
    """Store validated settings (``values``: some of ``keys``) and the title.

    With ``digest`` (from the form), the campaign row is locked and the save refused
    (OperationError code "conflict", SETTINGS_CONFLICT) when the stored settings no
    longer match it. Writes a new dict (so the JSON change is detected), keeps keys not
    edited here, calls ``before_commit(changed, before)`` (it may raise OperationError
    to refuse, or update dependent rows), audits the changed keys and commits. Returns
    the changed keys (empty: nothing to save, nothing written)."""
    from .admin.models import Campaign
    from .extensions import db
    from .workflow import OperationError, audit, lock_row

    unknown = set(values) - set(keys)
    if unknown:
        raise ValueError(f"not editable here: {sorted(unknown)}")
    if digest is not None:
        lock_row(Campaign, campaign.id)
        db.session.refresh(campaign)
        if digest != settings_digest(campaign, settings_cls, keys):
            raise OperationError(SETTINGS_CONFLICT, code="conflict")
    before = settings_cls.merged(campaign.settings)
    changed = []
    if title != campaign.title:
        changed.append("title")
    changed += [k for k in keys if k in values and values[k] != before.get(k)]
    if not changed:
        db.session.rollback()
        return []
    if before_commit is not None:
        before_commit(changed, before)
    new_settings = copy.deepcopy(campaign.settings or {})
    for key, value in values.items():
        new_settings[key] = copy.deepcopy(value)
    campaign.settings = new_settings
    campaign.title = title
    audit("campaign", campaign.id, "settings", user, data={"changed": changed})
    db.session.commit()
    return changed
