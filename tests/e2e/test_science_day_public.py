"""The public 全国科普日 site in Chromium: the list → type a keyword → filter → open an
activity → back; then the national admin 下架 it from the review detail page (gone
from the list), 上架 it again (back). Any browser console error fails the test
(tests/e2e/conftest.py)."""
from __future__ import annotations

import re
from datetime import timedelta

from playwright.sync_api import Browser, Page, expect

PASSWORD = "Passw0rd!"
NATIONAL = "13800000301"


def seed(server) -> dict:
    def _seed():
        from kepu.accounts.models import User
        from kepu.accounts.operations import grant_role
        from kepu.admin.models import Campaign
        from kepu.extensions import db
        from kepu.orgs.models import Org
        from kepu.science_day.models import Activity
        from kepu.science_day.operations.listing import publish_snapshot
        from kepu.timeutil import utcnow

        c = Campaign(kind="science_day", year=2026, title="2026年全国科普日",
                     settings={"theme": "提升全民科学素质"})
        bj = Org(name="北京市科学技术协会", kind="省级科协", region_code="11",
                 certifications=["全国科普示范县（市、区）"])
        db.session.add_all([c, bj])
        db.session.flush()
        officer = User(phone="13800000302", name="信息员")
        admin = User(phone=NATIONAL, name="中国科协审核员")
        for u in (officer, admin):
            u.set_password(PASSWORD)
        db.session.add_all([officer, admin])
        db.session.flush()
        grant_role(admin, "national_admin")
        now = utcnow()
        ids = {}
        rows = [("量子力学科普讲座", "110105", "线下"), ("量子计算体验日", "440111", "线上"),
                ("走进黑洞天文展", "110108", "线下"), ("湿地候鸟观察", "440106", "线下")]
        for i, (name, region, mode) in enumerate(rows):
            a = Activity(campaign_id=c.id, owner_id=officer.id, status="approved", name=name,
                         mode=mode, activity_type="科普讲座",
                         start_at=now + timedelta(days=3 + i),
                         end_at=now + timedelta(days=3 + i, hours=2), region_code=region,
                         supervisor_category="省科协", supervisor_org_id=bj.id,
                         route_province=region[:2],
                         hosts=[{"id": bj.id, "name": "北京市科学技术协会"}],
                         details="活动介绍。", audience="中小学生", contact_name="李老师",
                         contact_phone="010-12345678", booking=True,
                         booking_url="https://example.com/book", submitted_at=now,
                         approved_at=now)
            db.session.add(a)
            db.session.flush()
            publish_snapshot(a)
            ids[name] = a.id
        db.session.commit()
        return ids

    return server.run(_seed)


def cards(page: Page):
    return page.locator("#public-results .sdp-card-title")


def test_public_list_search_filter_detail_and_delist(browser: Browser, live_server, shots):
    ids = seed(live_server)
    ctx = browser.new_context()
    page = ctx.new_page()
    page.goto(live_server.url + "/science-day/")
    expect(page.get_by_role("heading", name="2026年全国科普日")).to_be_visible()
    page.get_by_role("searchbox", name="搜索活动").fill("量子")
    page.keyboard.press("Enter")
    expect(page).to_have_url(re.compile(r"/science-day/events/\?q="))
    expect(cards(page)).to_have_count(2)
    # type a different keyword: the results follow as you type, the URL too
    box = page.get_by_role("searchbox", name="关键词")
    box.fill("")
    box.press_sequentially("黑洞", delay=60)
    expect(cards(page)).to_have_text(["走进黑洞天文展"])
    expect(page).to_have_url(re.compile(r"q=%E9%BB%91%E6%B4%9E"))
    # clear the keyword, then filter by province and mode
    box.fill("")
    box.press("Enter")
    expect(cards(page)).to_have_count(4)
    page.get_by_label("省份").select_option("44")
    expect(cards(page)).to_have_count(2)
    expect(page.get_by_label("城市")).to_contain_text("广州市")
    page.get_by_label("活动方式").select_option("线下")
    expect(cards(page)).to_have_text(["湿地候鸟观察"])
    expect(page).to_have_url(re.compile(r"province=44.*mode="))
    shots(page, "filtered")
    # open the activity, then back to the same filtered list
    page.get_by_role("link", name="湿地候鸟观察").click()
    expect(page.get_by_role("heading", name="湿地候鸟观察")).to_be_visible()
    expect(page.locator(".sdp-kv")).to_contain_text("已认证")
    expect(page.get_by_role("link", name=re.compile("预约参加"))).to_have_attribute(
        "href", "https://example.com/book")
    shots(page, "detail")
    page.go_back()
    expect(cards(page)).to_have_text(["湿地候鸟观察"])
    expect(page.get_by_label("活动方式")).to_have_value("线下")

    # the national admin takes one down from the review detail page, then up again
    admin = browser.new_context().new_page()
    admin.goto(live_server.url + "/account/login")
    admin.get_by_placeholder("请输入手机号").fill(NATIONAL)
    admin.get_by_placeholder("请输入密码").fill(PASSWORD)
    with admin.expect_navigation():
        admin.get_by_role("button", name="登录", exact=True).click()
    target = ids["量子力学科普讲座"]
    admin.goto(f"{live_server.url}/science-day/review/national/{target}")
    panel = admin.locator("#listing-panel")
    panel.get_by_role("button", name="下架").click()
    expect(panel.get_by_role("alert")).to_have_text("请填写下架原因")
    panel.get_by_label("下架原因").fill("活动信息需更正")
    panel.get_by_role("button", name="下架").click()
    expect(panel).to_contain_text("已下架")
    expect(panel.get_by_role("button", name="重新上架")).to_be_visible()
    shots(admin, "delisted")

    page.goto(live_server.url + "/science-day/events/?q=量子")
    expect(cards(page)).to_have_text(["量子计算体验日"])
    # its page is gone too (asked without navigating: a 404 page logs a console error)
    assert page.request.get(f"{live_server.url}/science-day/events/{target}").status == 404

    panel.get_by_role("button", name="重新上架").click()
    expect(panel).to_contain_text("已上架")
    page.goto(live_server.url + "/science-day/events/?q=量子")
    expect(cards(page)).to_have_count(2)
    ctx.close()
