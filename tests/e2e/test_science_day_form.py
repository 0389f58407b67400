"""全国科普日 发布活动 in Chromium: a new user → 发布活动 → 信息员认证 (real name, unit
added, undertaking) → the activity form (市科协 归口 via autocomplete, 主办单位 typed and
添加, poster, three scientists) → 保存 refused for a past start and a 51-character name,
with the messages next to the fields and nothing lost → corrected and submitted."""
from __future__ import annotations

import io
from datetime import timedelta

from PIL import Image
from playwright.sync_api import Page, expect

PASSWORD = "Passw0rd!"
PHONE = "13800000101"


def seed(server) -> None:
    def _seed():
        from kepu.accounts.models import User
        from kepu.admin.models import Campaign
        from kepu.extensions import db
        from kepu.orgs.models import Org

        db.session.add(Campaign(kind="science_day", year=2026, title="2026年全国科普日", settings={
            "windows": {"filing": {"open": "2020-01-01 00:00", "close": "2099-12-31 23:59"}}}))
        db.session.add(Org(name="广东省科学技术协会", kind="省级科协", region_code="44"))
        db.session.add(Org(name="广州市科学技术协会", kind="市级科协", region_code="4401",
                           certifications=["全国科普示范县（市、区）"]))
        user = User(phone=PHONE, name="王老师")
        user.set_password(PASSWORD)
        db.session.add(user)
        db.session.commit()

    server.run(_seed)


def go(target) -> None:
    with target.page.expect_navigation():
        target.click()


def local(days: float) -> str:
    from kepu.timeutil import fmt, utcnow

    return fmt(utcnow() + timedelta(days=days), "%Y-%m-%dT%H:%M")


def test_new_user_certifies_and_publishes(page: Page, live_server, tmp_path, shots):
    server = live_server
    seed(server)
    poster = tmp_path / "poster.png"
    buf = io.BytesIO()
    Image.new("RGB", (300, 200), (30, 120, 200)).save(buf, "PNG")
    poster.write_bytes(buf.getvalue())

    page.goto(server.url + "/account/login")
    page.get_by_placeholder("请输入手机号").fill(PHONE)
    page.get_by_placeholder("请输入密码").fill(PASSWORD)
    go(page.get_by_role("button", name="登录", exact=True))

    # 发布活动 leads a non-officer to the certification
    page.goto(server.url + "/science-day/activities/new")
    expect(page.get_by_role("heading", name="科普中国信息员认证")).to_be_visible()
    page.get_by_label("真实姓名").fill("王小明")
    page.get_by_label("身份证号").fill("11010519491231002X")
    go(page.get_by_role("button", name="提交实名认证"))
    expect(page.get_by_role("heading", name="第二步：所在单位与信息员承诺书")).to_be_visible()
    page.locator("#org_id_q").fill("番禺青少年科技中心")
    page.get_by_role("button", name="添加「番禺青少年科技中心」").click()
    expect(page.locator("#org_id-picker .selected-org")).to_contain_text("番禺青少年科技中心")
    page.get_by_label("我已阅读并同意《科普中国信息员承诺书》").check()
    go(page.get_by_role("button", name="完成认证"))

    # the start page, then the form
    expect(page.get_by_role("heading", name="发布活动")).to_be_visible()
    go(page.get_by_role("button", name="开始填写"))
    expect(page.get_by_role("heading", name="活动基本信息")).to_be_visible()

    long_name = "食品安全" + "科" * 47                                   # 51 characters
    page.locator("#name").fill(long_name)
    expect(page.locator("#food-safety-note")).to_be_visible()
    page.get_by_role("radio", name="线下", exact=True).check()
    page.locator("#activity_type").select_option("科普讲座")
    page.locator("#start_at").fill(local(-1))
    page.locator("#end_at").fill(local(-0.9))
    page.locator("#region_province").select_option("44")
    expect(page.locator("#region_city option[value='4401']")).to_be_attached()
    page.locator("#region_city").select_option("4401")
    expect(page.locator("#region_county option[value='440111']")).to_be_attached()
    page.locator("#region_county").select_option("440111")

    # 归口单位: the category, then the autocomplete limited to it
    page.locator("#supervisor_org_id-category").select_option("市科协")
    page.locator("#supervisor_org_id_q").fill("广州")
    option = page.locator("#supervisor_org_id-results .ac-option", has_text="广州市科学技术协会")
    expect(option).to_contain_text("已认证")
    option.click()
    expect(page.locator("#supervisor_org_id-picker .selected-org")).to_contain_text("广州市科学技术协会")

    page.set_input_files("#upload-poster-input", str(poster))
    expect(page.locator("#upload-poster-list .file-item")).to_have_count(1)
    page.locator("#details").fill("活动将介绍食品安全知识，现场互动问答。")
    page.locator("#audience").fill("社区居民")
    for i, (name, unit, title) in enumerate([("张三", "中山大学", "教授"),
                                              ("李四", "华南理工大学", "研究员"),
                                              ("王五", "广州医科大学", "主任医师")], 1):
        page.locator(f"#sci_name_{i}").fill(name)
        page.locator(f"#sci_unit_{i}").fill(unit)
        page.locator(f"#sci_title_{i}").fill(title)
    page.locator("#contact_name").fill("李老师")
    page.locator("#contact_phone").fill("020-12345678")

    # 主办单位: typed and 添加 (kept as text); the default host (the officer's unit) stays
    page.locator("#hosts__q").fill("番禺区科普协会")
    page.locator("#hosts-box").get_by_role("button", name="添加").click()
    expect(page.locator("#hosts-items")).to_contain_text("番禺区科普协会")
    expect(page.locator("#autosave-status")).to_contain_text("已保存", timeout=10_000)

    # 保存: refused, next to the fields, nothing lost
    go(page.locator("#save-activity"))
    expect(page.locator("#name-error")).to_contain_text("不能超过50字")
    expect(page.locator("#start_at-error")).to_contain_text("应晚于填报时间")
    expect(page.locator("#name")).to_have_value(long_name)
    expect(page.locator("#sci_name_3")).to_have_value("王五")
    expect(page.locator("#hosts-items")).to_contain_text("番禺区科普协会")
    expect(page.locator("#supervisor_org_id-picker .selected-org")).to_contain_text("广州市科学技术协会")
    expect(page.locator("#upload-poster-list .file-item")).to_have_count(1)
    shots(page, "refused")

    page.locator("#name").fill("食品安全进社区科普讲座")
    page.locator("#start_at").fill(local(20))
    page.locator("#end_at").fill(local(20.1))
    go(page.locator("#save-activity"))
    expect(page.get_by_role("heading", name="我的活动")).to_be_visible()
    row = page.locator("tr", has_text="食品安全进社区科普讲座")
    expect(row).to_contain_text("省管理员审批中")
    expect(row).to_contain_text("未开始")
    shots(page, "submitted")

    def check():
        from kepu.extensions import db
        from kepu.science_day.models import Activity

        a = db.session.scalars(db.select(Activity)).one()
        return (a.status, a.route_province, a.food_safety, len(a.scientists),
                [h["name"] for h in a.hosts], a.filer_unit)

    status, route, food, n_sci, hosts, filer = server.run(check)
    assert (status, route, food, n_sci) == ("province_pending", "44", True, 3)
    assert "番禺区科普协会" in hosts and filer == "番禺青少年科技中心"
