"""科学家感谢短信 in Chromium, as a national admin: the counts and the queue, search by
name, 暂停 (立即发送一批 is then refused with the reason), 恢复, 立即发送一批 (the console
outbox gets one SMS per phone and the counts follow), a settings save refused next to its
field with the text kept, and the page at 390 px. Any browser console error fails the
test (tests/e2e/conftest.py)."""
from __future__ import annotations

import json
import re
from datetime import timedelta

from playwright.sync_api import Browser, expect

PASSWORD = "Passw0rd!"
NATIONAL = "13800000401"


def seed(server) -> int:
    def _seed():
        from kepu.accounts.models import User
        from kepu.accounts.operations import grant_role
        from kepu.admin.models import Campaign
        from kepu.extensions import db
        from kepu.orgs.models import Org
        from kepu.science_day.after_models import ActivityScientist, ScientistThanks
        from kepu.science_day.models import Activity
        from kepu.timeutil import utcnow

        c = Campaign(kind="science_day", year=2026, title="2026年全国科普日", settings={})
        bj = Org(name="北京市科学技术协会", kind="省级科协", region_code="11")
        db.session.add_all([c, bj])
        db.session.flush()
        officer = User(phone="13800000402", name="信息员")
        admin = User(phone=NATIONAL, name="中国科协管理员")
        for u in (officer, admin):
            u.set_password(PASSWORD)
        db.session.add_all([officer, admin])
        db.session.flush()
        grant_role(admin, "national_admin")
        now = utcnow()
        people = [("张院士", "13700000001"), ("李研究员", "13700000002"),
                  ("王教授", "13700000003"), ("赵工程师", "13700000004")]
        for i in range(2):
            a = Activity(campaign_id=c.id, owner_id=officer.id, status="approved",
                         name=f"科学之夜{i + 1}", mode="线下", activity_type="科普讲座",
                         start_at=now - timedelta(days=5), end_at=now - timedelta(days=5),
                         region_code="110105", supervisor_category="省科协",
                         supervisor_org_id=bj.id, route_province="11",
                         hosts=[{"name": "某馆"}], submitted_at=now, approved_at=now)
            db.session.add(a)
            db.session.flush()
            for j, (name, phone) in enumerate(people[i * 2:i * 2 + 3]):
                db.session.add(ActivityScientist(activity_id=a.id, name=name, phone=phone,
                                                 position=j))
        # an earlier run: one sent, one failed for good
        db.session.add(ScientistThanks(campaign_id=c.id, phone="13700000009", name="钱研究员",
                                       status="sent", attempts=1, sent_at=now))
        db.session.add(ScientistThanks(campaign_id=c.id, phone="13700000008",
                                       name="孙研究员", status="failed", attempts=3,
                                       last_error="SmsSendError: 号码已停机"))
        db.session.commit()
        return c.id

    return server.run(_seed)


def thanks_sms(server) -> list[dict]:
    if not server.outbox_path.exists():
        return []
    lines = server.outbox_path.read_text(encoding="utf-8").splitlines()
    return [m for m in map(json.loads, lines) if m["purpose"] == "science_day_thanks"]


def test_thanks_admin_journey(browser: Browser, live_server, shots):
    seed(live_server)
    ctx = browser.new_context(viewport={"width": 1280, "height": 900})
    page = ctx.new_page()
    page.goto(live_server.url + "/account/login")
    page.get_by_placeholder("请输入手机号").fill(NATIONAL)
    page.get_by_placeholder("请输入密码").fill(PASSWORD)
    page.get_by_role("button", name="登录", exact=True).click()
    expect(page.get_by_role("heading", name="工作台")).to_be_visible()

    page.goto(live_server.url + "/science-day/admin/thanks")
    expect(page.get_by_role("heading", name=re.compile("科学家感谢短信"))).to_be_visible()
    expect(page.locator("#count-total")).to_have_text("2")
    expect(page.locator("#count-failed")).to_have_text("1")
    expect(page.locator("#thanks-state")).to_have_text("已开启")
    expect(page.get_by_text("号码已停机")).to_be_visible()
    shots(page, "1280-start")

    # search by name (keyboard: type, Enter)
    page.get_by_label("手机号或姓名").fill("孙研究")
    page.keyboard.press("Enter")
    expect(page).to_have_url(re.compile(r"q="))
    expect(page.locator(".thanks-table tbody tr")).to_have_count(1)
    page.get_by_role("link", name="清除条件").click()

    # 暂停: 立即发送一批 is refused with the reason, nothing goes out
    page.get_by_role("button", name="暂停发送").click()
    expect(page.locator("#thanks-state")).to_have_text("已暂停")
    page.get_by_role("button", name="立即发送一批").click()
    expect(page.get_by_role("alert").filter(has_text="请先恢复")).to_be_visible()
    assert thanks_sms(live_server) == []

    # 恢复, then 立即发送一批: one SMS per phone (张院士 is on both activities)
    page.get_by_role("button", name="恢复发送").click()
    expect(page.locator("#thanks-state")).to_have_text("已开启")
    page.get_by_role("button", name="立即发送一批").click()
    expect(page.get_by_text("已安排立即发送一批感谢短信")).to_be_visible()
    page.reload()
    expect(page.locator("#count-total")).to_have_text("6")
    expect(page.locator("#count-sent")).to_have_text("5")
    sent = sorted(m["phone"] for m in thanks_sms(live_server))
    assert sent == ["13700000001", "13700000002", "13700000003", "13700000004"]

    # 立即重试失败项: the failed row is back in 待发送
    page.get_by_role("button", name=re.compile("立即重试失败项")).click()
    expect(page.locator("#count-failed")).to_have_text("0")
    expect(page.locator("#count-pending")).to_have_text("1")

    # a settings save refused next to the field, the typed text kept
    text = page.get_by_label("短信内容")
    text.fill("感谢您参与本届全国科普日！")
    page.get_by_role("button", name="保存设置").click()
    expect(page.locator("#text-error")).to_contain_text("须包含 {name}")
    expect(page.get_by_label("短信内容")).to_have_value("感谢您参与本届全国科普日！")
    shots(page, "1280-settings-error")

    page.get_by_label("短信内容").fill("{name}老师您好，感谢您参与{year}年全国科普日！")
    page.get_by_role("button", name="保存设置").click()
    expect(page.get_by_text("感谢短信设置已保存")).to_be_visible()
    expect(page.get_by_text("示例：【全国科普日】张三老师您好")).to_be_visible()

    page.set_viewport_size({"width": 390, "height": 844})
    page.goto(live_server.url + "/science-day/admin/thanks")
    expect(page.locator("#count-sent")).to_be_visible()
    overflow = page.evaluate("document.documentElement.scrollWidth - window.innerWidth")
    assert overflow <= 0, f"page scrolls sideways by {overflow}px at 390 px"
    shots(page, "390")
    ctx.close()
