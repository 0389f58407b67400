"""Dates of the works call's edition settings: typos are refused at the form with a sane
range, and a stored value that cannot be read never takes a page down (issue 11 §3)."""
from __future__ import annotations

import pytest

from kepu.admin.models import Campaign
from kepu.extensions import db
from kepu.works.operations import editions as ops
from kepu.works.operations.common import OperationError, require_open_window
from kepu.works.settings import WorksSettings

from test_works_editions_admin import field_block, form_data, settings_url  # noqa: E402

TYPOS = ["0202-06-30T23:59", "0001-01-01T00:00", "1999-12-31T23:59", "2101-01-01T00:00",
         "9999-12-31T23:59", "20260-06-30T23:59", "2026-02-30T12:00", "2026-06-30T24:00"]


@pytest.mark.parametrize("typo", TYPOS)
@pytest.mark.parametrize("field", ["window_open", "window_close"])
def test_date_typo_is_refused_next_to_the_field(client, auth, wc, field, typo):
    auth.login_as(wc.admin)
    before = dict(wc.campaign.settings)
    r = client.post(settings_url(wc.campaign), data=form_data(wc.campaign, **{field: typo}))
    assert r.status_code == 422
    html = r.get_data(as_text=True)
    block = field_block(html, field)
    assert 'aria-invalid="true"' in block
    assert ("2000" in block and "2100" in block) or "有效的日期" in block, block
    assert typo in html  # what was typed is kept
    db.session.expire_all()
    assert db.session.get(Campaign, wc.campaign.id).settings == before
    for url in ("/works/", "/works/mine", "/works/admin/editions", settings_url(wc.campaign)):
        assert client.get(url).status_code == 200, url


UNREADABLE = ["202-06-30 23:59", "2026-06-31 23:59", "明年六月", "0001-01-01 00:00",
              "9999-12-31 23:59", 20260630, ["2026-06-30"], {"y": 2026}]


@pytest.mark.parametrize("bad", UNREADABLE, ids=repr)
@pytest.mark.parametrize("key", ["window_open", "window_close"])
def test_stored_unreadable_date_takes_no_page_down(client, auth, wc, key, bad):
    wc.campaign.settings = {**wc.campaign.settings, key: bad}
    db.session.commit()
    auth.login_as(wc.applicant)
    for url in ("/works/", "/works/mine", "/works/help"):
        assert client.get(url).status_code == 200, url
    assert "时间设置有误" in client.get("/works/").get_data(as_text=True)
    r = client.get("/works/new")  # closed (fail safe) with the reason, as any closed window
    assert r.status_code == 403 and "征集时间设置有误" in r.get_data(as_text=True)
    # Submissions are refused (fail safe) with a message, not a 500.
    with pytest.raises(OperationError) as e:
        require_open_window(db.session.get(Campaign, wc.campaign.id))
    assert "征集时间设置有误" in e.value.message

    auth.login_as(wc.admin)
    assert client.get("/works/admin/editions").status_code == 200
    page = client.get(settings_url(wc.campaign))
    assert page.status_code == 200
    html = page.get_data(as_text=True)
    assert "无法识别" in field_block(html, key)
    # The admin can repair it from the settings page.
    stored = wc.campaign.settings
    wc.campaign.settings = {**stored, "window_open": "2026-01-01 00:00",
                            "window_close": "2026-12-31 23:59"}
    fixed = form_data(wc.campaign)  # the page's other fields, in memory only
    wc.campaign.settings = stored
    fixed["settings_digest"] = ops.settings_digest(wc.campaign)
    r = client.post(settings_url(wc.campaign), data=fixed)
    assert r.status_code == 303, r.get_data(as_text=True)[:500]
    db.session.expire_all()
    s = WorksSettings(db.session.get(Campaign, wc.campaign.id))
    assert s[key] in ("2026-01-01 00:00", "2026-12-31 23:59")


def test_window_with_unreadable_close_is_closed_not_open(app, wc):
    wc.campaign.settings = {**wc.campaign.settings, "window_close": "garbage"}
    db.session.commit()
    state = WorksSettings(wc.campaign).window()
    assert not state.open and "征集时间设置有误" in state.message
