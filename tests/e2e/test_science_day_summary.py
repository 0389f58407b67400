"""全国科普日 活动总结 in Chromium: the organiser of an approved activity that ended two
days ago, whose 补充活动信息 is already complete (set up in the database with photos and
evidence attached), sees the completeness panel missing the summary, opens 活动总结, is
refused an incomplete filing next to the empty part (text kept), types the five parts
(autosaved), files, and the panel turns complete; a reviewer then reads the summary and
the supplement (phones masked) on the detail page. Screenshots at 1280 and 390 px.
Every test also fails on any browser console error (tests/e2e/conftest.py)."""
from __future__ import annotations

import re

from playwright.sync_api import Page, expect

PASSWORD = "Passw0rd!"
OFFICER, NATIONAL = "13800000311", "13800000312"
PARTS = [("basic", "活动基本情况", "9月20日在朝阳区某社区举办量子科普讲座，线下约80人参加。"),
         ("results", "主要成果成效", "居民对量子通信有了直观认识，现场问答40余次。"),
         ("highlights", "特色亮点", "科学家与居民面对面，配合动手小实验。"),
         ("resources", "形成可复用的科普资源情况", "形成讲座视频1部、展板10块，可供其他社区使用。"),
         ("experience", "工作体会", "提前在社区群预约，效果明显。")]


def seed(server) -> int:
    def _seed():
        import io
        from datetime import timedelta

        from PIL import Image
        from werkzeug.datastructures import FileStorage

        from kepu.accounts.models import User
        from kepu.accounts.operations import grant_role
        from kepu.admin.models import Campaign
        from kepu.extensions import db
        from kepu.files.operations import attach, save_upload
        from kepu.files.specs import MB, FieldSpec
        from kepu.orgs.models import Org
        from kepu.science_day.after_models import (F_EFFECT_PHOTO, F_PARTICIPANT_PHOTO,
                                                   ActivityScientist, ActivitySupplement)
        from kepu.science_day.files import field_name
        from kepu.science_day.models import ENTITY, Activity
        from kepu.timeutil import utcnow

        windows = {k: {"open": "2020-01-01 00:00", "close": "2099-12-31 23:59"}
                   for k in ("filing", "supplement", "summary", "annual_report", "recommend")}
        campaign = Campaign(kind="science_day", year=2026, title="2026年全国科普日",
                            settings={"windows": windows})
        bj = Org(name="北京市科学技术协会", kind="省级科协", region_code="11")
        db.session.add_all([campaign, bj])
        db.session.flush()
        users = {}
        for phone, name in ((OFFICER, "信息员小王"), (NATIONAL, "全国审核员")):
            user = User(phone=phone, name=name)
            user.set_password(PASSWORD)
            db.session.add(user)
            db.session.flush()
            users[phone] = user
        grant_role(users[OFFICER], "info_officer")
        grant_role(users[NATIONAL], "national_admin")
        now = utcnow()
        end = now - timedelta(days=2)
        a = Activity(campaign_id=campaign.id, owner_id=users[OFFICER].id, status="approved",
                     name="量子科普进社区", mode="线下", activity_type="科普讲座",
                     start_at=end - timedelta(hours=2), end_at=end, region_code="110105",
                     supervisor_category="省科协", supervisor_org_id=bj.id,
                     route_province="11", hosts=[{"name": "北京某科技馆"}],
                     audience="社区居民", contact_name="李老师", contact_phone="010-62345678",
                     details="讲解与互动体验。", filer_unit="朝阳区科协",
                     submitted_at=now - timedelta(days=20),
                     first_submitted_at=now - timedelta(days=20),
                     approved_at=now - timedelta(days=15), listed=True)
        db.session.add(a)
        db.session.flush()
        db.session.add(ActivitySupplement(
            activity_id=a.id, version=3, participants_offline=80,
            media_reports=[{"title": "北京日报：量子科普走进社区",
                            "url": "https://example.com/news/1"},
                           {"title": "朝阳融媒：居民面对面听科学家讲量子",
                            "url": "https://example.com/news/2"}]))
        for i, (name, unit, title) in enumerate((
                ("张研究员", "中国科学院物理研究所", "研究员"),
                ("李教授", "北京大学物理学院", "教授"))):
            db.session.add(ActivityScientist(activity_id=a.id, position=i, name=name,
                                             phone=f"1380000000{i + 1}", unit=unit,
                                             title=title))
        db.session.commit()
        colours = [(30, 120, 200), (200, 120, 30), (40, 160, 90), (150, 60, 160)]
        for field, names in ((F_EFFECT_PHOTO, ["现场1.png", "现场2.png", "现场3.png"]),
                             (F_PARTICIPANT_PHOTO, ["签到表.png"])):
            spec = FieldSpec(field_name(campaign.id, field), "照片", ("png",), 10 * MB,
                             image=True, multiple=True)
            for name in names:
                buf = io.BytesIO()
                Image.new("RGB", (320, 240), colours.pop()).save(buf, "PNG")
                buf.seek(0)
                f = save_upload(spec, FileStorage(buf, name), users[OFFICER])
                attach(f, ENTITY, a.id)
        return a.id

    return server.run(_seed)


