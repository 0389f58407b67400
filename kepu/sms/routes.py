"""SMS endpoint for HTMX: ``POST /sms/send`` (phone, purpose).

Answers a fragment: the 获取验证码 button (disabled with a countdown after a send)
and, out of band, the message next to the phone field. Errors answer 422 so that
HTMX swaps them (see the htmx-config in base.html).
"""
from __future__ import annotations

from flask import abort, current_app, request

from ..extensions import limiter
from ..htmx import render
from . import bp
from .service import PURPOSES, SendResult, send_code as send_sms_code


def _sms_limit() -> str:
    return current_app.config["SMS_RATE_LIMIT"]


@bp.post("/send")
@limiter.limit(_sms_limit)
def send_code():
    purpose = request.form.get("purpose", "")
    if purpose not in PURPOSES:
        abort(400)
    phone = request.form.get("phone", "")
    if not phone.strip():
        result = SendResult(False, "请输入手机号")
    else:
        result = send_sms_code(phone, purpose, request.remote_addr)
    return render("accounts/_sms_fragment.html", sms=result, purpose=purpose,
                  wait=result.wait_seconds, status=200 if result.ok else 422)
