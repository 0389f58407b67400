"""An export in the browser: 导出 Excel → the job page's progress bar polls until the
file is ready → 下载; 导出 CSV downloads at once; 我的导出; an expired file's 410 page.

The live server runs with a real (SQLite) queue and a Huey consumer in this process, so
the page really polls a job that another thread is writing.
"""
from __future__ import annotations

import signal
import threading
import time
from datetime import timedelta

import pytest
from flask import render_template_string
from flask_login import login_required
from playwright.sync_api import Page, expect
from werkzeug.serving import make_server

from kepu.exports import ExportSpec, export_csv_response, export_kind, start_export_response
from kepu.jobs import JobRefused

PASSWORD = "Passw0rd!"  # same as tests/conftest.py
PHONE = "13700000021"
ROWS = 3000


@export_kind("e2e.slow_rows")
def slow_rows(user, params) -> ExportSpec:
    """ROWS rows, slowly enough (~2.5 s) for the progress bar to move."""
    if user.phone != PHONE:
        raise JobRefused("无权导出")
    delay = float(params.get("delay", 0))

    def rows():
        for i in range(1, ROWS + 1):
            if delay and i % 300 == 0:
                time.sleep(delay)
            yield [i, f"第{i}件作品", "=HYPERLINK(\"http://x\")" if i == 1 else "科普"]

    return ExportSpec("作品列表.xlsx", [("作品列表", ["编号", "作品名称", "备注"], rows())],
                      total=ROWS)


LIST_PAGE = """{% extends "base.html" %}
{% from "_macros/export.html" import export_buttons %}
{% block title %}作品列表{% endblock %}
{% block content %}
<div class="page-head"><h1>作品列表</h1>
{{ export_buttons(url_for("e2e_export", delay=delay), url_for("e2e_export_csv")) }}</div>
<section class="card"><p>共 3,000 件作品。</p></section>
{% endblock %}"""


@pytest.fixture
def server(app_factory, tmp_path):
    app = app_factory(WTF_CSRF_ENABLED=True, SERVER_NAME=None, JOBS_IMMEDIATE=False,
                      JOBS_SQLITE_PATH=str(tmp_path / "huey.sqlite3"),
                      EXPORT_DIR=str(tmp_path / "exports"))

    @login_required
    def list_page():
        from flask import request
        return render_template_string(LIST_PAGE, delay=request.args.get("delay", "0.25"))

    @login_required
    def export():
        from flask import request
        return start_export_response("e2e.slow_rows",
                                     {"delay": float(request.args.get("delay", 0))},
                                     "作品列表导出（全部作品）")

    @login_required
    def export_csv():
        return export_csv_response("e2e.slow_rows", {})

    app.add_url_rule("/_e2e/list", "e2e_list", list_page)
    app.add_url_rule("/_e2e/export", "e2e_export", export, methods=["POST"])
    app.add_url_rule("/_e2e/export.csv", "e2e_export_csv", export_csv)
    with app.app_context():
        from kepu.accounts.models import User
        from kepu.extensions import db

        user = User(phone=PHONE, name="导出人")
        user.set_password(PASSWORD)
        db.session.add(user)
        db.session.commit()

    handlers = {s: signal.getsignal(s) for s in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP)}
    consumer = app.extensions["kepu_jobs"].huey.create_consumer(
        workers=1, periodic=False, initial_delay=0.1, max_delay=0.3)
    consumer.start()
    http = make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(target=http.serve_forever, daemon=True)
    thread.start()
    try:
        yield app, f"http://127.0.0.1:{http.server_port}"
    finally:
        http.shutdown()
        thread.join(timeout=5)
        consumer.stop(graceful=True)
        for s, h in handlers.items():
            signal.signal(s, h)


