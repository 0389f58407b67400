"""Change password (current one required) and reset a forgotten one by SMS code."""
from __future__ import annotations

import re

from sqlalchemy import select

from kepu.extensions import db
from kepu.accounts.models import User
from kepu.workflow import AuditLog

PW = "Passw0rd!"
NEW = "N3w-secret"
PHONE = "13912345678"


def change(client, current=PW, new=NEW, confirm=None):
    return client.post("/account/password", data={
        "current_password": current, "new_password": new,
        "confirm": new if confirm is None else confirm})


def test_change_password_page(client, make_user, auth):
    auth.login_as(make_user(phone=PHONE))
    html = client.get("/account/password").get_data(as_text=True)
    for text in ("当前密码", "新密码", "确认新密码"):
        assert text in html


def test_change_password_wrong_current(client, make_user, auth):
    user = make_user(phone=PHONE)
    auth.login_as(user)
    r = change(client, current="not-it")
    assert r.status_code == 422
    html = r.get_data(as_text=True)
    assert re.search(r'id="current_password-field".*?当前密码不正确', html, re.S)
    db.session.refresh(user)
    assert user.check_password(PW)


def test_change_password_validation(client, make_user, auth):
    auth.login_as(make_user(phone=PHONE))
    assert "密码长度须为6-20位" in change(client, new="123").get_data(as_text=True)
    assert "两次输入的密码不一致" in change(client, confirm="other-one").get_data(as_text=True)


def test_change_password_logs_out_other_sessions(app_factory):
    # An app without a pushed app context, so that each request gets its own
    # (Flask-Login caches the user on ``g``, which lives in the app context).
    app = app_factory()
    with app.app_context():
        user = User(phone=PHONE)
        user.set_password(PW)
        db.session.add(user)
        db.session.commit()
    login = {"method": "password", "phone": PHONE, "password": PW}
    other, me = app.test_client(), app.test_client()
    assert other.post("/account/login", data=login).status_code == 303
    assert other.get("/account/").status_code == 200
    assert me.post("/account/login", data=login).status_code == 303

    r = change(me)
    assert r.status_code == 303 and r.headers["Location"] == "/account/"
    # this session continues, the other one is logged out
    assert me.get("/account/").status_code == 200
    assert other.get("/account/").status_code == 302
    with app.app_context():
        user = User.by_phone(PHONE)
        assert user.check_password(NEW) and not user.check_password(PW)
        assert user.session_version == 2
        assert db.session.scalar(select(AuditLog).where(AuditLog.action == "password_change"))
    # logging in again with the new password works
    assert other.post("/account/login", data={**login, "password": NEW}).status_code == 303
    assert other.get("/account/").status_code == 200


def test_reset_page_wording(client):
    html = client.get("/account/reset").get_data(as_text=True)
    for text in ("找回密码", 'placeholder="请输入手机号"', "获取验证码", 'placeholder="请输入验证码"',
                 "新密码", "确认新密码"):
        assert text in html


def test_reset_password_flow(client, make_user, sms_outbox, code_for):
    user = make_user(phone=PHONE)
    r = client.post("/account/reset", data={"phone": PHONE, "action": "send_code"})
    assert r.status_code == 200
    assert "如该手机号已注册，验证码将发送至该手机" in r.get_data(as_text=True)
    assert sms_outbox[-1]["purpose"] == "reset"
    r = client.post("/account/reset", data={"phone": PHONE, "code": code_for(PHONE),
                                              "password": NEW, "confirm": NEW})
    assert r.status_code == 303 and r.headers["Location"].startswith("/account/login")
    assert "密码已重置，请使用新密码登录" in client.get(r.headers["Location"]).get_data(as_text=True)
    db.session.refresh(user)
    assert user.check_password(NEW)
    r = client.post("/account/login", data={"method": "password", "phone": PHONE,
                                              "password": NEW})
    assert r.status_code == 303


def test_reset_wrong_code(client, make_user, code_for):
    user = make_user(phone=PHONE)
    client.post("/account/reset", data={"phone": PHONE, "action": "send_code"})
    good = code_for(PHONE)
    r = client.post("/account/reset", data={"phone": PHONE,
                                              "code": "000000" if good != "000000" else "111111",
                                              "password": NEW, "confirm": NEW})
    assert r.status_code == 422
    assert "验证码错误" in r.get_data(as_text=True)
    db.session.refresh(user)
    assert user.check_password(PW)


def _without_phone(html: str, phone: str) -> str:
    return html.replace(phone, "PHONE")


def test_reset_does_not_disclose_unknown_phone(client, make_user, sms_outbox):
    make_user(phone=PHONE)
    unknown = "13700000000"
    r1 = client.post("/account/reset", data={"phone": PHONE, "action": "send_code"})
    r2 = client.post("/account/reset", data={"phone": unknown, "action": "send_code"})
    assert r1.status_code == r2.status_code == 200
    assert _without_phone(r1.get_data(as_text=True), PHONE) == \
        _without_phone(r2.get_data(as_text=True), unknown)
    assert [m["phone"] for m in sms_outbox] == [PHONE]  # nothing sent to the unknown phone

    # the HTMX endpoint answers the same fragment too, including the resend wait
    f1 = client.post("/sms/send", data={"phone": PHONE, "purpose": "reset"},
                     headers={"HX-Request": "true"})
    f2 = client.post("/sms/send", data={"phone": unknown, "purpose": "reset"},
                     headers={"HX-Request": "true"})
    assert f1.status_code == f2.status_code == 422
    assert f1.get_data(as_text=True) == f2.get_data(as_text=True)

    # and completing the reset for the unknown phone fails like a wrong code
    r = client.post("/account/reset", data={"phone": unknown, "code": "123456",
                                              "password": NEW, "confirm": NEW})
    assert r.status_code == 422 and "验证码错误" in r.get_data(as_text=True)
    assert User.by_phone(unknown) is None
