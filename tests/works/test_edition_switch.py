"""The 届次 switch: review, export and expert pages can show an earlier edition; new
works always go to the latest one."""
from __future__ import annotations

import io

import pytest
from openpyxl import load_workbook

from kepu.admin.models import Campaign
from kepu.extensions import db


@pytest.fixture
def two_years(wc):
    """wc's 2026 edition plus a closed 2025 one, one work in each at wc.unit."""
    old = Campaign(kind="works", year=2025, title="2025年全国优质科普作品征集",
                   settings={"window_open": "2025-01-01 00:00",
                             "window_close": "2025-06-30 23:59"})
    db.session.add(old)
    db.session.commit()
    new_work = wc.make_work(title="二〇二六年的作品", with_files=False)
    old_work = wc.make_work(title="二〇二五年的作品", with_files=False)
    old_work.campaign_id = old.id
    db.session.commit()
    return old, old_work, new_work


def switch(client, kind: str, year, next_url: str):
    return client.post(f"/edition/{kind}", data={"year": str(year), "next": next_url})


def test_unit_list_shows_latest_then_the_picked_edition(client, auth, wc, two_years):
    old, old_work, new_work = two_years
    auth.login(wc.unit_admin.phone)
    html = client.get("/works/unit/").get_data(as_text=True)
    assert new_work.title in html and old_work.title not in html
    assert 'name="year"' in html and "2025 年度" in html and "2026 年度（本届）" in html
    assert "正在查看往届数据" not in html

    r = switch(client, "works", 2025, "/works/unit/")
    assert r.status_code == 303 and r.headers["Location"].endswith("/works/unit/")
    html = client.get("/works/unit/").get_data(as_text=True)
    assert old_work.title in html and new_work.title not in html
    assert "正在查看往届数据：2025年全国优质科普作品征集" in html
    assert "返回本届（2026 年度）" in html

    switch(client, "works", 2026, "/works/unit/")
    with client.session_transaction() as s:
        assert "view_edition:works" not in s  # back to following the latest edition
    html = client.get("/works/unit/").get_data(as_text=True)
    assert new_work.title in html and old_work.title not in html


def test_export_follows_the_viewed_edition(client, auth, wc, two_years):
    old, old_work, new_work = two_years
    auth.login(wc.admin.phone)
    switch(client, "works", 2025, "/works/admin/")
    r = client.post("/works/admin/export.xlsx")       # a job, run at once in tests
    assert r.status_code == 303
    page = client.get(r.headers["Location"]).get_data(as_text=True)
    import re

    r = client.get(re.search(r'href="(/jobs/\d+/download)"', page).group(1))
    assert r.status_code == 200
    cells = {str(c.value) for row in load_workbook(io.BytesIO(r.data)).active.iter_rows()
             for c in row}
    assert old_work.title in cells and new_work.title not in cells


def test_the_switch_is_per_session_and_new_works_use_the_latest(client, auth, wc, two_years):
    auth.login(wc.applicant.phone)
    switch(client, "works", 2025, "/works/mine")
    html = client.get("/works/new", follow_redirects=True).get_data(as_text=True)
    assert "2026" in html and "已于 2025-06-30" not in html


def test_no_switch_with_one_edition(client, auth, wc):
    wc.make_work(with_files=False)
    auth.login(wc.unit_admin.phone)
    html = client.get("/works/unit/").get_data(as_text=True)
    assert 'class="edition-switch"' not in html


@pytest.mark.parametrize("year, message", [("", "请选择要查看的届次"),
                                           ("2019", "没有 2019 年度的作品征集"),
                                           ("abc", "请选择要查看的届次")])
def test_bad_years_are_refused_and_nothing_changes(client, auth, wc, two_years, year, message):
    auth.login(wc.unit_admin.phone)
    r = switch(client, "works", year, "/works/unit/")
    assert r.status_code == 303
    with client.session_transaction() as s:
        assert "view_edition:works" not in s
    assert message in client.get("/works/unit/").get_data(as_text=True)


def test_unknown_kind_and_anonymous(client, auth, wc, two_years):
    r = switch(client, "works", 2025, "/works/unit/")
    assert r.status_code in (302, 303) and "/account/login" in r.headers["Location"]
    auth.login(wc.unit_admin.phone)
    assert switch(client, "nope", 2025, "/").status_code == 404


@pytest.mark.parametrize("next_url", ["//evil.example/x", "https://evil.example/", "works"])
def test_next_must_be_a_local_path(client, auth, wc, two_years, next_url):
    auth.login(wc.unit_admin.phone)
    r = switch(client, "works", 2025, next_url)
    assert r.status_code == 303 and r.headers["Location"] in ("/", "http://localhost/")


def test_login_starts_on_the_latest_edition(client, auth, wc, two_years):
    old, old_work, new_work = two_years
    auth.login(wc.unit_admin.phone)
    switch(client, "works", 2025, "/works/unit/")
    client.post("/account/logout")
    auth.login(wc.unit_admin.phone)
    html = client.get("/works/unit/").get_data(as_text=True)
    assert new_work.title in html and old_work.title not in html
