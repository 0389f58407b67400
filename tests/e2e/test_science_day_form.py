"""全国科普日 from 发布活动 to the public site, in Chromium (issue 10's journey): a new
user → 发布活动 → 信息员认证 (real name, unit added, undertaking) → the activity form
(市科协 归口 via autocomplete, 主办单位 typed and 添加, poster, three scientists) → 保存
refused for a past start and a 51-character name, with the messages next to the fields
and nothing lost → corrected and submitted → the provincial admin finds it by search and
filter and 退回 with a reason → the officer edits and resubmits → province 通过 →
national 通过 → on the public list and detail page → national 下架 and it is gone; a
全国学会-归口 activity goes straight to 全国审批中."""
from __future__ import annotations

import io
import re
from datetime import timedelta

from PIL import Image
from playwright.sync_api import Page, expect

PASSWORD = "Passw0rd!"
PHONE = "13800000101"
PROVINCE, NATIONAL = "13800000102", "13800000103"


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
        db.session.add(Org(name="中国科普作家协会", kind="全国学会"))
        from kepu.accounts.operations import grant_role

        for phone, role, scope in ((PROVINCE, "provincial_admin", {"region_code": "44"}),
                                   (NATIONAL, "national_admin", {})):
            admin = User(phone=phone, name="审核员")
            admin.set_password(PASSWORD)
            db.session.add(admin)
            db.session.flush()
            grant_role(admin, role, **scope)
        db.session.commit()

    server.run(_seed)


def go(target) -> None:
    with target.page.expect_navigation():
        target.click()


def local(days: float) -> str:
    from kepu.timeutil import fmt, utcnow

    return fmt(utcnow() + timedelta(days=days), "%Y-%m-%dT%H:%M")


def certify_and_submit(page: Page, server, tmp_path, shots) -> None:
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
    page.wait_for_load_state("networkidle")
    old_picker = page.locator("#supervisor_org_id-picker").element_handle()
    page.locator("#supervisor_org_id-category").select_option("市科协")
    page.wait_for_function("el => !el.isConnected", arg=old_picker)  # the picker of 市科协
    page.wait_for_function("() => !!document.querySelector('#supervisor_org_id_q')"
                           "['htmx-internal-data']")
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


def login(page: Page, server, phone: str) -> None:
    page.goto(server.url + "/account/login")
    page.get_by_placeholder("请输入手机号").fill(phone)
    page.get_by_placeholder("请输入密码").fill(PASSWORD)
    go(page.get_by_role("button", name="登录", exact=True))


def status(server, name: str) -> str:
    def _get():
        from kepu.extensions import db
        from kepu.science_day.models import Activity

        db.session.expire_all()
        return db.session.scalar(db.select(Activity.status).where(Activity.name == name))

    return server.run(_get)


