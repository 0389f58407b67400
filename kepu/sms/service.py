"""SMS verification codes.

Rules (settings in ``kepu/config.py``):

- 6 random digits (``secrets``), valid ``SMS_CODE_TTL_SECONDS`` (5 minutes), stored only
  as an HMAC-SHA256 keyed with ``SECRET_KEY``; single use; invalid after
  ``SMS_MAX_ATTEMPTS`` wrong tries; only the newest code of a (phone, purpose) counts.
- A new code only ``SMS_RESEND_SECONDS`` after the previous one; daily caps per phone
  *and purpose* (``SMS_DAILY_LIMIT_PER_PHONE``: spending someone's login codes does not
  lock them out of reset) and per IP (``SMS_DAILY_LIMIT_PER_IP``), per Beijing day.
- For ``login`` and ``reset`` the answer is the same whether or not the phone is
  registered, and nothing is sent to an unregistered phone: a silent row is stored so
  that resend waits and daily caps behave identically. Waits and caps count the rows of
  the phone's current kind only (delivered or silent), so silent requests made before
  a phone registers do not use up its allowance afterwards.
- ``register`` for a registered phone answers "已注册" only once the resend wait and
  the caps allow a code (a silent row counts it), like any other request: the page
  cannot be used to test phones faster than codes can be requested.
- Every check and its count is one atomic step: the request's row is inserted first
  (SQLite: that takes the database's write lock) after a per-phone and per-IP
  transaction lock (PostgreSQL: ``pg_advisory_xact_lock``), and the caps count rows
  including it; a wrong code is counted by a conditional UPDATE (``attempts <
  SMS_MAX_ATTEMPTS``), so parallel tries never record more than the limit.

Use through ``current_app.extensions["kepu_sms"]`` or the module functions
``send_code`` / ``verify_code`` / ``seconds_until_resend``.
"""
from __future__ import annotations

import hashlib
import hmac
import logging
import math
import secrets
from dataclasses import dataclass
from datetime import timedelta

from flask import current_app
from sqlalchemy import func, select, update

from .. import timeutil
from ..db_setup import serialize_on
from ..extensions import db
from .backends import SmsBackend, SmsSendError, make_backend
from .models import SmsCode

log = logging.getLogger("kepu.sms")

PURPOSES = {"register": "注册", "login": "登录", "reset": "重置密码"}
#: purposes for which the answer must not reveal whether the phone is registered
SILENT_PURPOSES = {"login", "reset"}

MSG_SENT = "验证码已发送，请注意查收"
MSG_SENT_IF_REGISTERED = "如该手机号已注册，验证码将发送至该手机"
MSG_ALREADY_REGISTERED = "该手机号已注册，请直接登录"
MSG_RESEND_WAIT = "请{seconds}秒后再获取验证码"
MSG_PHONE_DAILY = "该手机号今日获取验证码次数已达上限，请明天再试"
MSG_IP_DAILY = "当前网络今日获取验证码次数已达上限，请明天再试"
MSG_SEND_FAILED = "短信发送失败，请稍后重试"
MSG_DEMO = "演示模式：验证码已写入 instance/sms_outbox.jsonl"

MSG_CODE_REQUIRED = "请输入验证码"
MSG_CODE_FORMAT = "请输入6位数字验证码"
MSG_CODE_NONE = "请先获取验证码"
MSG_CODE_USED = "验证码已失效，请重新获取"
MSG_CODE_EXPIRED = "验证码已过期，请重新获取"
MSG_CODE_TOO_MANY = "验证码错误次数过多，请重新获取验证码"
MSG_CODE_WRONG = "验证码错误，还可尝试{left}次"


class SmsCodeError(ValueError):
    """A code was refused; ``message`` is shown next to the code field."""

    def __init__(self, message: str):
        super().__init__(message)
        self.message = message


@dataclass
class SendResult:
    ok: bool
    message: str
    #: seconds until another code may be requested (0 = now)
    wait_seconds: int = 0
    #: an SMS actually left (False for silent rows and errors)
    sent: bool = False
    #: extra note for demo mode (where the code went), or ""
    demo_note: str = ""


