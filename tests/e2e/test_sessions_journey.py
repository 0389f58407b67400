"""退出所有设备 in a browser: two devices logged in, one ends both; and the settings page
of an edition whose stored window date cannot be read."""
from __future__ import annotations

import re

from playwright.sync_api import Page, expect

PHONE = "13912345678"
PASSWORD = "Passw0rd!"


def _fail_on_console_errors(page: Page) -> list:
    errors = []
    page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
    page.on("pageerror", lambda e: errors.append(str(e)))
    return errors


def _login(page: Page, server, phone=PHONE):
    page.goto(server.url + "/account/login")
    page.get_by_placeholder("请输入手机号").fill(phone)
    page.get_by_placeholder("请输入密码").fill(PASSWORD)
    page.get_by_role("button", name="登录", exact=True).click()
    expect(page.get_by_role("heading", name="工作台")).to_be_visible()  # where a login lands
    page.goto(server.url + "/account/")
    expect(page.get_by_role("heading", name="个人中心")).to_be_visible()


def _user(server, phone=PHONE, roles=()):
    def make():
        from kepu.accounts.models import Grant, User
        from kepu.extensions import db

        u = User(phone=phone, name="张三")
        u.set_password(PASSWORD)
        db.session.add(u)
        db.session.flush()
        for role in roles:
            db.session.add(Grant(user_id=u.id, role=role))
        db.session.commit()

    server.run(make)


def test_logout_everywhere(browser, live_server, shots):
    _user(live_server)
    laptop = browser.new_context(viewport={"width": 1280, "height": 900})
    phone = browser.new_context(viewport={"width": 390, "height": 844})
    a, b = laptop.new_page(), phone.new_page()
    errors = _fail_on_console_errors(a) + _fail_on_console_errors(b)
    _login(a, live_server)
    _login(b, live_server)
    a.reload()
    section = a.locator("section", has=a.get_by_role("heading", name="登录设备"))
    expect(section).to_contain_text("2 处")
    shots(a, "profile-1280")
    b.reload()
    shots(b, "profile-390")
    width = b.evaluate("document.documentElement.scrollWidth")
    assert width <= 390, f"the personal center scrolls sideways on a phone ({width}px)"

    a.get_by_role("button", name="退出所有设备").click()
    expect(a).to_have_url(re.compile(r"/account/login"))
    expect(a.get_by_text("已退出所有设备上的登录")).to_be_visible()
    # The other device is logged out too, on its next request.
    b.goto(live_server.url + "/account/")
    expect(b).to_have_url(re.compile(r"/account/login"))
    assert not errors, errors
    laptop.close()
    phone.close()


def test_settings_page_with_an_unreadable_window_date(page: Page, live_server, shots):
    errors = _fail_on_console_errors(page)
    _user(live_server, roles=["platform_admin"])

    def edition():
        from kepu.admin.models import Campaign
        from kepu.extensions import db

        c = Campaign(kind="works", year=2026, title="2026年全国优质科普作品征集",
                     settings={"window_open": "202-06-30 23:59", "window_close": "2026-12-31 23:59"})
        db.session.add(c)
        db.session.commit()
        return c.id

    cid = live_server.run(edition)
    _login(page, live_server)
    page.goto(live_server.url + "/works/")
    expect(page.locator("#works-phase")).to_have_text("时间设置有误")
    page.goto(live_server.url + f"/works/admin/editions/{cid}/settings")
    expect(page.locator("#form-errors")).to_contain_text("无法识别")
    expect(page.locator("#window_open-field")).to_contain_text("“202-06-30 23:59”无法识别")
    shots(page, "settings-unreadable-1280")
    page.locator("#window_open").fill("2026-01-01T00:00")
    page.get_by_role("button", name="保存设置").first.click()
    expect(page.get_by_text("设置已保存")).to_be_visible()
    page.goto(live_server.url + "/works/")
    expect(page.locator("#works-phase")).to_have_text("征集进行中")
    assert not errors, errors
