"""The shared review queue in Chromium, as a reviewer uses it before a deadline.

- Type in the search, then 退回 / 推荐 / tick: the action holds (the search does not run
  again when the search box loses focus and wipe the row), on both calls.
- Walk a filtered queue with 推荐并下一件 (button and keyboard) to the end.
- Bulk-recommend 30 works across two pages after a confirmation that names 30, and undo
  one; go back in the browser; two tabs on the same work.
Every test also fails on any browser console error (tests/e2e/conftest.py).
"""
from __future__ import annotations

import re
from datetime import timedelta

from playwright.sync_api import Browser, Page, expect

PASSWORD = "Passw0rd!"
UNIT_ADMIN = "13800000102"
CASE_ADMIN = "13800000103"


def seed(server, works: list[str], cases: list[str] = ()) -> None:
    def _seed():
        from kepu.accounts.models import User
        from kepu.accounts.operations import grant_role
        from kepu.admin.models import Campaign
        from kepu.cases.models import Case
        from kepu.extensions import db
        from kepu.orgs.models import Org
        from kepu.timeutil import utcnow
        from kepu.works.models import Work

        window = {"window_open": "2020-01-01 00:00", "window_close": "2099-12-31 23:59"}
        wc = Campaign(kind="works", year=2026, title="2026年全国优质科普作品征集",
                      settings=dict(window))
        cc = Campaign(kind="cases", year=2026, title="2026典赞", settings=dict(window))
        unit = Org(name="北京市科学技术协会", kind="省级科协", region_code="11")
        db.session.add_all([wc, cc, unit])
        db.session.flush()
        owner = User(phone="13800000101", name="申报者")
        owner.set_password(PASSWORD)
        db.session.add(owner)
        for phone, role in ((UNIT_ADMIN, "unit_admin"), (CASE_ADMIN, "case_unit")):
            user = User(phone=phone, name="审核人")
            user.set_password(PASSWORD)
            db.session.add(user)
            db.session.flush()
            grant_role(user, role, org_id=unit.id)
        db.session.flush()
        now = utcnow()
        for i, title in enumerate(works):
            at = now - timedelta(minutes=len(works) - i)
            db.session.add(Work(campaign_id=wc.id, owner_id=owner.id, channel_id=unit.id,
                                status="pending", step=3, title=title, work_type="科普视频",
                                category="前沿科技", author_name="张三", applicant_unit="某单位",
                                submitted_at=at, updated_at=at))
        for i, name in enumerate(cases):
            at = now - timedelta(minutes=len(cases) - i)
            db.session.add(Case(campaign_id=cc.id, org_id=unit.id, owner_id=owner.id,
                                status="submitted", name=name, impl_unit="某馆",
                                category="activity", subtype="科普讲座", submitted_at=at,
                                updated_at=at))
        db.session.commit()

    server.run(_seed)


def status_of(server, model: str, title: str) -> str:
    def _get():
        from kepu.cases.models import Case
        from kepu.extensions import db
        from kepu.works.models import Work

        m, col = (Work, Work.title) if model == "work" else (Case, Case.name)
        db.session.expire_all()
        return db.session.scalar(db.select(m.status).where(col == title))

    return server.run(_get)


def login(page: Page, server, phone: str, path: str) -> None:
    page.goto(server.url + "/account/login")
    page.get_by_placeholder("请输入手机号").fill(phone)
    page.get_by_placeholder("请输入密码").fill(PASSWORD)
    with page.expect_navigation():
        page.get_by_role("button", name="登录", exact=True).click()
    page.goto(server.url + path)


def search(page: Page, text: str) -> None:
    """Type like a person, then wait until the results (and the URL) follow."""
    box = page.get_by_role("searchbox").first
    box.click()
    box.press_sequentially(text, delay=40)
    expect(page).to_have_url(re.compile(r"[?&]q="))
    expect(page.locator("#queue-results")).not_to_have_class(re.compile("htmx-request"))


def rows(page: Page):
    return page.locator("#queue-results tbody tr")


def test_console_errors_are_reported(page: Page, console_errors):
    page.set_content("<script>console.error('boom')</script>")
    assert any("boom" in e for e in console_errors)
    console_errors.clear()


