"""全国科普日 活动管理 in Chromium: the provincial admin finds activities by typing and by a
filter, 退回 with a reason right after typing, 通过 from the detail page with the
checklist of review principles beside it; the national admin 通过 and it is published; a
全国学会-归口 activity is on the national list only. Screenshots at 1280 and 390 px.
Every test also fails on any browser console error (tests/e2e/conftest.py)."""
from __future__ import annotations

import re

from playwright.sync_api import Page, expect

PASSWORD = "Passw0rd!"
PROVINCE, NATIONAL = "13800000211", "13800000212"


def seed(server) -> None:
    def _seed():
        from datetime import timedelta

        from kepu.accounts.models import User
        from kepu.accounts.operations import grant_role
        from kepu.admin.models import Campaign
        from kepu.extensions import db
        from kepu.orgs.models import Org
        from kepu.science_day.models import Activity
        from kepu.science_day.routing import route_province
        from kepu.timeutil import utcnow

        windows = {k: {"open": "2020-01-01 00:00", "close": "2099-12-31 23:59"}
                   for k in ("filing", "supplement", "summary", "annual_report", "recommend")}
        campaign = Campaign(kind="science_day", year=2026, title="2026年全国科普日",
                            settings={"windows": windows})
        bj = Org(name="北京市科学技术协会", kind="省级科协", region_code="11")
        society = Org(name="中国科普作家协会", kind="全国学会")
        db.session.add_all([campaign, bj, society])
        db.session.flush()
        officer = User(phone="13800000210", name="信息员小王")
        officer.set_password(PASSWORD)
        db.session.add(officer)
        for phone, role, scope in ((PROVINCE, "provincial_admin", {"region_code": "11"}),
                                   (NATIONAL, "national_admin", {})):
            user = User(phone=phone, name="审核员")
            user.set_password(PASSWORD)
            db.session.add(user)
            db.session.flush()
            grant_role(user, role, **scope)
        now = utcnow()
        for i, (name, mode, org, category, status) in enumerate((
                ("量子科普进社区", "线下", bj, "省科协", "province_pending"),
                ("量子计算线上讲座", "线上", bj, "省科协", "province_pending"),
                ("湿地观鸟研学", "线下", bj, "省科协", "province_pending"),
                ("科普作家进校园", "线下", society, "全国学会", "national_pending"))):
            start = now + timedelta(days=10 + i)
            db.session.add(Activity(
                campaign_id=campaign.id, owner_id=officer.id, status=status, name=name,
                mode=mode, activity_type="科普讲座", start_at=start,
                end_at=start + timedelta(hours=2), region_code="110108",
                supervisor_category=category, supervisor_org_id=org.id,
                route_province=route_province(category, org, "110108"),
                hosts=[{"name": "北京某科技馆"}], audience="社区居民",
                scientists=[{"name": "张研究员", "unit": "某研究所", "title": "研究员"}],
                contact_name="李老师", contact_phone="010-62345678",
                details="讲解与互动体验。", filer_unit="海淀区科协",
                submitted_at=now - timedelta(minutes=10 - i),
                first_submitted_at=now - timedelta(minutes=10 - i)))
        db.session.commit()

    server.run(_seed)


def status_of(server, name: str) -> tuple[str, bool]:
    def _get():
        from kepu.extensions import db
        from kepu.science_day.models import Activity, ActivityPublic

        db.session.expire_all()
        a = db.session.scalar(db.select(Activity).where(Activity.name == name))
        return a.status, db.session.get(ActivityPublic, a.id) is not None

    return server.run(_get)


def login(page: Page, server, phone: str) -> None:
    page.goto(server.url + "/account/login")
    page.get_by_placeholder("请输入手机号").fill(phone)
    page.get_by_placeholder("请输入密码").fill(PASSWORD)
    with page.expect_navigation():
        page.get_by_role("button", name="登录", exact=True).click()
    expect(page.get_by_role("heading", name="工作台")).to_be_visible()


def rows(page: Page):
    return page.locator("#queue-results tbody tr")


def test_province_then_national_review(page: Page, live_server, shots):
    seed(live_server)
    login(page, live_server, PROVINCE)
    page.get_by_role("link", name=re.compile("审核待审活动")).click()
    expect(page.get_by_role("heading", name=re.compile("活动管理"))).to_be_visible()
    expect(rows(page)).to_have_count(3)   # the 全国学会 one is not the province's
    # type, then filter by 活动方式
    box = page.get_by_role("searchbox").first
    box.click()
    box.press_sequentially("量子", delay=40)
    expect(page).to_have_url(re.compile(r"[?&]q="))
    expect(rows(page)).to_have_count(2)
    page.get_by_label("活动方式").select_option("线上")
    expect(page).to_have_url(re.compile(r"mode="))
    expect(rows(page)).to_have_count(1)
    page.get_by_label("活动方式").select_option("")
    expect(rows(page)).to_have_count(2)
    # 退回 right after typing: the reason box opens and holds; a reason is required
    row = page.locator("tr", has_text="量子科普进社区")
    row.get_by_role("link", name="退回").click()
    reason = row.get_by_label("退回原因")
    expect(reason).to_be_focused()
    page.wait_for_timeout(600)
    reason.fill("请补充参与的科技工作者")
    row.get_by_role("button", name="确认退回").click()
    expect(row.locator(".badge").first).to_have_text("省管理员审批拒绝")
    assert status_of(live_server, "量子科普进社区")[0] == "province_rejected"
    shots(page, "province-list-1280")
    # 通过 from the detail page, the principles beside it
    with page.expect_navigation():
        page.locator("tr", has_text="量子计算线上讲座").get_by_role(
            "link", name="量子计算线上讲座").click()
    expect(page.get_by_text("提供主要参与的科技工作者（不超过 3 人）")).to_be_visible()
    shots(page, "province-detail-1280")
    page.get_by_role("button", name="通过", exact=True).click()
    expect(page.locator("main")).to_contain_text("已通过“量子计算线上讲座”，提交全国审核")
    assert status_of(live_server, "量子计算线上讲座") == ("national_pending", False)
    page.set_viewport_size({"width": 390, "height": 844})
    page.goto(live_server.url + "/science-day/review/province/")
    shots(page, "province-list-390")
    width = page.evaluate("document.documentElement.scrollWidth")
    assert width <= 390, f"the review list scrolls sideways on a phone ({width}px)"

    page.context.clear_cookies()
    page.set_viewport_size({"width": 1280, "height": 900})
    login(page, live_server, NATIONAL)
    page.goto(live_server.url + "/science-day/review/national/?status=national_pending")
    expect(rows(page)).to_have_count(2)
    for name in ("量子计算线上讲座", "科普作家进校园"):
        row = page.locator("tr", has_text=name)
        row.get_by_role("button", name="通过", exact=True).click()
        expect(row.locator(".badge").first).to_have_text("已通过")
        assert status_of(live_server, name) == ("approved", True)
    shots(page, "national-list-1280")
