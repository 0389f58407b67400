"""全国科普日 推优 in Chromium: the national admin sets the quota formula, gives Beijing
the suggested quota and names Beijing's 推优 admin by phone before that person has an
account; the person registers, logs in, finds the 推优 page on the workbench, is refused
an incomplete activity with the missing items named, recommends eligible ones up to the
quota, and the next one is refused; then recommends an organiser unit, the 科协 share meter
refusing a 科协 one; the national admin selects and publishes; the public results page
shows them (issue 13's journey). Screenshots at 1280 and 390 px go to
/tmp/shots/tuiyou/ when that folder can be written. Any browser console error fails the
test (tests/e2e/conftest.py)."""
from __future__ import annotations

from pathlib import Path

from playwright.sync_api import Page, expect

PASSWORD = "Passw0rd!"
NATIONAL, OWNER, TUIYOU = "13800000411", "13800000412", "13800000413"
SHOTS = Path("/tmp/shots/tuiyou")


def seed(server) -> dict:
    def _seed():
        import uuid
        from datetime import timedelta

        from kepu.accounts.models import User
        from kepu.accounts.operations import grant_role
        from kepu.admin.models import Campaign
        from kepu.extensions import db
        from kepu.files.models import StoredFile
        from kepu.orgs.models import Org
        from kepu.science_day.after_models import SUMMARY_PARTS, ActivitySupplement
        from kepu.science_day.models import Activity
        from kepu.timeutil import utcnow

        windows = {k: {"open": "2020-01-01 00:00", "close": "2099-12-31 23:59"}
                   for k in ("filing", "supplement", "summary", "annual_report", "recommend")}
        campaign = Campaign(kind="science_day", year=2026, title="2026年全国科普日",
                            settings={"windows": windows})
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
        names = [("11", "量子科普进社区", True), ("11", "天文观测夜", True),
                 ("11", "机器人编程营", True), ("11", "材料未齐的讲座", False)] + [
            ("44", f"广东活动{i}", False) for i in range(4)]
        for i, (province, name, complete) in enumerate(names):
            a = Activity(campaign_id=campaign.id, owner_id=users[OWNER].id,
                         status="approved", name=name, mode="线下", activity_type="科普讲座",
                         start_at=now - timedelta(days=3, hours=i),
                         end_at=now - timedelta(days=3, hours=i - 2),
                         region_code=province + "0105", supervisor_category="省科协",
                         supervisor_org_id=(bj if province == "11" else gd).id,
                         route_province=province,
                         hosts=[{"name": "某科技馆"}, {"name": "北京市朝阳区科学技术协会"}]
                         if name == "量子科普进社区" else [{"name": "某科技馆"}],
                         filer_unit="朝阳区科协", submitted_at=now - timedelta(days=20, hours=i),
                         approved_at=now - timedelta(days=15))
            db.session.add(a)
            db.session.flush()
            ids[name] = a.id
            db.session.add(ActivitySupplement(
                activity_id=a.id, participants_offline=120 if complete else 30,
                media_reports=[{"title": "北京日报报道", "url": "https://example.com/n/1"}]
                if complete else [],
                summary={k: "内容" for k, _ in SUMMARY_PARTS} if complete else {},
                summary_filed_at=now - timedelta(days=1) if complete else None))
            for field, n in (("effect_photo", 4 if complete else 1),
                             ("participant_photo", 1)):
                for j in range(n):
                    db.session.add(StoredFile(
                        owner_id=users[OWNER].id, field=f"science_day:{campaign.id}:{field}",
                        original_name=f"{j}.png", stored_name=uuid.uuid4().hex, ext="png",
                        content_type="image/png", size=10, sha256="0" * 64,
                        entity_type="activity", entity_id=a.id))
        db.session.commit()
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


def logout(page: Page, server) -> None:
    page.context.clear_cookies()


def no_sideways_scroll(page: Page, what: str) -> None:
    width = page.evaluate("document.documentElement.scrollWidth")
    assert width <= 390, f"{what} scrolls sideways on a phone ({width}px)"


