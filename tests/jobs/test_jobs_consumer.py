"""One export through a real consumer process (``flask --app app kepu worker``).

The web app (the test client) and the consumer share the test database (SQLite, or
PostgreSQL with KEPU_TEST_DATABASE_URL) and the queue: a temp SqliteHuey file, or Redis
database 5 under a unique queue name when Redis answers on 127.0.0.1:6379 (CI has it).
"""
from __future__ import annotations

import io
import os
import signal
import subprocess
import sys
import time
import uuid
from pathlib import Path

import pytest
from openpyxl import load_workbook

from kepu.extensions import db
from kepu.jobs import Job

ROOT = Path(__file__).resolve().parents[2]
REDIS_URL = "redis://127.0.0.1:6379/5"
ROWS = 3000
TIMEOUT = 120  # seconds; the machines are shared and slow under load


def redis_answers() -> bool:
    try:
        import redis

        return bool(redis.Redis.from_url(REDIS_URL, socket_timeout=0.5,
                                         socket_connect_timeout=0.5).ping())
    except Exception:  # noqa: BLE001 - any failure means "no Redis here"
        return False


NO_REDIS = pytest.mark.skipif(not redis_answers(), reason="no Redis on 127.0.0.1:6379")
CASES = [  # (queue backend, worker type)
    pytest.param("sqlite", "thread", id="sqlite-thread"),
    pytest.param("sqlite", "process", id="sqlite-process"),
    pytest.param("redis", "thread", id="redis-thread", marks=NO_REDIS),
]


@pytest.fixture
def queue_config(request, tmp_path):
    if request.param == "sqlite":
        yield {"JOBS_SQLITE_PATH": str(tmp_path / "huey.sqlite3")}
        return
    name = f"kepu-test-{uuid.uuid4().hex[:12]}"
    yield {"REDIS_URL": REDIS_URL, "JOBS_QUEUE_NAME": name}
    import redis

    r = redis.Redis.from_url(REDIS_URL)
    keys = list(r.scan_iter(f"*{name}*"))
    if keys:
        r.delete(*keys)


def start_consumer(database_url: str, tmp_path: Path, queue_cfg: dict,
                   worker_type: str) -> subprocess.Popen:
    env = {k: v for k, v in os.environ.items() if not k.startswith("KEPU_")}
    env.update({
        "KEPU_DATABASE_URL": database_url,
        "KEPU_SECRET_KEY": "test-secret-of-the-suite",
        "KEPU_UPLOAD_DIR": str(tmp_path / "uploads"),
        "KEPU_EXPORT_DIR": str(tmp_path / "exports"),
        "KEPU_JOBS_IMPORTS": '["kinds_for_tests"]',
        "KEPU_SMS_BACKEND": "test",
        "PYTHONPATH": str(Path(__file__).parent),
        "PYTHONUNBUFFERED": "1",
    })
    for key, value in queue_cfg.items():
        env["KEPU_" + key] = value
    log = open(tmp_path / "worker.log", "w")  # a file: a full pipe would stall the worker
    proc = subprocess.Popen(
        [sys.executable, "-m", "flask", "--app", "app", "kepu", "worker", "--workers", "1",
         "--worker-type", worker_type],
        cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
    log.close()
    proc.log_path = tmp_path / "worker.log"
    return proc


def stop(proc: subprocess.Popen) -> str:
    if proc.poll() is None:
        os.killpg(proc.pid, signal.SIGINT)  # graceful: finish the running task, then exit
        try:
            proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()
    return proc.log_path.read_text()


@pytest.mark.parametrize("queue_config,worker_type", CASES, indirect=["queue_config"])
def test_export_through_a_real_consumer(app_factory, make_user, database_url, tmp_path,
                                        queue_config, worker_type):
    from flask_login import current_user, login_required

    from kepu.exports import start_export_response

    # the web app and the consumer import the test kinds the same way
    web = app_factory(JOBS_IMMEDIATE=False, EXPORT_DIR=str(tmp_path / "exports"),
                      JOBS_IMPORTS=["kinds_for_tests"], **queue_config)
    assert not web.extensions["kepu_jobs"].immediate

    @login_required
    def start():
        return start_export_response(
            "tests.rows", {"for_user": current_user.id, "n": ROWS}, "测试导出（真实队列）")

    web.add_url_rule("/_test/export", "test_export", start, methods=["POST"])
    user = make_user("13900000031", name="导出人")

    proc = start_consumer(database_url, tmp_path, queue_config, worker_type)
    output = ""
    try:
        client = web.test_client()
        from tests.conftest import login_session

        login_session(client, user)
        resp = client.post("/_test/export")
        assert resp.status_code == 303, resp.get_data(as_text=True)[:300]
        page_url = resp.headers["Location"]
        job_id = int(page_url.rstrip("/").rsplit("/", 1)[1])

        deadline = time.monotonic() + TIMEOUT
        while True:
            body = client.get(page_url, headers={"HX-Request": "true"}).get_data(as_text=True)
            with web.app_context():
                job = db.session.get(Job, job_id)
                status, error = job.status, job.error
            if status in ("done", "failed"):
                break
            assert proc.poll() is None, "the consumer exited"
            assert time.monotonic() < deadline, f"job still {status} after {TIMEOUT} s"
            assert 'hx-trigger="every 1s"' in body
            time.sleep(0.3)
        assert status == "done", error
        body = client.get(page_url, headers={"HX-Request": "true"}).get_data(as_text=True)
        assert "下载" in body and "hx-trigger" not in body

        download = client.get(f"/jobs/{job_id}/download")
        assert download.status_code == 200
        wb = load_workbook(io.BytesIO(download.get_data()), read_only=True)
        rows = list(wb.worksheets[0].iter_rows(values_only=True))
        wb.close()
        assert rows[0] == ("编号", "名称", "备注", "数量") and len(rows) == ROWS + 1
        assert rows[ROWS][0] == ROWS
        with web.app_context():
            job = db.session.get(Job, job_id)
            assert (job.progress_done, job.progress_total) == (ROWS + 1, ROWS + 1)
            assert job.started_at is not None and job.user_id == user.id
    finally:
        output = stop(proc)
    assert f"kepu worker: 1 {worker_type} worker(s)" in output, output
    # the consumer registered the tasks of every module create_app imports
    for task in ("kepu.jobs.run_file_job", "kepu.jobs.purge_jobs_task",
                 "kepu.files.tasks.purge_uploads_task"):
        assert f"+ {task}" in output, output
    assert "Traceback" not in output, output
