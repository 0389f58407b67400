"""Public pages of the works call: the landing page (/works/) and the per-edition
help page (/works/help), whose texts come from the edition's settings."""
from __future__ import annotations

import re

import pytest

from kepu.accounts.models import Grant
from kepu.admin.models import Campaign
from kepu.extensions import db
from kepu.orgs.channels import MISSING_CHANNEL_STEPS, UNIT_TYPES
from kepu.orgs.models import Org
from kepu.works.settings import DEFAULT_DECLARATION, DEFAULTS

from test_works_editions_admin import form_data, settings_url  # noqa: E402


def has(app, endpoint: str) -> bool:
    return endpoint in app.view_functions


def count_cell(html: str, kind: str) -> int:
    m = re.search(rf'data-kind="{kind}">(\d+) 家<', html)
    assert m, f"no count for {kind}"
    return int(m.group(1))


# --- help page ------------------------------------------------------------------------------

def test_help_is_public_and_complete(client, wc):
    r = client.get("/works/help")
    assert r.status_code == 200
    html = r.get_data(as_text=True)
    assert DEFAULTS["help"]["audience"] in html
    table = html[html.index('id="channel-map"'):html.index('id="unit-counts"')]
    for unit_type in UNIT_TYPES:
        assert f"<td>{unit_type}</td>" in table
    # seed 四(二): 高校科协 / 园区（企业）科协 / 其他主体 → 省级科协
    assert "<tr><td>高校科协</td><td>省级科协</td></tr>" in table
    assert "<tr><td>纲要办成员单位</td><td>纲要办成员单位</td></tr>" in table
    for step in MISSING_CHANNEL_STEPS:
        assert step in html
    states = html[html.index('id="state-table"'):html.index('id="limits"')]
    for label in ("待推荐", "退回修改", "完成推荐", "专家评审中", "专家已评审"):
        assert f"<strong>{label}</strong>" in states
    assert "仅【待推荐】和【退回修改】状态下" in states
    assert "不超过 3000 字" in html  # 亮点总结
    assert "最多 10 个，单个不超过 100 MB" in html
    assert "wps" in html and "mp4" in html
    assert "（五）</span>" + DEFAULT_DECLARATION[4] in html
    assert "2020-01-01 00:00 至 2099-12-31 23:59" in html  # the window, Beijing time
    assert "征集进行中" in html
    assert "褚倩倩" in html and "18612473958" in html
    assert "294" not in html  # live numbers, not the seed's


def test_help_counts_registered_recommender_units_live(client, wc, make_user):
    # wc: two 省级科协 with unit admins. Add a 全国学会 with an approved admin, a 纲要办
    # member without one, and an inactive 全国学会 with an admin.
    society = Org(name="中国科普作家协会", kind="全国学会")
    ministry = Org(name="教育部", kind="纲要办成员单位")
    merged = Org(name="中国某学会（旧）", kind="全国学会", status="merged")
    db.session.add_all([society, ministry, merged])
    db.session.commit()
    make_user(roles=[("unit_admin", {"org_id": society.id})])
    make_user(roles=[("unit_admin", {"org_id": merged.id})])
    html = client.get("/works/help").get_data(as_text=True)
    assert count_cell(html, "省级科协") == 2
    assert count_cell(html, "全国学会") == 1
    assert count_cell(html, "纲要办成员单位") == 0
    assert count_cell(html, "total") == 3
    # approving the ministry's admin shows up at once
    db.session.add(Grant(user_id=make_user().id, role="unit_admin", org_id=ministry.id))
    db.session.commit()
    html = client.get("/works/help").get_data(as_text=True)
    assert count_cell(html, "纲要办成员单位") == 1 and count_cell(html, "total") == 4


def test_help_for_a_given_year(client, wc):
    old = Campaign(kind="works", year=2025, title="2025年征集（往届）",
                   settings={"window_open": "2025-03-01 08:00", "window_close": "2025-06-30 18:00",
                             "help": {"audience": "往届的面向对象说明"}})
    db.session.add(old)
    db.session.commit()
    html = client.get("/works/help?year=2025").get_data(as_text=True)
    assert "2025年征集（往届）" in html and "往届的面向对象说明" in html
    assert "2025-03-01 08:00 至 2025-06-30 18:00" in html and "已截止" in html
    assert "褚倩倩" in html  # keys not stored fall back to the defaults
    current = client.get("/works/help").get_data(as_text=True)
    assert "2026年全国优质科普作品征集" in current and "往届的面向对象说明" not in current
    assert 'href="/works/help?year=2025"' in current  # other editions are linked
    assert client.get("/works/help?year=2024").status_code == 404
    assert client.get("/works/help?year=abc").status_code == 404


