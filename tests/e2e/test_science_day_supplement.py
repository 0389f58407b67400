"""补充活动信息 in Chromium: an approved activity that has ended gets two media reports,
4 photos, a video (a 4-minute one refused with its length shown, a 2-minute one
accepted), participants with an evidence photo, and a scientists list imported from the
downloaded xlsx template with one bad row reported (nothing imported), then fixed and
imported. The 推优 panel then shows the supplement complete; the summary is filed and
the completeness panel turns complete; a poster is generated and set as the 宣传图. Any browser console error
fails the test (tests/e2e/conftest.py). Screenshots at 1280 and 390 px go to
$KEPU_SHOTS (default /work/shots/supp)."""
from __future__ import annotations

import importlib.util
import os
import re
from datetime import timedelta
from pathlib import Path

from openpyxl import load_workbook
from playwright.sync_api import Browser, Page, expect

PASSWORD = "Passw0rd!"
OWNER = "13800000811"
SHOTS = Path(os.environ.get("KEPU_SHOTS", "/work/shots/supp"))

_spec = importlib.util.spec_from_file_location(
    "sd_media", Path(__file__).resolve().parents[1] / "science_day" / "sd_media.py")
sd_media = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(sd_media)


def seed(server) -> int:
    def _seed():
        from kepu.accounts.models import User
        from kepu.accounts.operations import grant_role
        from kepu.admin.models import Campaign
        from kepu.extensions import db
        from kepu.science_day.models import Activity
        from kepu.timeutil import utcnow

        c = Campaign(kind="science_day", year=2026, title="2026年全国科普日", settings={
            "windows": {key: {"open": "2020-01-01 00:00", "close": "2099-10-14 23:59:59"}
                        for key in ("supplement", "summary")}})
        db.session.add(c)
        owner = User(phone=OWNER, name="信息员")
        owner.set_password(PASSWORD)
        db.session.add(owner)
        db.session.flush()
        grant_role(owner, "info_officer")
        now = utcnow()
        a = Activity(campaign_id=c.id, owner_id=owner.id, status="approved",
                     name="科学之夜：走近量子世界", mode="线上线下", activity_type="科普讲座",
                     start_at=now - timedelta(days=2), end_at=now - timedelta(days=1),
                     region_code="110105", hosts=[{"name": "北京科学中心"}], submitted_at=now,
                     approved_at=now)
        db.session.add(a)
        db.session.commit()
        return a.id

    return server.run(_seed)


def go(target) -> None:
    with target.page.expect_navigation():
        target.click()


def shoot(page: Page, label: str) -> None:
    SHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SHOTS / f"{label}.png"), full_page=True)


def wait_saved(page: Page) -> None:
    expect(page.locator("#autosave-status")).to_contain_text("已保存", timeout=10_000)


