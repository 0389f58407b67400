"""全国科普日 推优 of excellent organiser units in Chromium: Beijing's 推优 admin opens the
优秀组织单位 tab, sees its own provincial 科协 refused as a candidate and the first 科协
unit disabled by the meter (1/1 = 100%), recommends a non-科协 unit, then 科协 ones while
the share stays within 70%; the meter disables the next 科协 unit (75%) and the server
refuses it anyway; the last place is used and the quota stops the rest. Withdrawing goes
the same way. Screenshots at 1280 and 390 px go to /tmp/shots/units/ (when writable).
Any browser console error fails the test (tests/e2e/conftest.py)."""
from __future__ import annotations

from pathlib import Path

from playwright.sync_api import Page, expect

PASSWORD = "Passw0rd!"
TUIYOU = "13800000431"
SHOTS = Path("/tmp/shots/units")


def seed(server) -> None:
    def _seed():
        from datetime import timedelta

        from kepu.accounts import roles as R
        from kepu.accounts.models import Grant, User
        from kepu.admin.models import Campaign
        from kepu.extensions import db
        from kepu.orgs.models import Org
        from kepu.science_day.models import Activity
        from kepu.science_day.tuiyou_models import ExcellentActivity, TuiyouQuota
        from kepu.timeutil import utcnow

        windows = {k: {"open": "2020-01-01 00:00", "close": "2099-12-31 23:59"}
                   for k in ("filing", "supplement", "summary", "annual_report", "recommend")}
        campaign = Campaign(kind="science_day", year=2026, title="2026年全国科普日",
                            settings={"windows": windows})
        bj = Org(name="北京市科学技术协会", kind="省级科协", region_code="11")
        centre = Org(name="北京科学中心", kind="其他", region_code="11")
        db.session.add_all([campaign, bj, centre])
        db.session.flush()
        user = User(phone=TUIYOU, name="张推优")
        user.set_password(PASSWORD)
        db.session.add(user)
        db.session.flush()
        db.session.add(Grant(user_id=user.id, role=R.TUIYOU_ADMIN, region_code="11"))
        now = utcnow()
        hosts = {
            "量子科普进社区": [{"id": bj.id, "name": bj.name}, {"name": "北京市第八中学"},
                        {"name": "密云区科协"}],
            "天文观测夜": [{"name": "怀柔区科协"}, {"name": "平谷区科协"},
                      {"id": centre.id, "name": centre.name}],
            "机器人编程营": [{"name": "北京市第八中学"}, {"name": "延庆区科学技术协会"}],
        }
        for i, (name, h) in enumerate(hosts.items()):
            a = Activity(campaign_id=campaign.id, owner_id=user.id, status="approved",
                         name=name, mode="线下", activity_type="科普讲座",
                         start_at=now - timedelta(days=3), end_at=now - timedelta(days=2),
                         region_code="110105", supervisor_category="省科协",
                         supervisor_org_id=bj.id, route_province="11", hosts=h,
                         submitted_at=now - timedelta(days=20, hours=i),
                         approved_at=now - timedelta(days=15))
            db.session.add(a)
            db.session.flush()
            db.session.add(ExcellentActivity(campaign_id=campaign.id, scope_key="province:11",
                                             activity_id=a.id,
                                             created_at=now - timedelta(hours=i)))
        db.session.add(TuiyouQuota(campaign_id=campaign.id, scope_key="province:11",
                                   activities=3, units=4, activities_used=3, units_used=0))
        db.session.commit()

    server.run(_seed)


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


def unit(page: Page, name: str):
    return page.locator("#tu-list > li").filter(
        has=page.get_by_role("heading", name=name, exact=True))


def recommend(page: Page, name: str) -> None:
    unit(page, name).get_by_role("button", name="推荐为优秀组织单位").click()
    expect(page.locator("#tu-message")).to_have_text(f"已推荐“{name}”为优秀组织单位")


