"""Apply as a recommender-unit admin, get approved inline by the platform admin, and
find the unit in the 推荐渠道 cascade; org autocomplete by alias and pinyin initials."""
from __future__ import annotations

from playwright.sync_api import Browser, Page, expect

PASSWORD = "Passw0rd!"  # same as tests/conftest.py

APPLICANT = "13700000001"
ADMIN = "13700000009"


def seed(server):
    def _seed():
        from kepu.accounts.models import User
        from kepu.accounts.operations import grant_role
        from kepu.extensions import db
        from kepu.orgs.operations import load_builtin_orgs

        load_builtin_orgs()
        for phone, role in ((APPLICANT, None), (ADMIN, "platform_admin")):
            user = User(phone=phone, name="管理员" if role else "王老师")
            user.set_password(PASSWORD)
            db.session.add(user)
            db.session.flush()
            if role:
                grant_role(user, role)
        db.session.commit()

    server.run(_seed)


def login(page: Page, server, phone: str):
    page.goto(server.url + "/account/login")
    page.get_by_placeholder("请输入手机号").fill(phone)
    page.get_by_placeholder("请输入密码").fill(PASSWORD)
    page.get_by_role("button", name="登录", exact=True).click()
    expect(page.get_by_role("heading", name="工作台")).to_be_visible()


CATEGORY = {"高校科协": "省级科协", "全国学会": "全国学会"}


def channel_options(page: Page, unit_type: str) -> list[str]:
    page.get_by_label("申报单位类型").select_option(unit_type)
    # the cascade swaps the 推荐渠道 select via HTMX, naming the channel category
    expect(page.locator("#channel-category")).to_contain_text(CATEGORY[unit_type])
    return [t.strip() for t in page.locator("select#channel option").all_inner_texts()]


def test_unit_admin_application_approval_and_channel_cascade(
        page: Page, browser: Browser, live_server, shots):
    server = live_server
    seed(server)

    # Before approval the unit is not a channel.
    page.goto(server.url + "/orgs/channels")
    assert "北京市科学技术协会" not in channel_options(page, "高校科协")

    # The applicant finds the unit by its alias and applies.
    login(page, server, APPLICANT)
    page.goto(server.url + "/orgs/apply")
    page.locator("#org_id_q").fill("北京科协")
    option = page.locator("#org_id-results").get_by_role("button", name="北京市科学技术协会")
    expect(option).to_be_visible()
    shots(page, "autocomplete-alias")
    option.click()
    expect(page.get_by_text("已选择：")).to_contain_text("北京市科学技术协会")
    page.get_by_label("联系人").first.fill("王老师")
    page.get_by_label("职务/职称").fill("科普部干部")
    page.get_by_role("button", name="提交申请").click()
    expect(page.locator("main")).to_contain_text("待审核")
    shots(page, "my-units")

    # The platform admin approves it inline, in another browser session.
    admin_ctx = browser.new_context(locale="zh-CN")
    admin = admin_ctx.new_page()
    login(admin, server, ADMIN)
    admin.goto(server.url + "/orgs/admin/applications")
    row = admin.locator("tr", has_text="北京市科学技术协会")
    shots(admin, "applications")
    row.get_by_role("button", name="通过").click()
    expect(admin.locator("tr", has_text="北京市科学技术协会")).to_contain_text("已通过")
    admin_ctx.close()

    # Now the unit is offered as a channel for 高校科协 (→ 省级科协), not for 全国学会.
    page.goto(server.url + "/orgs/channels")
    assert "北京市科学技术协会" in channel_options(page, "高校科协")
    shots(page, "channels")
    assert "北京市科学技术协会" not in channel_options(page, "全国学会")

    # The applicant now holds the unit.
    page.goto(server.url + "/orgs/mine")
    expect(page.locator("main")).to_contain_text("北京市科学技术协会")


def test_autocomplete_by_pinyin_initials_on_a_phone(page: Page, live_server, shots):
    seed(live_server)
    page.set_viewport_size({"width": 390, "height": 844})
    login(page, live_server, APPLICANT)
    page.goto(live_server.url + "/orgs/apply")
    page.locator("#org_id_q").fill("bjskx")
    option = page.locator("#org_id-results").get_by_role("button", name="北京市科学技术协会")
    expect(option).to_be_visible()
    shots(page, "autocomplete-pinyin-390")
    # keyboard: Tab to the first option and choose it with Enter
    page.locator("#org_id_q").press("Tab")
    page.keyboard.press("Enter")
    expect(page.get_by_text("已选择：")).to_contain_text("北京")
