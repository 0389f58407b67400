"""生成活动海报 in Chromium: the owner of an approved activity opens it, picks a
background, generates a poster, looks at the preview, downloads it and sets it as the
活动宣传图 in one click — the public page shows the new 宣传图. A draft explains why it
has no poster. Screenshots at 1280 and 390 px go to /work/shots/poster/ when that folder
can be written (for looking at), and to screenshots/ like the other browser tests. Any
browser console error fails the test (tests/e2e/conftest.py)."""
from __future__ import annotations

import re
from datetime import timedelta
from pathlib import Path

import pytest
from playwright.sync_api import Browser, Page, expect

PASSWORD = "Passw0rd!"
PHONE = "13800000401"
SHOTS = Path("/work/shots/poster")


def seed(server) -> dict:
    def _seed():
        from kepu.accounts.models import User
        from kepu.accounts.operations import grant_role
        from kepu.admin.models import Campaign
        from kepu.extensions import db
        from kepu.science_day.models import Activity
        from kepu.science_day.operations.listing import publish_snapshot
        from kepu.timeutil import utcnow

        c = Campaign(kind="science_day", year=2026, title="2026年全国科普日",
                     settings={"theme": "提升全民科学素质，服务高质量发展"})
        db.session.add(c)
        db.session.flush()
        officer = User(phone=PHONE, name="王老师")
        officer.set_password(PASSWORD)
        db.session.add(officer)
        db.session.flush()
        grant_role(officer, "info_officer")
        now = utcnow()
        hosts = [{"name": f"中国科学院某某研究所第{i}研究室与某某省科学技术协会科普部联合工作组"}
                 for i in range(10)]
        a = Activity(campaign_id=c.id, owner_id=officer.id, status="approved",
                     name="走进深空探测与天文观测的奇妙世界暨青少年航天科技创新实践体验活动和科学家面对面交流会及科",
                     mode="线下", activity_type="科普讲座", start_at=now + timedelta(days=5),
                     end_at=now + timedelta(days=5, hours=3), region_code="440111",
                     supervisor_category="市科协", route_province="44", hosts=hosts,
                     details="活动介绍。", audience="中小学生", contact_name="李老师",
                     contact_phone="010-12345678", submitted_at=now, approved_at=now,
                     listed=True)
        draft = Activity(campaign_id=c.id, owner_id=officer.id, status="draft", name="草稿活动")
        db.session.add_all([a, draft])
        db.session.flush()
        publish_snapshot(a)
        db.session.commit()
        return {"approved": a.id, "draft": draft.id}

    return server.run(_seed)


def login(page: Page, server) -> None:
    page.goto(server.url + "/account/login")
    page.get_by_placeholder("请输入手机号").fill(PHONE)
    page.get_by_placeholder("请输入密码").fill(PASSWORD)
    with page.expect_navigation():
        page.get_by_role("button", name="登录", exact=True).click()


def shoot(page: Page, shots, label: str, element=None) -> None:
    shots(page, label)
    full = element is None
    try:
        SHOTS.mkdir(parents=True, exist_ok=True)
    except OSError:
        return
    target = element or page
    if full:
        page.screenshot(path=str(SHOTS / f"{label}.png"), full_page=True)
    else:
        target.screenshot(path=str(SHOTS / f"{label}.png"))


def loaded(img) -> bool:
    return img.evaluate("el => el.complete && el.naturalWidth > 0")


def test_generate_preview_download_and_set_as_poster(browser: Browser, live_server, shots):
    ids = seed(live_server)
    ctx = browser.new_context(viewport={"width": 1280, "height": 900}, accept_downloads=True)
    page = ctx.new_page()
    login(page, live_server)

    # a draft: the panel says why there is no poster yet
    page.goto(f"{live_server.url}/science-day/activities/{ids['draft']}")
    expect(page.locator("#poster-refusal")).to_contain_text("草稿不能生成海报")

    page.goto(f"{live_server.url}/science-day/activities/{ids['approved']}")
    panel = page.locator("#poster-panel")
    expect(panel.get_by_role("heading", name="生成活动海报")).to_be_visible()
    radios = panel.get_by_role("radio")
    expect(radios).to_have_count(3)
    expect(radios.first).to_be_checked()
    # keyboard: focus the first background, arrow to the second
    radios.first.focus()
    page.keyboard.press("ArrowRight")
    expect(panel.get_by_role("radio", name="内置背景·朝霞橙")).to_be_checked()
    for img in panel.locator(".poster-bg img").all():
        expect(img).to_have_js_property("complete", True)
        assert loaded(img)
    panel.get_by_role("button", name="生成活动海报").click()
    expect(page.locator("#poster-panel [role=status]")).to_contain_text("海报已生成")
    preview = page.locator("#poster-panel img.poster-preview").first
    expect(preview).to_be_visible()
    page.wait_for_function(
        "() => { const i = document.querySelector('#poster-panel img.poster-preview');"
        " return i && i.complete && i.naturalWidth > 0; }")
    assert preview.evaluate("el => el.naturalWidth / el.naturalHeight") == \
        pytest.approx(2480 / 3508, rel=0.01)
    shoot(page, shots, "panel-1280", page.locator("#poster-panel"))

    # download: a JPEG with the activity's name
    with page.expect_download() as info:
        page.locator("#poster-panel").get_by_role("link", name="下载海报").first.click()
    download = info.value
    assert download.suggested_filename.endswith("-活动海报.jpg")
    assert download.suggested_filename.startswith("走进深空探测")

    # 设为活动宣传图: one click, the page reloads with the new 宣传图
    with page.expect_navigation():
        page.locator("#poster-panel").get_by_role("button", name="设为活动宣传图").first.click()
    expect(page).to_have_url(re.compile(r"\?poster=set#poster-panel$"))
    expect(page.locator("#poster-panel [role=status]")).to_contain_text("已设为活动宣传图")
    expect(page.locator("#poster-panel .badge-ok")).to_have_text("当前活动宣传图")
    expect(page.get_by_role("img", name="活动宣传图")).to_be_visible()
    expect(page.locator("#poster-panel").get_by_role("button", name="设为活动宣传图")) \
        .to_have_count(0)
    shoot(page, shots, "page-after-set-1280")

    # the public page shows it (an approved activity's snapshot is updated at once)
    page.goto(f"{live_server.url}/science-day/events/{ids['approved']}")
    poster_img = page.locator("img[src*='/images/']").first
    expect(poster_img).to_be_visible()
    page.wait_for_function(
        "() => [...document.images].some(i => i.src.includes('/images/') && i.naturalWidth > 0)")

    # 390 px: the panel stacks
    page.set_viewport_size({"width": 390, "height": 844})
    page.goto(f"{live_server.url}/science-day/activities/{ids['approved']}#poster-panel")
    panel = page.locator("#poster-panel")
    expect(panel).to_be_visible()
    width = page.evaluate("() => document.documentElement.scrollWidth")
    assert width <= 390, f"horizontal scroll at 390 px: {width}"
    shoot(page, shots, "panel-390", panel)
    shoot(page, shots, "page-390")
    ctx.close()