def stored(server, activity_id: int):
    def _get():
        from kepu.extensions import db
        from kepu.science_day.after_models import ActivitySupplement

        db.session.expire_all()
        sup = db.session.get(ActivitySupplement, activity_id)
        return dict(sup.summary or {}), sup.summary_filed_at

    return server.run(_get)


def login(page: Page, server, phone: str) -> None:
    page.goto(server.url + "/account/login")
    page.get_by_placeholder("请输入手机号").fill(phone)
    page.get_by_placeholder("请输入密码").fill(PASSWORD)
    with page.expect_navigation():
        page.get_by_role("button", name="登录", exact=True).click()


def no_sideways_scroll(page: Page, what: str) -> None:
    width = page.evaluate("document.documentElement.scrollWidth")
    assert width <= 390, f"{what} scrolls sideways on a phone ({width}px)"


def test_owner_files_the_summary_and_the_panel_turns_complete(page: Page, live_server, shots):
    activity_id = seed(live_server)
    login(page, live_server, OFFICER)
    page.goto(f"{live_server.url}/science-day/activities/{activity_id}")
    panel = page.locator("#after-panel")
    expect(panel.locator("#after-overall")).to_have_text("缺 2 项")
    expect(panel.locator("#after-supplement")).to_contain_text("完整")
    expect(panel.locator("#after-summary")).to_contain_text("未完成")
    expect(panel.locator("#after-summary")).to_contain_text("还剩 7 天")
    expect(panel).to_contain_text("线下参与人数不少于 50 人")
    shots(page, "owner-panel-before-1280")

    with page.expect_navigation():
        panel.get_by_role("link", name="填写活动总结").click()
    expect(page.get_by_role("heading", name="活动总结", exact=True)).to_be_visible()
    # four parts typed with the keyboard; autosaved as a draft
    for key, label, text in PARTS[:4]:
        box = page.get_by_label(re.compile(label))
        box.click()
        box.press_sequentially(text[:6], delay=10)
        box.fill(text)
    expect(page.locator("#autosave-status")).to_contain_text("已保存", timeout=10_000)
    page.wait_for_function(
        "() => !document.querySelector('#summary-form.htmx-request')", timeout=10_000)
    expect(page.locator("[data-count-for=basic]")).to_have_text(str(len(PARTS[0][2])))
    # filing with a part empty: refused next to it, nothing typed lost
    with page.expect_navigation():
        page.get_by_role("button", name="提交总结").click()
    expect(page.locator("#experience-error")).to_have_text("请填写工作体会")
    expect(page.get_by_label(re.compile("特色亮点"))).to_have_value(PARTS[2][2])
    summary, filed = stored(live_server, activity_id)
    assert filed is None and summary["results"] == PARTS[1][2]
    shots(page, "summary-error-1280")
    box = page.get_by_label(re.compile("工作体会"))
    box.focus()
    box.fill(PARTS[4][2])
    with page.expect_navigation():
        page.get_by_role("button", name="提交总结").click()
    expect(page.locator(".alert-success, .flash-success, [role=status]").filter(
        has_text="活动总结已提交").first).to_be_visible()
    summary, filed = stored(live_server, activity_id)
    assert filed is not None and summary == {k: t for k, _, t in PARTS}
    panel = page.locator("#after-panel")
    expect(panel.locator("#after-overall")).to_have_text("完整")
    expect(panel.locator("#after-summary")).to_contain_text("已于")
    shots(page, "owner-panel-complete-1280")

    with page.expect_navigation():
        panel.get_by_role("link", name="修改活动总结").click()
    expect(page.get_by_role("button", name="提交修改")).to_be_visible()
    shots(page, "summary-filed-1280")
    page.set_viewport_size({"width": 390, "height": 844})
    page.reload()
    shots(page, "summary-390")
    no_sideways_scroll(page, "the summary page")
    page.goto(f"{live_server.url}/science-day/activities/{activity_id}")
    shots(page, "owner-panel-390")
    no_sideways_scroll(page, "the owner's activity page")
    page.goto(f"{live_server.url}/science-day/activities/mine")
    expect(page.locator(f"#activity-{activity_id} .completeness-badge")).to_have_text("完整")

    # the reviewer's detail page
    page.context.clear_cookies()
    page.set_viewport_size({"width": 1280, "height": 900})
    login(page, live_server, NATIONAL)
    page.goto(f"{live_server.url}/science-day/review/national/{activity_id}")
    panel = page.locator("#after-panel")
    expect(panel.locator("#after-overall")).to_have_text("完整")
    for _key, _label, text in PARTS:
        expect(panel).to_contain_text(text)
    expect(panel.locator("#after-scientists")).to_contain_text("138****0001")
    expect(panel.locator("#after-scientists")).not_to_contain_text("13800000001")
    expect(panel.get_by_role("link", name="北京日报：量子科普走进社区")).to_have_attribute(
        "href", "https://example.com/news/1")
    photos = panel.locator("#after-photos img")
    expect(photos).to_have_count(3)
    photos.first.scroll_into_view_if_needed()
    page.wait_for_function("() => [...document.querySelectorAll('#after-photos img')]"
                           ".every(i => i.complete && i.naturalWidth > 0)")
    shots(page, "review-panel-1280")
    page.set_viewport_size({"width": 390, "height": 844})
    page.reload()
    shots(page, "review-panel-390")
    no_sideways_scroll(page, "the review detail page")
