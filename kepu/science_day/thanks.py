"""全国科普日: the thank-you SMS to the scientists of approved activities (seed 001 三.6,
"定期集中").

- ``enqueue_edition(campaign_id)``: one ``ScientistThanks`` row per distinct phone among
  the scientists of the edition's APPROVED activities that have ended (insert-if-absent with the
  dialect's ``INSERT … ON CONFLICT DO NOTHING`` on the unique (campaign_id, phone), so
  parallel runs never make two rows; the name comes from the first listing).
- ``send_batch(campaign_id)``: sends the due rows (待发送, or 失败 with attempts below
  the edition's ``max_attempts`` whose ``next_attempt_at`` has come) through the SMS
  backend's notice path (purpose ``science_day_thanks``). Each row is claimed with a
  conditional UPDATE (→ ``sending``) before its message goes out, so two consumers never
  send one row twice. A failure records the error, attempts + 1 and a backoff; after
  ``max_attempts`` the row stays 失败. The edition's switch and pause are read before
  the batch and again between messages: turning it off stops at once.
- ``send_thanks_task`` (periodic, every 30 minutes, in the consumer): every edition whose
  thank-you SMS is on and not paused: enqueue new phones, send a batch.
- ``send_thanks_batch`` (task): one edition's batch at once (立即发送一批).

Settings: ``Campaign.settings["thanks_sms"]`` (kepu/science_day/settings.py DEFAULTS).
A stored value that cannot be read falls back to the default (never takes a page or the
job down).
"""
from __future__ import annotations

import copy
import logging
from dataclasses import dataclass
from datetime import datetime, timedelta

from flask import current_app
from sqlalchemy import and_, exists, func, or_, select, update

from .. import jobs
from ..admin.models import Campaign
from ..extensions import db
from ..timeutil import utcnow
from .after_models import (THANKS_FAILED, THANKS_LABELS, THANKS_PENDING, THANKS_SENT,
                           ActivityScientist, ScientistThanks)
from .models import APPROVED, Activity
from .settings import DEFAULTS, KIND

log = logging.getLogger(__name__)

PURPOSE = "science_day_thanks"
#: claimed by a sender (between the claim and the outcome)
THANKS_SENDING = "sending"
STATUS_LABELS = {**THANKS_LABELS, THANKS_SENDING: "发送中"}
#: a row left in ``sending`` longer than this (a consumer died mid-message) is failed
SENDING_STALE = timedelta(minutes=15)
BATCH_SIZE = 200
BACKOFF_MINUTES = 30          # after the 1st failure; doubled after each further one
MAX_ATTEMPTS_RANGE = (1, 10)
TEXT_MAX, SIGN_MAX = 200, 20

DEFAULT = DEFAULTS["thanks_sms"]


@dataclass(frozen=True)
class ThanksConfig:
    enabled: bool
    paused: bool
    max_attempts: int
    sign: str
    text: str

    @property
    def active(self) -> bool:
        return self.enabled and not self.paused

    @property
    def state_label(self) -> str:
        if not self.enabled:
            return "已关闭"
        return "已暂停" if self.paused else "已开启"


def _bool(value, default: bool) -> bool:
    return value if isinstance(value, bool) else default


def config_of(settings: dict | None) -> ThanksConfig:
    """The thank-you settings of an edition's stored settings; anything unreadable is
    the default (a broken value never takes the page or the job down)."""
    raw = (settings or {}).get("thanks_sms")
    raw = raw if isinstance(raw, dict) else {}
    try:
        attempts = int(raw.get("max_attempts", DEFAULT["max_attempts"]))
    except (TypeError, ValueError):
        attempts = DEFAULT["max_attempts"]
    lo, hi = MAX_ATTEMPTS_RANGE
    if not lo <= attempts <= hi:
        attempts = DEFAULT["max_attempts"]
    sign, text = raw.get("sign"), raw.get("text")
    if not isinstance(sign, str) or len(sign) > SIGN_MAX:
        sign = DEFAULT["sign"]
    if not isinstance(text, str) or not text.strip() or len(text) > TEXT_MAX:
        text = DEFAULT["text"]
    return ThanksConfig(enabled=_bool(raw.get("enabled"), DEFAULT["enabled"]),
                        paused=_bool(raw.get("paused"), DEFAULT["paused"]),
                        max_attempts=attempts, sign=sign.strip(), text=text.strip())


def fresh_config(campaign_id: int) -> ThanksConfig | None:
    """The edition's thank-you settings as committed now (not the session's copy):
    an admin's 暂停 in another process is seen between two messages."""
    row = db.session.execute(select(Campaign.settings, Campaign.kind)
                             .where(Campaign.id == campaign_id)).first()
    if row is None or row.kind != KIND:
        return None
    return config_of(row.settings)


def message_text(cfg: ThanksConfig, name: str, year: int) -> str:
    body = cfg.text.replace("{name}", name or "").replace("{year}", str(year))
    return f"【{cfg.sign}】{body}" if cfg.sign else body


