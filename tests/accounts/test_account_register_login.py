"""Register with an SMS code, log in by password and by code, log out."""
from __future__ import annotations

import re

from sqlalchemy import select

from kepu.accounts.models import User
from kepu.extensions import db

PW = "Passw0rd!"
PHONE = "13912345678"


def send(client, url, phone, **extra):
    data = {"phone": phone, "action": "send_code", **extra}
    return client.post(url, data=data)


def register(client, phone=PHONE, code="000000", password=PW, confirm=None):
    return client.post("/account/register", data={
        "phone": phone, "code": code, "password": password,
        "confirm": password if confirm is None else confirm})


def test_register_page_wording(client):
    html = client.get("/account/register").get_data(as_text=True)
    for text in ("用户注册", "注册后可使用活动全部功能", 'placeholder="请输入手机号"',
                 'placeholder="请输入验证码"', "获取验证码", 'placeholder="请设置密码（6-20位）"',
                 'placeholder="请再次确认密码"', ">注册</button>", "已有账号？", "立即登录",
                 'name="action" value="send_code"', 'hx-post="/sms/send"'):
        assert text in html, text


def test_register_end_to_end(client, sms_outbox, code_for):
    r = send(client, "/account/register", PHONE, password="x", confirm="y")
    html = r.get_data(as_text=True)
    assert r.status_code == 200
    assert "验证码已发送，请注意查收" in html
    assert 'value="13912345678"' in html          # the phone is kept
    assert 'data-sms-countdown="60"' in html and "重新获取验证码" in html
    assert len(sms_outbox) == 1 and sms_outbox[0]["purpose"] == "register"

    r = register(client, code=code_for(PHONE))
    assert r.status_code == 303
    assert r.headers["Location"].startswith("/account/login")
    page = client.get(r.headers["Location"]).get_data(as_text=True)
    assert "注册成功，请登录" in page
    user = db.session.scalar(select(User).where(User.phone == PHONE))
    assert user is not None and user.check_password(PW)
    assert PW not in user.password_hash and user.password_hash.startswith("scrypt:")


def test_register_refuses_registered_phone(client, make_user):
    make_user(phone=PHONE)
    r = send(client, "/account/register", PHONE)
    assert r.status_code == 422
    assert "该手机号已注册，请直接登录" in r.get_data(as_text=True)


def test_register_validation_messages_and_values_kept(client):
    r = register(client, phone="1391234567", password="12345", confirm="54321")
    html = r.get_data(as_text=True)
    assert r.status_code == 422
    assert "请输入正确的手机号" in html
    assert "密码长度须为6-20位" in html
    assert "两次输入的密码不一致" in html
    assert 'value="1391234567"' in html


def test_register_password_too_long(client):
    r = register(client, password="a" * 21)
    assert "密码长度须为6-20位" in r.get_data(as_text=True)


def test_register_without_code_requested(client):
    r = register(client, code="123456")
    assert r.status_code == 422
    assert "请先获取验证码" in r.get_data(as_text=True)
    assert db.session.scalar(select(User).where(User.phone == PHONE)) is None


def test_register_wrong_code(client, code_for):
    send(client, "/account/register", PHONE)
    good = code_for(PHONE)
    bad = "000000" if good != "000000" else "111111"
    r = register(client, code=bad)
    assert r.status_code == 422
    assert "验证码错误，还可尝试4次" in r.get_data(as_text=True)
    assert register(client, code=good).status_code == 303


def test_sms_button_usable_without_javascript_while_waiting(client):
    """The page renders the button enabled (sms.js disables it and counts down): without
    JavaScript a disabled "59秒后重新获取" would never tick. An early resend is refused
    by the server with the seconds left, everything typed kept."""
    send(client, "/account/register", PHONE)
    r = register(client, code="12")  # re-render with an error
    html = r.get_data(as_text=True)
    button = re.search(r'<button[^>]*value="send_code"[^>]*>[^<]*</button>', html).group(0)
    assert "data-sms-countdown" in button and "disabled" not in button
    assert "重新获取验证码" in button
    r = send(client, "/account/register", PHONE)
    html = r.get_data(as_text=True)
    assert r.status_code == 422 and "秒后再获取验证码" in html
    assert 'value="13912345678"' in html


# --- login -----------------------------------------------------------------------------