def login(page: Page, url: str):
    page.goto(url + "/account/login")
    page.get_by_placeholder("请输入手机号").fill(PHONE)
    page.get_by_placeholder("请输入密码").fill(PASSWORD)
    page.get_by_role("button", name="登录", exact=True).click()
    expect(page.get_by_role("heading", name="工作台")).to_be_visible()  # every role lands here


def test_export_progress_and_download(page: Page, server, shots, tmp_path, console_errors):
    app, url = server
    errors = []
    page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
    page.on("pageerror", lambda e: errors.append(str(e)))
    login(page, url)

    page.set_viewport_size({"width": 1280, "height": 800})
    page.goto(url + "/_e2e/list")
    page.get_by_role("button", name="导出 Excel").click()
    expect(page.get_by_role("heading", name="作品列表导出（全部作品）")).to_be_visible()
    job_url = page.url
    # the progress block is polled: a count between 0 and the total shows up …
    count = page.locator(".job-count")
    expect(count).to_contain_text(" / 3,000 行", timeout=30_000)
    expect(page.locator("#job-progress progress")).to_be_visible()
    shots(page, "running-1280")
    page.set_viewport_size({"width": 390, "height": 844})
    shots(page, "running-390")
    # … and, without reloading, becomes the download link
    download_link = page.get_by_role("link", name="下载")
    expect(download_link).to_be_visible(timeout=60_000)
    assert page.url == job_url
    expect(count).to_contain_text("已导出 3,000 / 3,000 行")
    assert page.locator("#job-progress").get_attribute("hx-trigger") is None
    shots(page, "done-390")
    page.set_viewport_size({"width": 1280, "height": 800})
    shots(page, "done-1280")
    with page.expect_download() as info:
        download_link.click()
    path = tmp_path / "download.xlsx"
    info.value.save_as(path)
    assert info.value.suggested_filename.startswith("作品列表_")
    from openpyxl import load_workbook

    rows = list(load_workbook(path, read_only=True).worksheets[0].iter_rows(values_only=True))
    assert len(rows) == ROWS + 1 and rows[1][2] == "'=HYPERLINK(\"http://x\")"

    # CSV: a plain link, the file comes at once
    page.goto(url + "/_e2e/list")
    with page.expect_download() as info:
        page.get_by_role("link", name="导出 CSV").click()
    csv_path = tmp_path / "download.csv"
    info.value.save_as(csv_path)
    data = csv_path.read_bytes()
    assert data.startswith(b"\xef\xbb\xbf") and "第3000件作品" in data.decode("utf-8-sig")

    # 我的导出, from 个人中心
    page.goto(url + "/account/")
    page.get_by_role("link", name="我的导出").click()
    expect(page.get_by_role("heading", name="我的导出")).to_be_visible()
    expect(page.locator("table")).to_contain_text("作品列表导出（全部作品）")
    shots(page, "mine-1280")
    page.set_viewport_size({"width": 390, "height": 844})
    shots(page, "mine-390")

    # after the retention time: 410 and 重新导出
    job_id = int(job_url.rstrip("/").rsplit("/", 1)[1])
    with app.app_context():
        from kepu.extensions import db
        from kepu.jobs import Job
        from kepu.timeutil import utcnow

        job = db.session.get(Job, job_id)
        job.expires_at = utcnow() - timedelta(minutes=1)
        db.session.commit()
    assert errors == [], errors
    resp = page.goto(url + f"/jobs/{job_id}/download")
    assert resp.status == 410
    # Chromium reports any 4xx document as a console error: this one was asked for
    assert errors == ["Failed to load resource: the server responded with a status of 410 "
                      "(GONE)"], errors
    errors.clear()
    console_errors[:] = [e for e in console_errors if "status of 410 (GONE)" not in e]
    expect(page.get_by_role("heading", name="文件已过期，请重新导出")).to_be_visible()
    shots(page, "expired-390")
    page.get_by_role("button", name="重新导出").click()
    expect(page.get_by_role("link", name="下载")).to_be_visible(timeout=60_000)
    assert page.url != job_url
    assert errors == [], errors