def backoff(attempts: int) -> timedelta:
    """Wait before the next try after ``attempts`` failed tries (30, 60, 120 … minutes,
    at most a day)."""
    return timedelta(minutes=min(BACKOFF_MINUTES * 2 ** max(attempts - 1, 0), 24 * 60))


# --------------------------------------------------------------------------- enqueue

def _insert(rows: list[dict]) -> int:
    if not rows:
        return 0
    dialect = db.engine.dialect.name
    if dialect == "postgresql":
        from sqlalchemy.dialects.postgresql import insert
    elif dialect == "sqlite":
        from sqlalchemy.dialects.sqlite import insert
    else:  # pragma: no cover - kepu runs on SQLite and PostgreSQL only
        raise RuntimeError(f"unsupported database {dialect!r}")
    # RETURNING lists the rows actually inserted (rowcount is -1 on psycopg here)
    stmt = insert(ScientistThanks).values(rows).on_conflict_do_nothing(
        index_elements=["campaign_id", "phone"]).returning(ScientistThanks.id)
    return len(db.session.execute(stmt).all())


def normal_phone(phone: str | None) -> str:
    """"138 0000-0001" → "13800000001" (one row however a listing spelled it)."""
    phone = "".join(ch for ch in (phone or "") if ch not in " -\t")
    return phone if len(phone) <= 20 else ""


def enqueue_edition(campaign_id: int, now: datetime | None = None) -> int:
    """Queue every phone of the edition's approved activities that have ended (the
    thanks is for having taken part) and are not queued yet; returns how many rows were
    added. Safe to run in parallel (the unique key decides)."""
    now = now or utcnow()
    queued = exists().where(ScientistThanks.campaign_id == campaign_id,
                            ScientistThanks.phone == ActivityScientist.phone)
    listings = db.session.execute(
        select(ActivityScientist.phone, ActivityScientist.name)
        .join(Activity, Activity.id == ActivityScientist.activity_id)
        .where(Activity.campaign_id == campaign_id, Activity.status == APPROVED,
               Activity.end_at <= now, ~queued)
        .order_by(Activity.id, ActivityScientist.position, ActivityScientist.id))
    first: dict[str, str] = {}
    for phone, name in listings:
        phone = normal_phone(phone)
        if phone and phone not in first:
            first[phone] = (name or "").strip()[:50]
    rows = [{"campaign_id": campaign_id, "phone": phone, "name": name,
             "status": THANKS_PENDING, "attempts": 0, "last_error": "",
             "queued_at": now, "updated_at": now} for phone, name in first.items()]
    added = 0
    for i in range(0, len(rows), 500):
        added += _insert(rows[i:i + 500])
    db.session.commit()
    if added:
        log.info("thanks SMS: %s phone(s) queued for edition %s", added, campaign_id)
    return added


# --------------------------------------------------------------------------- send

def due_condition(campaign_id: int, max_attempts: int, now: datetime):
    return and_(ScientistThanks.campaign_id == campaign_id, or_(
        ScientistThanks.status == THANKS_PENDING,
        and_(ScientistThanks.status == THANKS_FAILED,
             ScientistThanks.attempts < max_attempts,
             ScientistThanks.next_attempt_at <= now)))


def _claim(row_id: int, status: str, attempts: int, now: datetime) -> bool:
    """status → sending, only if nobody changed the row since it was read."""
    result = db.session.execute(
        update(ScientistThanks)
        .where(ScientistThanks.id == row_id, ScientistThanks.status == status,
               ScientistThanks.attempts == attempts)
        .values(status=THANKS_SENDING, updated_at=now))
    db.session.commit()
    return result.rowcount == 1


def _finish(row_id: int, attempts: int, max_attempts: int, error: str | None) -> None:
    now = utcnow()
    if error is None:
        values = {"status": THANKS_SENT, "sent_at": now, "last_error": "",
                  "next_attempt_at": None}
    else:
        values = {"status": THANKS_FAILED, "last_error": error[:500],
                  "next_attempt_at": (now + backoff(attempts) if attempts < max_attempts
                                      else None)}
    db.session.execute(update(ScientistThanks).where(
        ScientistThanks.id == row_id, ScientistThanks.status == THANKS_SENDING)
        .values(attempts=attempts, updated_at=now, **values))
    db.session.commit()


def recover_stale(campaign_id: int, now: datetime | None = None) -> int:
    """Rows left in ``sending`` by a consumer that died mid-message count as a failed
    try (the message may or may not have gone out)."""
    now = now or utcnow()
    stale = db.session.execute(select(ScientistThanks.id, ScientistThanks.attempts).where(
        ScientistThanks.campaign_id == campaign_id, ScientistThanks.status == THANKS_SENDING,
        ScientistThanks.updated_at < now - SENDING_STALE)).all()
    cfg = fresh_config(campaign_id)
    for row_id, attempts in stale:
        _finish(row_id, attempts + 1, cfg.max_attempts if cfg else 1, "发送中断（处理进程退出）")
    return len(stale)


