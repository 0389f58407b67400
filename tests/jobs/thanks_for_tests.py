"""Imported by the real consumer of test_thanks_consumer.py (``KEPU_JOBS_IMPORTS``): the
console SMS backend of that process refuses phones starting with FAILING_PREFIX, like a
provider rejecting a number, so that bounded retries can be seen through a real consumer.
Every other message is written to the console outbox file as usual."""
from __future__ import annotations

from kepu.sms.backends import ConsoleBackend, SmsSendError

FAILING_PREFIX = "1380000009"

_notify = ConsoleBackend.notify


def _notify_or_refuse(self, phone, text, purpose, params):
    if phone.startswith(FAILING_PREFIX):
        raise SmsSendError("号码无效（测试）")
    return _notify(self, phone, text, purpose, params)


ConsoleBackend.notify = _notify_or_refuse
