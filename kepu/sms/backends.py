"""SMS backends behind one interface: ``backend.send(phone, text, code, purpose)`` for
verification codes and ``backend.notify(phone, text, purpose, params)`` for notices
(e.g. a work was returned), whose ``params`` fill a provider's pre-approved template.

- ``console`` (default): appends one JSON line per message to
  ``<instance>/sms_outbox.jsonl`` and logs it. For development and demos.
- ``test``: keeps messages in memory (``backend.outbox``) for the test suite.
- ``tencent``: Tencent Cloud SMS through the official SDK (optional extra
  ``pip install kepu[tencent]``), configured by the ``SMS_TENCENT_*`` settings.

A backend raises ``SmsSendError`` when the message could not be sent.
"""
from __future__ import annotations

import json
import logging
import threading
from pathlib import Path
from typing import Protocol

from ..timeutil import utcnow

log = logging.getLogger("kepu.sms")


class SmsSendError(Exception):
    """The provider refused or failed to send a message."""


class SmsBackend(Protocol):
    name: str

    def send(self, phone: str, text: str, code: str, purpose: str) -> None: ...

    def notify(self, phone: str, text: str, purpose: str, params: list[str]) -> None: ...


def _record(phone: str, text: str, code: str, purpose: str,
            params: list[str] | None = None) -> dict:
    record = {"phone": phone, "text": text, "code": code, "purpose": purpose,
              "at": utcnow().isoformat(timespec="seconds") + "Z"}
    if params is not None:
        record["params"] = list(params)
    return record


class ConsoleBackend:
    name = "console"

    def __init__(self, path: str | Path):
        self.path = Path(path)
        self._lock = threading.Lock()

    def send(self, phone: str, text: str, code: str, purpose: str) -> None:
        self._write(_record(phone, text, code, purpose))

    def notify(self, phone: str, text: str, purpose: str, params: list[str]) -> None:
        self._write(_record(phone, text, "", purpose, params))

    def _write(self, record: dict) -> None:
        phone, text = record["phone"], record["text"]
        line = json.dumps(record, ensure_ascii=False)
        with self._lock:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            with self.path.open("a", encoding="utf-8") as fh:
                fh.write(line + "\n")
        log.info("SMS (console) to %s: %s", phone, text)


class TestBackend:
    name = "test"
    __test__ = False  # not a pytest test class

    def __init__(self):
        self.outbox: list[dict] = []

    def send(self, phone: str, text: str, code: str, purpose: str) -> None:
        self.outbox.append(_record(phone, text, code, purpose))

    def notify(self, phone: str, text: str, purpose: str, params: list[str]) -> None:
        self.outbox.append(_record(phone, text, "", purpose, params))


