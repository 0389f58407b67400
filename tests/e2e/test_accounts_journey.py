"""Register, log out, log in by password and by SMS code, change and reset the password."""
from __future__ import annotations

import re

from playwright.sync_api import Page, expect

PHONE = "13912345678"


def register(page: Page, server, phone: str, password: str):
    page.goto(server.url + "/account/register")
    expect(page.get_by_role("heading", name="用户注册")).to_be_visible()
    page.get_by_placeholder("请输入手机号").fill(phone)
    page.get_by_role("button", name="获取验证码").click()
    # HTMX swaps the button into a disabled countdown
    expect(page.locator("#sms-btn button")).to_be_disabled()
    expect(page.locator("#sms-msg")).to_contain_text("sms_outbox.jsonl")
    page.get_by_placeholder("请输入验证码").fill(server.sms_code(phone, "register"))
    page.get_by_placeholder("请设置密码（6-20位）").fill(password)
    page.get_by_placeholder("请再次确认密码").fill(password)
    page.get_by_role("button", name="注册", exact=True).click()
    expect(page.get_by_text("注册成功，请登录")).to_be_visible()


def login_password(page: Page, server, phone: str, password: str):
    page.goto(server.url + "/account/login")
    page.get_by_placeholder("请输入手机号").fill(phone)
    page.get_by_placeholder("请输入密码").fill(password)
    page.get_by_role("button", name="登录", exact=True).click()


def logout(page: Page):
    page.locator(".user-menu > summary").click()  # the user menu (a <details>)
    page.get_by_role("button", name="退出登录").click()
    expect(page.locator(".site-header").get_by_role("link", name="登录", exact=True)).to_be_visible()


def test_account_journey(page: Page, live_server, shots):
    server = live_server
    register(page, server, PHONE, "first-pass1")
    shots(page, "login-after-register")

    # log in by password; lands on the workbench
    login_password(page, server, PHONE, "first-pass1")
    expect(page).to_have_url(re.compile(r"/workbench$"))
    expect(page.get_by_role("heading", name="工作台")).to_be_visible()
    page.locator(".user-menu > summary").click()
    page.locator(".user-menu").get_by_role("link", name="个人中心").click()
    expect(page.get_by_role("heading", name="个人中心")).to_be_visible()
    shots(page, "profile")
    logout(page)

    # a wrong password says so without saying which part was wrong
    login_password(page, server, PHONE, "wrong-pass")
    expect(page.locator("#password-error")).to_have_text("手机号或密码错误")
    expect(page.get_by_placeholder("请输入手机号")).to_have_value(PHONE)

    # log in by SMS code
    page.goto(server.url + "/account/login")
    page.get_by_role("link", name="验证码登录").click()
    page.get_by_placeholder("请输入手机号").fill(PHONE)
    page.get_by_role("button", name="获取验证码").click()
    expect(page.locator("#sms-btn button")).to_be_disabled()
    page.get_by_placeholder("请输入验证码").fill(server.sms_code(PHONE, "login"))
    page.get_by_role("button", name="登录", exact=True).click()
    expect(page.get_by_role("heading", name="工作台")).to_be_visible()

    # change the password (personal center, from the user menu)
    page.locator(".user-menu > summary").click()
    page.locator(".user-menu").get_by_role("link", name="个人中心").click()
    page.get_by_role("link", name="修改密码").first.click()
    page.get_by_placeholder("请输入当前密码").fill("first-pass1")
    page.get_by_placeholder("请设置新密码（6-20位）").fill("second-pass2")
    page.get_by_placeholder("请再次确认新密码").fill("second-pass2")
    shots(page, "change-password")
    page.get_by_role("button", name="修改密码").click()
    expect(page.get_by_text(re.compile("密码已修改"))).to_be_visible()
    logout(page)
    login_password(page, server, PHONE, "first-pass1")
    expect(page.locator("#password-error")).to_have_text("手机号或密码错误")
    login_password(page, server, PHONE, "second-pass2")
    expect(page.get_by_role("heading", name="工作台")).to_be_visible()
    logout(page)

    # forgot the password: reset it by SMS code
    page.goto(server.url + "/account/login")
    page.get_by_role("link", name="忘记密码？").click()
    page.get_by_placeholder("请输入手机号").fill(PHONE)
    page.get_by_role("button", name="获取验证码").click()
    expect(page.locator("#sms-btn button")).to_be_disabled()
    page.get_by_placeholder("请输入验证码").fill(server.sms_code(PHONE, "reset"))
    page.get_by_placeholder("请设置新密码（6-20位）").fill("third-pass3")
    page.get_by_placeholder("请再次确认新密码").fill("third-pass3")
    shots(page, "reset")
    page.get_by_role("button", name="重置密码").click()
    expect(page.get_by_text("密码已重置，请使用新密码登录")).to_be_visible()
    login_password(page, server, PHONE, "third-pass3")
    expect(page.get_by_role("heading", name="工作台")).to_be_visible()


def test_register_errors_are_shown_next_to_fields_and_input_is_kept(page: Page, live_server):
    page.set_viewport_size({"width": 390, "height": 844})
    page.goto(live_server.url + "/account/register")
    page.get_by_placeholder("请输入手机号").fill("12345")
    page.get_by_placeholder("请设置密码（6-20位）").fill("abc")
    page.get_by_role("button", name="注册", exact=True).click()
    expect(page.locator("#phone-field .error")).to_have_text("请输入正确的手机号")
    expect(page.locator("#password-field .error")).to_contain_text("6-20")
    expect(page.get_by_placeholder("请输入手机号")).to_have_value("12345")
    # the errors are listed at the top too, each a link to its field
    summary = page.locator("#error-summary")
    expect(summary.get_by_role("link", name="请输入正确的手机号")).to_have_attribute("href", "#phone")
    summary.get_by_role("link", name="请输入正确的手机号").click()
    expect(page.get_by_placeholder("请输入手机号")).to_be_focused()
