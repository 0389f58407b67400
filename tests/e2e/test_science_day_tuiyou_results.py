"""全国科普日 推优 national results in Chromium: the national admin opens the results from
the workbench, sees Beijing's recommendations against its quota, selects two excellent
activities with the keyboard (tick, then the bulk button), is refused a third beyond the
national total, selects a unit one by one, goes back to the overview (the numbers follow),
publishes after confirming, and the public results page — reached from the public home —
shows exactly the selected ones; the selection is locked while published. Screenshots at
1280 and 390 px go to /tmp/shots/results/ when that folder can be written. Any browser
console error fails the test (tests/e2e/conftest.py)."""
from __future__ import annotations

from pathlib import Path

from playwright.sync_api import Page, expect

PASSWORD = "Passw0rd!"
NATIONAL, OWNER = "13800000511", "13800000512"
SHOTS = Path("/tmp/shots/results")


def seed(server) -> dict:
    def _seed():
        from datetime import timedelta

        from kepu.accounts.models import User
        from kepu.accounts.operations import grant_role
        from kepu.admin.models import Campaign
        from kepu.extensions import db
        from kepu.orgs.models import Org
        from kepu.science_day.models import Activity
        from kepu.science_day.operations.listing import publish_snapshot
        from kepu.science_day.tuiyou_models import ExcellentActivity, ExcellentUnit, TuiyouQuota
        from kepu.timeutil import utcnow

        campaign = Campaign(kind="science_day", year=2026, title="2026年全国科普日",
                            settings={"tuiyou": {"total_activities": 2, "total_units": 2,
                                                 "minimum": 1}})
        bj = Org(name="北京市科学技术协会", kind="省级科协", region_code="11")
        gd = Org(name="广东省科学技术协会", kind="省级科协", region_code="44")
        db.session.add_all([campaign, bj, gd])
        db.session.flush()
        users = {}
        for phone, name in ((NATIONAL, "全国管理员"), (OWNER, "信息员小王")):
            user = User(phone=phone, name=name)
            user.set_password(PASSWORD)
            db.session.add(user)
            db.session.flush()
            users[phone] = user
        grant_role(users[NATIONAL], "national_admin")
        now = utcnow()
        ids = {}
        rows = [("11", "量子科普进社区", [{"name": "北京科学中心"}]),
                ("11", "天文观测夜", [{"name": "北京天文馆"}]),
                ("11", "机器人编程营", [{"id": bj.id, "name": "北京市科学技术协会"}]),
                ("44", "广东科普周", [{"name": "广东科学中心"}])]
        for i, (province, name, hosts) in enumerate(rows):
            a = Activity(campaign_id=campaign.id, owner_id=users[OWNER].id,
                         status="approved", name=name, mode="线下", activity_type="科普讲座",
                         start_at=now - timedelta(days=3), end_at=now - timedelta(days=2),
                         region_code=province + "0105", supervisor_category="省科协",
                         supervisor_org_id=(bj if province == "11" else gd).id,
                         route_province=province, hosts=hosts, filer_unit="某区科协",
                         submitted_at=now - timedelta(days=20), approved_at=now)
            db.session.add(a)
            db.session.flush()
            publish_snapshot(a)
            ids[name] = a.id
            db.session.add(ExcellentActivity(
                campaign_id=campaign.id, scope_key=f"province:{province}", activity_id=a.id,
                created_at=now - timedelta(hours=i)))
        db.session.add_all([
            TuiyouQuota(campaign_id=campaign.id, scope_key="province:11", activities=3,
                        units=2, activities_used=3, units_used=2, units_cast_used=1),
            TuiyouQuota(campaign_id=campaign.id, scope_key="province:44", activities=1,
                        units=1, activities_used=1, units_used=0)])
        center = ExcellentUnit(campaign_id=campaign.id, scope_key="province:11",
                               unit_key="name:北京科学中心", name="北京科学中心")
        cast = ExcellentUnit(campaign_id=campaign.id, scope_key="province:11",
                             unit_key=f"org:{bj.id}", org_id=bj.id, name="北京市科学技术协会",
                             is_cast=True)
        db.session.add_all([center, cast])
        db.session.commit()
        ids["unit:center"], ids["unit:cast"] = center.id, cast.id
        return ids

    return server.run(_seed)


def snap(page: Page, label: str) -> None:
    try:
        SHOTS.mkdir(parents=True, exist_ok=True)
    except OSError:
        return
    page.screenshot(path=str(SHOTS / f"{label}.png"), full_page=True)


def login(page: Page, server, phone: str) -> None:
    page.goto(server.url + "/account/login")
    page.get_by_placeholder("请输入手机号").fill(phone)
    page.get_by_placeholder("请输入密码").fill(PASSWORD)
    with page.expect_navigation():
        page.get_by_role("button", name="登录", exact=True).click()


def no_sideways_scroll(page: Page, what: str) -> None:
    width = page.evaluate("document.documentElement.scrollWidth")
    assert width <= 390, f"{what} scrolls sideways on a phone ({width}px)"


def narrow(page: Page, label: str, what: str) -> None:
    page.set_viewport_size({"width": 390, "height": 844})
    snap(page, f"{label}-390")
    no_sideways_scroll(page, what)
    page.set_viewport_size({"width": 1280, "height": 900})


