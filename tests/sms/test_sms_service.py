"""SMS code rules: hashing, expiry, single use, wrong tries, resend wait, daily caps."""
from __future__ import annotations

import hashlib
import hmac
from datetime import timedelta

import pytest
from sqlalchemy import select, update

from kepu import timeutil
from kepu.extensions import db
from kepu.sms import service as S
from kepu.sms.models import SmsCode

PHONE = "13912345678"
IP = "203.0.113.7"


@pytest.fixture
def sms(app):
    return app.extensions["kepu_sms"]


def latest(phone=PHONE) -> SmsCode:
    return db.session.scalar(select(SmsCode).where(SmsCode.phone == phone)
                             .order_by(SmsCode.id.desc()).limit(1))


def age_all(seconds: int) -> None:
    """Pretend every code was sent ``seconds`` earlier."""
    for row in db.session.scalars(select(SmsCode)):
        row.created_at -= timedelta(seconds=seconds)
        row.expires_at -= timedelta(seconds=seconds)
    db.session.commit()


def wrong(code: str) -> str:
    return "000000" if code != "000000" else "111111"


def test_send_code_six_digits_and_stored_hashed(app, sms, sms_outbox, code_for):
    result = sms.send_code(PHONE, "register", IP)
    assert result.ok and result.sent and result.message == "验证码已发送，请注意查收"
    assert result.wait_seconds == 60
    code = code_for(PHONE)
    assert len(code) == 6 and code.isdigit()
    assert code in sms_outbox[0]["text"] and "5分钟" in sms_outbox[0]["text"]
    row = latest()
    assert row.code_hash != code and code not in row.code_hash
    expected = hmac.new(b"test-secret-of-the-suite", f"sms:{PHONE}:register:{code}".encode(),
                        hashlib.sha256).hexdigest()
    assert row.code_hash == expected
    assert row.ip == IP
    assert (row.expires_at - row.created_at) == timedelta(seconds=300)


def test_verify_and_single_use(app, sms, code_for):
    sms.send_code(PHONE, "register", IP)
    code = code_for(PHONE)
    assert sms.verify_code(PHONE, "register", code) is True
    db.session.commit()
    with pytest.raises(S.SmsCodeError, match="验证码已失效，请重新获取"):
        sms.verify_code(PHONE, "register", code)


def test_code_bound_to_purpose(app, sms, code_for):
    sms.send_code(PHONE, "register", IP)
    with pytest.raises(S.SmsCodeError, match="请先获取验证码"):
        sms.verify_code(PHONE, "reset", code_for(PHONE))


def test_expired_code(app, sms, code_for):
    sms.send_code(PHONE, "register", IP)
    db.session.execute(update(SmsCode).values(expires_at=timeutil.utcnow() - timedelta(seconds=1)))
    db.session.commit()
    with pytest.raises(S.SmsCodeError, match="验证码已过期，请重新获取"):
        sms.verify_code(PHONE, "register", code_for(PHONE))


def test_expiry_by_clock(app, sms, code_for, monkeypatch):
    sms.send_code(PHONE, "register", IP)
    later = timeutil.utcnow() + timedelta(seconds=301)
    monkeypatch.setattr(timeutil, "utcnow", lambda: later)
    with pytest.raises(S.SmsCodeError, match="验证码已过期"):
        sms.verify_code(PHONE, "register", code_for(PHONE))


def test_five_wrong_tries_invalidate(app, sms, code_for):
    sms.send_code(PHONE, "register", IP)
    code = code_for(PHONE)
    for left in (4, 3, 2, 1):
        with pytest.raises(S.SmsCodeError, match=f"验证码错误，还可尝试{left}次"):
            sms.verify_code(PHONE, "register", wrong(code))
    with pytest.raises(S.SmsCodeError, match="验证码错误次数过多，请重新获取验证码"):
        sms.verify_code(PHONE, "register", wrong(code))
    assert latest().attempts == 5
    # even the right code is refused now
    with pytest.raises(S.SmsCodeError, match="验证码错误次数过多，请重新获取验证码"):
        sms.verify_code(PHONE, "register", code)
    # a new code (after the resend wait) works
    age_all(61)
    sms.send_code(PHONE, "register", IP)
    assert sms.verify_code(PHONE, "register", code_for(PHONE))


def test_only_newest_code_counts(app, sms, code_for):
    sms.send_code(PHONE, "register", IP)
    first = code_for(PHONE)
    age_all(61)
    sms.send_code(PHONE, "register", IP)
    second = code_for(PHONE)
    if first != second:
        with pytest.raises(S.SmsCodeError):
            sms.verify_code(PHONE, "register", first)
    assert sms.verify_code(PHONE, "register", second)