class TencentBackend:
    """Tencent Cloud SMS (API 2021-01-11). The SDK is imported on first use.

    The code template is expected to take the parameters named in ``template_params``
    (default ``code,minutes`` — e.g. "您的验证码为{1}，{2}分钟内有效"). Notices use one
    template per purpose, ``notice_templates`` ("works_return:1234,works_recommend:5678"),
    filled with the notice's ``params`` (e.g. the work's title); a purpose without a
    template is refused (SmsSendError), never sent through the code template.
    """

    name = "tencent"

    def __init__(self, secret_id: str, secret_key: str, sdk_app_id: str, template_id: str,
                 sign_name: str, region: str = "ap-guangzhou", ttl_minutes: int = 5,
                 template_params: str = "code,minutes", notice_templates: str = ""):
        missing = [n for n, v in (("SMS_TENCENT_SECRET_ID", secret_id),
                                  ("SMS_TENCENT_SECRET_KEY", secret_key),
                                  ("SMS_TENCENT_SDK_APP_ID", sdk_app_id),
                                  ("SMS_TENCENT_TEMPLATE_ID", template_id)) if not v]
        if missing:
            raise RuntimeError("Tencent SMS backend needs settings: " + ", ".join(missing))
        self.secret_id = secret_id
        self.secret_key = secret_key
        self.sdk_app_id = str(sdk_app_id)
        self.template_id = str(template_id)
        self.sign_name = sign_name
        self.region = region
        self.ttl_minutes = ttl_minutes
        self.template_params = [p.strip() for p in template_params.split(",") if p.strip()]
        self.notice_templates = dict(
            (k.strip(), v.strip()) for k, _, v in
            (item.partition(":") for item in notice_templates.split(",") if ":" in item))
        self._client = None

    def _sdk(self):
        try:
            from tencentcloud.common import credential
            from tencentcloud.common.exception.tencent_cloud_sdk_exception import (
                TencentCloudSDKException,
            )
            from tencentcloud.sms.v20210111 import models, sms_client
        except ImportError as e:  # pragma: no cover - depends on the environment
            raise SmsSendError(
                "tencentcloud-sdk-python-sms is not installed (pip install kepu[tencent])"
            ) from e
        return credential, models, sms_client, TencentCloudSDKException

    def client(self):
        credential, _models, sms_client, _exc = self._sdk()
        if self._client is None:
            cred = credential.Credential(self.secret_id, self.secret_key)
            self._client = sms_client.SmsClient(cred, self.region)
        return self._client

    def send(self, phone: str, text: str, code: str, purpose: str) -> None:
        values = {"code": code, "minutes": str(self.ttl_minutes)}
        self._send(phone, self.template_id, [values.get(p, "") for p in self.template_params])

    def notify(self, phone: str, text: str, purpose: str, params: list[str]) -> None:
        template = self.notice_templates.get(purpose)
        if not template:
            raise SmsSendError(f"no Tencent notice template for {purpose!r} "
                               "(SMS_TENCENT_NOTICE_TEMPLATES)")
        self._send(phone, template, [str(p) for p in params])

    def _send(self, phone: str, template_id: str, params: list[str]) -> None:
        _credential, models, _sms_client, sdk_error = self._sdk()
        req = models.SendSmsRequest()
        req.SmsSdkAppId = self.sdk_app_id
        req.SignName = self.sign_name
        req.TemplateId = template_id
        req.TemplateParamSet = params
        req.PhoneNumberSet = ["+86" + phone]
        try:
            resp = self.client().SendSms(req)
        except sdk_error as e:
            log.error("Tencent SMS error for %s: %s", phone, e)
            raise SmsSendError(str(e)) from e
        statuses = resp.SendStatusSet or []
        if not statuses or statuses[0].Code != "Ok":
            detail = (f"{statuses[0].Code}: {statuses[0].Message}" if statuses
                      else "empty SendStatusSet")
            log.error("Tencent SMS refused for %s: %s", phone, detail)
            raise SmsSendError(detail)
        log.info("SMS (tencent) to %s sent, serial %s", phone, statuses[0].SerialNo)


def make_backend(app) -> SmsBackend:
    kind = (app.config.get("SMS_BACKEND") or "console").lower()
    if kind == "console":
        return ConsoleBackend(Path(app.instance_path) / "sms_outbox.jsonl")
    if kind == "test":
        return TestBackend()
    if kind == "tencent":
        c = app.config
        return TencentBackend(
            secret_id=c.get("SMS_TENCENT_SECRET_ID", ""),
            secret_key=c.get("SMS_TENCENT_SECRET_KEY", ""),
            sdk_app_id=c.get("SMS_TENCENT_SDK_APP_ID", ""),
            template_id=c.get("SMS_TENCENT_TEMPLATE_ID", ""),
            sign_name=c.get("SMS_SIGN_NAME", ""),
            region=c.get("SMS_TENCENT_REGION", "ap-guangzhou"),
            ttl_minutes=max(1, int(c.get("SMS_CODE_TTL_SECONDS", 300)) // 60),
            template_params=c.get("SMS_TENCENT_TEMPLATE_PARAMS", "code,minutes"),
            notice_templates=c.get("SMS_TENCENT_NOTICE_TEMPLATES", ""),
        )
    raise RuntimeError(f"Unknown SMS_BACKEND {kind!r} (console | test | tencent)")
