"""Backends: console (JSON lines in instance/sms_outbox.jsonl) and Tencent Cloud (fake SDK)."""
from __future__ import annotations

import json
from pathlib import Path

import pytest

from kepu.sms.backends import ConsoleBackend, SmsSendError, TencentBackend, TestBackend

PHONE = "13912345678"


def test_console_backend_writes_json_lines(app_factory):
    app = app_factory(SMS_BACKEND="console")
    backend = app.extensions["kepu_sms"].backend
    assert isinstance(backend, ConsoleBackend)
    with app.app_context():
        assert app.extensions["kepu_sms"].send_code(PHONE, "register", "127.0.0.1").ok
        assert app.extensions["kepu_sms"].send_code("13700000000", "register", "127.0.0.1").ok
    path = Path(app.instance_path) / "sms_outbox.jsonl"
    lines = path.read_text(encoding="utf-8").splitlines()
    assert len(lines) == 2
    first = json.loads(lines[0])
    assert set(first) == {"phone", "text", "code", "purpose", "at"}
    assert first["phone"] == PHONE and first["purpose"] == "register"
    assert first["code"] in first["text"] and "验证码" in first["text"]


def test_demo_mode_says_where_the_code_went(app_factory):
    app = app_factory(SMS_BACKEND="console", DEMO_MODE=True)
    client = app.test_client()
    r = client.post("/account/register", data={"phone": PHONE, "action": "send_code"})
    assert "演示模式：验证码已写入 instance/sms_outbox.jsonl" in r.get_data(as_text=True)
    r = client.post("/sms/send", data={"phone": "13700000000", "purpose": "register"},
                    headers={"HX-Request": "true"})
    assert "演示模式：验证码已写入 instance/sms_outbox.jsonl" in r.get_data(as_text=True)


def test_no_demo_note_outside_demo_mode(app_factory):
    app = app_factory(SMS_BACKEND="console")
    r = app.test_client().post("/account/register", data={"phone": PHONE, "action": "send_code"})
    assert "演示模式" not in r.get_data(as_text=True)


def test_test_backend_is_default_in_tests(app):
    assert isinstance(app.extensions["kepu_sms"].backend, TestBackend)


def test_unknown_backend_refused(app_factory):
    with pytest.raises(RuntimeError, match="Unknown SMS_BACKEND"):
        app_factory(SMS_BACKEND="carrier-pigeon")


# --- Tencent Cloud, faked at the SDK's HTTP call -----------------------------------------------

TENCENT = dict(SMS_BACKEND="tencent", SMS_TENCENT_SECRET_ID="AKIDtest",
               SMS_TENCENT_SECRET_KEY="secret", SMS_TENCENT_SDK_APP_ID="1400000000",
               SMS_TENCENT_TEMPLATE_ID="123456", SMS_SIGN_NAME="科普征集平台")


@pytest.fixture
def fake_tencent(monkeypatch):
    """Replace the SDK client's HTTP call; record what would have been sent."""
    from tencentcloud.sms.v20210111 import sms_client

    calls = []
    state = {"code": "Ok", "message": "send success"}

    def fake_call(self, action, params, *args, **kwargs):
        calls.append({"action": action, "params": params, "region": self.region,
                      "secret_id": self.credential.secret_id})
        return json.dumps({"Response": {
            "SendStatusSet": [{"SerialNo": "2019:123", "PhoneNumber": params["PhoneNumberSet"][0],
                               "Fee": 1, "SessionContext": "", "Code": state["code"],
                               "Message": state["message"], "IsoCode": "CN"}],
            "RequestId": "req-1"}})

    monkeypatch.setattr(sms_client.SmsClient, "call", fake_call)
    return calls, state


def test_tencent_backend_sends_through_sdk(app_factory, fake_tencent):
    calls, _state = fake_tencent
    app = app_factory(**TENCENT)
    assert isinstance(app.extensions["kepu_sms"].backend, TencentBackend)
    with app.app_context():
        result = app.extensions["kepu_sms"].send_code(PHONE, "register", "127.0.0.1")
    assert result.ok and result.sent
    assert len(calls) == 1
    call = calls[0]
    assert call["action"] == "SendSms" and call["region"] == "ap-guangzhou"
    assert call["secret_id"] == "AKIDtest"
    p = call["params"]
    assert p["PhoneNumberSet"] == ["+86" + PHONE]
    assert p["SmsSdkAppId"] == "1400000000" and p["TemplateId"] == "123456"
    assert p["SignName"] == "科普征集平台"
    code, minutes = p["TemplateParamSet"]
    assert len(code) == 6 and code.isdigit() and minutes == "5"
    with app.app_context():
        assert app.extensions["kepu_sms"].verify_code(PHONE, "register", code)


def test_tencent_refusal_is_an_error(app_factory, fake_tencent):
    _calls, state = fake_tencent
    state.update(code="LimitExceeded.PhoneNumberDailyLimit", message="daily limit")
    app = app_factory(**TENCENT)
    with app.app_context():
        result = app.extensions["kepu_sms"].send_code(PHONE, "register", "127.0.0.1")
    assert not result.ok and result.message == "短信发送失败，请稍后重试"
    backend = app.extensions["kepu_sms"].backend
    with pytest.raises(SmsSendError, match="LimitExceeded"):
        backend.send(PHONE, "text", "123456", "register")


def test_tencent_sdk_exception_is_an_error(app_factory, monkeypatch):
    from tencentcloud.common.exception.tencent_cloud_sdk_exception import (
        TencentCloudSDKException,
    )
    from tencentcloud.sms.v20210111 import sms_client

    def fail(self, *a, **kw):
        raise TencentCloudSDKException("AuthFailure.SecretIdNotFound", "bad id")

    monkeypatch.setattr(sms_client.SmsClient, "call", fail)
    backend = app_factory(**TENCENT).extensions["kepu_sms"].backend
    with pytest.raises(SmsSendError, match="AuthFailure"):
        backend.send(PHONE, "text", "123456", "register")


def test_tencent_backend_needs_settings(app_factory):
    with pytest.raises(RuntimeError, match="SMS_TENCENT_SECRET_ID"):
        app_factory(SMS_BACKEND="tencent")


def test_tencent_notice_uses_its_own_template_with_params(app_factory, fake_tencent):
    calls, _state = fake_tencent
    app = app_factory(**TENCENT, SMS_TENCENT_NOTICE_TEMPLATES="works_return:777, works_recommend:888")
    backend = app.extensions["kepu_sms"].backend
    backend.notify(PHONE, "您申报的作品《量子》已被退回修改……", "works_return", ["量子"])
    p = calls[-1]["params"]
    assert p["TemplateId"] == "777" and p["TemplateParamSet"] == ["量子"]
    assert p["PhoneNumberSet"] == ["+86" + PHONE]


def test_tencent_notice_without_template_is_refused_not_sent_as_a_code(app_factory,
                                                                        fake_tencent):
    calls, _state = fake_tencent
    app = app_factory(**TENCENT)
    with pytest.raises(SmsSendError, match="works_return"):
        app.extensions["kepu_sms"].backend.notify(PHONE, "text", "works_return", ["量子"])
    assert calls == []


def test_console_backend_records_notices(app_factory):
    app = app_factory(SMS_BACKEND="console")
    backend = app.extensions["kepu_sms"].backend
    backend.notify(PHONE, "作品已完成推荐", "works_recommend", ["量子"])
    line = json.loads(backend.path.read_text(encoding="utf-8").splitlines()[-1])
    assert line["purpose"] == "works_recommend" and line["params"] == ["量子"]
    assert line["text"] == "作品已完成推荐" and line["code"] == ""
