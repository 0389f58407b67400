"""The shared pieces of issue 9: the workbench registry, the one-row header and user
menu, the admin side menu and home, the front door and the footer, the error summary,
and the demo data that gives every demo role something to do."""
from __future__ import annotations

import re
from datetime import datetime

import pytest
from sqlalchemy import func, select

from kepu import workbench as wb
from kepu.admin.models import Campaign
from kepu.extensions import db
from kepu.orgs.models import Org, UnitApplication
from kepu.web import keep_numbers
from kepu.works.models import Work

WINDOW = {"window_open": "2020-01-01 00:00", "window_close": "2099-12-31 23:59"}


def campaign(kind, year=2026, **settings):
    c = Campaign(kind=kind, year=year, title=f"{year}{kind}征集",
                 settings={**WINDOW, **settings})
    db.session.add(c)
    db.session.commit()
    return c


def header(html: str) -> str:
    return html[html.index('<header class="site-header">'):html.index("</header>")]


# --- registry --------------------------------------------------------------------------

@pytest.fixture
def fake_providers(app):
    added = []

    def add(key, cards):
        wb.register(lambda user: cards, key=key)
        added.append(key)

    yield add
    for key in added:
        wb._providers.pop(key, None)


def test_role_cards_first_and_optional_own_cards_only_without_roles(app, make_user,
                                                                   fake_providers):
    user = make_user()
    own = wb.Card(key="zz.own", title="我的", role=False, optional=True, order=1)
    own_full = wb.Card(key="zz.own2", title="我的（有内容）", role=False, order=2)
    role_b = wb.Card(key="zz.b", title="乙", order=90)
    role_a = wb.Card(key="zz.a", title="甲", order=80)
    fake_providers("zz1", [own, own_full])
    with app.test_request_context():
        keys = [c.key for c in wb.cards_for(user) if c.key.startswith("zz.")]
        assert keys == ["zz.own2", "zz.own"]  # no role: every own card, empty ones last
        todo = wb.Card(key="zz.own3", title="有待办", role=False, optional=False, order=3,
                       counts=[wb.Count("退回修改", 1, tone="warn")])
        fake_providers("zz3", [todo])
        keys = [c.key for c in wb.cards_for(user) if c.key.startswith("zz.")]
        assert keys == ["zz.own3", "zz.own2", "zz.own"]  # something to do comes first
        fake_providers("zz2", [role_b, role_a])
        keys = [c.key for c in wb.cards_for(user) if c.key.startswith("zz.")]
        assert keys == ["zz.a", "zz.b", "zz.own3", "zz.own2"]  # roles first; empty own goes


def test_register_is_idempotent_per_key(app, fake_providers):
    before = len(wb._providers)
    fake_providers("same", [])
    fake_providers("same", [])
    assert len(wb._providers) == before + 1


def test_deadline_counts_beijing_calendar_days():
    # closes 2026-06-30 23:59 Beijing = 15:59 UTC
    d = wb.Deadline("征集截止", datetime(2026, 6, 30, 15, 59))
    assert d.days_left(datetime(2026, 6, 20, 2, 0)) == 10
    # 2026-06-29 17:00 UTC is already 06-30 01:00 in Beijing: closes today
    assert d.text(datetime(2026, 6, 29, 17, 0)) == "今天截止"
    assert d.text(datetime(2026, 6, 28, 15, 0)) == "还剩 2 天"
    assert d.text(datetime(2026, 6, 30, 16, 0)) == "已截止"


def test_every_registered_campaign_links_to_an_existing_page(app):
    with app.test_request_context():
        kinds = [c.kind for c in wb.campaigns()]
    assert kinds == ["works", "science_day", "cases"]


# --- header ----------------------------------------------------------------------------

def test_header_has_no_hidden_tab_stop_and_does_not_grow_with_roles(app, client, auth,
                                                                     make_user):
    campaign("works")
    org = Org(name="北京市科学技术协会", kind="省级科协")
    db.session.add(org)
    db.session.commit()
    plain = make_user("13900000201")
    busy = make_user("13900000202", roles=[
        ("unit_admin", {"org_id": org.id}), ("case_unit", {"org_id": org.id}), "expert",
        "national_admin", "platform_admin"])
    auth.login_as(plain)
    h_plain = header(client.get("/workbench").get_data(as_text=True))
    auth.login_as(busy)
    h_busy = header(client.get("/workbench").get_data(as_text=True))
    assert "nav-toggle" not in h_plain and 'type="checkbox"' not in h_busy
    nav = r'<nav class="site-nav" aria-label="主导航">(.*?)</nav>'
    links = lambda h: re.findall(r"<a [^>]*>([^<]+)</a>", re.search(nav, h, re.S).group(1))  # noqa: E731
    # the same main navigation whatever the roles: 工作台 and the campaigns
    assert links(h_plain) == links(h_busy) == ["工作台", "作品征集", "科普日", "典赞案例",
                                                 "作品征集", "科普日", "典赞案例"]
    for item in ("个人中心", "我的作品", "我的案例", "退出登录"):
        assert item in h_plain and item in h_busy
    assert "管理后台" in h_busy and "管理后台" not in h_plain
    assert '<details class="menu user-menu" data-menu>' in h_busy