def send_batch(campaign_id: int, limit: int = BATCH_SIZE, backend=None) -> dict[str, int]:
    """Send up to ``limit`` due messages of one edition; returns counts."""
    counts = {"sent": 0, "failed": 0, "skipped": 0}
    cfg = fresh_config(campaign_id)
    if cfg is None or not cfg.active:
        return counts
    year = db.session.scalar(select(Campaign.year).where(Campaign.id == campaign_id))
    backend = backend or current_app.extensions["kepu_sms"].backend
    recover_stale(campaign_id)
    now = utcnow()
    due = db.session.execute(
        select(ScientistThanks.id, ScientistThanks.phone, ScientistThanks.name,
               ScientistThanks.status, ScientistThanks.attempts)
        .where(due_condition(campaign_id, cfg.max_attempts, now))
        .order_by(ScientistThanks.id).limit(limit)).all()
    db.session.commit()
    for i, row in enumerate(due):
        if i:  # the admin may turn it off or pause it while a batch runs
            cfg = fresh_config(campaign_id)
            if cfg is None or not cfg.active:
                log.info("thanks SMS of edition %s stopped (turned off or paused)",
                         campaign_id)
                break
        if not _claim(row.id, row.status, row.attempts, utcnow()):
            counts["skipped"] += 1      # another consumer has it
            continue
        attempts = row.attempts + 1
        text = message_text(cfg, row.name, year)
        try:
            backend.notify(row.phone, text, PURPOSE, [row.name or "", str(year)])
        except Exception as e:  # noqa: BLE001 - recorded on the row, retried later
            error = f"{type(e).__name__}: {e}" if str(e) else type(e).__name__
            log.warning("thanks SMS to %s failed (try %s): %s", row.phone, attempts, error)
            _finish(row.id, attempts, cfg.max_attempts, error)
            counts["failed"] += 1
        else:
            _finish(row.id, attempts, cfg.max_attempts, None)
            counts["sent"] += 1
    return counts


def run_edition(campaign_id: int) -> dict[str, int]:
    """Enqueue new phones and send one batch, if the edition's thank-you SMS is on."""
    cfg = fresh_config(campaign_id)
    if cfg is None or not cfg.active:
        return {"queued": 0, "sent": 0, "failed": 0, "skipped": 0}
    queued = enqueue_edition(campaign_id)
    return {"queued": queued, **send_batch(campaign_id)}


@jobs.periodic(jobs.crontab(minute="*/30"))
def send_thanks_task() -> None:
    """定期集中: every 30 minutes, every edition whose thank-you SMS is on."""
    ids = db.session.scalars(select(Campaign.id).where(Campaign.kind == KIND)
                             .order_by(Campaign.year)).all()
    for campaign_id in ids:
        result = run_edition(campaign_id)
        if any(result.values()):
            log.info("thanks SMS edition %s: %s", campaign_id, result)


@jobs.task()
def send_thanks_batch(campaign_id: int) -> None:
    """立即发送一批 (an admin's button): one edition, now."""
    result = run_edition(campaign_id)
    log.info("thanks SMS edition %s (on request): %s", campaign_id, result)


# --------------------------------------------------------------------------- admin

def counts(campaign_id: int) -> dict[str, int]:
    by_status = dict(db.session.execute(
        select(ScientistThanks.status, func.count(ScientistThanks.id))
        .where(ScientistThanks.campaign_id == campaign_id)
        .group_by(ScientistThanks.status)).all())
    out = {key: by_status.get(key, 0) for key in STATUS_LABELS}
    out["total"] = sum(by_status.values())
    return out


def retry_failed(campaign_id: int, user) -> int:
    """立即重试失败项: every 失败 row goes back to 待发送 for the next batch. A row that
    used up its tries gets exactly one more (its attempts are kept: a new failure puts it
    back at 失败 for good)."""
    from ..workflow import audit

    result = db.session.execute(update(ScientistThanks).where(
        ScientistThanks.campaign_id == campaign_id, ScientistThanks.status == THANKS_FAILED)
        .values(status=THANKS_PENDING, next_attempt_at=None, updated_at=utcnow()))
    n = result.rowcount or 0
    audit("campaign", campaign_id, "thanks_retry", user, data={"rows": n})
    db.session.commit()
    return n


def store_settings(campaign: Campaign, user, action: str, **values) -> None:
    """Write keys of ``settings["thanks_sms"]`` (a new dict: the JSON change is seen),
    audited, after locking the edition row."""
    from ..workflow import audit, lock_row

    lock_row(Campaign, campaign.id)
    db.session.refresh(campaign)
    settings = copy.deepcopy(campaign.settings or {})
    current = settings.get("thanks_sms")
    current = dict(current) if isinstance(current, dict) else {}
    current.update(values)
    settings["thanks_sms"] = current
    campaign.settings = settings
    audit("campaign", campaign.id, action, user, data=dict(values))
    db.session.commit()


def settings_digest(campaign: Campaign) -> str:
    import hashlib
    import json

    cfg = config_of(campaign.settings)
    raw = json.dumps([cfg.enabled, cfg.max_attempts, cfg.sign, cfg.text], ensure_ascii=False)
    return hashlib.sha256(raw.encode()).hexdigest()[:16]
