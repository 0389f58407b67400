"""Jobs and exports in immediate mode: lifecycle, progress, permission, expiry, failure,
formula escaping, CSV streaming. The real consumer: test_jobs_consumer.py."""
from __future__ import annotations

import csv
import io
import logging
import os
import re
import time
from datetime import timedelta
from pathlib import Path

import pytest
from openpyxl import load_workbook
from sqlalchemy import select

import kinds_for_tests as K
from kepu import jobs
from kepu.exports import (csv_response, export_csv_response, export_kinds, safe_cell,
                          start_export, xlsx_bytes)
from kepu.extensions import db
from kepu.jobs import GENERIC_FAILURE, Job, Progress, purge_jobs, run_file_job, start_file_job
from kepu.timeutil import utcnow


@pytest.fixture
def owner(make_user):
    return make_user("13900000011", name="导出人")


@pytest.fixture
def other(make_user):
    return make_user("13900000012", name="别人")


def fresh(job_id: int) -> Job:
    db.session.expire_all()
    return db.session.get(Job, job_id)


def export(owner, **params) -> Job:
    job = start_export("tests.rows", owner, {"for_user": owner.id, **params}, "测试导出（全部）")
    return fresh(job.id)


def sheet_rows(data: bytes, index: int = 0) -> list[tuple]:
    wb = load_workbook(io.BytesIO(data), read_only=True)
    rows = list(wb.worksheets[index].iter_rows(values_only=True))
    wb.close()
    return rows


# --- lifecycle -------------------------------------------------------------------------

def test_export_runs_to_a_file_for_its_requester(app, client, auth, owner):
    assert "tests.rows" in export_kinds()
    before = utcnow()
    job = export(owner, n=2500)
    assert job.status == "done", job.error
    assert job.kind == "tests.rows" and job.label == "测试导出（全部）"
    assert job.params == {"for_user": owner.id, "n": 2500}
    assert (job.progress_done, job.progress_total, job.unit) == (2501, 2501, "行")
    assert before <= job.started_at <= job.finished_at
    assert job.expires_at == job.finished_at + timedelta(hours=24)
    assert re.fullmatch(r"测试导出_\d{12}\.xlsx", job.file_name)
    # stored under EXPORT_DIR with a random name, nothing else left there
    path = Path(app.config["EXPORT_DIR"]) / job.file_path
    assert path.is_file() and job.file_size == path.stat().st_size
    assert "测试" not in job.file_path and len(job.file_path) > 30
    assert os.listdir(app.config["EXPORT_DIR"]) == [job.file_path]

    auth.login_as(owner)
    page = client.get(f"/jobs/{job.id}").get_data(as_text=True)
    assert "已导出 2,501 / 2,501 行" in page and "下载" in page
    assert f"/jobs/{job.id}/download" in page and 'hx-trigger="every 1s"' not in page
    resp = client.get(f"/jobs/{job.id}/download")
    assert resp.status_code == 200
    assert resp.mimetype == "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
    assert "filename*=UTF-8''%E6%B5%8B%E8%AF%95%E5%AF%BC%E5%87%BA_" in resp.headers[
        "Content-Disposition"]
    assert resp.headers["Cache-Control"] == "no-store"
    rows = sheet_rows(resp.get_data())
    assert rows[0] == ("编号", "名称", "备注", "数量")
    assert len(rows) == 2501
    assert rows[1] == (1, "第1行：科普", None, 2)
    assert rows[2500][0] == 2500
    assert sheet_rows(resp.get_data(), 1) == [("合计",), (2500,)]