def test_publish_review_resubmit_go_public_and_delist(page: Page, browser, live_server,
                                                      tmp_path, shots):
    certify_and_submit(page, live_server, tmp_path, shots)
    server, name = live_server, "食品安全进社区科普讲座"
    admin = browser.new_context(viewport={"width": 1280, "height": 900}, locale="zh-CN")
    review = admin.new_page()

    # the provincial admin of 广东 finds it by search and filter, 退回 with a reason
    login(review, server, PROVINCE)
    review.goto(server.url + "/science-day/review/province/")
    box = review.get_by_role("searchbox").first
    box.click()
    box.press_sequentially("食品", delay=40)
    expect(review.locator("#queue-results tbody tr")).to_have_count(1)
    review.get_by_label("食品安全", exact=True).select_option("1")
    expect(review).to_have_url(re.compile(r"food=1"))
    # no waiting for the list: 退回 at once, as a reviewer in a hurry does
    row = review.locator("tr", has_text=name)
    row.get_by_role("link", name="退回").click()
    row.get_by_label("退回原因").fill("请写明活动的具体地点")
    row.get_by_role("button", name="确认退回").click()
    expect(row.locator("td[data-label='状态'] .badge").first).to_have_text("省管理员审批拒绝")

    # the officer sees the reason and the edits left, corrects and resubmits
    page.goto(server.url + "/science-day/activities/mine")
    row = page.locator("tr", has_text=name)
    expect(row).to_contain_text("省管理员审批拒绝")
    expect(row).to_contain_text("请写明活动的具体地点")
    expect(row.locator("[data-label='剩余修改次数']")).to_have_text("3")
    go(row.get_by_role("link", name="修改"))
    page.locator("#details").fill("活动在番禺区科技馆一楼报告厅举行，介绍食品安全知识，现场互动问答。")
    go(page.locator("#save-activity"))
    expect(page.locator("tr", has_text=name)).to_contain_text("省管理员审批中")
    assert status(server, name) == "province_pending"

    # province 通过, then national 通过: published
    review.goto(server.url + "/science-day/review/province/?status=province_pending")
    review.locator("tr", has_text=name).get_by_role("button", name="通过", exact=True).click()
    expect(review.locator("tr", has_text=name).locator("td[data-label='状态'] .badge").first).to_have_text("全国审批中")
    admin.clear_cookies()
    login(review, server, NATIONAL)
    review.goto(server.url + "/science-day/review/national/?status=national_pending")
    review.locator("tr", has_text=name).get_by_role("button", name="通过", exact=True).click()
    expect(review.locator("tr", has_text=name).locator("td[data-label='状态'] .badge").first).to_have_text("已通过")

    # on the public site, for anyone
    public = browser.new_context(viewport={"width": 390, "height": 844}, locale="zh-CN")
    visitor = public.new_page()
    visitor.goto(server.url + "/science-day/events/")
    expect(visitor.get_by_role("link", name=name)).to_be_visible()
    go(visitor.get_by_role("link", name=name))
    expect(visitor.get_by_role("heading", name=name)).to_be_visible()
    expect(visitor.locator("main")).to_contain_text("番禺区科普协会")
    shots(visitor, "public-detail-390")
    detail_url = visitor.url

    # national 下架 with a reason: gone from the list and the detail page
    review.goto(server.url + "/science-day/review/national/?status=approved")
    go(review.locator("tr", has_text=name).get_by_role("link", name=name))
    review.locator("#delist-reason").fill("活动信息有误，暂停展示")
    review.get_by_role("button", name="下架").click()
    expect(review.locator("#listing-panel")).to_contain_text("已下架")
    visitor.goto(server.url + "/science-day/events/")
    expect(visitor.get_by_role("link", name=name)).to_have_count(0)
    assert visitor.request.get(detail_url).status == 404  # (no console noise)

    # a 全国学会-归口 activity goes straight to 全国审批中
    def society_draft():
        from datetime import timedelta

        from kepu.accounts.models import User
        from kepu.admin.models import Campaign
        from kepu.extensions import db
        from kepu.orgs.models import Org
        from kepu.science_day.models import Activity
        from kepu.timeutil import utcnow

        owner = User.by_phone(PHONE)
        society = db.session.scalar(db.select(Org).where(Org.name == "中国科普作家协会"))
        start = utcnow() + timedelta(days=30)
        a = Activity(campaign_id=db.session.scalar(db.select(Campaign.id)), owner_id=owner.id,
                     name="科普作家进校园", mode="线下", activity_type="科普讲座",
                     start_at=start, end_at=start + timedelta(hours=2), region_code="440111",
                     supervisor_category="全国学会", supervisor_org_id=society.id,
                     hosts=[{"name": "中国科普作家协会", "id": society.id}], audience="中学生",
                     scientists=[{"name": "赵作家", "unit": "中国科普作家协会", "title": "会员"}],
                     contact_name="李老师", contact_phone="020-12345678",
                     details="科普作家走进校园，分享科学写作。")
        db.session.add(a)
        db.session.commit()
        return a.id

    draft = server.run(society_draft)
    page.goto(server.url + f"/science-day/activities/{draft}/edit")
    page.set_input_files("#upload-poster-input", str(tmp_path / "poster.png"))
    expect(page.locator("#upload-poster-list .file-item")).to_have_count(1)
    go(page.locator("#save-activity"))
    expect(page.locator("tr", has_text="科普作家进校园")).to_contain_text("全国审批中")
    assert status(server, "科普作家进校园") == "national_pending"
    admin.close()
    public.close()