def test_type_then_act_on_both_calls(page: Page, live_server, shots):
    seed(live_server, ["量子一号", "量子二号", "量子三号", "海洋一号"],
         ["科学表演进校园", "科学表演进社区", "流动科技馆"])
    login(page, live_server, UNIT_ADMIN, "/works/unit/")
    search(page, "量子")
    expect(rows(page)).to_have_count(3)
    # 退回 right after typing: the comment box opens and stays (no re-search on blur)
    row = page.locator("tr", has_text="量子三号")
    row.get_by_role("link", name="退回修改").click()
    box = row.get_by_label("退回意见")
    expect(box).to_be_focused()
    page.wait_for_timeout(600)  # longer than the search's delay
    box.fill("请补充字幕稿")
    row.get_by_role("button", name="确认退回").click()
    expect(row.locator(".badge")).to_have_text("退回修改")
    expect(row.get_by_role("status")).to_contain_text("已将作品《量子三号》退回修改")
    # 推荐 right after typing again
    search(page, "二")
    row = page.locator("tr", has_text="量子二号")
    row.get_by_role("button", name="推荐", exact=True).click()
    expect(row.locator(".badge")).to_have_text("完成推荐")
    expect(row.get_by_role("button", name="推荐", exact=True)).to_have_count(0)
    assert status_of(live_server, "work", "量子二号") == "recommended"
    # tick after typing: the tick holds when the box loses focus, and is counted
    page.get_by_role("searchbox").first.fill("")
    search(page, "一号")
    tick = page.get_by_label("选择作品《量子一号》")
    tick.check()
    page.locator("h1").click()
    page.wait_for_timeout(600)
    expect(tick).to_be_checked()
    expect(page.locator("[data-queue-selected-count]")).to_have_text("1")
    shots(page, "works-after-actions")

    page.context.clear_cookies()  # another reviewer on the same browser
    login(page, live_server, CASE_ADMIN, "/cases/unit/")
    search(page, "科学表演")
    expect(rows(page)).to_have_count(2)
    row = page.locator("tr", has_text="科学表演进社区")
    row.get_by_role("link", name="退回修改").click()
    row.get_by_label("退回意见").fill("请补充照片")
    row.get_by_role("button", name="确认退回").click()
    expect(row.locator(".badge")).to_have_text("退回修改")
    row = page.locator("tr", has_text="科学表演进校园")
    row.get_by_role("button", name="推荐", exact=True).click()
    expect(row.locator(".badge")).to_have_text("已推荐")
    # 撤销 right after the decision
    row.get_by_role("button", name="撤销推荐").click()
    expect(row.locator(".badge")).to_have_text("待推荐")
    assert status_of(live_server, "case", "科学表演进校园") == "submitted"
    shots(page, "cases-after-actions")


def test_walk_bulk_undo_back_and_two_tabs(page: Page, browser: Browser, live_server, shots):
    titles = [f"批量作品{i:02d}" for i in range(32)] + [f"海洋作品{i}" for i in range(4)]
    seed(live_server, titles)
    login(page, live_server, UNIT_ADMIN, "/works/unit/")

    # 1. A filtered queue, walked with 推荐并下一件 (button, then the keyboard) to the end.
    search(page, "海洋")
    expect(rows(page)).to_have_count(4)
    with page.expect_navigation():
        page.locator("tr", has_text="海洋作品3").get_by_role("link", name="海洋作品3").click()
    expect(page.locator(".queue-position")).to_have_text("第 1 / 4 件")
    with page.expect_navigation():
        page.get_by_role("button", name="推荐并下一件").click()
    expect(page.get_by_role("heading", name="海洋作品2")).to_be_visible()
    expect(page.locator("#messages")).to_contain_text("已推荐作品《海洋作品3》")
    for name in ("海洋作品1", "海洋作品0"):
        with page.expect_navigation():
            page.keyboard.press("a")
        expect(page.get_by_role("heading", name=name)).to_be_visible()
    with page.expect_navigation():
        page.keyboard.press("a")
    expect(page.locator("#messages")).to_contain_text("当前筛选条件下已没有下一件")
    expect(page).to_have_url(re.compile(r"/works/unit/\?q="))
    assert all(status_of(live_server, "work", f"海洋作品{i}") == "recommended" for i in range(4))
    # back in the browser: the detail page it came from
    page.go_back()
    expect(page.get_by_role("heading", name="海洋作品0")).to_be_visible()

    # 2. Bulk 推荐 of 30 across two pages, confirmed with the count.
    page.goto(live_server.url + "/works/unit/?status=pending")
    expect(rows(page)).to_have_count(20)
    page.get_by_label("全选本页").check()
    expect(page.locator("[data-queue-selected-count]")).to_have_text("20")
    page.get_by_role("link", name="第 2 页").click()
    expect(page).to_have_url(re.compile(r"page=2"))
    expect(rows(page)).to_have_count(12)
    for name in [f"批量作品{i:02d}" for i in range(2, 12)]:
        page.get_by_label(f"选择作品《{name}》").check()
    expect(page.locator("[data-queue-selected-count]")).to_have_text("30")
    with page.expect_navigation():
        page.get_by_role("button", name="批量推荐").click()
    expect(page.get_by_role("heading")).to_contain_text("确认批量推荐 30 件作品？")
    shots(page, "bulk-confirm")
    with page.expect_navigation():
        page.get_by_role("button", name="确认推荐 30 件").click()
    expect(page.locator("#messages")).to_contain_text("已推荐 30 件")
    expect(page.locator("[data-queue-selected-count]")).to_be_hidden()  # selection cleared
    recommended = [t for t in titles if status_of(live_server, "work", t) == "recommended"]
    assert len(recommended) == 34
    # …and undo one of them
    page.goto(live_server.url + "/works/unit/?status=recommended&q=批量作品05")
    row = page.locator("tr", has_text="批量作品05")
    row.get_by_role("button", name="撤销推荐").click()
    expect(row.locator(".badge")).to_have_text("待推荐")
    assert status_of(live_server, "work", "批量作品05") == "pending"

    # 3. Two tabs on the same work: the second decision is refused, nothing overwritten.
    other = page.context.new_page()
    target = "批量作品05"
    for p in (page, other):
        p.goto(live_server.url + f"/works/unit/?q={target}")
    page.locator("tr", has_text=target).get_by_role("button", name="推荐", exact=True).click()
    expect(page.locator("tr", has_text=target).locator(".badge")).to_have_text("完成推荐")
    row2 = other.locator("tr", has_text=target)
    row2.get_by_role("link", name="退回修改").click()
    expect(row2.get_by_role("alert")).to_contain_text("不能执行“退回修改”")
    assert status_of(live_server, "work", target) == "recommended"
    shots(other, "two-tabs-refused")
