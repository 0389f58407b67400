"""全国科普日统计 in Chromium: the national admin sees the country's tables with their
SVG charts, drills 广东省 → 广州市 → 白云区 and back by the breadcrumbs, downloads a table as
xlsx; the 广东 provincial admin sees only 广东's numbers; 390 px has no sideways scroll.
The national page's tile map of China: visible, shaded, a click on 广东's tile drills
down. Screenshots go to /tmp/shots/stats/ (and screenshots/). Any browser console error fails
the test (tests/e2e/conftest.py)."""
from __future__ import annotations

import io
import zipfile
from datetime import datetime, timedelta
from pathlib import Path

from playwright.sync_api import Browser, expect

PASSWORD = "Passw0rd!"
NATIONAL, GD = "13800000601", "13800000602"
SHOTS = Path("/tmp/shots/stats")


def seed(server) -> None:
    def _seed():
        from kepu.accounts.models import User
        from kepu.accounts.operations import grant_role
        from kepu.admin.models import Campaign
        from kepu.extensions import db
        from kepu.orgs.models import Org
        from kepu.science_day.models import Activity

        c = Campaign(kind="science_day", year=2026, title="2026年全国科普日", settings={})
        gd = Org(name="广东省科学技术协会", kind="省级科协", region_code="44")
        bj = Org(name="北京市科学技术协会", kind="省级科协", region_code="11")
        society = Org(name="中国科普作家协会", kind="全国学会")
        db.session.add_all([c, gd, bj, society])
        db.session.flush()
        officer = User(phone="13800000603", name="信息员")
        national = User(phone=NATIONAL, name="中国科协管理员")
        province = User(phone=GD, name="广东省科协审核")
        for u in (officer, national, province):
            u.set_password(PASSWORD)
        db.session.add_all([officer, national, province])
        db.session.flush()
        grant_role(national, "national_admin")
        grant_role(province, "provincial_admin", region_code="44")
        t0 = datetime(2026, 9, 15, 2)
        plan = [  # (region, org, route, category, mode, type, count)
            ("440111", gd, "44", "省科协", "线下", "科普讲座", 7),
            ("440106", gd, "44", "省科协", "线上", "科普展览", 4),
            ("440305", gd, "44", "省科协", "线上线下", "科学实验", 3),
            ("110105", bj, "11", "省科协", "线下", "科普讲座", 5),
            ("310104", society, None, "全国学会", "线上", "科普讲座", 2),
            # more provinces for the map's shades (type 科普表演: the other tables keep
            # their figures)
            ("330102", society, None, "全国学会", "线下", "科普表演", 3),
            ("510104", society, None, "全国学会", "线下", "科普表演", 1),
            ("650102", society, None, "全国学会", "线下", "科普表演", 2),
        ]
        for region, org, route, cat, mode, typ, count in plan:
            for i in range(count):
                db.session.add(Activity(
                    campaign_id=c.id, owner_id=officer.id, status="approved",
                    name=f"科普活动{region}-{i}", mode=mode, activity_type=typ,
                    start_at=t0 + timedelta(days=i % 3), region_code=region,
                    supervisor_category=cat, supervisor_org_id=org.id, route_province=route,
                    food_safety=i == 0, joint_action=i % 2 == 0,
                    joint_action_items=["科普进社区"] if i % 2 == 0 else [],
                    hosts=[{"name": "某馆"}], submitted_at=t0 - timedelta(days=10),
                    decided_at=t0 - timedelta(days=8)))
        db.session.commit()

    server.run(_seed)


def login(page, server, phone):
    page.goto(server.url + "/account/login")
    page.get_by_placeholder("请输入手机号").fill(phone)
    page.get_by_placeholder("请输入密码").fill(PASSWORD)
    page.get_by_role("button", name="登录", exact=True).click()
    page.wait_for_url(lambda url: "/account/login" not in url)


def shot(page, shots, label):
    SHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SHOTS / f"{label}.png"), full_page=True)
    page.screenshot(path=str(SHOTS / f"{label}-top.png"))   # the first screen, readable
    shots(page, label)


def no_sideways_scroll(page):
    overflow = page.evaluate("document.documentElement.scrollWidth - window.innerWidth")
    assert overflow <= 0, f"page scrolls sideways by {overflow}px"