def test_login_page_wording(client):
    html = client.get("/account/login").get_data(as_text=True)
    for text in ("密码登录", "验证码登录", 'name="method"', 'value="password"', ">登录</button>",
                 "立即注册", "忘记密码？"):
        assert text in html, text
    html = client.get("/account/login?method=sms").get_data(as_text=True)
    assert 'value="sms"' in html and "获取验证码" in html and 'placeholder="请输入验证码"' in html


def test_login_by_password(client, make_user, auth):
    make_user(phone=PHONE)
    r = auth.login(PHONE)
    assert r.status_code == 302 or r.status_code == 303
    assert r.headers["Location"] == "/workbench"  # every role lands on its workbench
    page = client.get("/account/").get_data(as_text=True)
    assert "个人中心" in page and "139****5678" in page


def test_login_wrong_password_and_unknown_phone_same_message(client, make_user, auth):
    make_user(phone=PHONE)
    r1 = auth.login(PHONE, "wrong-password")
    r2 = auth.login("13700000000", "wrong-password")
    for r in (r1, r2):
        assert r.status_code == 422
        assert "手机号或密码错误" in r.get_data(as_text=True)
    assert client.get("/account/").status_code == 302


def test_login_inactive_user_refused(client, make_user, auth):
    make_user(phone=PHONE, active=False)
    r = auth.login(PHONE)
    assert r.status_code == 422
    assert "该账号已被停用" in r.get_data(as_text=True)


def test_login_follows_safe_next_only(client, make_user):
    make_user(phone=PHONE)
    data = {"method": "password", "phone": PHONE, "password": PW}
    r = client.post("/account/login", data={**data, "next": "/account/password"})
    assert r.headers["Location"] == "/account/password"
    client.post("/account/logout")
    for evil in ("//evil.example/x", "https://evil.example/", "/\\evil.example", "javascript:x"):
        r = client.post("/account/login", data={**data, "next": evil})
        assert r.headers["Location"] == "/workbench", evil
        client.post("/account/logout")


def test_login_clears_previous_session(client, make_user, auth):
    make_user(phone=PHONE)
    with client.session_transaction() as sess:
        sess["planted"] = "attacker"
    auth.login(PHONE)
    with client.session_transaction() as sess:
        assert "planted" not in sess
        assert sess["_user_id"].startswith(str(User.by_phone(PHONE).id) + ":")


def test_login_by_sms_code(client, make_user, sms_outbox, code_for):
    make_user(phone=PHONE)
    r = send(client, "/account/login", PHONE, method="sms")
    assert r.status_code == 200
    assert "如该手机号已注册，验证码将发送至该手机" in r.get_data(as_text=True)
    assert sms_outbox[-1]["purpose"] == "login"
    r = client.post("/account/login", data={"method": "sms", "phone": PHONE,
                                              "code": code_for(PHONE)})
    assert r.status_code in (302, 303) and r.headers["Location"] == "/workbench"
    assert client.get("/account/").status_code == 200


def test_login_by_sms_wrong_code(client, make_user, code_for):
    make_user(phone=PHONE)
    send(client, "/account/login", PHONE, method="sms")
    good = code_for(PHONE)
    r = client.post("/account/login", data={"method": "sms", "phone": PHONE,
                                              "code": "000000" if good != "000000" else "111111"})
    assert r.status_code == 422
    assert "验证码错误" in r.get_data(as_text=True)
    assert client.get("/account/").status_code == 302


def test_login_by_sms_unknown_phone_not_disclosed(client, sms_outbox):
    r = send(client, "/account/login", "13700000000", method="sms")
    assert r.status_code == 200
    assert "如该手机号已注册，验证码将发送至该手机" in r.get_data(as_text=True)
    assert sms_outbox == []
    r = client.post("/account/login", data={"method": "sms", "phone": "13700000000",
                                              "code": "123456"})
    assert r.status_code == 422
    assert "验证码错误" in r.get_data(as_text=True)


def test_logout(client, make_user, auth):
    make_user(phone=PHONE)
    auth.login(PHONE)
    r = auth.logout()
    assert r.status_code == 303 and r.headers["Location"] == "/"
    assert client.get("/account/").status_code == 302


def test_logout_requires_post(client):
    assert client.get("/account/logout").status_code == 405


def test_profile_requires_login(client):
    r = client.get("/account/")
    assert r.status_code == 302 and "/account/login" in r.headers["Location"]