def test_supplement_journey(browser: Browser, live_server, tmp_path):
    aid = seed(live_server)
    ctx = browser.new_context(viewport={"width": 1280, "height": 900}, accept_downloads=True)
    page = ctx.new_page()
    page.goto(live_server.url + "/account/login")
    page.get_by_placeholder("请输入手机号").fill(OWNER)
    page.get_by_placeholder("请输入密码").fill(PASSWORD)
    go(page.get_by_role("button", name="登录", exact=True))
    url = f"{live_server.url}/science-day/activities/{aid}/supplement"
    page.goto(url)
    expect(page.get_by_role("heading", name="补充活动信息", level=1)).to_be_visible()
    panel = page.locator("#supp-completeness")
    expect(panel.locator('li.missing[data-item="media"]')).to_have_count(1)
    shoot(page, "supplement-empty-1280")

    # two media reports: the first autosaves, 添加一行 gives a row for the second
    page.get_by_label("第1篇 报道标题").fill("新华网：科学之夜走近量子世界")
    page.get_by_label("第1篇 报道链接").fill("https://news.example.com/2026/quantum")
    wait_saved(page)
    expect(panel.locator('li.ok[data-item="media"]')).to_have_count(1)   # swapped by autosave
    go(page.locator("#media-box").get_by_role("button", name="添加一行"))
    page.get_by_label("第2篇 报道标题").fill("北京日报：科普日活动侧记")
    page.get_by_label("第2篇 报道链接").fill("ftp://bad.example.com")
    page.get_by_label("第2篇 报道链接").press("Tab")
    expect(page.locator("#media_2-error")).to_contain_text("报道链接格式不正确")
    page.get_by_label("第2篇 报道链接").fill("https://bjrb.example.com/kepu")
    page.get_by_label("第2篇 报道链接").press("Tab")
    expect(page.locator("#media_2-error")).to_have_count(0)

    # participants
    page.get_by_label("线下参与人数（人）").fill("30")
    page.get_by_label("线上参与人数（人）").fill("1500")
    page.get_by_label("线上参与人数（人）").press("Tab")
    wait_saved(page)
    expect(panel.locator('li.missing[data-item="offline_min"]')).to_contain_text("不符合推优条件")
    page.get_by_label("线下参与人数（人）").fill("80")
    go(page.locator("#save-supplement"))
    expect(page.get_by_text("补充活动信息已保存。")).to_be_visible()
    expect(page.get_by_label("第2篇 报道标题")).to_have_value("北京日报：科普日活动侧记")
    expect(page.locator("#participants_offline-ineligible")).to_have_count(0)

    # four photos at once
    photos = []
    for i in range(4):
        p = tmp_path / f"现场{i + 1}.png"
        p.write_bytes(sd_media.png_bytes(color=(40 * i, 120, 200)))
        photos.append(str(p))
    page.locator("#effect_photo-input").set_input_files(photos)
    go(page.locator("#effect_photo-box").get_by_role("button", name="上传", exact=True))
    expect(page.locator("#effect_photo-box .wf-thumb")).to_have_count(4)
    expect(page.locator("#effect_photo-h")).to_contain_text("已上传 4/10")

    # a 4-minute video is refused with its length; a 2-minute one is accepted
    long_video = tmp_path / "全程录像.mp4"
    long_video.write_bytes(sd_media.mp4_bytes(240))
    page.locator("#effect_video-input").set_input_files(str(long_video))
    go(page.locator("#effect_video-box").get_by_role("button", name="上传", exact=True))
    expect(page.locator("#effect_video-error")).to_contain_text(
        "全程录像.mp4：视频时长 4分00秒，超过 3 分钟的上限")
    shoot(page, "supplement-video-refused-1280")
    short_video = tmp_path / "精彩片段.mp4"
    short_video.write_bytes(sd_media.mp4_bytes(120))
    page.locator("#effect_video-input").set_input_files(str(short_video))
    go(page.locator("#effect_video-box").get_by_role("button", name="上传", exact=True))
    expect(page.locator("#effect_video-box")).to_contain_text("精彩片段.mp4")
    expect(page.locator("#effect_video-box")).to_contain_text("时长 2分00秒")
    expect(page.locator("#effect_video-error")).to_have_count(0)

    # evidence photo
    evidence = tmp_path / "签到表.png"
    evidence.write_bytes(sd_media.png_bytes(size=(80, 60)))
    page.locator("#participant_photo-input").set_input_files(str(evidence))
    go(page.locator("#participant_photo-box").get_by_role("button", name="上传", exact=True))
    expect(page.locator("#participant_photo-box .wf-thumb")).to_have_count(1)

    # the scientists list from the downloaded template: one bad row, nothing imported
    with page.expect_download() as dl:
        page.locator("#sci-template").click()
    template = tmp_path / "template.xlsx"
    dl.value.save_as(template)
    wb = load_workbook(template)
    ws = wb.worksheets[0]
    assert [c.value for c in ws[1]] == ["姓名", "手机号", "单位", "职务/职称"]
    ws.append(["张院士", "13800138001", "中国科学院物理研究所", "研究员"])
    ws.append(["李博士", "1380013800", "北京大学", "副教授"])          # one digit short
    ws.append(["王工", "13800138003", "北京科学中心", "高级工程师"])
    bad = tmp_path / "名单.xlsx"
    wb.save(bad)
    page.locator("#scientists_file").set_input_files(str(bad))
    go(page.get_by_role("button", name="导入名单"))
    expect(page.locator("#import-error")).to_contain_text("第3行：手机号格式不正确")
    expect(page.locator("#import-error")).to_contain_text("名单未导入")
    expect(page.locator("#sci-count")).to_contain_text("已保存 0/100 人")
    shoot(page, "supplement-import-refused-1280")
    ws["B3"] = "13800138002"
    fixed = tmp_path / "名单-改.xlsx"
    wb.save(fixed)
    page.locator("#scientists_file").set_input_files(str(fixed))
    go(page.get_by_role("button", name="导入名单"))
    expect(page.get_by_text("已导入3位科技工作者。")).to_be_visible()
    expect(page.locator("#sci-count")).to_contain_text("已保存 3/100 人")
    expect(page.get_by_label("第2行 手机号")).to_have_value("13800138002")

    # a duplicate typed into the list is reported next to its row
    page.get_by_label("第4行 姓名").fill("赵老师")
    page.get_by_label("第4行 手机号").fill("13800138001")
    page.get_by_label("第4行 手机号").press("Tab")
    expect(page.locator("#sci_4-error")).to_contain_text("第4行：手机号与第1行重复")
    page.get_by_label("第4行 手机号").fill("13800138004")
    page.get_by_label("第4行 手机号").press("Tab")
    expect(page.locator("#sci_4-error")).to_have_count(0)
    wait_saved(page)

    # the supplement part of the 推优 panel is complete (the summary is another page)
    page.reload()
    for key in ("media", "photos", "videos", "participants", "participant_photos",
                "offline_min", "online_min"):
        expect(panel.locator(f'li.ok[data-item="{key}"]')).to_have_count(1)
    expect(page.locator("#sci-count")).to_contain_text("已保存 4/100 人")
    shoot(page, "supplement-filled-1280")

    # keyboard: the first field is reachable and the save button works with Enter
    page.get_by_label("第1篇 报道标题").focus()
    page.keyboard.press("Tab")
    expect(page.get_by_label("第1篇 报道链接")).to_be_focused()

    page.set_viewport_size({"width": 390, "height": 844})
    page.reload()
    width = page.evaluate("document.documentElement.scrollWidth")
    assert width <= 390, f"the page scrolls sideways at 390 px ({width})"
    shoot(page, "supplement-filled-390")

    # the rest of the journey on the same activity: the summary is filed and the
    # completeness panel turns complete; then a poster is generated and set as 宣传图
    page.set_viewport_size({"width": 1280, "height": 900})
    page.goto(f"{live_server.url}/science-day/activities/{aid}")
    after = page.locator("#after-panel")
    expect(after.locator("#after-supplement")).to_contain_text("完整")
    expect(after.locator("#after-overall")).to_have_text("缺 2 项")
    go(after.get_by_role("link", name="填写活动总结"))
    for label, text in SUMMARY:
        page.get_by_label(re.compile(label)).fill(text)
    go(page.get_by_role("button", name="提交总结"))
    after = page.locator("#after-panel")
    expect(after.locator("#after-overall")).to_have_text("完整")
    expect(after.locator("#after-summary")).to_contain_text("已于")

    poster = page.locator("#poster-panel")
    poster.get_by_role("button", name="生成活动海报").click()
    expect(poster.locator("[role=status]")).to_contain_text("海报已生成")
    page.wait_for_function(
        "() => { const i = document.querySelector('#poster-panel img.poster-preview');"
        " return i && i.complete && i.naturalWidth > 0; }")
    shoot(page, "journey-poster-1280")
    go(page.locator("#poster-panel").get_by_role("button", name="设为活动宣传图").first)
    expect(page.locator("#poster-panel .badge-ok")).to_have_text("当前活动宣传图")
    expect(page.get_by_role("img", name="活动宣传图")).to_be_visible()
    ctx.close()