def test_job_page_polls_while_running_and_stops_when_done(app, client, auth, owner):
    job = Job(user_id=owner.id, kind="tests.rows", label="进行中的导出", params={},
              status="running", progress_done=12000, progress_total=100000, unit="行",
              started_at=utcnow())
    db.session.add(job)
    db.session.commit()
    auth.login_as(owner)
    full = client.get(f"/jobs/{job.id}").get_data(as_text=True)
    assert "<html" in full and "已导出 12,000 / 100,000 行" in full
    assert 'hx-trigger="every 1s"' in full
    assert '<noscript><meta http-equiv="refresh"' in full  # without JS: the page reloads
    assert f'href="/jobs/{job.id}">刷新</a>' in full
    assert 'value="12"' in full  # the <progress> bar

    frag = client.get(f"/jobs/{job.id}", headers={"HX-Request": "true"})
    body = frag.get_data(as_text=True)
    assert "<html" not in body and body.lstrip().startswith('<section class="card job-card"')
    assert 'hx-trigger="every 1s"' in body and "HX-Request" in frag.headers["Vary"]

    job.progress_done = job.progress_total
    db.session.commit()
    body = client.get(f"/jobs/{job.id}", headers={"HX-Request": "true"}).get_data(as_text=True)
    assert "正在生成文件" in body

    job.status, job.file_path, job.file_name, job.file_size = "done", "x.xlsx", "a.xlsx", 10
    job.finished_at = utcnow()
    job.expires_at = utcnow() + timedelta(hours=1)
    db.session.commit()
    body = client.get(f"/jobs/{job.id}", headers={"HX-Request": "true"}).get_data(as_text=True)
    assert "hx-trigger" not in body and "hx-get" not in body  # polling stops
    assert "下载" in body
    assert "refresh" not in client.get(f"/jobs/{job.id}").get_data(as_text=True)


def test_queued_job_page(app, client, auth, owner):
    job = Job(user_id=owner.id, kind="tests.rows", label="排队的导出", params={})
    db.session.add(job)
    db.session.commit()
    auth.login_as(owner)
    page = client.get(f"/jobs/{job.id}").get_data(as_text=True)
    assert "排队中" in page and 'hx-trigger="every 1s"' in page
    # not done yet: the download link leads back to the job page
    resp = client.get(f"/jobs/{job.id}/download")
    assert resp.status_code == 303 and resp.headers["Location"].endswith(f"/jobs/{job.id}")


def test_progress_is_visible_while_the_export_runs(app, owner):
    K.OBSERVED.clear()
    job = export(owner, n=4000, watch_at=3500)
    assert job.status == "done"
    # read from another connection at row 3,500: at least 3,000 already reported
    assert K.OBSERVED and 3000 <= K.OBSERVED[0] < 3500


def test_progress_is_throttled(app, owner, monkeypatch):
    job = Job(user_id=owner.id, kind="tests.rows", label="x", params={})
    db.session.add(job)
    db.session.commit()
    clock = [100.0]
    monkeypatch.setattr(jobs.time, "monotonic", lambda: clock[0])
    p = Progress(job.id, total=5000)
    for _ in range(2500):
        p.advance()
    assert p.writes == 2  # every 1,000 rows, not every row
    assert fresh(job.id).progress_done == 2000
    p.advance()
    clock[0] += 0.6  # … or every 0.5 s when rows are slow
    p.advance()
    assert p.writes == 3 and fresh(job.id).progress_done == 2502
    assert fresh(job.id).progress_total == 5000


def test_without_a_total_the_count_alone_shows(app, client, auth, owner):
    job = export(owner, n=30, no_total=True)
    assert job.status == "done" and job.progress_total == 31
    job.status = "running"
    job.progress_total = None
    db.session.commit()
    auth.login_as(owner)
    page = client.get(f"/jobs/{job.id}").get_data(as_text=True)
    assert "已导出 31 行" in page


def test_a_message_delivered_twice_runs_once(app, owner):
    job = export(owner, n=5)
    finished = job.finished_at
    run_file_job(job.id)  # e.g. redelivered after a consumer restart
    assert fresh(job.id).finished_at == finished and fresh(job.id).status == "done"


# --- starting from a route, retry, my jobs ------------------------------------------------

@pytest.fixture
def start_route(app):
    """A campaign-like route that starts the test export (registered for this app)."""
    from flask_login import current_user, login_required

    from kepu.exports import start_export_response

    @login_required
    def start():
        return start_export_response("tests.rows", {"for_user": current_user.id, "n": 3},
                                     "测试导出")

    app.add_url_rule("/_test/export", "test_export", start, methods=["POST"])
    return "/_test/export"


