"""下载资源 and 年度工作总结 in Chromium: the national admin adds a resource with a file
(a too-small poster background refused next to the field first), the public page lists
it and it downloads without login; a provincial admin writes the annual summary (autosaved),
attaches a PDF and files it; the national admin sees it as 已提交 and opens it.
Screenshots at 1280 and 390 px go to /work/shots/res/ (KEPU_SHOTS_DIR). Any browser
console error fails the test (tests/e2e/conftest.py)."""
from __future__ import annotations

import io
import os
import re
from pathlib import Path

from PIL import Image
from playwright.sync_api import Browser, Page, expect

PASSWORD = "Passw0rd!"
NATIONAL = "13800000401"
BEIJING = "13800000402"
PDF = b"%PDF-1.4\n1 0 obj<<>>endobj\ntrailer<<>>\n%%EOF\n"
SHOTS = Path(os.environ.get("KEPU_SHOTS_DIR", "/work/shots/res"))


def seed(server) -> None:
    def _seed():
        from kepu.accounts.models import User
        from kepu.accounts.operations import grant_role
        from kepu.admin.models import Campaign
        from kepu.extensions import db
        from kepu.orgs.models import Org

        c = Campaign(kind="science_day", year=2026, title="2026年全国科普日", settings={
            "windows": {"annual_report": {"open": "2020-01-01 00:00",
                                          "close": "2099-10-14 23:59:59"}}})
        society = Org(name="中国科普作家协会", kind="全国学会")
        db.session.add_all([c, society])
        db.session.flush()
        admin = User(phone=NATIONAL, name="中国科协管理员")
        bj = User(phone=BEIJING, name="北京市科协管理员")
        for u in (admin, bj):
            u.set_password(PASSWORD)
        db.session.add_all([admin, bj])
        db.session.flush()
        grant_role(admin, "national_admin")
        grant_role(bj, "provincial_admin", region_code="11")
        db.session.commit()

    server.run(_seed)


def login(page: Page, server, phone: str) -> None:
    page.goto(server.url + "/account/login")
    page.get_by_placeholder("请输入手机号").fill(phone)
    page.get_by_placeholder("请输入密码").fill(PASSWORD)
    with page.expect_navigation():
        page.get_by_role("button", name="登录", exact=True).click()


def shoot(page: Page, name: str) -> None:
    """The page at 1280 and at 390 px (full page)."""
    SHOTS.mkdir(parents=True, exist_ok=True)
    for width in (1280, 390):
        page.set_viewport_size({"width": width, "height": 900})
        page.screenshot(path=str(SHOTS / f"{name}-{width}.png"), full_page=True)
    page.set_viewport_size({"width": 1280, "height": 900})


def png(path: Path, w: int, h: int) -> Path:
    buf = io.BytesIO()
    Image.new("RGB", (w, h), (30, 90, 200)).save(buf, "PNG")
    path.write_bytes(buf.getvalue())
    return path