def test_contacts_edited_by_an_admin_appear_on_help_and_landing(client, auth, wc):
    auth.login_as(wc.admin)
    r = client.post(settings_url(wc.campaign), data=form_data(
        wc.campaign, help_business_contact="中国科协科普部　赵六　010-99998888",
        help_tech_contact="平台技术支持　钱七　13700001111",
        help_notes="材料请于截止前三天提交。\n逾期不予受理。",
        help_audience="面向全国科普工作者。"))
    assert r.status_code == 303
    auth.logout()
    html = client.get("/works/help").get_data(as_text=True)
    contact = html[html.index('id="contact"'):]
    assert "赵六　010-99998888" in contact and "钱七　13700001111" in contact
    assert "材料请于截止前三天提交。\n逾期不予受理。" in contact
    assert "褚倩倩" not in html
    assert "面向全国科普工作者。" in html
    landing = client.get("/works/").get_data(as_text=True)
    assert "赵六　010-99998888" in landing and "面向全国科普工作者。" in landing


def test_help_without_any_edition(client, app):
    r = client.get("/works/help")
    assert r.status_code == 200
    html = r.get_data(as_text=True)
    assert "暂无征集活动" in html and DEFAULTS["help"]["audience"] in html


def test_help_edit_link_only_for_platform_admin(client, auth, wc):
    assert "编辑帮助信息" not in client.get("/works/help").get_data(as_text=True)
    auth.login_as(wc.unit_admin)
    assert "编辑帮助信息" not in client.get("/works/help").get_data(as_text=True)
    auth.login_as(wc.admin)
    html = client.get("/works/help").get_data(as_text=True)
    assert f'href="{settings_url(wc.campaign)}#fs-help"' in html


# --- landing page ---------------------------------------------------------------------------

def test_landing_open_anonymous(client, wc, app):
    r = client.get("/works/")
    assert r.status_code == 200
    html = r.get_data(as_text=True)
    assert "2026年全国优质科普作品征集" in html and "征集进行中" in html
    m = re.search(r'<a class="btn btn-primary" id="apply-now" href="([^"]+)">立即申报</a>', html)
    assert m and m.group(1).startswith("/account/login?next=")
    assert 'href="/works/help?year=2026"' in html and 'href="/orgs/channels"' in html
    assert "我的入口" not in html


def test_landing_open_logged_in_applicant(client, auth, wc, app):
    auth.login_as(wc.applicant)
    html = client.get("/works/").get_data(as_text=True)
    if has(app, "works.new"):
        assert re.search(r'href="/works/[^"]*" id="apply-now">立即申报', html)
    else:
        assert "/account/login?next=" not in html
    if has(app, "works.my_works"):
        assert "我的作品" in html
    for label in ("推荐审核", "评审任务", "作品管理", "届次与设置"):
        assert label not in html


def test_landing_role_entries(client, auth, wc, app, make_user):
    everything = make_user(roles=[("unit_admin", {"org_id": wc.unit.id}), "expert",
                                  "platform_admin"])
    auth.login_as(everything)
    html = client.get("/works/").get_data(as_text=True)
    assert 'href="/works/admin/editions"' in html and "届次与设置" in html
    for endpoint, label in (("works.unit_list", "推荐审核"), ("works.expert_list", "评审任务"),
                            ("works.admin_list", "作品管理"), ("works.my_works", "我的作品")):
        if has(app, endpoint):
            with app.test_request_context():
                from flask import url_for
                url = url_for(endpoint)
            assert f'href="{url}"' in html and label in html
    auth.login_as(wc.unit_admin)
    html = client.get("/works/").get_data(as_text=True)
    assert "届次与设置" not in html and "评审任务" not in html


@pytest.mark.parametrize("settings, phase, message", [
    ({"window_open": "2020-01-01 00:00", "window_close": "2021-06-30 18:00"}, "已截止",
     "作品征集已于 2021-06-30 18:00 截止"),
    ({"window_open": "2098-01-01 09:00", "window_close": "2099-01-01 00:00"}, "未开始",
     "作品征集将于 2098-01-01 09:00 开始"),
])
def test_landing_closed_or_not_yet_open(client, auth, wc, settings, phase, message):
    wc.campaign.settings = settings
    db.session.commit()
    for user in (None, wc.applicant):
        if user:
            auth.login_as(user)
        html = client.get("/works/").get_data(as_text=True)
        assert phase in html and message in html
        assert 'id="apply-now"' not in html
        assert '<button type="button" class="btn btn-primary" disabled' in html
        assert "征集进行中" not in html


def test_landing_shows_the_latest_edition(client, wc):
    db.session.add(Campaign(kind="works", year=2025, title="2025年往届", settings={}))
    db.session.add(Campaign(kind="cases", year=2030, title="典赞2030", settings={}))
    db.session.commit()
    html = client.get("/works/").get_data(as_text=True)
    assert "2026年全国优质科普作品征集" in html
    assert "2025年往届" not in html and "典赞2030" not in html


def test_landing_without_edition(client, app, auth, make_user):
    r = client.get("/works/")
    assert r.status_code == 200
    html = r.get_data(as_text=True)
    assert "暂无征集活动" in html and "立即申报" not in html
    assert "创建征集届次" not in html
    auth.login_as(make_user(roles=["platform_admin"]))
    assert 'href="/works/admin/editions"' in client.get("/works/").get_data(as_text=True)