def test_start_export_response_redirects_to_the_job(app, client, auth, owner, start_route):
    auth.login_as(owner)
    resp = client.post(start_route)
    assert resp.status_code == 303
    job = db.session.scalars(select(Job).order_by(Job.id.desc())).first()
    assert resp.headers["Location"].endswith(f"/jobs/{job.id}")
    assert job.user_id == owner.id and fresh(job.id).status == "done"

    resp = client.post(start_route, headers={"HX-Request": "true"})
    assert resp.status_code == 204
    newest = db.session.scalars(select(Job).order_by(Job.id.desc())).first()
    assert newest.id != job.id and resp.headers["HX-Redirect"].endswith(f"/jobs/{newest.id}")


def test_retry_starts_the_same_export_again(app, client, auth, owner):
    job = export(owner, n=4)
    auth.login_as(owner)
    resp = client.post(f"/jobs/{job.id}/retry")
    assert resp.status_code == 303
    new = db.session.scalars(select(Job).order_by(Job.id.desc())).first()
    assert new.id != job.id and resp.headers["Location"].endswith(f"/jobs/{new.id}")
    assert (new.kind, new.params, new.label, new.user_id) == (
        job.kind, job.params, job.label, owner.id)
    assert fresh(new.id).status == "done"


def test_retry_of_a_kind_that_is_gone(app, client, auth, owner):
    job = Job(user_id=owner.id, kind="tests.removed", label="旧导出", params={},
              status="failed", error="x")
    db.session.add(job)
    db.session.commit()
    auth.login_as(owner)
    resp = client.post(f"/jobs/{job.id}/retry")
    assert resp.status_code == 400 and "不再提供" in resp.get_data(as_text=True)
    assert db.session.scalar(select(db.func.count(Job.id))) == 1


def test_my_jobs_lists_only_mine(app, client, auth, owner, other):
    mine = export(owner, n=2)
    theirs = start_export("tests.rows", other, {"for_user": other.id, "n": 2}, "别人的导出")
    auth.login_as(owner)
    page = client.get("/jobs/").get_data(as_text=True)
    assert "我的导出" in page and f"/jobs/{mine.id}" in page
    assert "别人的导出" not in page and f"/jobs/{theirs.id}" not in page
    assert f"/jobs/{mine.id}/download" in page
    assert "我的导出" in client.get("/account/").get_data(as_text=True)  # side menu


# --- permission ----------------------------------------------------------------------

def test_only_the_requester_sees_or_downloads_a_job(app, client, auth, owner, other,
                                                    make_user):
    job = export(owner, n=3)
    admin = make_user("13900000013", roles=["platform_admin"])
    for user in (other, admin):
        auth.login_as(user)
        assert client.get(f"/jobs/{job.id}").status_code == 404
        assert client.get(f"/jobs/{job.id}/download").status_code == 404
        assert client.get(f"/jobs/{job.id}", headers={"HX-Request": "true"}).status_code == 404
        assert client.post(f"/jobs/{job.id}/retry").status_code == 404
    assert db.session.scalar(select(db.func.count(Job.id))) == 1  # no retry happened
    anonymous = app.test_client()
    for url in (f"/jobs/{job.id}", f"/jobs/{job.id}/download", "/jobs/"):
        resp = anonymous.get(url)
        assert resp.status_code in (302, 303) and "/account/login" in resp.headers["Location"]
    assert anonymous.post(f"/jobs/{job.id}/retry").status_code in (302, 303)
    auth.login_as(owner)
    assert client.get("/jobs/999999").status_code == 404


def test_the_worker_rechecks_permission(app, client, auth, owner, other):
    # started for someone the kind refuses (as if the grant was revoked meanwhile)
    job = start_export("tests.rows", owner, {"for_user": other.id, "n": 3}, "越权导出")
    job = fresh(job.id)
    assert job.status == "failed" and job.error == "无权导出这些数据"
    assert job.file_path is None and os.listdir(app.config["EXPORT_DIR"]) == []
    auth.login_as(owner)
    page = client.get(f"/jobs/{job.id}").get_data(as_text=True)
    assert "导出失败：无权导出这些数据" in page and "重新导出" in page


def test_a_deactivated_requester_gets_no_file(app, owner):
    owner.active = False
    db.session.commit()
    job = export(owner, n=3)
    assert job.status == "failed" and job.error == "账号已停用，无法生成文件"


# --- expiry and retention -------------------------------------------------------------

