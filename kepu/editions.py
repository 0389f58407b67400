"""Edition settings shared by the campaigns.

An edition (a ``Campaign`` row) stores its windows, taxonomies, limits, quotas and
texts in ``Campaign.settings``; each campaign kind declares ``DEFAULTS`` (what a new
edition starts with) and subclasses ``EditionSettings``, which merges the stored
values over the defaults and answers the window question for the server's checks.
Times are entered and shown in Beijing time and compared in naive UTC.
"""
from __future__ import annotations

import copy
from dataclasses import dataclass
from datetime import datetime, timezone

from .timeutil import BEIJING, utcnow


def latest_edition(kind: str):
    """The current edition of a campaign kind: the highest year (None if there is none)."""
    from sqlalchemy import select

    from .admin.models import Campaign
    from .extensions import db

    return db.session.scalar(select(Campaign).where(Campaign.kind == kind)
                             .order_by(Campaign.year.desc(), Campaign.id.desc()).limit(1))


def parse_local(value: str | None) -> datetime | None:
    """'2026-06-30 23:59' (Beijing) -> naive UTC datetime; '' -> None."""
    if not value:
        return None
    value = value.strip().replace("T", " ")
    for pattern in ("%Y-%m-%d %H:%M:%S", "%Y-%m-%d %H:%M", "%Y-%m-%d"):
        try:
            local = datetime.strptime(value, pattern)
            break
        except ValueError:
            continue
    else:
        raise ValueError(f"invalid datetime {value!r}")
    return local.replace(tzinfo=BEIJING).astimezone(timezone.utc).replace(tzinfo=None)


def merge_settings(defaults: dict, stored: dict | None, replace: frozenset = frozenset()) -> dict:
    """``defaults`` overlaid with ``stored``; nested dicts are merged one level deep,
    except the keys in ``replace``, which the stored value replaces whole."""
    out = copy.deepcopy(defaults)
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

    DEFAULTS: dict = {}
    REPLACE: frozenset = frozenset()   # nested dicts stored whole, not merged
    NOT_YET = "征集将于 {open} 开始"
    CLOSED = "征集已于 {close} 截止"

    def __init__(self, campaign):
        self.campaign = campaign
        self.data = merge_settings(self.DEFAULTS,
                                   campaign.settings if campaign is not None else None,
                                   self.REPLACE)

    def __getitem__(self, key):
        return self.data[key]

    def get(self, key, default=None):
        return self.data.get(key, default)

    def limit(self, name: str) -> int:
        return int(self.data["limits"][name])

    @property
    def window_open_at(self) -> datetime | None:
        return parse_local(self.data.get("window_open"))

    @property
    def window_close_at(self) -> datetime | None:
        return parse_local(self.data.get("window_close"))

    def window(self, now: datetime | None = None) -> WindowState:
        now = now or utcnow()
        opens, closes = self.window_open_at, self.window_close_at
        if opens and now < opens:
            return WindowState(False, self.NOT_YET.format(open=self.data["window_open"]))
        if closes and now > closes:
            return WindowState(False, self.CLOSED.format(close=self.data["window_close"]))
        return WindowState(True, "")