def test_quota_grant_by_phone_and_recommend_up_to_the_quota(page: Page, live_server):
    ids = seed(live_server)
    page.set_viewport_size({"width": 1280, "height": 900})
    login(page, live_server, NATIONAL)
    page.get_by_role("link", name="设置推优名额").click()
    expect(page.get_by_role("heading", name="推优名额")).to_be_visible()
    expect(page.locator("#ty-formula")).to_contain_text("共 8 个")
    page.get_by_label("全国优秀活动总名额").fill("4")
    page.get_by_label("全国优秀组织单位总名额").fill("2")
    page.get_by_role("button", name="保存计算参数").click()
    expect(page.get_by_text("已保存建议名额计算参数")).to_be_visible()
    row = page.locator("#q-province-11")
    expect(row.locator(".ty-suggest")).to_have_text("2 / 1")
    expect(row.get_by_label("优秀活动")).to_have_value("2")
    snap(page, "quotas-1280")
    row.get_by_role("button", name="按建议设定").click()
    expect(page.get_by_text("已保存北京市科协的推荐名额")).to_be_visible()
    expect(page.locator("#q-province-11 .ty-used")).to_have_text("已推荐活动 0")
    # a cut without a reason is refused next to the field, what was typed kept
    row = page.locator("#q-province-44")
    row.get_by_label("优秀活动").fill("0")
    row.get_by_role("button", name="按建议设定").click()
    expect(page.locator("#province-44-reason-err")).to_contain_text("请填写削减原因")
    expect(page.locator("#province-44-activities")).to_have_value("0")
    page.set_viewport_size({"width": 390, "height": 844})
    snap(page, "quotas-390")
    no_sideways_scroll(page, "quota page")

    page.set_viewport_size({"width": 1280, "height": 900})
    page.goto(live_server.url + "/science-day/tuiyou/admins")
    row = page.locator("#g-province-11")
    row.get_by_label("姓名").fill("张推优")
    row.get_by_label("手机号").fill(TUIYOU)
    row.get_by_role("button", name="授权").click()
    expect(page.get_by_text("已将北京市科协的推优管理员设为 张推优")).to_be_visible()
    expect(page.locator("#g-province-11")).to_contain_text("待注册/登录")
    snap(page, "admins-1280")
    page.set_viewport_size({"width": 390, "height": 844})
    snap(page, "admins-390")
    no_sideways_scroll(page, "推优 admins page")
    page.set_viewport_size({"width": 1280, "height": 900})
    logout(page, live_server)

    # the named person registers, then logs in: the role is there
    page.goto(live_server.url + "/account/register")
    page.get_by_placeholder("请输入手机号").fill(TUIYOU)
    page.get_by_role("button", name="获取验证码").click()
    expect(page.locator("#sms-btn button")).to_be_disabled()
    page.get_by_placeholder("请输入验证码").fill(live_server.sms_code(TUIYOU, "register"))
    page.get_by_placeholder("请设置密码（6-20位）").fill(PASSWORD)
    page.get_by_placeholder("请再次确认密码").fill(PASSWORD)
    page.get_by_role("button", name="注册", exact=True).click()
    expect(page.get_by_text("注册成功，请登录")).to_be_visible()
    login(page, live_server, TUIYOU)
    page.get_by_role("link", name="推荐优秀活动").first.click()
    expect(page.get_by_role("heading", name="推荐优秀活动")).to_be_visible()
    expect(page.locator("#ty-quota-figure")).to_contain_text("已推荐 0 / 名额 2")

    bad = page.locator(f"#a-{ids['材料未齐的讲座']}")
    expect(bad).to_contain_text("不符合条件")
    expect(bad).to_contain_text("已上传 1 张")
    bad.get_by_role("button", name="推荐为优秀活动").click()
    expect(page.locator("#ty-message")).to_contain_text("不符合推优条件")
    for item in ("至少 1 篇媒体报道", "3–10 张活动照片", "线下参与人数不少于 50 人"):
        expect(page.locator(f"#a-{ids['材料未齐的讲座']}-err")).to_contain_text(item)

    for name in ("量子科普进社区", "天文观测夜"):
        page.locator(f"#a-{ids[name]}").get_by_role("button", name="推荐为优秀活动").click()
        expect(page.get_by_text(f"已推荐“{name}”为优秀活动")).to_be_visible()
    expect(page.locator("#ty-quota-figure")).to_contain_text("已推荐 2 / 名额 2")
    page.locator(f"#a-{ids['机器人编程营']}").get_by_role("button",
                                                           name="推荐为优秀活动").click()
    expect(page.locator("#ty-message")).to_contain_text("优秀活动推荐名额（2 个）已用完")
    snap(page, "tuiyou-1280")
    page.get_by_role("link", name="已推荐", exact=True).click()
    expect(page.locator("li.ty-item")).to_have_count(2)
    page.set_viewport_size({"width": 390, "height": 844})
    page.goto(live_server.url + "/science-day/tuiyou")
    snap(page, "tuiyou-390")
    no_sideways_scroll(page, "推优 page")
    # withdraw frees the place
    page.locator(f"#a-{ids['天文观测夜']}").get_by_role("button", name="撤回推荐").click()
    expect(page.get_by_text("已撤回对“天文观测夜”的推荐")).to_be_visible()
    expect(page.locator("#ty-quota-figure")).to_contain_text("已推荐 1 / 名额 2")

    # a place again for 天文观测夜
    page.locator(f"#a-{ids['天文观测夜']}").get_by_role("button", name="推荐为优秀活动").click()
    expect(page.locator("#ty-quota-figure")).to_contain_text("已推荐 2 / 名额 2")

    # organiser units: the hosts of the two; a 科协 first would be 1/1 = 100% > 70%
    page.set_viewport_size({"width": 1280, "height": 900})
    page.get_by_role("link", name="优秀组织单位", exact=True).click()
    expect(page.locator("#tu-quota-figure")).to_have_text("优秀组织单位：已推荐 0 / 名额 1")
    units = page.locator("#tu-list > li")
    cast = units.filter(has=page.get_by_role("heading", name="北京市朝阳区科学技术协会"))
    expect(cast).to_contain_text("推荐后科协占比 100%，超过上限 70%")
    expect(cast.get_by_role("button", name="推荐为优秀组织单位")).to_be_disabled()
    hall = units.filter(has=page.get_by_role("heading", name="某科技馆"))
    expect(hall).to_contain_text("量子科普进社区")
    hall.get_by_role("button", name="推荐为优秀组织单位").click()
    expect(page.locator("#tu-message")).to_have_text("已推荐“某科技馆”为优秀组织单位")
    expect(page.locator("#tu-quota-figure")).to_have_text("优秀组织单位：已推荐 1 / 名额 1")
    logout(page, live_server)

    # the national admin selects both activities and the unit, then publishes
    login(page, live_server, NATIONAL)
    page.goto(live_server.url + "/science-day/tuiyou/results")
    bj = page.locator("#tr-province-11")
    expect(bj.locator(".tr-acts")).to_have_text("2 / 2")
    bj.get_by_role("link", name="评选").click()
    for name in ("量子科普进社区", "天文观测夜"):
        page.get_by_role("button", name=f"入选“{name}”").click()
        expect(page.locator(f"#activity-{ids[name]}")).to_contain_text("已入选")
    page.get_by_role("button", name="入选“某科技馆”").click()
    expect(page.get_by_text("已将 1 个优秀组织单位设为入选")).to_be_visible()
    page.goto(live_server.url + "/science-day/tuiyou/results")
    page.get_by_role("button", name="公布评选结果…").click()
    page.get_by_role("button", name="确认公布").click()
    expect(page.get_by_text("已公布推优评选结果")).to_be_visible()
    logout(page, live_server)

    # anyone sees the result
    page.goto(live_server.url + "/science-day/excellent")
    acts = page.locator("#excellent-activities")
    expect(acts).to_contain_text("量子科普进社区")
    expect(acts).to_contain_text("天文观测夜")
    expect(acts).not_to_contain_text("机器人编程营")
    expect(page.locator("#excellent-units")).to_contain_text("某科技馆")
    expect(page.locator("#excellent-units")).not_to_contain_text("朝阳区")
