"""The task queue: Huey, bound per app, and the ``Job`` rows of slow work users wait for.

Storage: ``SqliteHuey`` in ``instance/jobs.sqlite3`` (``JOBS_SQLITE_PATH``) by default,
``RedisHuey`` when ``REDIS_URL`` (env ``KEPU_REDIS_URL``) is set. ``JOBS_IMMEDIATE``
runs every task at once in the calling process (unit tests). The consumer is
``flask --app app kepu worker`` (``./scripts/run`` starts it next to the web server).

Declaring a task (any module imported by ``create_app``, e.g. a blueprint's routes or
``tasks.py`` module, or listed in ``JOBS_IMPORTS``; the consumer only runs tasks whose
module it imported)::

    from kepu import jobs

    @jobs.task()
    def send_notices(batch_id: int) -> None:
        ...                      # runs in an app context of the consumer's app: db works

    send_notices.delay(42)       # enqueue (in immediate mode it runs now)
    send_notices(42)             # a plain call, here and now

    @jobs.periodic(jobs.crontab(minute="0"))     # hourly, in the consumer
    def purge_something() -> None:
        ...

Arguments are pickled: pass ids and plain values, never ORM objects. A task must not
use ``current_user`` or ``request``: there is none in the consumer.

**File jobs** — anything a user would otherwise wait for (a big export, a slow PDF):
register a *file kind* and start a ``Job``; the user follows it on ``/jobs/<id>`` and
downloads the file there (only the requester; kept ``EXPORT_RETENTION_HOURS``)::

    @jobs.file_kind("cases.summary_pdf")
    def summary_pdf(user, params) -> jobs.FileSpec:
        org = db.session.get(Org, params["org_id"])
        if org is None or not can_download_summary(user, org):   # re-check: the
            raise jobs.JobRefused("无权生成该单位的汇总表")            # worker calls this
        def write(out, progress):                # out: a binary file; progress: Progress
            out.write(render_summary_pdf(org))
        return jobs.FileSpec(f"{org.name}_案例推荐汇总表.pdf", write)

    # in the route (login required):
    return jobs.start_file_job_response("cases.summary_pdf", {"org_id": org.id},
                                        "案例推荐汇总表（PDF）")

xlsx exports register through ``kepu.exports.export_kind`` (rows and sheets instead of a
write function); they run on the same machinery.
"""
from __future__ import annotations

import logging
import os
import secrets
import time
import traceback
from dataclasses import dataclass
from datetime import datetime, timedelta
from importlib import import_module
from pathlib import Path
from typing import Any, BinaryIO, Callable

import click
from flask import Flask, current_app
from huey import RedisHuey, SqliteHuey, crontab  # noqa: F401  (crontab re-exported)
from sqlalchemy import JSON, ForeignKey, Index, String, select, update
from sqlalchemy.orm import Mapped, mapped_column

from .extensions import db
from .timeutil import fmt, utcnow

log = logging.getLogger(__name__)

__all__ = [
    "task", "periodic", "crontab", "Job", "FileSpec", "Progress", "JobRefused",
    "file_kind", "start_file_job", "start_file_job_response", "init_jobs", "queue",
]


# --- declaring tasks ---------------------------------------------------------------------

@dataclass
class _Declared:
    name: str
    func: Callable
    schedule: Callable | None
    options: dict


_DECLARED: dict[str, _Declared] = {}


class TaskHandle:
    """What ``@jobs.task()`` returns: call it to run now, ``.delay()`` to enqueue."""

    def __init__(self, declared: _Declared):
        self._declared = declared
        self.__name__ = declared.func.__name__
        self.__doc__ = declared.func.__doc__
        self.__wrapped__ = declared.func

    @property
    def name(self) -> str:
        return self._declared.name

    def __call__(self, *args, **kwargs):
        return self._declared.func(*args, **kwargs)

    def delay(self, *args, **kwargs) -> None:
        """Enqueue on the current app's queue (runs at once in immediate mode)."""
        queue().enqueue(self._declared.name, args, kwargs)

    def schedule(self, *args, delay: float | timedelta | None = None,
                 eta: datetime | None = None, **kwargs) -> None:
        """Enqueue to run after ``delay`` (seconds or timedelta) or at ``eta`` (UTC)."""
        queue().enqueue(self._declared.name, args, kwargs, delay=delay, eta=eta)