class SmsService:
    def __init__(self, app, backend: SmsBackend):
        self.app = app
        self.backend = backend

    # --- settings -----------------------------------------------------------
    @property
    def _cfg(self):
        return self.app.config

    @property
    def ttl(self) -> int:
        return int(self._cfg["SMS_CODE_TTL_SECONDS"])

    @property
    def resend_seconds(self) -> int:
        return int(self._cfg["SMS_RESEND_SECONDS"])

    @property
    def max_attempts(self) -> int:
        return int(self._cfg["SMS_MAX_ATTEMPTS"])

    # --- helpers -------------------------------------------------------------
    def hash_code(self, phone: str, purpose: str, code: str) -> str:
        key = str(self._cfg["SECRET_KEY"]).encode()
        msg = f"sms:{phone}:{purpose}:{code}".encode()
        return hmac.new(key, msg, hashlib.sha256).hexdigest()

    def _latest(self, phone: str, purpose: str) -> SmsCode | None:
        return db.session.scalar(
            select(SmsCode)
            .where(SmsCode.phone == phone, SmsCode.purpose == purpose)
            .order_by(SmsCode.created_at.desc(), SmsCode.id.desc())
            .limit(1)
        )

    @staticmethod
    def _delivers(purpose: str, registered: bool) -> bool:
        """Whether a code for ``purpose`` is really sent (else a silent row is stored)."""
        return not registered if purpose == "register" else registered

    def _latest_of_kind(self, phone: str, purpose: str, delivered: bool,
                        exclude: int | None = None) -> SmsCode | None:
        stmt = select(SmsCode).where(SmsCode.phone == phone, SmsCode.purpose == purpose,
                                     SmsCode.delivered.is_(delivered))
        if exclude is not None:
            stmt = stmt.where(SmsCode.id != exclude)
        return db.session.scalar(stmt.order_by(SmsCode.created_at.desc(),
                                               SmsCode.id.desc()).limit(1))

    def _wait(self, latest: SmsCode | None, now) -> int:
        if latest is None:
            return 0
        ready = latest.created_at + timedelta(seconds=self.resend_seconds)
        return max(0, math.ceil((ready - now).total_seconds()))

    def seconds_until_resend(self, phone: str, purpose: str) -> int:
        from ..accounts.models import User

        delivered = self._delivers(purpose, User.by_phone(phone) is not None)
        return self._wait(self._latest_of_kind(phone, purpose, delivered), timeutil.utcnow())

    def _text(self, purpose: str, code: str) -> str:
        sign = self._cfg.get("SMS_SIGN_NAME") or self._cfg.get("PLATFORM_NAME", "")
        minutes = max(1, self.ttl // 60)
        return (f"【{sign}】您的{PURPOSES[purpose]}验证码为{code}，{minutes}分钟内有效。"
                "如非本人操作，请忽略本短信。")

    def _demo_note(self) -> str:
        if self._cfg.get("DEMO_MODE") and getattr(self.backend, "name", "") == "console":
            return MSG_DEMO
        return ""

    # --- API -----------------------------------------------------------------
    def send_code(self, phone: str, purpose: str, ip: str | None = "") -> SendResult:
        """Send a new code to ``phone`` (already validated and normalised)."""
        from ..accounts.models import User
        from ..accounts.validators import is_valid_phone, normalize_phone

        if purpose not in PURPOSES:
            raise ValueError(f"unknown SMS purpose {purpose!r}")
        phone = normalize_phone(phone)
        if not is_valid_phone(phone):
            from ..accounts.validators import MSG_PHONE
            return SendResult(False, MSG_PHONE)
        ip = (ip or "")[:45]
        registered = User.by_phone(phone) is not None
        deliver = self._delivers(purpose, registered)

        # One atomic step: serialise on the phone and the network, store this request's
        # row, then check the wait and the caps counting it (roll back when refused).
        serialize_on(f"sms:{phone}:{purpose}")
        if ip:
            serialize_on(f"sms-ip:{ip}")
        now = timeutil.utcnow()
        code = f"{secrets.randbelow(10 ** 6):06d}"
        row = SmsCode(phone=phone, purpose=purpose, code_hash=self.hash_code(phone, purpose, code),
                      ip=ip, created_at=now, expires_at=now + timedelta(seconds=self.ttl),
                      attempts=0, delivered=deliver)
        db.session.add(row)
        db.session.flush()

        wait = self._wait(self._latest_of_kind(phone, purpose, deliver, exclude=row.id), now)
        if wait > 0:
            db.session.rollback()
            return SendResult(False, MSG_RESEND_WAIT.format(seconds=wait), wait_seconds=wait)
        day_start = timeutil.local_day_start_utc(now)
        per_phone = db.session.scalar(
            select(func.count(SmsCode.id))
            .where(SmsCode.phone == phone, SmsCode.purpose == purpose,
                   SmsCode.delivered.is_(deliver), SmsCode.created_at >= day_start))
        if per_phone > int(self._cfg["SMS_DAILY_LIMIT_PER_PHONE"]):
            db.session.rollback()
            return SendResult(False, MSG_PHONE_DAILY)
        if ip:
            per_ip = db.session.scalar(
                select(func.count(SmsCode.id))
                .where(SmsCode.ip == ip, SmsCode.created_at >= day_start))
            if per_ip > int(self._cfg["SMS_DAILY_LIMIT_PER_IP"]):
                db.session.rollback()
                return SendResult(False, MSG_IP_DAILY)

        if purpose == "register" and registered:
            db.session.commit()  # counted like a send: the answer costs a request
            return SendResult(False, MSG_ALREADY_REGISTERED, wait_seconds=self.resend_seconds)
        if deliver:
            try:
                self.backend.send(phone, self._text(purpose, code), code, purpose)
            except SmsSendError:
                db.session.rollback()
                log.exception("SMS to %s failed", phone)
                return SendResult(False, MSG_SEND_FAILED)
        db.session.commit()
        message = MSG_SENT_IF_REGISTERED if purpose in SILENT_PURPOSES else MSG_SENT
        return SendResult(True, message, wait_seconds=self.resend_seconds, sent=deliver,
                          demo_note=self._demo_note())

    def verify_code(self, phone: str, purpose: str, code: str | None) -> bool:
        """Check and consume ``code``. Raises ``SmsCodeError`` with a Chinese message.

        A wrong try is committed at once; a success only marks the code used (flushed,
        not committed) so the calling operation commits it with its own writes.
        """
        code = (code or "").strip()
        if not code:
            raise SmsCodeError(MSG_CODE_REQUIRED)
        if len(code) != 6 or not code.isdigit():
            raise SmsCodeError(MSG_CODE_FORMAT)
        row = self._latest(phone, purpose)
        if row is None:
            raise SmsCodeError(MSG_CODE_NONE)
        if row.used_at is not None:
            raise SmsCodeError(MSG_CODE_USED)
        now = timeutil.utcnow()
        if now >= row.expires_at:
            raise SmsCodeError(MSG_CODE_EXPIRED)
        right = hmac.compare_digest(row.code_hash, self.hash_code(phone, purpose, code))
        # Count this try and (if right) use the code in one conditional UPDATE: of any
        # number of parallel tries at most SMS_MAX_ATTEMPTS are counted, and a right code
        # after the limit is refused like a wrong one.
        values = {"attempts": SmsCode.attempts + 1}
        if right:
            values["used_at"] = now
        result = db.session.execute(
            update(SmsCode)
            .where(SmsCode.id == row.id, SmsCode.used_at.is_(None),
                   SmsCode.attempts < self.max_attempts)
            .values(**values).execution_options(synchronize_session=False))
        if result.rowcount != 1:
            db.session.rollback()
            db.session.refresh(row)
            if row.used_at is not None:
                raise SmsCodeError(MSG_CODE_USED)
            raise SmsCodeError(MSG_CODE_TOO_MANY)
        if not right:
            db.session.commit()
            db.session.refresh(row)
            left = self.max_attempts - row.attempts
            if left <= 0:
                raise SmsCodeError(MSG_CODE_TOO_MANY)
            raise SmsCodeError(MSG_CODE_WRONG.format(left=left))
        # Right: flushed, not committed, so the calling operation commits it with its own
        # writes (a rollback there leaves the code unused).
        row.used_at = now
        return True


def init_sms(app) -> None:
    app.extensions["kepu_sms"] = SmsService(app, make_backend(app))


def _service() -> SmsService:
    return current_app.extensions["kepu_sms"]


def send_code(phone: str, purpose: str, ip: str | None = "") -> SendResult:
    return _service().send_code(phone, purpose, ip)


def verify_code(phone: str, purpose: str, code: str | None) -> bool:
    return _service().verify_code(phone, purpose, code)


def seconds_until_resend(phone: str, purpose: str) -> int:
    return _service().seconds_until_resend(phone, purpose)