def test_expired_download_is_410(app, client, auth, owner):
    job = export(owner, n=3)
    auth.login_as(owner)
    assert client.get(f"/jobs/{job.id}/download").status_code == 200
    job.expires_at = utcnow() - timedelta(minutes=1)
    db.session.commit()
    resp = client.get(f"/jobs/{job.id}/download")
    assert resp.status_code == 410
    assert "文件已过期，请重新导出" in resp.get_data(as_text=True)
    assert "已过期" in client.get(f"/jobs/{job.id}").get_data(as_text=True)

    path = Path(app.config["EXPORT_DIR"]) / job.file_path
    assert purge_jobs() == {"expired": 1, "stale": 0, "orphans": 0}
    job = fresh(job.id)
    assert job.status == "expired" and job.file_path is None and not path.exists()
    resp = client.get(f"/jobs/{job.id}/download")
    assert resp.status_code == 410 and "重新导出" in resp.get_data(as_text=True)


def test_a_missing_file_is_410_not_500(app, client, auth, owner):
    job = export(owner, n=3)
    os.unlink(Path(app.config["EXPORT_DIR"]) / job.file_path)
    auth.login_as(owner)
    assert client.get(f"/jobs/{job.id}/download").status_code == 410


def test_retention_setting(app_factory, make_user):
    app = app_factory(EXPORT_RETENTION_HOURS=2)
    with app.app_context():
        user = make_user("13900000019")
        job = start_export("tests.rows", user, {"for_user": user.id, "n": 1}, "x")
        job = fresh(job.id)
        assert job.expires_at == job.finished_at + timedelta(hours=2)
        assert purge_jobs(now=job.finished_at + timedelta(hours=1))["expired"] == 0
        assert purge_jobs(now=job.finished_at + timedelta(hours=2))["expired"] == 1


def test_purge_fails_stale_jobs_and_removes_orphan_files(app, owner):
    keep = export(owner, n=2)
    stale = Job(user_id=owner.id, kind="tests.rows", label="卡住的导出", params={},
                status="running", created_at=utcnow() - timedelta(hours=7))
    recent = Job(user_id=owner.id, kind="tests.rows", label="刚开始", params={},
                 status="running", created_at=utcnow() - timedelta(hours=1))
    db.session.add_all([stale, recent])
    db.session.commit()
    directory = Path(app.config["EXPORT_DIR"])
    old = directory / "crashed.xlsx.part"
    old.write_bytes(b"x")
    os.utime(old, (time.time() - 25 * 3600,) * 2)
    young = directory / "writing.xlsx.part"
    young.write_bytes(b"x")
    assert purge_jobs() == {"expired": 0, "stale": 1, "orphans": 1}
    assert fresh(stale.id).status == "failed" and "重新导出" in fresh(stale.id).error
    assert fresh(recent.id).status == "running" and fresh(keep.id).status == "done"
    assert not old.exists() and young.exists() and (directory / keep.file_path).exists()


def test_periodic_tasks_are_scheduled(app):
    q = app.extensions["kepu_jobs"]
    periodic = {t.__name__ for t in q.huey._registry._periodic_tasks}
    assert {"purge_jobs_task", "purge_uploads_task"} <= periodic
    assert "kepu.jobs.run_file_job" in q.task_names()


def test_upload_purge_task_is_the_cli_purge(app, make_user):
    from kepu.files.models import StoredFile
    from kepu.files.tasks import purge_uploads_task

    user = make_user("13900000018")
    old = StoredFile(owner_id=user.id, field="attachment", original_name="a.pdf",
                     stored_name="oldoldoldoldold", ext="pdf", content_type="application/pdf",
                     size=1, sha256="0" * 64, created_at=utcnow() - timedelta(hours=25))
    new = StoredFile(owner_id=user.id, field="attachment", original_name="b.pdf",
                     stored_name="newnewnewnewnew", ext="pdf", content_type="application/pdf",
                     size=1, sha256="0" * 64)
    db.session.add_all([old, new])
    db.session.commit()
    purge_uploads_task()
    names = set(db.session.scalars(select(StoredFile.stored_name)))
    assert names == {"newnewnewnewnew"}


# --- failure ------------------------------------------------------------------------------