def test_resources_and_annual_report(browser: Browser, live_server, tmp_path):
    seed(live_server)
    guide = tmp_path / "平台操作指南.pdf"
    guide.write_bytes(PDF)
    small = png(tmp_path / "背景小图.png", 600, 850)
    summary = tmp_path / "北京年度总结.pdf"
    summary.write_bytes(PDF)

    # --- the national admin adds resources ------------------------------------------
    admin = browser.new_context().new_page()
    login(admin, live_server, NATIONAL)
    admin.goto(live_server.url + "/science-day/admin/resources")
    expect(admin.get_by_role("heading", name="下载资源管理")).to_be_visible()
    form = admin.locator("#resource-form")
    # a poster background that is too small: refused next to the field, input kept
    form.get_by_label("资源标题").fill("海报背景（蓝）")
    form.get_by_label("所属栏目").select_option("background")
    form.locator("#upload-resource_file-input").set_input_files(str(small))
    expect(form.locator("#upload-resource_file-list")).to_contain_text("背景小图.png")
    with admin.expect_navigation():
        form.get_by_role("button", name="添加资源").click()
    expect(admin.locator("#upload-resource_file-error")).to_contain_text("至少需要 1240×1754 像素")
    expect(admin.locator("#title")).to_have_value("海报背景（蓝）")
    shoot(admin, "admin-resources-error")
    # remove the small image, add the guide as a file instead
    admin.locator("#upload-resource_file-list").get_by_role("button", name=re.compile("删除")).click()
    expect(admin.locator("#upload-resource_file-list li")).to_have_count(0)
    form.get_by_label("资源标题").fill("平台操作指南")
    form.get_by_label("所属栏目").select_option("guide")
    form.get_by_label("资源说明").fill("信息员发布活动、补充活动信息和填报总结的操作说明。")
    form.locator("#upload-resource_file-input").set_input_files(str(guide))
    expect(form.locator("#upload-resource_file-list")).to_contain_text("平台操作指南.pdf")
    with admin.expect_navigation():
        form.get_by_role("button", name="添加资源").click()
    expect(admin.locator(".res-section").filter(has_text="操作指南")).to_contain_text("平台操作指南")
    # and a link
    form = admin.locator("#resource-form")
    form.get_by_label("资源标题").fill("2025年全国科普日优秀活动")
    form.get_by_label("所属栏目").select_option("example")
    form.get_by_label("或填写外部链接").fill("https://www.kepu.gov.cn/2025/excellent")
    with admin.expect_navigation():
        form.get_by_role("button", name="添加资源").click()
    expect(admin.locator(".res-section").filter(has_text="往年优秀活动")).to_contain_text(
        "2025年全国科普日优秀活动")
    shoot(admin, "admin-resources")

    # --- the public page, without login -----------------------------------------------
    public = browser.new_context(accept_downloads=True).new_page()
    public.goto(live_server.url + "/science-day/")
    shoot(public, "public-home")
    with public.expect_navigation():
        public.get_by_role("link", name="【下载资源】").click()
    expect(public.get_by_role("heading", name="下载资源", exact=True)).to_be_visible()
    expect(public.get_by_role("heading", name="操作指南", exact=True)).to_be_visible()
    expect(public.locator("#res-example")).to_contain_text("2025年全国科普日优秀活动")
    expect(public.locator("#res-example a")).to_have_attribute(
        "href", "https://www.kepu.gov.cn/2025/excellent")
    with public.expect_download() as dl:
        public.get_by_role("link", name="下载 平台操作指南").click()
    download = dl.value
    assert download.suggested_filename == "平台操作指南.pdf"
    assert Path(download.path()).read_bytes() == PDF
    shoot(public, "public-resources")

    # --- a provincial admin files the annual summary ----------------------------------------
    bj = browser.new_context().new_page()
    login(bj, live_server, BEIJING)
    bj.goto(live_server.url + "/workbench")
    card = bj.locator("[data-card=\"science_day.annual.province:11\"]")
    expect(card).to_contain_text("未提交")
    expect(card).to_contain_text("年度工作总结填报截止")
    shoot(bj, "workbench")
    with bj.expect_navigation():
        card.get_by_role("link", name="填报年度工作总结").click()
    expect(bj.get_by_role("heading", name="年度工作总结")).to_be_visible()
    expect(bj.locator("#annual-state")).to_have_text("未提交")
    bj.get_by_label("总结正文").fill("2026年北京市共组织全国科普日活动 1,200 场，线上线下参与 300 万人次。")
    expect(bj.locator("#autosave-status")).to_contain_text("已保存", timeout=10000)
    bj.locator("#upload-attachments-input").set_input_files(str(summary))
    expect(bj.locator("#upload-attachments-list")).to_contain_text("北京年度总结.pdf")
    expect(bj.locator("#autosave-status")).to_contain_text("已保存", timeout=10000)
    shoot(bj, "annual-form")
    with bj.expect_navigation():
        bj.get_by_role("button", name="提交", exact=True).click()
    expect(bj.locator("#annual-state")).to_contain_text("已提交")
    expect(bj.locator("#upload-attachments-list")).to_contain_text("北京年度总结.pdf")

    # --- the national admin sees it as filed ------------------------------------------
    admin.goto(live_server.url + "/science-day/admin/annual")
    row = admin.locator("#row-province-11")
    expect(row).to_contain_text("已提交")
    expect(row).to_contain_text("北京年度总结.pdf")
    expect(admin.locator("#row-province-44")).to_contain_text("未提交")
    expect(admin.locator("#annual-counts")).to_contain_text("已提交 1")
    shoot(admin, "annual-list")
    with admin.expect_navigation():
        row.get_by_role("link", name=re.compile("查看")).click()
    expect(admin.locator("#annual-text")).to_contain_text("1,200 场")
    shoot(admin, "annual-view")
