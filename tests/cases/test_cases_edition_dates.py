"""Dates of the cases call's edition settings: typos are refused at the form with a sane
range, and a stored value that cannot be read never takes a page down (issue 11 §3)."""
from __future__ import annotations

import pytest

from kepu.admin.models import Campaign
from kepu.cases.operations import editions as ops
from kepu.cases.settings import CasesSettings
from kepu.extensions import db

from test_cases_editions_admin import field_block, form_data, settings_url  # noqa: E402

TYPOS = ["0202-06-30T23:59", "0001-01-01T00:00", "1999-12-31T23:59", "2101-01-01T00:00",
         "20260-06-30T23:59", "2026-02-30T12:00"]


@pytest.mark.parametrize("typo", TYPOS)
@pytest.mark.parametrize("field", ["window_open", "window_close"])
def test_date_typo_is_refused_next_to_the_field(client, auth, cc, field, typo):
    auth.login_as(cc.admin)
    before = dict(cc.campaign.settings)
    r = client.post(settings_url(cc.campaign), data=form_data(cc.campaign, **{field: typo}))
    assert r.status_code == 422
    html = r.get_data(as_text=True)
    block = field_block(html, field)
    assert 'aria-invalid="true"' in block
    assert ("2000" in block and "2100" in block) or "有效的日期" in block, block
    db.session.expire_all()
    assert db.session.get(Campaign, cc.campaign.id).settings == before


@pytest.mark.parametrize("typo", ["0202-01-01", "1999-12-31", "2101-01-01", "20250-01-01"])
def test_work_since_typo_is_refused(client, auth, cc, typo):
    auth.login_as(cc.admin)
    r = client.post(settings_url(cc.campaign), data=form_data(cc.campaign, work_since=typo))
    assert r.status_code == 422
    block = field_block(r.get_data(as_text=True), "work_since")
    assert 'aria-invalid="true"' in block


UNREADABLE = ["202-06-30 23:59", "明年六月", "0001-01-01 00:00", "9999-12-31 23:59",
              20260630, None, ["x"]]


@pytest.mark.parametrize("bad", UNREADABLE, ids=repr)
@pytest.mark.parametrize("key", ["window_open", "window_close", "work_since"])
def test_stored_unreadable_date_takes_no_page_down(client, auth, cc, key, bad):
    cc.campaign.settings = {**cc.campaign.settings, key: bad}
    db.session.commit()
    auth.login_as(cc.implementer)
    for url in ("/cases/mine", "/cases/start", f"/cases/start?code={cc.code.code}"):
        assert client.get(url).status_code == 200, url
    auth.login_as(cc.case_admin)
    for url in ("/cases/unit/", "/cases/unit/summary"):
        assert client.get(url).status_code == 200, url
    auth.login_as(cc.admin)
    for url in ("/cases/admin/editions", "/cases/admin/codes", "/cases/admin/select"):
        assert client.get(url).status_code == 200, url
    page = client.get(settings_url(cc.campaign))
    assert page.status_code == 200
    if bad is not None:
        assert "无法识别" in field_block(page.get_data(as_text=True), key)
    stored = cc.campaign.settings
    cc.campaign.settings = {**stored, "window_open": "2026-06-17 00:00",
                            "window_close": "2026-12-31 23:59:59", "work_since": "2025-01-01"}
    fixed = form_data(cc.campaign)  # the page's other fields, in memory only
    cc.campaign.settings = stored
    fixed["settings_digest"] = ops.settings_digest(cc.campaign)
    r = client.post(settings_url(cc.campaign), data=fixed)
    assert r.status_code == 303, r.get_data(as_text=True)[:500]
    db.session.expire_all()
    s = CasesSettings(db.session.get(Campaign, cc.campaign.id))
    assert s["work_since"] == "2025-01-01"