def test_anonymous_header(client):
    h = header(client.get("/").get_data(as_text=True))
    assert "登录" in h and "注册" in h and "工作台" not in h and "user-menu" not in h


# --- admin side menu and home ------------------------------------------------------------

def test_admin_pages_get_the_side_menu(client, auth, make_user):
    campaign("works")
    campaign("cases")
    admin = make_user("13900000203", roles=["platform_admin"])
    auth.login_as(admin)
    for url in ("/admin/", "/admin/users", "/works/admin/assign", "/cases/admin/codes",
                "/orgs/admin/"):
        html = client.get(url).get_data(as_text=True)
        assert 'class="admin-side admin-side-wide" aria-label="管理菜单"' in html, url
        for section in ("平台", "优质科普作品征集", "典赞·科普中国案例征集"):
            assert f'<p class="admin-side-title">{section}</p>' in html, (url, section)
    assert "admin-side" not in client.get("/workbench").get_data(as_text=True)
    html = client.get("/works/admin/assign").get_data(as_text=True)
    assert re.search(r'<a href="/works/admin/assign" aria-current="page">分配评审专家</a>', html)


def test_admin_home_figures_per_campaign_match_the_data(client, auth, make_user):
    works = campaign("works")
    cases = campaign("cases")
    org = Org(name="北京市科学技术协会", kind="省级科协")
    db.session.add(org)
    db.session.flush()
    owner = make_user("13900000204")
    for status, selected in (("pending", False), ("pending", False), ("returned", False),
                             ("in_review", False), ("reviewed", True), ("draft", False)):
        db.session.add(Work(campaign_id=works.id, owner_id=owner.id, status=status,
                            channel_id=org.id, selected=selected))
    db.session.add(UnitApplication(user_id=owner.id, org_id=org.id))
    db.session.commit()
    auth.login_as(make_user("13900000205", roles=["platform_admin"]))
    html = client.get("/admin/").get_data(as_text=True)

    def figure(section_title, label):
        part = html[html.index(section_title):]
        m = re.search(r'data-figure="' + re.escape(label) + r'">.*?class="figure-num">(\d+)<',
                      part, re.S)
        return int(m.group(1))

    def n(*where):
        return db.session.scalar(select(func.count(Work.id)).where(*where))

    assert figure(works.title, "已提交") == n(Work.status != "draft") == 5
    assert figure(works.title, "待推荐") == n(Work.status == "pending") == 2
    assert figure(works.title, "退回修改") == 1
    assert figure(works.title, "专家评审中") == 1
    assert figure(works.title, "入选") == n(Work.selected.is_(True)) == 1
    assert figure(cases.title, "已提交") == 0
    assert figure("待审批", "推荐单位管理员申请") == 1


# --- front door and footer -------------------------------------------------------------------

def test_home_shows_each_open_call_with_dates_and_apply(client):
    campaign("works", window_close="2099-12-31 23:59")
    campaign("cases", window_open="2099-01-01 00:00")  # not open yet
    html = client.get("/").get_data(as_text=True)
    works = html[html.index('id="call-works"'):html.index('id="call-science_day"')]
    assert "2026works征集" in works and "2099-12-31 23:59" in works
    assert re.search(r'<span class="call-left">还剩 \d+ 天</span>', works)
    assert '<a class="btn btn-primary" href="/works/new">立即申报</a>' in works
    cases = html[html.index('id="call-cases"'):]
    assert "未开始" in cases and "2099-01-01 00:00" in cases and "立即申报" not in cases
    science = html[html.index('id="call-science_day"'):html.index('id="call-cases"')]
    # no edition yet: the public site's home
    assert "全国科普日" in science and 'href="/science-day/"' in science


def test_home_without_editions(client):
    html = client.get("/").get_data(as_text=True)
    works = html[html.index('id="call-works"'):html.index('id="call-science_day"')]
    assert "暂无进行中的征集" in works and 'href="/works/"' in works


def test_footer_names_the_operator_and_the_calls_contacts(app_factory):
    app = app_factory(PLATFORM_OPERATOR="某某科技有限公司",
                      PLATFORM_CONTACTS="平台客服：400-810-0000|邮箱：help@example.com")
    with app.app_context():
        campaign("cases")
        html = app.test_client().get("/").get_data(as_text=True)
    footer = html[html.index('<footer class="site-footer">'):]
    assert "运营单位：某某科技有限公司" in footer
    assert '平台客服：<span class="nowrap">400-810-0000</span>' in footer
    assert "邮箱：help@example.com" in footer
    assert '温超　<span class="nowrap">010-68526368</span>' in footer  # edition settings


