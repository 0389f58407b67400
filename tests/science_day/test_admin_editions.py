"""全国科普日 edition administration: creating an edition (settings copied, windows moved
to the new year), editing every setting with server-side validation next to the field
(nothing typed lost), the windows taking effect at once, two admins saving at once."""
from __future__ import annotations

import html as htmllib
from datetime import timedelta

import pytest
from sqlalchemy import select

from kepu.admin.models import Campaign
from kepu.extensions import db
from kepu.science_day.operations import editions as ops
from kepu.science_day.settings import WINDOWS, ScienceDaySettings
from kepu.timeutil import to_local, utcnow
from kepu.workflow import AuditLog

LIST_URL = "/science-day/admin/editions"


def settings_url(campaign) -> str:
    return f"/science-day/admin/editions/{campaign.id}/settings"


def form_data(campaign, **over) -> dict:
    """A complete, valid settings form for ``campaign`` (what the GET page posts back)."""
    s = ScienceDaySettings(campaign)
    data = {"settings_digest": ops.settings_digest(campaign), "title": campaign.title,
            "edit_cap": str(s.edit_cap or ""), "notice_days": str(s["notice_days"]),
            "theme": s["theme"], "food_safety_keyword": s["food_safety_keyword"],
            "help_intro": s["help"]["intro"], "help_contacts": s["help"]["contacts"],
            "help_undertaking": s["help"]["undertaking"]}
    for key in ("activity_types", "modes", "joint_actions", "special_actions"):
        data[key] = "\n".join(s[key])
    for key in WINDOWS:
        for part in ("open", "close"):
            data[f"w_{key}_{part}"] = s["windows"][key][part][:16].replace(" ", "T")
    for key, value in s["limits"].items():
        data[f"limit_{key}"] = str(value)
    from kepu.science_day.admin_forms import SECTION_LIMITS

    for section, key, *_ in SECTION_LIMITS:
        data[f"sec_{section}_{key}"] = str(s.section_number(section, key))
    data.update(over)
    return data


@pytest.fixture
def edition(app):
    campaign, _ = ops.ensure_edition(2026)
    db.session.commit()
    return campaign


@pytest.fixture
def admin(make_user):
    return make_user("13900000701", name="平台管理员", roles=["platform_admin"])


def test_list_shows_editions_and_counts(client, auth, admin, edition):
    auth.login_as(admin)
    page = client.get(LIST_URL).get_data(as_text=True)
    assert "2026年全国科普日" in page
    assert f'href="{settings_url(edition)}"' in page
    assert "共 0 个" in page


def test_create_next_edition_copies_settings_and_moves_windows(client, auth, admin, edition):
    edition.settings = {**edition.settings, "theme": "科学家精神"}
    db.session.commit()
    auth.login_as(admin)
    resp = client.post(LIST_URL, data={"year": "2027", "title": "2027年全国科普日"})
    assert resp.status_code == 303
    new = db.session.scalar(select(Campaign).where(Campaign.kind == "science_day",
                                                   Campaign.year == 2027))
    assert resp.headers["Location"].endswith(settings_url(new))
    s = ScienceDaySettings(new)
    assert s["theme"] == "科学家精神"
    assert s["windows"]["filing"]["open"].startswith("2027-08-15")
    assert s["windows"]["recommend"]["close"].startswith("2027-10-25")
    # the same year twice is refused next to the field, nothing created
    resp = client.post(LIST_URL, data={"year": "2027", "title": "重复"})
    assert resp.status_code == 422
    assert 'id="year-error"' in resp.get_data(as_text=True)
    assert db.session.query(Campaign).filter_by(kind="science_day").count() == 2


def test_a_new_edition_does_not_inherit_the_thanks_pause(client, auth, admin, edition):
    from kepu.science_day.thanks import config_of

    edition.settings = {**edition.settings,
                        "thanks_sms": {"enabled": True, "paused": True, "sign": "某科协"}}
    db.session.commit()
    auth.login_as(admin)
    assert client.post(LIST_URL, data={"year": "2027", "title": "2027年全国科普日"}
                       ).status_code == 303
    new = ops.edition_by_year(2027)
    config = config_of(new.settings)
    assert config.enabled and not config.paused and config.sign == "某科协"
    assert config_of(edition.settings).paused


def test_resource_and_annual_report_limits_are_settings(client, auth, admin, edition):
    from kepu.science_day import annual, resources

    auth.login_as(admin)
    page = client.get(settings_url(edition)).get_data(as_text=True)
    assert "下载资源文件大小" in page and "年度工作总结附件" in page
    resp = client.post(settings_url(edition), data=form_data(
        edition, sec_resources_file_mb="80", sec_annual_report_files="0",
        sec_annual_report_text_max="8000"))
    assert resp.status_code == 422
    assert 'id="sec_annual_report_files-error"' in resp.get_data(as_text=True)
    assert 'value="80"' in resp.get_data(as_text=True)
    resp = client.post(settings_url(edition), data=form_data(
        edition, sec_resources_file_mb="80", sec_annual_report_files="3",
        sec_annual_report_text_max="8000"))
    assert resp.status_code == 303
    db.session.refresh(edition)
    s = ScienceDaySettings(edition)
    assert s.section_number("resources", "file_mb") == 80
    assert s.section_number("annual_report", "files") == 3
    assert s.section_number("annual_report", "text_max") == 8000
    assert s.section_number("resources", "background_min_width") == 1240
    # what the 下载资源 and annual-report pages read
    assert resources.config(s, "file_mb") == 80 and annual.config(s, "files") == 3