def test_stats_journey(browser: Browser, live_server, shots):
    seed(live_server)
    ctx = browser.new_context(viewport={"width": 1280, "height": 900}, accept_downloads=True)
    page = ctx.new_page()
    login(page, live_server, NATIONAL)
    page.goto(live_server.url + "/science-day/stats/")
    expect(page.get_by_role("heading", name="按地区：各省份")).to_be_visible()
    region = page.locator("#stats-region")
    expect(region.locator("svg.stats-chart")).to_be_visible()
    expect(region.locator("tr", has_text="广东省")).to_contain_text("14")
    expect(region.locator("tfoot")).to_contain_text("27")
    expect(page.locator("#stats-mode tr", has_text="线上线下")).to_contain_text("3")
    # the map: 34 tiles, 广东 (14) darkest, 台湾 no data; a tile is a drill-down link
    china = region.locator("svg.stats-map")
    expect(china).to_be_visible()
    expect(china.locator(".stats-map-tile")).to_have_count(34)
    expect(page.locator("#map-tile-44")).to_have_class("stats-map-tile map-b5")
    expect(page.locator("#map-tile-71")).to_have_class("stats-map-tile map-nodata")
    expect(page.locator("#map-tile-44 title")).to_have_text("广东省：已通过活动 14 项")
    shot(page, shots, "national-1280")
    page.locator("#stats-region .stats-map-wrap").screenshot(
        path=str(SHOTS / "national-1280-map.png"))
    page.locator("#map-tile-44").click()
    expect(page.get_by_role("heading", name="按地区：广东省")).to_be_visible()
    expect(page.locator("svg.stats-map")).to_have_count(0)
    page.go_back()
    expect(page.get_by_role("heading", name="按地区：各省份")).to_be_visible()

    region.get_by_role("link", name="广东省", exact=True).click()
    expect(page.get_by_role("heading", name="按地区：广东省")).to_be_visible()
    expect(page.locator("#stats-region tr", has_text="广州市")).to_contain_text("11")
    expect(page.locator("#stats-region tr", has_text="深圳市")).to_contain_text("3")
    page.locator("#stats-region").get_by_role("link", name="广州市").click()
    expect(page.get_by_role("heading", name="按地区：广东省广州市")).to_be_visible()
    expect(page.locator("#stats-region tr", has_text="白云区")).to_contain_text("7")
    page.locator(".stats-crumbs").get_by_role("link", name="全国").click()
    expect(page.get_by_role("heading", name="按地区：各省份")).to_be_visible()

    with page.expect_download() as info:
        page.locator("#stats-type").get_by_role("link", name="导出 Excel").click()
    data = Path(info.value.path()).read_bytes()
    sheet = zipfile.ZipFile(io.BytesIO(data)).read("xl/worksheets/sheet1.xml").decode()
    assert "科普讲座" in sheet and "<v>14</v>" in sheet and "<v>27</v>" in sheet

    page.set_viewport_size({"width": 390, "height": 844})
    page.goto(live_server.url + "/science-day/stats/")
    no_sideways_scroll(page)
    shot(page, shots, "national-390")
    page.locator("#stats-region .stats-map-wrap").screenshot(
        path=str(SHOTS / "national-390-map.png"))
    # keyboard: a tile is focusable and Enter follows it
    page.locator("#map-tile-11").focus()
    page.keyboard.press("Enter")
    expect(page.get_by_role("heading", name="按地区：北京市")).to_be_visible()
    ctx.close()

    ctx = browser.new_context(viewport={"width": 1280, "height": 900})
    page = ctx.new_page()
    login(page, live_server, GD)
    page.goto(live_server.url + "/science-day/stats/")
    expect(page.get_by_role("heading", name="按地区：广东省")).to_be_visible()
    expect(page.locator("#stats-region tfoot")).to_contain_text("14")
    expect(page.locator("#stats-region")).not_to_contain_text("北京")
    expect(page.locator("#stats-food_safety")).to_contain_text("广东省")
    expect(page.locator("#stats-food_safety")).not_to_contain_text("北京")
    shot(page, shots, "province-1280")
    page.set_viewport_size({"width": 390, "height": 844})
    page.reload()
    no_sideways_scroll(page)
    shot(page, shots, "province-390")
    for key in ("food_safety", "certified_host", "review"):   # readable close-ups
        page.locator(f"#stats-{key}").screenshot(path=str(SHOTS / f"province-390-{key}.png"))
    ctx.close()