def test_a_failing_export_is_marked_failed_and_logged(app, client, auth, owner, caplog):
    caplog.set_level(logging.ERROR, logger="kepu.jobs")
    job = export(owner, n=5000, fail_at=1500)
    assert job.status == "failed" and job.error == GENERIC_FAILURE
    assert job.file_path is None and job.finished_at is not None
    assert os.listdir(app.config["EXPORT_DIR"]) == []  # no partial file left
    assert "Traceback" in caplog.text and "boom at row 1500" in caplog.text
    auth.login_as(owner)
    page = client.get(f"/jobs/{job.id}").get_data(as_text=True)
    assert "导出失败：生成文件时出错" in page and "hx-trigger" not in page
    assert client.get(f"/jobs/{job.id}/download").status_code == 303


def test_unknown_kind_is_refused_at_start(app, owner):
    with pytest.raises(KeyError):
        start_export("tests.nope", owner, {}, "x")
    assert db.session.scalar(select(db.func.count(Job.id))) == 0


# --- a generic file job -------------------------------------------------------------------

def test_file_job_with_pages(app, client, auth, owner):
    job = start_file_job("tests.pages", owner, {"for_user": owner.id, "pages": 3}, "测试PDF")
    job = fresh(job.id)
    assert job.status == "done" and (job.progress_done, job.unit) == (3, "页")
    assert job.file_path.endswith(".pdf") and job.file_name.endswith(".pdf")
    auth.login_as(owner)
    assert "已完成 3 / 3 页" in client.get(f"/jobs/{job.id}").get_data(as_text=True)
    resp = client.get(f"/jobs/{job.id}/download")
    assert resp.mimetype == "application/pdf"
    assert resp.get_data().startswith(b"%PDF-1.4") and resp.get_data().count(b"% page") == 3
    assert "attachment" in resp.headers["Content-Disposition"]


# --- formula escaping ----------------------------------------------------------------------

def test_formula_cells_are_text_in_the_xlsx_job(app, client, auth, owner):
    job = export(owner, n=42)
    auth.login_as(owner)
    rows = sheet_rows(client.get(f"/jobs/{job.id}/download").get_data())
    remarks = {r[2] for r in rows[1:] if r[2]}
    assert remarks == {"'" + f for f in K.FORMULAS}
    wb = load_workbook(io.BytesIO(client.get(f"/jobs/{job.id}/download").get_data()))
    assert all(c.data_type == "s" for c in wb.worksheets[0]["C"][1:] if c.value)


def test_formula_cells_are_text_in_sync_xlsx(app):
    data = xlsx_bytes([("表", ["a", "b"], [["=HYPERLINK(\"http://x\")", "@A1"], ["ok", 5]])],
                      widths={0: 40})
    rows = sheet_rows(data)
    assert rows == [("a", "b"), ("'=HYPERLINK(\"http://x\")", "'@A1"), ("ok", 5)]
    assert safe_cell("-1") == "'-1" and safe_cell(-1) == -1 and safe_cell("正常") == "正常"


def test_sync_xlsx_sheet_titles_are_made_valid(app):
    data = xlsx_bytes([("a/b:c" + "长" * 40, ["x"], []), ("a/b:c" + "长" * 40, ["y"], [])])
    wb = load_workbook(io.BytesIO(data), read_only=True)
    titles = wb.sheetnames
    assert len(titles) == 2 and len(set(t.lower() for t in titles)) == 2
    assert all(len(t) <= 31 and "/" not in t and ":" not in t for t in titles)


def test_control_characters_do_not_break_the_file(app):
    rows = sheet_rows(xlsx_bytes([("t", ["a"], [["前\x01后\x0b"]])]))
    assert rows[1][0].startswith("前") and "后" in rows[1][0]


# --- CSV ------------------------------------------------------------------------------------

