"""SMS limits that hold under a race and cannot be spent by someone else (issue 11 §6, §7).

- Wrong tries are counted in one atomic step: 150 parallel wrong codes against the real
  app (a threaded server, SQLite or PostgreSQL) record exactly ``SMS_MAX_ATTEMPTS``.
- Parallel 获取验证码 for one phone send one SMS.
- Daily caps count per purpose; silent rows of an unregistered phone do not consume the
  allowance it has once registered.
- The register page's "已注册" reply comes only after the resend wait and daily caps.
"""
from __future__ import annotations

import threading
import urllib.parse
import urllib.request
from concurrent.futures import ThreadPoolExecutor

import pytest
from sqlalchemy import func, select
from werkzeug.serving import make_server

from kepu.extensions import db
from kepu.sms.models import SmsCode

PHONE = "13912345678"
OTHER = "13700000000"
IP = "203.0.113.7"


class Server:
    def __init__(self, app):
        self.srv = make_server("127.0.0.1", 0, app, threaded=True)
        self.url = f"http://127.0.0.1:{self.srv.server_port}"
        self.thread = threading.Thread(target=self.srv.serve_forever, daemon=True)
        self.thread.start()

    def post(self, path: str, data: dict) -> int:
        body = urllib.parse.urlencode(data).encode()
        req = urllib.request.Request(self.url + path, data=body, method="POST")
        try:
            with urllib.request.urlopen(req, timeout=60) as resp:
                return resp.status
        except urllib.error.HTTPError as e:
            return e.code

    def stop(self):
        self.srv.shutdown()
        self.thread.join(timeout=5)


@pytest.fixture
def live(app):
    server = Server(app)
    yield server
    server.stop()


def _attempts(phone=PHONE) -> int:
    db.session.expire_all()
    return db.session.scalar(select(SmsCode.attempts).where(SmsCode.phone == phone)
                             .order_by(SmsCode.id.desc()).limit(1))


def test_150_parallel_wrong_codes_record_exactly_the_limit(app, live, make_user, code_for):
    make_user(phone=PHONE)
    sms = app.extensions["kepu_sms"]
    assert sms.send_code(PHONE, "reset", IP).ok
    good = code_for(PHONE)
    wrong = [f"{(int(good) + i) % 10**6:06d}" for i in range(1, 151)]

    def attempt(code):
        return live.post("/account/reset", {"phone": PHONE, "code": code,
                                            "password": "N3wPassw0rd!",
                                            "confirm": "N3wPassw0rd!"})

    with ThreadPoolExecutor(max_workers=30) as pool:
        statuses = list(pool.map(attempt, wrong))
    assert set(statuses) == {422}, set(statuses)
    assert _attempts() == app.config["SMS_MAX_ATTEMPTS"] == 5
    # The right code no longer works: the code is spent.
    assert attempt(good) == 422
    from kepu.accounts.models import User
    user = db.session.scalar(select(User).where(User.phone == PHONE))
    assert user.check_password("Passw0rd!")


def test_parallel_sends_for_one_phone_send_one_sms(app, live, sms_outbox):
    with ThreadPoolExecutor(max_workers=20) as pool:
        list(pool.map(lambda _: live.post("/sms/send", {"phone": PHONE,
                                                        "purpose": "register"}), range(20)))
    assert len(sms_outbox) == 1
    db.session.expire_all()
    assert db.session.scalar(select(func.count(SmsCode.id))) == 1


def test_parallel_sends_respect_the_daily_cap(app_factory):
    app = app_factory(SMS_RESEND_SECONDS=0, SMS_DAILY_LIMIT_PER_PHONE=3)
    with app.app_context():
        server = Server(app)
        try:
            with ThreadPoolExecutor(max_workers=20) as pool:
                list(pool.map(lambda _: server.post("/sms/send", {"phone": PHONE,
                                                                  "purpose": "register"}),
                              range(20)))
        finally:
            server.stop()
        assert len(app.extensions["kepu_sms"].backend.outbox) == 3


def test_right_code_after_four_wrong_still_works(app, make_user, code_for):
    from kepu.sms import service as S

    sms = app.extensions["kepu_sms"]
    sms.send_code(PHONE, "register", IP)
    good = code_for(PHONE)
    bad = "000000" if good != "000000" else "111111"
    for left in (4, 3, 2, 1):
        with pytest.raises(S.SmsCodeError, match=f"还可尝试{left}次"):
            sms.verify_code(PHONE, "register", bad)
    assert sms.verify_code(PHONE, "register", good)
    db.session.commit()
    assert _attempts() == 5


