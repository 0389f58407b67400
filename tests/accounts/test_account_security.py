"""CSRF on every POST (HTMX header included) and login rate limits."""
from __future__ import annotations

import re

from kepu.accounts.models import User
from kepu.extensions import db

PHONE = "13912345678"
PW = "Passw0rd!"


def token_from(html: str) -> str:
    m = re.search(r'name="csrf_token"[^>]*value="([^"]+)"', html) or re.search(
        r'"X-CSRFToken": "([^"]+)"', html)
    assert m, "no CSRF token in page"
    return m.group(1)


def _user(app):
    with app.app_context():
        user = User(phone=PHONE)
        user.set_password(PW)
        db.session.add(user)
        db.session.commit()


def test_csrf_refused_without_token(app_factory):
    app = app_factory(WTF_CSRF_ENABLED=True)
    _user(app)
    client = app.test_client()
    r = client.post("/account/login", data={"method": "password", "phone": PHONE,
                                              "password": PW})
    assert r.status_code == 400
    assert "CSRF" in r.get_data(as_text=True)
    r = client.post("/sms/send", data={"phone": PHONE, "purpose": "register"},
                    headers={"HX-Request": "true"})
    assert r.status_code == 400


def test_csrf_accepted_with_form_token_and_header(app_factory):
    app = app_factory(WTF_CSRF_ENABLED=True)
    _user(app)
    client = app.test_client()
    html = client.get("/account/login").get_data(as_text=True)
    token = token_from(html)
    assert '"X-CSRFToken"' in html  # set once on <body> for HTMX
    r = client.post("/sms/send", data={"phone": "13700000001", "purpose": "register"},
                    headers={"HX-Request": "true", "X-CSRFToken": token})
    assert r.status_code == 200
    r = client.post("/account/login", data={"method": "password", "phone": PHONE,
                                              "password": PW, "csrf_token": token})
    assert r.status_code == 303


def test_login_rate_limited(app_factory):
    app = app_factory(RATELIMIT_ENABLED=True, LOGIN_RATE_LIMIT="3 per minute")
    client = app.test_client()
    data = {"method": "password", "phone": PHONE, "password": "wrong-one"}
    codes = [client.post("/account/login", data=data).status_code for _ in range(4)]
    assert codes[:3] == [422, 422, 422]
    assert codes[3] == 429
    r = client.post("/account/login", data=data)
    assert r.status_code == 429 and "操作过于频繁" in r.get_data(as_text=True)
    assert client.get("/account/login").status_code == 200  # GET is not limited


def test_sms_endpoint_rate_limited(app_factory):
    app = app_factory(RATELIMIT_ENABLED=True, SMS_RATE_LIMIT="2 per minute")
    client = app.test_client()
    codes = [client.post("/sms/send", data={"phone": f"1370000000{i}", "purpose": "register"},
                         headers={"HX-Request": "true"}).status_code for i in range(3)]
    assert codes == [200, 200, 429]
