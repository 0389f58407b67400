"""Periodic upload maintenance on the task queue (run by ``flask kepu worker``)."""
from __future__ import annotations

import logging
from datetime import timedelta

from flask import current_app

from .. import jobs

log = logging.getLogger(__name__)


@jobs.periodic(jobs.crontab(minute="7"))
def purge_uploads_task() -> None:
    """Hourly: what ``flask purge-uploads`` does — unattached uploads older than
    ``UPLOAD_ORPHAN_HOURS`` and stale temp parts are deleted."""
    from .operations import purge_orphans

    files, temps = purge_orphans(timedelta(hours=float(current_app.config["UPLOAD_ORPHAN_HOURS"])))
    if files or temps:
        log.info("purged %s unattached uploads and %s temp parts", files, temps)