@pytest.mark.parametrize("code, message", [("", "请输入验证码"), ("12345", "请输入6位数字验证码"),
                                           ("abcdef", "请输入6位数字验证码")])
def test_code_format(app, sms, code, message):
    with pytest.raises(S.SmsCodeError, match=message):
        sms.verify_code(PHONE, "register", code)


def test_resend_wait(app, sms, sms_outbox):
    assert sms.send_code(PHONE, "register", IP).ok
    again = sms.send_code(PHONE, "register", IP)
    assert not again.ok and again.wait_seconds in (59, 60)
    assert again.message == f"请{again.wait_seconds}秒后再获取验证码"
    assert sms.seconds_until_resend(PHONE, "register") in (59, 60)
    assert len(sms_outbox) == 1
    age_all(30)
    assert 29 <= sms.send_code(PHONE, "register", IP).wait_seconds <= 30
    age_all(31)
    assert sms.seconds_until_resend(PHONE, "register") == 0
    assert sms.send_code(PHONE, "register", IP).ok
    assert len(sms_outbox) == 2


def test_daily_cap_per_phone(app_factory):
    app = app_factory(SMS_DAILY_LIMIT_PER_PHONE=3, SMS_RESEND_SECONDS=0)
    with app.app_context():
        sms = app.extensions["kepu_sms"]
        for i in range(3):
            assert sms.send_code(PHONE, "register", f"10.0.0.{i}").ok
        refused = sms.send_code(PHONE, "register", "10.0.0.9")
        assert not refused.ok
        assert refused.message == "该手机号今日获取验证码次数已达上限，请明天再试"
        # the cap counts per purpose (issue 11): login still works; another phone is
        # not affected either
        assert sms.send_code(PHONE, "login", "10.0.0.9").ok
        assert sms.send_code("13700000000", "register", "10.0.0.9").ok
        assert len(sms.backend.outbox) == 4  # the login row is silent (unregistered)


def test_daily_cap_per_ip(app_factory):
    app = app_factory(SMS_DAILY_LIMIT_PER_IP=2)
    with app.app_context():
        sms = app.extensions["kepu_sms"]
        assert sms.send_code("13700000001", "register", IP).ok
        assert sms.send_code("13700000002", "register", IP).ok
        refused = sms.send_code("13700000003", "register", IP)
        assert not refused.ok
        assert refused.message == "当前网络今日获取验证码次数已达上限，请明天再试"
        assert sms.send_code("13700000003", "register", "198.51.100.1").ok


def test_daily_cap_resets_on_beijing_day(app_factory):
    app = app_factory(SMS_DAILY_LIMIT_PER_PHONE=1, SMS_RESEND_SECONDS=0)
    with app.app_context():
        sms = app.extensions["kepu_sms"]
        assert sms.send_code(PHONE, "register", IP).ok
        assert not sms.send_code(PHONE, "register", IP).ok
        # move the earlier code to just before the start of today (Beijing time)
        start = timeutil.local_day_start_utc()
        db.session.execute(update(SmsCode).values(created_at=start - timedelta(seconds=1)))
        db.session.commit()
        assert sms.send_code(PHONE, "register", IP).ok


def test_silent_purposes_send_nothing_to_unknown_phones(app, sms, sms_outbox, make_user):
    make_user(phone=PHONE)
    for purpose in ("login", "reset"):
        known = sms.send_code(PHONE, purpose, IP)
        unknown = sms.send_code("13700000000", purpose, IP)
        assert known.ok and unknown.ok
        assert known.message == unknown.message == "如该手机号已注册，验证码将发送至该手机"
        assert known.sent and not unknown.sent
    assert {m["phone"] for m in sms_outbox} == {PHONE}
    # the resend wait applies the same way to both
    assert not sms.send_code("13700000000", "reset", IP).ok
    assert not sms.send_code(PHONE, "reset", IP).ok


def test_register_refuses_registered_phone(app, sms, make_user, sms_outbox):
    make_user(phone=PHONE)
    result = sms.send_code(PHONE, "register", IP)
    assert not result.ok and result.message == "该手机号已注册，请直接登录"
    assert sms_outbox == []


def test_invalid_phone(app, sms, sms_outbox):
    result = sms.send_code("1234", "register", IP)
    assert not result.ok and result.message == "请输入正确的手机号"
    assert sms_outbox == []


def test_backend_failure_stores_nothing(app, sms, monkeypatch):
    from kepu.sms.backends import SmsSendError

    def boom(*a, **kw):
        raise SmsSendError("provider down")

    monkeypatch.setattr(sms.backend, "send", boom)
    result = sms.send_code(PHONE, "register", IP)
    assert not result.ok and result.message == "短信发送失败，请稍后重试"
    assert db.session.scalar(select(SmsCode)) is None