def test_csv_streams_with_bom_and_escapes_formulas(app):
    pulled = []

    def rows():
        for i in range(1, 1201):
            pulled.append(i)
            yield [i, "=1+1" if i == 1 else f"行{i}", None, "-5"]

    with app.test_request_context():
        resp = csv_response("测试.csv", ["编号", "名称", "空", "数"], rows())
        assert resp.is_streamed and resp.mimetype == "text/csv"
        assert "charset=utf-8" in resp.headers["Content-Type"]
        assert re.search(r"filename\*=UTF-8''%E6%B5%8B%E8%AF%95_\d{12}\.csv",
                         resp.headers["Content-Disposition"])
        chunks = iter(resp.response)
        first = next(chunks)
        assert first.startswith(b"\xef\xbb\xbf") and "编号,名称,空,数\r\n" in first.decode(
            "utf-8-sig")
        assert pulled == []  # the header left before any row was read
        second = next(chunks)
        assert len(pulled) <= 501  # one batch, not the whole table
        body = first + second + b"".join(chunks)
    assert len(pulled) == 1200
    text = body.decode("utf-8-sig")
    parsed = list(csv.reader(io.StringIO(text)))
    assert parsed[0] == ["编号", "名称", "空", "数"]
    assert parsed[1] == ["1", "'=1+1", "", "'-5"]
    assert parsed[1200] == ["1200", "行1200", "", "'-5"] and len(parsed) == 1201


def test_export_csv_response_uses_the_kind_and_its_permission(app, client, auth, owner, other):
    from flask_login import login_required

    @login_required
    def csv_view():
        return export_csv_response("tests.rows", {"for_user": owner.id, "n": 20})

    app.add_url_rule("/_test/export.csv", "test_export_csv", csv_view)
    auth.login_as(owner)
    resp = client.get("/_test/export.csv")
    assert resp.status_code == 200 and resp.is_streamed
    text = resp.get_data().decode("utf-8-sig")
    lines = list(csv.reader(io.StringIO(text)))
    assert lines[0] == K.HEADER and len(lines) == 21
    assert lines[7][2] == "'" + K.FORMULAS[1]
    assert re.search(r"filename\*=UTF-8''%E6%B5%8B%E8%AF%95%E5%AF%BC%E5%87%BA_\d{12}\.csv",
                     resp.headers["Content-Disposition"])
    auth.login_as(other)
    assert client.get("/_test/export.csv").status_code == 404


# --- queue configuration --------------------------------------------------------------------

def test_default_queue_is_sqlite_under_instance(app_factory, tmp_path):
    from huey import RedisHuey, SqliteHuey

    app = app_factory(JOBS_IMMEDIATE=False)
    q = app.extensions["kepu_jobs"]
    assert isinstance(q.huey, SqliteHuey) and not q.immediate
    assert q.huey.storage.filename == str(tmp_path / "instance" / "jobs.sqlite3")
    assert app.config["EXPORT_DIR"] == str(tmp_path / "instance" / "exports")

    app = app_factory(JOBS_IMMEDIATE=False, REDIS_URL="redis://127.0.0.1:6379/5",
                      JOBS_QUEUE_NAME="kepu-config-test")
    assert isinstance(app.extensions["kepu_jobs"].huey, RedisHuey)
    assert app.extensions["kepu_jobs"].backend == "redis"


def test_redis_url_from_the_environment(monkeypatch, tmp_path):
    from flask import Flask

    from kepu.config import load_config

    monkeypatch.setenv("KEPU_REDIS_URL", "redis://127.0.0.1:6379/5")
    monkeypatch.setenv("KEPU_JOBS_WORKERS", "4")
    flask_app = Flask("t", instance_path=str(tmp_path / "inst"))
    load_config(flask_app)
    assert flask_app.config["REDIS_URL"] == "redis://127.0.0.1:6379/5"
    assert flask_app.config["JOBS_WORKERS"] == 4


def test_worker_refuses_in_immediate_mode(app):
    result = app.test_cli_runner().invoke(args=["kepu", "worker"])
    assert result.exit_code != 0 and "JOBS_IMMEDIATE" in result.output


def test_tasks_run_in_an_app_context_with_the_database(app, owner):
    seen = []

    @jobs.task()
    def count_jobs_for(user_id: int) -> None:
        from flask import current_app

        seen.append((current_app.name, db.session.scalar(
            select(db.func.count(Job.id)).where(Job.user_id == user_id))))

    export(owner, n=1)
    count_jobs_for.delay(owner.id)
    assert seen == [(app.name, 1)]
    count_jobs_for(owner.id)  # a plain call runs here and now
    assert len(seen) == 2
