"""Time helpers. The database stores naive UTC; pages show Beijing time."""
from __future__ import annotations

from datetime import datetime, timedelta, timezone

BEIJING = timezone(timedelta(hours=8), "Asia/Shanghai")


def utcnow() -> datetime:
    return datetime.now(timezone.utc).replace(tzinfo=None)


def to_local(dt: datetime | None) -> datetime | None:
    if dt is None:
        return None
    if dt.tzinfo is None:
        dt = dt.replace(tzinfo=timezone.utc)
    return dt.astimezone(BEIJING)


def local_day_start_utc(now: datetime | None = None) -> datetime:
    """Start of the current Beijing calendar day, as naive UTC (for daily caps)."""
    local = to_local(now or utcnow())
    start = local.replace(hour=0, minute=0, second=0, microsecond=0)
    return start.astimezone(timezone.utc).replace(tzinfo=None)


def fmt(dt: datetime | None, pattern: str = "%Y-%m-%d %H:%M") -> str:
    local = to_local(dt)
    return local.strftime(pattern) if local else ""
