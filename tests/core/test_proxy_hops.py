"""KEPU_PROXY_HOPS: trusted reverse-proxy hops (ProxyFix). Rate limits and SMS caps key
on the client's address, not the proxy's; without trusted hops the header is ignored."""
from __future__ import annotations

from sqlalchemy import select

from kepu.extensions import db
from kepu.sms.models import SmsCode

DATA = {"method": "password", "phone": "13912345678", "password": "wrong-one"}


def _login(client, xff):
    return client.post("/account/login", data=DATA,
                       headers={"X-Forwarded-For": xff}).status_code


def test_behind_one_proxy_each_client_has_its_own_limit(app_factory):
    app = app_factory(PROXY_HOPS=1, RATELIMIT_ENABLED=True, LOGIN_RATE_LIMIT="2 per minute")
    client = app.test_client()
    assert [_login(client, "198.51.100.1") for _ in range(3)] == [422, 422, 429]
    # Another client behind the same proxy is not locked out by the first one.
    assert _login(client, "198.51.100.2") == 422
    # A spoofed left-most entry does not help: only the hop the proxy added counts.
    assert _login(client, "10.9.9.9, 198.51.100.1") == 429


def test_without_trusted_hops_the_header_is_ignored(app_factory):
    app = app_factory(RATELIMIT_ENABLED=True, LOGIN_RATE_LIMIT="2 per minute")
    assert app.config["PROXY_HOPS"] == 0
    client = app.test_client()
    assert [_login(client, f"198.51.100.{i}") for i in range(3)] == [422, 422, 429]


def test_sms_caps_record_the_client_address_and_scheme(app_factory):
    app = app_factory(PROXY_HOPS=1)
    seen = {}

    @app.get("/_probe_scheme")
    def _probe():
        from flask import request
        seen["scheme"], seen["addr"] = request.scheme, request.remote_addr
        return "ok"

    client = app.test_client()
    r = client.post("/sms/send", data={"phone": "13700000000", "purpose": "register"},
                    headers={"X-Forwarded-For": "203.0.113.50", "X-Forwarded-Proto": "https",
                             "HX-Request": "true"})
    assert r.status_code == 200
    with app.app_context():
        assert db.session.scalar(select(SmsCode.ip)) == "203.0.113.50"
    client.get("/_probe_scheme", headers={"X-Forwarded-For": "203.0.113.51",
                                          "X-Forwarded-Proto": "https"})
    assert seen == {"scheme": "https", "addr": "203.0.113.51"}
