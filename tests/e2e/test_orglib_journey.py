"""The org library for 归口: the category picker (直辖市 hint, one-click higher level),
the 归口 check page and the certification import, in a real browser at 1280 and 390 px."""
from __future__ import annotations

import pytest
from playwright.sync_api import Page, expect

PASSWORD = "Passw0rd!"  # same as tests/conftest.py
ADMIN = "13700000019"


def seed(server):
    def _seed():
        from kepu.accounts.models import User
        from kepu.accounts.operations import grant_role
        from kepu.extensions import db
        from kepu.orgs.generate import generate_cast_orgs
        from kepu.orgs.operations import load_builtin_orgs

        load_builtin_orgs()
        generate_cast_orgs()
        user = User(phone=ADMIN, name="平台管理员")
        user.set_password(PASSWORD)
        db.session.add(user)
        db.session.flush()
        grant_role(user, "platform_admin")
        db.session.commit()

    server.run(_seed)


@pytest.fixture
def errors(page: Page):
    """Console errors and uncaught exceptions: the test fails on any."""
    seen: list[tuple[str, str]] = []
    rerendered: set[str] = set()  # pages answered 422: a form shown again with its errors

    def on_response(resp):
        if resp.status == 422 and resp.request.resource_type == "document":
            rerendered.add(resp.url)

    page.on("response", on_response)
    page.on("console", lambda m: seen.append((m.text, m.location.get("url", "")))
            if m.type == "error" else None)
    page.on("pageerror", lambda e: seen.append((str(e), "")))
    yield seen
    real = [text for text, url in seen
            if not ("status of 422" in text and url in rerendered)]
    assert real == [], real


def choose_category(page: Page, category: str):
    """Pick a category and wait until the picker has been swapped for the new one."""
    # after a form post the new page's scripts (htmx) must have run, or the change is
    # a plain select change with nothing listening (the no-JS path has 确定类别)
    page.wait_for_load_state("load")
    page.wait_for_function("() => !!window.htmx")
    # and no swap of the picker (更换, the region cascade) still on its way
    page.wait_for_load_state("networkidle")
    old = page.locator("#supervisor_id-picker").element_handle()
    page.locator("#supervisor_id-category").select_option(category)
    page.wait_for_function("el => !el.isConnected", arg=old)
    # the new search box has its htmx listeners (typed text would go nowhere before)
    page.wait_for_function("() => { const i = document.querySelector('#supervisor_id_q');"
                           " return !i || !!i['htmx-internal-data']; }")
    expect(page.locator("#supervisor_id-category")).to_have_value(category)


def login(page: Page, server):
    page.goto(server.url + "/account/login")
    page.get_by_placeholder("请输入手机号").fill(ADMIN)
    page.get_by_placeholder("请输入密码").fill(PASSWORD)
    page.get_by_role("button", name="登录", exact=True).click()
    expect(page.get_by_role("heading", name="工作台")).to_be_visible()  # every role lands here


