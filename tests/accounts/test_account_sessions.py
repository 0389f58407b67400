"""Sessions end on the server: a cookie copied before 退出登录 / 退出所有设备 / a password
change opens nothing afterwards."""
from __future__ import annotations

from sqlalchemy import func, select

from kepu.extensions import db

PHONE = "13912345678"


def _cookie(client) -> str:
    cookie = client.get_cookie("session", domain="localhost")
    assert cookie is not None
    return cookie.value


def _replay(app, value: str):
    other = app.test_client()
    other.set_cookie("session", value, domain="localhost")
    return other.get("/account/")


def test_replayed_cookie_after_logout_opens_nothing(app, client, make_user, auth):
    make_user(phone=PHONE)
    assert auth.login(PHONE).status_code == 303
    copied = _cookie(client)
    assert _replay(app, copied).status_code == 200   # the copy works while logged in
    assert auth.logout().status_code == 303
    r = _replay(app, copied)
    assert r.status_code == 302 and "/account/login" in r.headers["Location"]


def test_logout_ends_only_this_session(app, make_user, auth):
    make_user(phone=PHONE)
    first, second = app.test_client(), app.test_client()
    for c in (first, second):
        c.post("/account/login", data={"method": "password", "phone": PHONE,
                                       "password": "Passw0rd!"})
    first.post("/account/logout")
    assert first.get("/account/").status_code == 302
    assert second.get("/account/").status_code == 200


def test_logout_everywhere_ends_every_session(app, make_user):
    from kepu.accounts.models import UserSession

    user = make_user(phone=PHONE)
    devices = [app.test_client() for _ in range(3)]
    for c in devices:
        c.post("/account/login", data={"method": "password", "phone": PHONE,
                                       "password": "Passw0rd!"})
    copied = _cookie(devices[1])
    page = devices[0].get("/account/").get_data(as_text=True)
    assert "退出所有设备" in page
    r = devices[0].post("/account/logout-everywhere")
    assert r.status_code == 303 and "/account/login" in r.headers["Location"]
    for c in devices:
        assert c.get("/account/").status_code == 302
    assert _replay(app, copied).status_code == 302
    n = db.session.scalar(select(func.count(UserSession.id))
                          .where(UserSession.user_id == user.id))
    assert n == 0


def test_logout_everywhere_needs_login_and_post(client):
    assert client.get("/account/logout-everywhere").status_code == 405
    r = client.post("/account/logout-everywhere")
    assert r.status_code == 302 and "/account/login" in r.headers["Location"]


def test_password_change_ends_other_sessions_keeps_this_one(app, make_user):
    make_user(phone=PHONE)
    here, there = app.test_client(), app.test_client()
    for c in (here, there):
        c.post("/account/login", data={"method": "password", "phone": PHONE,
                                       "password": "Passw0rd!"})
    copied = _cookie(there)
    r = here.post("/account/password", data={"current_password": "Passw0rd!",
                                              "new_password": "N3wPassw0rd!",
                                              "confirm": "N3wPassw0rd!"})
    assert r.status_code == 303
    assert here.get("/account/").status_code == 200
    assert there.get("/account/").status_code == 302
    assert _replay(app, copied).status_code == 302


def test_deactivated_user_sessions_end(app, client, make_user, auth):
    from kepu.accounts.models import User
    from kepu.accounts.operations import set_active

    make_user(phone=PHONE)
    auth.login(PHONE)
    copied = _cookie(client)
    set_active(db.session.get(User, User.by_phone(PHONE).id), False)
    assert _replay(app, copied).status_code == 302


def test_session_rows_expire(app, client, make_user, auth):
    from datetime import timedelta

    from kepu.accounts.models import UserSession

    make_user(phone=PHONE)
    auth.login(PHONE)
    copied = _cookie(client)
    row = db.session.scalar(select(UserSession))
    row.created_at = row.created_at - app.permanent_session_lifetime - timedelta(minutes=1)
    db.session.commit()
    assert _replay(app, copied).status_code == 302