def _declare(func: Callable, schedule, name: str | None, options: dict) -> TaskHandle:
    full = f"{func.__module__}.{name or func.__name__}"
    existing = _DECLARED.get(full)
    if existing is not None and existing.func is not func:
        if existing.func.__qualname__ != func.__qualname__:
            raise ValueError(f"task {full!r} declared twice")
    declared = _Declared(full, func, schedule, options)
    _DECLARED[full] = declared
    return TaskHandle(declared)


def task(name: str | None = None, **options) -> Callable[[Callable], TaskHandle]:
    """Declare a task. ``options`` go to Huey (``retries``, ``retry_delay``, ``priority``)."""
    return lambda func: _declare(func, None, name, options)


def periodic(schedule: Callable, name: str | None = None,
             **options) -> Callable[[Callable], TaskHandle]:
    """Declare a periodic task, e.g. ``@jobs.periodic(jobs.crontab(minute="*/15"))``."""
    return lambda func: _declare(func, schedule, name, options)


# --- the queue of one app ----------------------------------------------------------------

class JobQueue:
    """The Huey instance of one app; every declared task runs in that app's context."""

    def __init__(self, app: Flask):
        self.app = app
        cfg = app.config
        name = cfg["JOBS_QUEUE_NAME"]
        immediate = bool(cfg.get("JOBS_IMMEDIATE"))
        if cfg.get("REDIS_URL"):
            self.backend = "redis"
            self.huey = RedisHuey(name, url=cfg["REDIS_URL"], results=False,
                                  immediate=immediate)
        else:
            self.backend = "sqlite"
            path = Path(cfg["JOBS_SQLITE_PATH"])
            if not immediate:
                path.parent.mkdir(parents=True, exist_ok=True)
            self.huey = SqliteHuey(name, filename=str(path), results=False,
                                   immediate=immediate)
        self._bound: dict[str, Any] = {}

        @self.huey.on_startup()
        def _fresh_connections():
            # A forked (process) worker must not share the parent's DB connections.
            with app.app_context():
                db.engine.dispose(close=False)

        self.bind_declared()

    @property
    def immediate(self) -> bool:
        return self.huey.immediate

    def bind_declared(self) -> None:
        for declared in list(_DECLARED.values()):
            if declared.name not in self._bound:
                self._bind(declared)

    def _bind(self, declared: _Declared) -> None:
        app, func = self.app, declared.func

        def run(*args, **kwargs):
            with app.app_context():
                return func(*args, **kwargs)

        run.__module__ = func.__module__
        short = declared.name[len(func.__module__) + 1:]
        if declared.schedule is not None:
            wrapper = self.huey.periodic_task(declared.schedule, name=short,
                                              **declared.options)(run)
        else:
            wrapper = self.huey.task(name=short, **declared.options)(run)
        self._bound[declared.name] = wrapper

    def enqueue(self, name: str, args=(), kwargs=None, *, delay=None, eta=None) -> None:
        self.bind_declared()  # tasks declared after the app was made
        wrapper = self._bound[name]
        if delay is None and eta is None:
            wrapper(*args, **(kwargs or {}))
        else:
            if isinstance(delay, timedelta):
                delay = delay.total_seconds()
            wrapper.schedule(args=args, kwargs=kwargs or {}, delay=delay, eta=eta)

    def task_names(self) -> list[str]:
        self.bind_declared()
        return sorted(self._bound)

    def pending(self) -> int:
        return self.huey.pending_count()


def queue() -> JobQueue:
    return current_app.extensions["kepu_jobs"]