def test_settings_page_renders_every_group(client, auth, admin, edition):
    auth.login_as(admin)
    page = client.get(settings_url(edition)).get_data(as_text=True)
    for anchor in ("fs-basic", "fs-windows", "fs-rules", "fs-taxonomy", "fs-limits",
                   "fs-texts"):
        assert f'id="{anchor}"' in page
    for key in WINDOWS:
        assert f'id="window-{key}"' in page
    assert 'value="2026-09-28T23:59"' in page


def test_save_takes_effect_and_is_audited(client, auth, admin, edition):
    auth.login_as(admin)
    now = to_local(utcnow())
    data = form_data(edition, edit_cap="5", activity_types="科普讲座\n科普展览",
                     w_filing_close=(now - timedelta(days=1)).strftime("%Y-%m-%dT%H:%M"),
                     w_filing_open=(now - timedelta(days=10)).strftime("%Y-%m-%dT%H:%M"))
    resp = client.post(settings_url(edition), data=data)
    assert resp.status_code == 303, resp.get_data(as_text=True)[:500]
    db.session.refresh(edition)
    s = ScienceDaySettings(edition)
    assert s.edit_cap == 5
    assert s["activity_types"] == ["科普讲座", "科普展览"]
    state = s.phase("filing")
    assert not state.open and "活动信息填报已于" in state.message
    assert db.session.scalar(select(AuditLog).where(
        AuditLog.action.like("%settings%"))) is not None
    # an empty edit cap means no cap
    resp = client.post(settings_url(edition), data=form_data(edition, edit_cap=""))
    assert resp.status_code == 303
    db.session.refresh(edition)
    assert ScienceDaySettings(edition).edit_cap is None


@pytest.mark.parametrize("field,value,message", [
    ("w_summary_close", "2026-08-01T00:00", "截止时间必须晚于开始时间"),
    ("w_filing_open", "2026-13-45T99:00", "请输入有效的日期和时间"),
    ("limit_name", "3", None),
    ("edit_cap", "abc", None),
    ("modes", "线上\n线上", None),
    ("food_safety_keyword", "", "请填写关键词"),
])
def test_invalid_input_is_refused_next_to_the_field(client, auth, admin, edition, field,
                                                    value, message):
    auth.login_as(admin)
    before = dict(edition.settings or {})
    typed = form_data(edition, theme="我刚输入的主题", **{field: value})
    resp = client.post(settings_url(edition), data=typed)
    assert resp.status_code == 422
    page = htmllib.unescape(resp.get_data(as_text=True))
    assert f'id="{field}-error"' in page
    if message:
        assert message in page
    assert 'value="我刚输入的主题"' in page  # nothing typed is lost
    db.session.refresh(edition)
    assert (edition.settings or {}) == before


def test_two_admins_saving_at_once(client, auth, admin, edition, app, make_user,
                                   login_session):
    other = make_user("13900000702", roles=["platform_admin"])
    second = app.test_client()
    login_session(second, other)
    auth.login_as(admin)
    mine = form_data(edition, theme="甲的主题")
    theirs = form_data(edition, notice_days="3")
    assert second.post(settings_url(edition), data=theirs).status_code == 303
    resp = client.post(settings_url(edition), data=mine)
    assert resp.status_code == 409
    page = resp.get_data(as_text=True)
    assert 'value="甲的主题"' in page
    assert 'href="#fs-texts"' in page
    db.session.refresh(edition)
    s = ScienceDaySettings(edition)
    assert s["notice_days"] == 3 and s["theme"] == ""


def test_unreadable_stored_window_keeps_pages_up(client, auth, admin, edition):
    edition.settings = {**(edition.settings or {}),
                        "windows": {"filing": {"open": "0202-99-99", "close": "x"}}}
    db.session.commit()
    auth.login_as(admin)
    assert client.get(LIST_URL).status_code == 200
    page = client.get(settings_url(edition)).get_data(as_text=True)
    assert "时间设置有误" in page
    assert not ScienceDaySettings(edition).phase("filing").open


def test_others_cannot_post_settings(client, auth, make_user, edition):
    user = make_user("13900000703", roles=["national_admin"])
    auth.login_as(user)
    before = dict(edition.settings or {})
    resp = client.post(settings_url(edition), data=form_data(edition, theme="越权"))
    assert resp.status_code == 404
    db.session.refresh(edition)
    assert (edition.settings or {}) == before


def test_another_kind_of_campaign_is_404(client, auth, admin, app):
    other = Campaign(kind="works", year=2026, title="作品征集", settings={})
    db.session.add(other)
    db.session.commit()
    auth.login_as(admin)
    assert client.get(settings_url(other)).status_code == 404