def test_national_admin_selects_publishes_and_the_public_page_shows_it(page: Page,
                                                                        live_server):
    ids = seed(live_server)
    page.set_viewport_size({"width": 1280, "height": 900})
    login(page, live_server, NATIONAL)
    page.get_by_role("link", name="推优评选结果").click()
    expect(page.get_by_role("heading", name="推优评选结果")).to_be_visible()
    bj = page.locator("#tr-province-11")
    expect(bj.locator(".tr-acts")).to_have_text("3 / 3")
    expect(bj.locator(".tr-units")).to_have_text("2 / 2")
    expect(bj.locator(".tr-act-sel")).to_have_text("0")
    expect(page.locator("#tr-national")).to_contain_text("0 / 2")
    snap(page, "overview-1280")
    narrow(page, "overview", "results overview")

    bj.get_by_role("link", name="评选").click()
    expect(page.get_by_role("heading", name="北京市科协的推荐")).to_be_visible()
    # keyboard: tick two activities with Space, then press the bulk 入选 with Enter
    for name in ("量子科普进社区", "天文观测夜"):
        box = page.locator(f"#activity-{ids[name]}-cb")
        box.focus()
        page.keyboard.press("Space")
        expect(box).to_be_checked()
    bulk = page.locator("#activity-form").get_by_role("button", name="入选", exact=True)
    bulk.focus()
    with page.expect_navigation():
        page.keyboard.press("Enter")
    expect(page.get_by_text("已将 2 个优秀活动设为入选")).to_be_visible()
    expect(page.locator(f"#activity-{ids['量子科普进社区']}")).to_contain_text("已入选")
    # a third one passes the national total (2)
    page.get_by_role("button", name="入选“机器人编程营”").click()
    expect(page.locator("#tr-message")).to_contain_text("入选优秀活动不能超过全国总名额 2 个")
    expect(page.locator(f"#activity-{ids['机器人编程营']}")).to_contain_text("未入选")
    # a unit, one by one
    page.get_by_role("button", name="入选“北京科学中心”").click()
    expect(page.get_by_text("已将 1 个优秀组织单位设为入选")).to_be_visible()
    unit = page.locator(f"#unit-{ids['unit:center']}")
    expect(unit).to_contain_text("已入选")
    expect(unit).to_contain_text("量子科普进社区")
    page.get_by_role("link", name="已入选").click()
    expect(page.locator("#activity-form tbody tr")).to_have_count(2)
    snap(page, "scope-1280")
    narrow(page, "scope", "per-scope page")

    # browser back: the unfiltered list again; then up to the overview by the breadcrumb
    page.go_back()
    expect(page.locator("#activity-form tbody tr")).to_have_count(3)
    page.get_by_role("navigation", name="位置").get_by_role("link", name="推优评选结果").click()
    expect(page.get_by_role("heading", name="推优评选结果")).to_be_visible()
    expect(page.locator("#tr-province-11 .tr-act-sel")).to_have_text("2")
    expect(page.locator("#tr-province-11 .tr-unit-sel")).to_have_text("1")
    expect(page.locator("#tr-selected")).to_contain_text("优秀活动 2 / 全国总名额 2")

    # publish: asks first
    page.get_by_role("button", name="公布评选结果…").click()
    expect(page.locator("#tr-confirm")).to_contain_text("确认公布评选结果")
    snap(page, "confirm-1280")
    page.get_by_label("公布说明（选填，公开显示）").fill("经评审，现将结果公布如下。")
    page.get_by_role("button", name="确认公布").click()
    expect(page.get_by_text("已公布推优评选结果")).to_be_visible()
    expect(page.locator("#tr-state")).to_contain_text("已公布")
    # locked: the scope page has no selection controls
    page.locator("#tr-province-11").get_by_role("link", name="评选").click()
    expect(page.locator("#tr-locked")).to_be_visible()
    expect(page.locator("input[name=ids]")).to_have_count(0)

    # the public page, from the public home, anonymous
    page.context.clear_cookies()
    page.goto(live_server.url + "/science-day/excellent?year=2026")
    expect(page.locator("#excellent-activities")).to_contain_text("量子科普进社区")
    page.goto(live_server.url + "/science-day/")
    page.get_by_role("link", name="【优秀活动评选结果】").click()
    expect(page.get_by_role("heading", name="优秀活动", exact=True)).to_be_visible()
    acts = page.locator("#excellent-activities")
    expect(acts).to_contain_text("北京市科协")
    expect(acts.get_by_role("link", name="量子科普进社区")).to_be_visible()
    expect(acts.get_by_role("link", name="天文观测夜")).to_be_visible()
    expect(acts).not_to_contain_text("机器人编程营")
    expect(acts).not_to_contain_text("广东科普周")
    units = page.locator("#excellent-units")
    expect(units).to_contain_text("北京科学中心")
    expect(units).not_to_contain_text("北京市科学技术协会")
    expect(page.locator("#tr-lead")).to_contain_text("优秀活动 2 项、优秀组织单位 1 个")
    snap(page, "public-1280")
    narrow(page, "public", "public results page")
    acts.get_by_role("link", name="天文观测夜").click()
    expect(page.get_by_role("heading", name="天文观测夜")).to_be_visible()
    page.go_back()
    expect(page.locator("#excellent-units")).to_contain_text("北京科学中心")