def test_daily_caps_count_per_purpose(app_factory):
    app = app_factory(SMS_DAILY_LIMIT_PER_PHONE=3, SMS_RESEND_SECONDS=0)
    with app.app_context():
        from kepu.accounts.models import User

        user = User(phone=PHONE)
        user.set_password("Passw0rd!")
        db.session.add(user)
        db.session.commit()
        sms = app.extensions["kepu_sms"]
        for i in range(3):
            assert sms.send_code(PHONE, "login", f"10.0.0.{i}").ok
        assert sms.send_code(PHONE, "login", IP).message == S_DAILY
        # Someone spending the login codes does not lock the owner out of reset.
        assert sms.send_code(PHONE, "reset", IP).ok
        assert len(sms.backend.outbox) == 4


S_DAILY = "该手机号今日获取验证码次数已达上限，请明天再试"


def test_silent_rows_do_not_consume_a_registered_phones_allowance(app_factory):
    app = app_factory(SMS_DAILY_LIMIT_PER_PHONE=3, SMS_RESEND_SECONDS=0)
    with app.app_context():
        sms = app.extensions["kepu_sms"]
        # Before registration: silent login requests behave like a registered phone's,
        # cap included (nothing reveals that the phone is unknown).
        for _ in range(3):
            r = sms.send_code(PHONE, "login", IP)
            assert r.ok and not r.sent
        assert sms.send_code(PHONE, "login", IP).message == S_DAILY
        # ...yet registering still works, and afterwards SMS login has its full allowance.
        assert sms.send_code(PHONE, "register", IP).ok
        from kepu.accounts.models import User

        user = User(phone=PHONE)
        user.set_password("Passw0rd!")
        db.session.add(user)
        db.session.commit()
        for _ in range(3):
            r = sms.send_code(PHONE, "login", IP)
            assert r.ok and r.sent
        assert sms.send_code(PHONE, "login", IP).message == S_DAILY
        assert len(sms.backend.outbox) == 4


def test_registered_reply_waits_behind_the_resend_wait(app, make_user, sms_outbox):
    make_user(phone=PHONE)
    sms = app.extensions["kepu_sms"]
    first = sms.send_code(PHONE, "register", IP)
    assert not first.ok and first.message == "该手机号已注册，请直接登录"
    second = sms.send_code(PHONE, "register", IP)
    assert not second.ok and second.message.startswith("请") and "秒后再获取验证码" in second.message
    assert sms_outbox == []


def test_registered_reply_waits_behind_the_daily_caps(app_factory):
    app = app_factory(SMS_DAILY_LIMIT_PER_PHONE=2, SMS_DAILY_LIMIT_PER_IP=3,
                      SMS_RESEND_SECONDS=0)
    with app.app_context():
        from kepu.accounts.models import User

        user = User(phone=PHONE)
        user.set_password("Passw0rd!")
        db.session.add(user)
        db.session.commit()
        sms = app.extensions["kepu_sms"]
        assert sms.send_code(PHONE, "register", IP).message == "该手机号已注册，请直接登录"
        assert sms.send_code(PHONE, "register", IP).message == "该手机号已注册，请直接登录"
        # The phone's cap: the same answer an unregistered phone gets at its cap.
        assert sms.send_code(PHONE, "register", IP).message == S_DAILY
        for _ in range(2):
            assert sms.send_code(OTHER, "register", "198.51.100.9").ok
        assert sms.send_code(OTHER, "register", "198.51.100.9").message == S_DAILY
        # The network's cap comes before the 已注册 answer as well.
        assert sms.send_code("13600000000", "register", IP).ok
        assert sms.send_code("13600000001", "register", IP).message.startswith("当前网络")


def test_register_form_does_not_tell_a_registered_phone_without_a_code(client, make_user):
    make_user(phone=PHONE)
    r = client.post("/account/register", data={"phone": PHONE, "code": "123456",
                                               "password": "Passw0rd!", "confirm": "Passw0rd!"})
    assert r.status_code == 422
    html = r.get_data(as_text=True)
    assert "已注册" not in html
    assert "请先获取验证码" in html