@pytest.mark.parametrize("width", [1280, 390])
def test_supervisor_picker_municipality_rule_and_higher_levels(page: Page, live_server, shots,
                                                               errors, width):
    seed(live_server)
    page.set_viewport_size({"width": width, "height": 900})
    login(page, live_server)
    page.goto(live_server.url + "/orgs/admin/supervisor")
    picker = page.locator("#supervisor_id-picker")

    # without a category every 归口 kind is searched, each hit names its category
    page.locator("#supervisor_id_q").fill("东城区")
    hint = page.locator("#supervisor_id-results")
    expect(hint).to_contain_text("市科协 · 北京市东城区")
    # 区县科协 + a 直辖市 district: the picker (searching again for what was typed) says
    # to pick 市科协, and one click does it
    choose_category(page, "区县科协")
    expect(page.locator("#supervisor_id_q")).to_have_value("东城区")
    expect(hint).to_contain_text("直辖市的区县请将类别选为“市科协”")
    shots(page, f"municipality-hint-{width}")
    hint.get_by_role("button", name="北京市东城区科学技术协会").click()
    expect(picker.locator(".selected-org")).to_contain_text("北京市东城区科学技术协会")
    expect(picker.get_by_label("类别")).to_have_value("市科协")
    page.get_by_role("button", name="检查").click()
    expect(page.locator("#supervisor-report")).to_contain_text("类别与归口单位一致")
    expect(page.locator("#supervisor-province")).to_contain_text("北京市科学技术协会")

    # two 西湖区, told apart by region; the county's higher levels one click away
    picker = page.locator("#supervisor_id-picker")
    choose_category(page, "区县科协")
    page.locator("#supervisor_id_q").fill("西湖区")
    results = page.locator("#supervisor_id-results")
    expect(results).to_contain_text("浙江省杭州市西湖区")
    expect(results).to_contain_text("江西省南昌市西湖区")
    shots(page, f"category-autocomplete-{width}")
    results.get_by_role("button", name="杭州市西湖区科学技术协会").click()
    higher = picker.locator(".picker-higher")
    expect(higher).to_contain_text("杭州市科学技术协会")
    shots(page, f"higher-levels-{width}")
    higher.get_by_role("button", name="市科协：杭州市科学技术协会").click()
    expect(picker.locator(".selected-org")).to_contain_text("杭州市科学技术协会")
    expect(picker.get_by_label("类别")).to_have_value("市科协")

    # nothing found: the region's levels (所在地区 桐庐县) are offered
    picker.get_by_role("button", name="更换杭州市科学技术协会").click()
    page.get_by_label("省份").select_option("33")
    page.get_by_label("城市").select_option("3301")
    page.get_by_label("区县").select_option("330122")
    choose_category(page, "区县科协")
    page.locator("#supervisor_id_q").fill("不存在的科协")
    expect(results).to_contain_text("找不到归口单位时，可选择所在地区的上一级单位")
    results.get_by_role("button", name="省科协：浙江省科学技术协会").click()
    expect(picker.get_by_label("类别")).to_have_value("省科协")
    shots(page, f"fallback-picked-{width}")


def test_certification_import_page(page: Page, live_server, shots, errors, tmp_path):
    from openpyxl import Workbook

    seed(live_server)
    login(page, live_server)
    page.goto(live_server.url + "/orgs/admin/certifications")
    wb = Workbook()
    for row in (["省份", "地市", "县（市、区）", "地区代码"], ["", "", "", "330106"],
                ["北京市", "", "朝阳区", ""], ["山西省", "", "城区", ""]):
        wb.active.append(row)
    path = tmp_path / "示范县.xlsx"
    wb.save(path)
    page.get_by_label("全国科普示范县（市、区）名单").check()
    page.get_by_label("批次").fill("2021—2025年度第一批")
    page.get_by_label("年度").fill("2021")
    page.get_by_label("名单文件").set_input_files(str(path))
    page.get_by_role("button", name="上传并导入").click()
    expect(page.locator("#cert-unmatched")).to_contain_text("第 4 行")
    expect(page.locator("main")).to_contain_text("本次没有导入任何数据")
    # values kept; import what matches
    expect(page.get_by_label("批次")).to_have_value("2021—2025年度第一批")
    page.get_by_label("名单文件").set_input_files(str(path))
    page.get_by_label("有无法匹配的行时，仍导入其余可匹配的行").check()
    page.get_by_role("button", name="上传并导入").click()
    expect(page.locator("#cert-certified")).to_have_text("2")
    expect(page.locator("#cert-count-demo-county")).to_have_text("2")
    shots(page, "certification-import-1280")
    page.set_viewport_size({"width": 390, "height": 844})
    shots(page, "certification-import-390")
    # the certified 科协 shows 已认证 in the 归口 picker
    page.set_viewport_size({"width": 1280, "height": 900})
    page.goto(live_server.url + "/orgs/admin/supervisor")
    choose_category(page, "市科协")
    page.locator("#supervisor_id_q").fill("朝阳区")
    option = page.locator("#supervisor_id-results").get_by_role(
        "button", name="北京市朝阳区科学技术协会")
    expect(option).to_contain_text("已认证")
    # the org editor shows where the tag came from and that the org was generated
    option.click()
    page.goto(live_server.url + "/orgs/admin/?q=朝阳区&source=generated")
    page.get_by_role("link", name="北京市朝阳区科学技术协会").click()
    expect(page.locator("#generated-note")).to_contain_text("本单位由行政区划自动生成")
    expect(page.locator("main")).to_contain_text("全国科普示范县（市、区）（2021—2025年度第一批，2021年）")
    shots(page, "org-edit-1280")