def test_units_with_the_cast_share_meter_and_the_quota(page: Page, live_server):
    seed(live_server)
    page.set_viewport_size({"width": 1280, "height": 900})
    login(page, live_server, TUIYOU)
    page.goto(live_server.url + "/science-day/tuiyou")
    page.get_by_role("link", name="优秀组织单位", exact=True).click()
    expect(page.get_by_role("heading", name="推荐优秀组织单位")).to_be_visible()
    expect(page.locator("#tu-quota-figure")).to_have_text("优秀组织单位：已推荐 0 / 名额 4")
    expect(page.locator("#tu-rule")).to_contain_text("第一个推荐的单位不能是科协组织（1/1 = 100%）")
    expect(page.locator("#tu-list > li")).to_have_count(7)

    own = unit(page, "北京市科学技术协会")
    expect(own).to_contain_text("本单位，不可推荐")
    expect(own.get_by_role("button")).to_have_count(0)
    miyun = unit(page, "密云区科协")
    expect(miyun).to_contain_text("科协组织")
    expect(miyun.get_by_role("button", name="推荐为优秀组织单位")).to_be_disabled()
    expect(miyun).to_contain_text("推荐后科协占比 100%，超过上限 70%")
    expect(unit(page, "北京市第八中学")).to_contain_text("量子科普进社区、机器人编程营")

    # a non-科协 unit first, then 科协 ones while the share stays within 70%
    recommend(page, "北京市第八中学")
    expect(page.locator("#tu-share")).to_contain_text("0 / 1 = 0%")
    expect(unit(page, "密云区科协")).to_contain_text("推荐后科协占比 50%（上限 70%）")
    recommend(page, "密云区科协")
    expect(page.locator("#tu-share")).to_contain_text("1 / 2 = 50%")
    recommend(page, "怀柔区科协")
    expect(page.locator("#tu-quota-figure")).to_have_text("优秀组织单位：已推荐 3 / 名额 4")
    expect(page.locator("#tu-share")).to_contain_text("2 / 3 = 66.7%")
    # the meter refuses the next 科协 unit: 3/4 = 75%
    pinggu = unit(page, "平谷区科协")
    expect(pinggu).to_contain_text("推荐后科协占比 75%，超过上限 70%")
    button = pinggu.get_by_role("button", name="推荐为优秀组织单位")
    expect(button).to_be_disabled()
    snap(page, "units-1280")
    # … and the server refuses it too, should the button be enabled
    button.evaluate("b => b.removeAttribute('disabled')")
    button.click()
    expect(page.locator("#tu-message")).to_contain_text(
        "推荐“平谷区科协”后科协单位占比将为 75%（3/4），超过上限 70%")
    expect(page.locator("#tu-share")).to_contain_text("2 / 3 = 66.7%")

    # the last place goes to a non-科协 unit; then the quota stops everyone
    recommend(page, "北京科学中心")
    expect(page.locator("#tu-quota-figure")).to_have_text("优秀组织单位：已推荐 4 / 名额 4")
    expect(page.locator("#tu-share")).to_contain_text("2 / 4 = 50%")
    yanqing = unit(page, "延庆区科学技术协会")
    expect(yanqing.get_by_role("button")).to_be_disabled()
    expect(yanqing).to_contain_text("推荐名额（4 个）已用完")

    # withdrawing a non-科协 unit that would leave 2/2 科协 is disabled, a 科协 one is fine
    page.reload()
    expect(unit(page, "北京科学中心").get_by_role("button", name="撤回推荐")).to_be_enabled()
    unit(page, "北京科学中心").get_by_role("button", name="撤回推荐").click()
    expect(page.locator("#tu-message")).to_have_text("已撤回对“北京科学中心”的推荐")
    school = unit(page, "北京市第八中学")
    expect(school.get_by_role("button", name="撤回推荐")).to_be_disabled()
    expect(school).to_contain_text("撤回后科协占比 100%，超过上限 70%")
    unit(page, "怀柔区科协").get_by_role("button", name="撤回推荐").click()
    expect(page.locator("#tu-share")).to_contain_text("1 / 2 = 50%")

    page.set_viewport_size({"width": 390, "height": 844})
    page.reload()
    snap(page, "units-390")
    width = page.evaluate("document.documentElement.scrollWidth")
    assert width <= 390, f"units page scrolls sideways on a phone ({width}px)"


def test_units_page_works_without_javascript(browser, live_server):
    """Plain form posts: POST → 303 → the page with the message."""
    seed(live_server)
    context = browser.new_context(java_script_enabled=False)
    page = context.new_page()
    try:
        login(page, live_server, TUIYOU)
        page.goto(live_server.url + "/science-day/tuiyou/units")
        with page.expect_navigation():
            unit(page, "北京市第八中学").get_by_role("button",
                                                  name="推荐为优秀组织单位").click()
        expect(page.get_by_text("已推荐“北京市第八中学”为优秀组织单位")).to_be_visible()
        expect(page.locator("#tu-quota-figure")).to_have_text("优秀组织单位：已推荐 1 / 名额 4")
        assert page.url.endswith("/science-day/tuiyou/units?scope=province:11") or \
            page.url.endswith("/science-day/tuiyou/units?scope=province%3A11"), page.url
    finally:
        context.close()