def test_footer_follows_a_change_of_the_contacts(client):
    """The footer's contacts are kept per process under the editions' settings: a
    change shows on the next page, and so does a new edition."""
    c = campaign("cases")
    assert "温超" in client.get("/").get_data(as_text=True).split("site-footer")[1]
    c.settings = {**c.settings, "contacts": {"business": "新联系人　010-12345678"}}
    db.session.commit()
    footer = client.get("/").get_data(as_text=True).split("site-footer")[1]
    assert "新联系人" in footer and "温超" not in footer
    campaign("cases", year=2027, contacts={"business": "二〇二七联系人"})
    footer = client.get("/").get_data(as_text=True).split("site-footer")[1]
    assert "二〇二七联系人" in footer and "新联系人" not in footer


def test_keep_numbers_never_splits_a_phone_number():
    out = str(keep_numbers("联系电话：010-68526368；手机 15901291219 <b>"))
    assert '<span class="nowrap">010-68526368</span>' in out
    assert '<span class="nowrap">15901291219</span>' in out and "&lt;b&gt;" in out


def test_login_and_register_use_the_whole_width(client):
    campaign("works")
    html = client.get("/account/login").get_data(as_text=True)
    aside = html[html.index('<aside class="auth-aside"'):html.index("</aside>")]
    assert "2026works征集" in aside and "工作台" in aside


# --- error summary --------------------------------------------------------------------------

def test_error_summary_lists_each_error_with_a_link_to_its_field(client):
    r = client.post("/account/register", data={"phone": "123", "password": "x",
                                               "confirm": "y", "code": ""})
    html = r.get_data(as_text=True)
    assert r.status_code == 422
    summary = html[html.index('id="error-summary"'):]
    summary = summary[:summary.index("</div>")]
    assert 'role="alert"' in summary
    links = re.findall(r'<a href="#([a-z_]+)" data-error-key="[a-z_]+">([^<]+)</a>', summary)
    assert ("phone", "请输入正确的手机号") in links
    assert {k for k, _ in links} >= {"phone", "code", "password"}
    for field_id, _ in links:
        assert f'id="{field_id}"' in html


# --- demo data --------------------------------------------------------------------------------

def test_demo_gives_every_demo_role_something_to_do(app, runner):
    result = runner.invoke(args=["kepu", "demo"])
    assert result.exit_code == 0, result.output
    from kepu.accounts.models import User
    from kepu.cli import DEMO_ACCOUNTS

    todo = {}
    with app.test_request_context():
        for phone, *_ in DEMO_ACCOUNTS:
            cards = wb.cards_for(User.by_phone(phone))
            assert cards, phone
            todo[phone] = sum(c.todo for c in cards)
    for phone in ("13800000001", "13800000002", "13800000003", "13800000004",
                  "13800000005", "13800000006", "13800000007"):
        assert todo[phone] > 0, (phone, todo)
    again = runner.invoke(args=["kepu", "demo"])  # idempotent
    assert again.exit_code == 0 and db.session.scalar(select(func.count(Work.id))) == 8


# --- upload widget ------------------------------------------------------------------------------

def test_one_upload_widget_a_styled_zone_with_format_tags(client, auth, make_user):
    auth.login_as(make_user("13900000206"))
    html = client.get("/files/").get_data(as_text=True)
    widget = html[html.index('class="field upload-widget'):]
    widget = widget[:widget.index('<ul class="file-list"')]
    # the file input stays the keyboard's tab stop, labelled by the field label; the zone
    # is one 点击上传 face for it (hidden from screen readers: it repeats the label)
    m = re.search(r'<input type="file" id="([^"]+)" class="upload-input"', widget)
    assert m
    assert f'<label class="upload-label" for="{m.group(1)}">' in widget
    assert f'<label class="dropzone-face" for="{m.group(1)}" aria-hidden="true">' in widget
    assert '<span class="dropzone-button">点击上传</span>' in widget
    assert '<span class="dropzone-drag">或将文件拖到此处</span>' in widget
    tags = re.findall(r"<li>(\.[a-z0-9]+)</li>", widget)
    assert ".pdf" in tags and ".docx" in tags
    assert "支持格式：" not in widget.split('class="visually-hidden"')[0]  # tags, not a run-on list


def test_upload_input_is_hidden_only_when_javascript_runs():
    css = open("static/css/app.css", encoding="utf-8").read()
    assert re.search(r"\.js \.upload-widget \.upload-input \{ position: absolute;", css)
    assert "html:not(.js) .upload-widget .upload-input" in css
    assert re.search(r"@media \(hover: none\), \(pointer: coarse\) \{ \.dropzone-drag \{ display: none; \} \}",
                     css)
    early = open("static/js/early.js", encoding="utf-8").read()
    assert 'classList.add("js")' in early
    base = open("templates/base.html", encoding="utf-8").read()
    assert re.search(r'<script src="[^"]*early\.js[^"]*"></script>', base)  # not deferred