SUMMARY = [("活动基本情况", "9月20日晚在北京科学中心举办，线下80人、线上1500人参加。"),
           ("主要成果成效", "观众了解了量子通信的基本原理，现场问答30余次。"),
           ("特色亮点", "科学家现场演示，线上同步直播。"),
           ("形成可复用的科普资源情况", "形成讲座视频1部、展板8块。"),
           ("工作体会", "提前预约、线上线下结合效果好。")]


def test_before_the_end_the_page_says_why(browser: Browser, live_server):
    aid = seed(live_server)

    def _not_ended():
        from kepu.extensions import db
        from kepu.science_day.models import Activity
        from kepu.timeutil import utcnow

        a = db.session.get(Activity, aid)
        a.start_at, a.end_at = utcnow() + timedelta(days=1), utcnow() + timedelta(days=1, hours=2)
        db.session.commit()

    live_server.run(_not_ended)
    ctx = browser.new_context(viewport={"width": 390, "height": 844})
    page = ctx.new_page()
    page.goto(live_server.url + "/account/login")
    page.get_by_placeholder("请输入手机号").fill(OWNER)
    page.get_by_placeholder("请输入密码").fill(PASSWORD)
    go(page.get_by_role("button", name="登录", exact=True))
    page.goto(f"{live_server.url}/science-day/activities/{aid}/supplement")
    expect(page.locator("#supp-refusal")).to_contain_text("活动结束后才能填写补充活动信息（活动结束时间：")
    expect(page.get_by_label("第1篇 报道标题")).to_be_disabled()
    expect(page.locator("#save-supplement")).to_have_count(0)
    expect(page.get_by_role("button", name="导入名单")).to_have_count(0)
    shoot(page, "supplement-not-ended-390")
    ctx.close()
