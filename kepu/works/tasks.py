"""Tasks of the works call on the task queue (kepu.jobs)."""
from __future__ import annotations

from .. import jobs


@jobs.task()
def send_notice(work_id: int, event: str) -> None:
    """A delayed 退回 / 推荐 notice (kepu.works.operations.common.notify): sent only if the
    decision still stands."""
    from ..extensions import db
    from .models import Work
    from .operations.common import send_notice_now

    send_notice_now(db.session.get(Work, work_id), event)