def init_jobs(app: Flask) -> None:
    cfg = app.config
    instance = Path(app.instance_path)
    cfg.setdefault("JOBS_QUEUE_NAME", "kepu")
    if not cfg.get("JOBS_SQLITE_PATH"):
        cfg["JOBS_SQLITE_PATH"] = str(instance / "jobs.sqlite3")
    if not cfg.get("EXPORT_DIR"):
        cfg["EXPORT_DIR"] = str(instance / "exports")
    Path(cfg["EXPORT_DIR"]).mkdir(parents=True, exist_ok=True)
    for module in cfg.get("JOBS_IMPORTS") or ():
        import_module(module)
    app.extensions["kepu_jobs"] = JobQueue(app)


# --- the consumer --------------------------------------------------------------------

@click.command("worker")
@click.option("-w", "--workers", type=int, default=None,
              help="Tasks run at once (default JOBS_WORKERS, 2).")
@click.option("-k", "--worker-type", type=click.Choice(["thread", "process"]), default=None,
              help="thread (default, JOBS_WORKER_TYPE) or process.")
@click.option("--no-periodic", is_flag=True, help="Do not run the periodic tasks here.")
def worker_command(workers: int | None, worker_type: str | None, no_periodic: bool) -> None:
    """Run the task queue's consumer (exports, PDFs, periodic purges) until stopped."""
    app = current_app._get_current_object()
    q: JobQueue = app.extensions["kepu_jobs"]
    if q.immediate:
        raise click.ClickException("JOBS_IMMEDIATE is set: tasks run in the web process, "
                                   "there is nothing for a worker to do")
    q.bind_declared()
    workers = workers or int(app.config["JOBS_WORKERS"])
    worker_type = worker_type or app.config["JOBS_WORKER_TYPE"]
    where = (app.config["REDIS_URL"] if q.backend == "redis"
             else app.config["JOBS_SQLITE_PATH"])
    click.echo(f"kepu worker: {workers} {worker_type} worker(s), {q.backend} queue "
               f"{app.config['JOBS_QUEUE_NAME']!r} at {where}; "
               f"{len(q.task_names())} tasks", err=True)
    logging.getLogger("huey").setLevel(logging.INFO)
    consumer = q.huey.create_consumer(
        workers=workers, worker_type=worker_type, periodic=not no_periodic,
        initial_delay=0.1, backoff=1.15, max_delay=float(app.config["JOBS_MAX_DELAY"]),
        check_worker_health=True)
    consumer.run()


# --- Job rows ------------------------------------------------------------------------

STATUS_LABELS = {
    "queued": "排队中",
    "running": "进行中",
    "done": "已完成",
    "failed": "失败",
    "expired": "已过期",
}
ACTIVE = ("queued", "running")
GENERIC_FAILURE = "生成文件时出错，请稍后重新导出；如仍失败，请联系技术支持。"


class JobRefused(Exception):
    """Raised by a file kind when the user may not (or no longer) have the file.

    The message (Chinese) is shown on the job page as the reason it failed."""

    def __init__(self, message: str):
        super().__init__(message)
        self.message = message


