"""The 届次 switch on the cases pages: the unit list, the summary and the national
selection show the picked edition; entering a case always uses the latest."""
from __future__ import annotations

import pytest

from kepu.admin.models import Campaign
from kepu.extensions import db


@pytest.fixture
def old_case(cc):
    """A closed 2025 edition with one recommended case at cc.unit (the world's is 2026)."""
    old = Campaign(kind="cases", year=2025, title="2025年度“典赞·科普中国”科普案例征集",
                   settings={"window_open": "2025-06-17 00:00",
                             "window_close": "2025-06-30 23:59:59"})
    db.session.add(old)
    db.session.commit()
    case = cc.make_case(status="recommended", name="二〇二五年的案例", with_photos=False)
    case.campaign_id = old.id
    db.session.commit()
    return case


def view(client, year, next_url):
    return client.post("/edition/cases", data={"year": str(year), "next": next_url})


def test_unit_pages_follow_the_switch(client, auth, cc, old_case):
    new_case = cc.make_case(name="二〇二六年的案例", with_photos=False)
    auth.login(cc.case_admin.phone)
    html = client.get("/cases/unit/").get_data(as_text=True)
    assert new_case.name in html and old_case.name not in html
    assert "2026 年度（本届）" in html

    assert view(client, 2025, "/cases/unit/").status_code == 303
    html = client.get("/cases/unit/").get_data(as_text=True)
    assert old_case.name in html and new_case.name not in html
    assert "正在查看往届数据：2025年度“典赞·科普中国”科普案例征集" in html
    summary = client.get("/cases/unit/summary").get_data(as_text=True)
    assert old_case.name in summary and "2025" in summary


def test_past_edition_cannot_be_submitted(client, auth, cc, old_case):
    """The stamped scan of a closed edition is refused: its window is over."""
    auth.login(cc.case_admin.phone)
    view(client, 2025, "/cases/unit/summary")
    r = client.post("/cases/unit/scan", data={})
    assert r.status_code in (409, 422)
    assert "截止" in r.get_data(as_text=True)


def test_national_selection_follows_the_switch(client, auth, cc, old_case):
    auth.login(cc.admin.phone)
    html = client.get("/cases/admin/select?tab=activity").get_data(as_text=True)
    assert old_case.name not in html
    view(client, 2025, "/cases/admin/select")
    html = client.get("/cases/admin/select?tab=activity").get_data(as_text=True)
    assert old_case.name in html


def test_entering_a_case_uses_the_latest_edition(client, auth, cc, old_case):
    auth.login(cc.implementer.phone)
    view(client, 2025, "/cases/mine")
    html = client.get("/cases/start").get_data(as_text=True)
    assert "已于 2025-06-30" not in html and 'name="code"' in html
