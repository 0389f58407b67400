"""POST /sms/send: the HTMX fragment (countdown button + message)."""
from __future__ import annotations

PHONE = "13912345678"
HX = {"HX-Request": "true"}


def test_fragment_after_send(client, sms_outbox):
    r = client.post("/sms/send", data={"phone": PHONE, "purpose": "register"}, headers=HX)
    html = r.get_data(as_text=True)
    assert r.status_code == 200
    assert "<html" not in html
    assert 'id="sms-btn"' in html and "disabled" in html
    assert 'data-sms-countdown="60"' in html and "60秒后重新获取" in html
    assert 'id="sms-msg"' in html and 'hx-swap-oob="true"' in html
    assert "验证码已发送，请注意查收" in html
    assert len(sms_outbox) == 1


def test_fragment_errors_are_422(client, sms_outbox):
    r = client.post("/sms/send", data={"phone": "123", "purpose": "register"}, headers=HX)
    assert r.status_code == 422 and "请输入正确的手机号" in r.get_data(as_text=True)
    r = client.post("/sms/send", data={"phone": "", "purpose": "register"}, headers=HX)
    assert r.status_code == 422 and "请输入手机号" in r.get_data(as_text=True)
    client.post("/sms/send", data={"phone": PHONE, "purpose": "register"}, headers=HX)
    r = client.post("/sms/send", data={"phone": PHONE, "purpose": "register"}, headers=HX)
    html = r.get_data(as_text=True)
    assert r.status_code == 422
    assert "秒后再获取验证码" in html and "data-sms-countdown" in html
    assert len(sms_outbox) == 1


def test_unknown_purpose_is_400(client):
    r = client.post("/sms/send", data={"phone": PHONE, "purpose": "spam"}, headers=HX)
    assert r.status_code == 400


def test_send_requires_post(client):
    assert client.get("/sms/send").status_code == 405