class Job(db.Model):
    """Slow work a user waits for: its progress, its file, for its requester only."""

    __tablename__ = "job"
    __table_args__ = (
        Index("ix_job_user_created", "user_id", "created_at"),
        Index("ix_job_status_expires", "status", "expires_at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("user.id"))
    kind: Mapped[str] = mapped_column(String(60))
    label: Mapped[str] = mapped_column(String(200))
    params: Mapped[dict] = mapped_column(JSON, default=dict)
    status: Mapped[str] = mapped_column(String(20), default="queued")
    progress_done: Mapped[int] = mapped_column(default=0)
    progress_total: Mapped[int | None]
    # progress unit for the page ("行" for exports, "页" for a PDF …)
    unit: Mapped[str] = mapped_column(String(10), default="")
    # random name under EXPORT_DIR; the user's download name separately
    file_path: Mapped[str | None] = mapped_column(String(80))
    file_name: Mapped[str | None] = mapped_column(String(255))
    file_size: Mapped[int | None]
    error: Mapped[str | None] = mapped_column(String(500))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    started_at: Mapped[datetime | None]
    finished_at: Mapped[datetime | None]
    expires_at: Mapped[datetime | None]

    # --- permission predicates ------------------------------------------------------
    def can_view(self, user) -> bool:
        """Only the requester (administrators neither: it may hold data of their scope)."""
        return bool(user is not None and getattr(user, "is_authenticated", False)
                    and user.id == self.user_id)

    can_download = can_view

    # --- display -----------------------------------------------------------------------
    @property
    def shown_status(self) -> str:
        """The status, with a done job past its retention shown as expired already."""
        return "expired" if self.is_expired else self.status

    @property
    def status_label(self) -> str:
        return STATUS_LABELS.get(self.shown_status, self.status)

    @property
    def is_active(self) -> bool:
        return self.status in ACTIVE

    @property
    def is_expired(self) -> bool:
        return self.status == "expired" or (
            self.status == "done" and self.expires_at is not None
            and self.expires_at <= utcnow())

    @property
    def downloadable(self) -> bool:
        return self.status == "done" and not self.is_expired

    @property
    def percent(self) -> int | None:
        if self.status == "done":
            return 100
        if not self.progress_total:
            return None
        return max(0, min(99, int(self.progress_done * 100 / self.progress_total)))

    @property
    def human_size(self) -> str:
        size = float(self.file_size or 0)
        for unit in ("B", "KB", "MB", "GB"):
            if size < 1024 or unit == "GB":
                return f"{size:.0f} {unit}" if unit == "B" else f"{size:.1f} {unit}"
            size /= 1024
        return ""

    def path(self) -> Path | None:
        return export_dir() / self.file_path if self.file_path else None


def export_dir() -> Path:
    return Path(current_app.config["EXPORT_DIR"])


# --- file kinds ------------------------------------------------------------------------

@dataclass
class FileSpec:
    """What a file kind returns: the download name and how to write the file.

    ``write(out, progress)`` writes bytes to the binary file ``out`` and may report
    progress (``progress.advance()`` / ``progress.set(done)``); ``total`` (if known)
    and ``unit`` ("行", "页" …) are shown on the job page.
    """

    filename: str
    write: Callable[[BinaryIO, "Progress"], None]
    total: int | None = None
    unit: str = ""


FileKind = Callable[[Any, dict], FileSpec]
_FILE_KINDS: dict[str, FileKind] = {}


def file_kind(name: str) -> Callable[[FileKind], FileKind]:
    """Register ``fn(user, params) -> FileSpec`` under ``name`` (at import time).

    The function runs in the worker with the requester's user and must check that
    this user may have the file (raise ``JobRefused`` with a Chinese message if not).
    """
    def decorator(fn: FileKind) -> FileKind:
        register_file_kind(name, fn)
        return fn
    return decorator


def register_file_kind(name: str, fn: FileKind) -> None:
    def ident(f):
        f = getattr(f, "__wrapped__", f)
        return getattr(f, "__module__", None), getattr(f, "__qualname__", None)

    existing = _FILE_KINDS.get(name)
    # the same function again (a module imported twice) is fine; another one is not
    if existing is not None and ident(existing) != ident(fn):
        raise ValueError(f"file kind {name!r} registered twice")
    _FILE_KINDS[name] = fn


def file_kinds() -> list[str]:
    return sorted(_FILE_KINDS)


class Progress:
    """Throttled progress of a running job, written on its own short transactions.

    The task keeps reading with its session (often a streaming ``yield_per`` cursor,
    which a commit would close); progress goes through a separate connection at most
    every ``every_rows`` rows or ``interval`` seconds, whichever comes first.
    """

    def __init__(self, job_id: int, total: int | None = None, *, every_rows: int = 1000,
                 interval: float = 0.5):
        self.job_id = job_id
        self.total = total
        self.done = 0
        self.every_rows = every_rows
        self.interval = interval
        self.writes = 0
        self._written_done = 0
        self._written_at = time.monotonic()

    def advance(self, n: int = 1) -> None:
        self.done += n
        if (self.done - self._written_done >= self.every_rows
                or time.monotonic() - self._written_at >= self.interval):
            self.flush()

    def set(self, done: int, total: int | None = None) -> None:
        self.done = done
        if total is not None:
            self.total = total
        self.advance(0)

    def flush(self) -> None:
        values = {"progress_done": self.done}
        if self.total is not None:
            values["progress_total"] = self.total
        with db.engine.begin() as conn:
            conn.execute(update(Job).where(Job.id == self.job_id).values(**values))
        self.writes += 1
        self._written_done = self.done
        self._written_at = time.monotonic()


def _new_file_name(filename: str) -> str:
    ext = filename.rpartition(".")[2].lower() if "." in filename else "bin"
    ext = "".join(ch for ch in ext if ch.isalnum())[:10] or "bin"
    return f"{secrets.token_urlsafe(24)}.{ext}"


def stamped_filename(filename: str) -> str:
    """"作品列表.xlsx" → "作品列表_202612011530.xlsx" (Beijing time)."""
    stem, dot, ext = filename.rpartition(".")
    if not dot:
        stem, ext = filename, ""
    name = f"{stem}_{fmt(utcnow(), '%Y%m%d%H%M')}"
    return f"{name}.{ext}" if ext else name


def create_job(kind: str, user, params: dict | None, label: str) -> Job:
    if kind not in _FILE_KINDS:
        raise KeyError(f"unknown file kind {kind!r}")
    job = Job(user_id=user.id, kind=kind, params=dict(params or {}), label=label[:200],
              status="queued", progress_done=0)
    db.session.add(job)
    db.session.commit()
    return job


def start_file_job(kind: str, user, params: dict | None, label: str) -> Job:
    """Create the Job (queued) and enqueue it. ``params`` must be JSON-serialisable."""
    job = create_job(kind, user, params, label)
    job_id = job.id
    run_file_job.delay(job_id)
    if queue().immediate:
        db.session.expire(job)  # it ran in its own session
    return job


def start_file_job_response(kind: str, params: dict | None, label: str):
    """For a route: start a job for the logged-in user and go to its page (HX-Redirect
    for HTMX requests, a 303 otherwise)."""
    from flask import url_for
    from flask_login import current_user

    from .htmx import redirect_to

    job = start_file_job(kind, current_user, params, label)
    return redirect_to(url_for("jobs.show", job_id=job.id))


def retry_job(job: Job) -> Job:
    """A new job with the same kind, params and label (after a failure or expiry)."""
    from .accounts.models import User

    user = db.session.get(User, job.user_id)
    return start_file_job(job.kind, user, job.params, job.label)


def _claim(job_id: int) -> bool:
    """queued → running, atomically: a message delivered twice runs once."""
    result = db.session.execute(
        update(Job).where(Job.id == job_id, Job.status == "queued")
        .values(status="running", started_at=utcnow()))
    db.session.commit()
    return result.rowcount == 1


def _fail(job_id: int, message: str) -> None:
    db.session.rollback()
    db.session.execute(update(Job).where(Job.id == job_id).values(
        status="failed", error=message[:500], finished_at=utcnow(), file_path=None))
    db.session.commit()


def _unlink(path: Path | None) -> None:
    if path is None:
        return
    try:
        os.unlink(path)
    except FileNotFoundError:
        pass


@task()
def run_file_job(job_id: int) -> None:
    """Run one file job: check, write to a temp name, move into place, mark done."""
    from .accounts.models import User

    if not _claim(job_id):
        log.info("job %s is not queued any more; skipped", job_id)
        return
    job = db.session.get(Job, job_id)
    tmp: Path | None = None
    try:
        user = db.session.get(User, job.user_id)
        if user is None or not user.is_active:
            raise JobRefused("账号已停用，无法生成文件")
        fn = _FILE_KINDS.get(job.kind)
        if fn is None:
            raise JobRefused("该导出类型已不可用，请重新导出")
        spec = fn(user, dict(job.params or {}))
        name = _new_file_name(spec.filename)
        directory = export_dir()
        directory.mkdir(parents=True, exist_ok=True)
        tmp = directory / (name + ".part")
        job.unit = spec.unit[:10]
        job.progress_total = spec.total
        db.session.commit()
        progress = Progress(job_id, spec.total)
        with open(tmp, "wb") as out:
            spec.write(out, progress)
        os.replace(tmp, directory / name)
        tmp = None
        size = (directory / name).stat().st_size
        db.session.rollback()  # end any read transaction the writer left open
        now = utcnow()
        hours = float(current_app.config["EXPORT_RETENTION_HOURS"])
        db.session.execute(update(Job).where(Job.id == job_id).values(
            status="done", progress_done=progress.done,
            progress_total=progress.total if progress.total is not None else progress.done,
            file_path=name, file_name=stamped_filename(spec.filename)[:255], file_size=size,
            finished_at=now, expires_at=now + timedelta(hours=hours)))
        db.session.commit()
        log.info("job %s (%s) done: %s rows/units, %s bytes", job_id, job.kind,
                 progress.done, size)
    except JobRefused as e:
        _unlink(tmp)
        log.warning("job %s (%s) refused: %s", job_id, job.kind, e.message)
        _fail(job_id, e.message)
    except Exception:  # noqa: BLE001 - the user gets a message, the log the traceback
        _unlink(tmp)
        log.error("job %s (%s) failed:\n%s", job_id, job.kind, traceback.format_exc())
        _fail(job_id, GENERIC_FAILURE)


# --- retention ---------------------------------------------------------------------------

def purge_jobs(now: datetime | None = None) -> dict[str, int]:
    """Expire done jobs past ``expires_at`` (deleting their files), fail jobs stuck in the
    queue or running longer than ``JOB_STALE_HOURS``, and delete files in EXPORT_DIR that
    no job points to (left by a crash) once they are a day old."""
    now = now or utcnow()
    counts = {"expired": 0, "stale": 0, "orphans": 0}
    expired = db.session.scalars(select(Job).where(
        Job.status == "done", Job.expires_at <= now)).all()
    paths = [j.path() for j in expired]
    for j in expired:
        j.status = "expired"
        j.file_path = None
    counts["expired"] = len(expired)
    stale_before = now - timedelta(hours=float(current_app.config["JOB_STALE_HOURS"]))
    stale = db.session.scalars(select(Job).where(
        Job.status.in_(ACTIVE), Job.created_at < stale_before)).all()
    for j in stale:
        paths.append(j.path())
        j.status = "failed"
        j.error = "任务长时间未完成，已中止，请重新导出。"
        j.finished_at = now
        j.file_path = None
    counts["stale"] = len(stale)
    db.session.commit()
    for p in paths:
        _unlink(p)

    directory = export_dir()
    if directory.is_dir():
        known = set(db.session.scalars(select(Job.file_path).where(
            Job.file_path.is_not(None))))
        cutoff = time.time() - 24 * 3600
        for entry in os.scandir(directory):
            if not entry.is_file() or entry.name in known:
                continue
            try:
                if entry.stat().st_mtime < cutoff:
                    os.unlink(entry.path)
                    counts["orphans"] += 1
            except FileNotFoundError:  # pragma: no cover - raced with another cleaner
                continue
    return counts


@periodic(crontab(minute="*/10"))
def purge_jobs_task() -> None:
    counts = purge_jobs()
    if any(counts.values()):
        log.info("jobs purge: %s", counts)
