"""全国科普日 thank-you SMS (seed 001 三.6): one SMS per phone per edition, only approved
activities, bounded retries with backoff, nothing when paused or turned off (also
between two messages), claims against double sends, the admin page (counts, search,
pause / resume / retry / send, settings with 422 / 409) and who may open it."""
from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import func, select

from kepu.admin.models import Campaign
from kepu.extensions import db
from kepu.orgs.models import Org
from kepu.science_day import thanks as T
from kepu.science_day.after_models import ActivityScientist, ScientistThanks
from kepu.science_day.models import Activity
from kepu.sms.backends import SmsSendError
from kepu.timeutil import utcnow
from kepu.workflow import AuditLog


def make_activity(campaign, owner, org, status="approved", name="活动"):
    now = utcnow()
    a = Activity(campaign_id=campaign.id, owner_id=owner.id, status=status, name=name,
                 mode="线下", activity_type="科普讲座", start_at=now - timedelta(days=3),
                 end_at=now - timedelta(days=3) + timedelta(hours=2), region_code="110105",
                 supervisor_category="省科协", supervisor_org_id=org.id, route_province="11",
                 hosts=[{"name": "某馆"}], submitted_at=now)
    db.session.add(a)
    db.session.flush()
    return a


def scientist(activity, name, phone, position=0):
    db.session.add(ActivityScientist(activity_id=activity.id, name=name, phone=phone,
                                     position=position, unit="某研究所", title="研究员"))


@pytest.fixture
def th(app, make_user):
    c26 = Campaign(kind="science_day", year=2026, title="2026年全国科普日", settings={})
    c25 = Campaign(kind="science_day", year=2025, title="2025年全国科普日", settings={})
    org = Org(name="北京市科学技术协会", kind="省级科协", region_code="11")
    db.session.add_all([c26, c25, org])
    db.session.commit()
    owner = make_user("13900000801", roles=["info_officer"])
    a1 = make_activity(c26, owner, org, name="活动一")
    a2 = make_activity(c26, owner, org, name="活动二")
    a3 = make_activity(c26, owner, org, name="活动三")
    pending = make_activity(c26, owner, org, status="national_pending", name="待审")
    rejected = make_activity(c26, owner, org, status="national_rejected", name="拒绝")
    old = make_activity(c25, owner, org, name="去年")
    # 张院士 on three activities of 2026 (first listed as 张院士) and on one of 2025
    scientist(a1, "张院士", "13800000001")
    scientist(a2, "张某", "13800000001", position=1)
    scientist(a3, "张", "13800000001")
    scientist(a1, "李研究员", "13800000002", position=1)
    scientist(a2, "王教授", "13800000003")
    scientist(pending, "赵未通过", "13800000004")
    scientist(rejected, "钱已拒绝", "13800000005")
    scientist(old, "张院士", "13800000001")
    db.session.commit()
    return dict(c26=c26, c25=c25, org=org, owner=owner, a1=a1, pending=pending)


def rows(campaign):
    db.session.expire_all()
    return {r.phone: r for r in db.session.scalars(
        select(ScientistThanks).where(ScientistThanks.campaign_id == campaign.id))}


def set_thanks(campaign, **values):
    settings = dict(campaign.settings or {})
    settings["thanks_sms"] = {**(settings.get("thanks_sms") or {}), **values}
    campaign.settings = settings
    db.session.commit()


class FailingBackend:
    name = "failing"

    def __init__(self):
        self.calls = []

    def notify(self, phone, text, purpose, params):
        self.calls.append(phone)
        raise SmsSendError("provider said no")


# --------------------------------------------------------------------------- queue

def test_one_row_per_phone_per_edition_only_approved(app, th):
    assert T.enqueue_edition(th["c26"].id) == 3
    queued = rows(th["c26"])
    assert set(queued) == {"13800000001", "13800000002", "13800000003"}
    assert queued["13800000001"].name == "张院士"        # the first listing's name
    assert all(r.status == "pending" and r.attempts == 0 for r in queued.values())
    # again: nothing new (insert-if-absent)
    assert T.enqueue_edition(th["c26"].id) == 0
    assert T.enqueue_edition(th["c25"].id) == 1
    assert set(rows(th["c25"])) == {"13800000001"}


def test_an_activity_approved_later_is_queued_next_time(app, th):
    T.enqueue_edition(th["c26"].id)
    th["pending"].status = "approved"
    db.session.commit()
    assert T.enqueue_edition(th["c26"].id) == 1
    assert "13800000004" in rows(th["c26"])


def test_only_after_the_activity_has_ended(app, th, make_user):
    future = make_activity(th["c26"], th["owner"], th["org"], name="下周的活动")
    future.start_at = utcnow() + timedelta(days=7)
    future.end_at = utcnow() + timedelta(days=7, hours=2)
    scientist(future, "周研究员", "13800000006")
    db.session.commit()
    T.enqueue_edition(th["c26"].id)
    assert "13800000006" not in rows(th["c26"])
    assert T.enqueue_edition(th["c26"].id, now=utcnow() + timedelta(days=8)) == 1


def test_phone_spellings_are_one_row(app, th):
    scientist(th["pending"], "张院士", "138 0000-0001", position=2)
    th["pending"].status = "approved"
    db.session.commit()
    T.enqueue_edition(th["c26"].id)
    assert "13800000001" in rows(th["c26"]) and "138 0000-0001" not in rows(th["c26"])
    assert len(rows(th["c26"])) == 4          # the three, plus 赵未通过 now approved


def test_insert_is_race_safe(app, th):
    """A row added by someone else between the read and the insert is not duplicated
    and does not fail (ON CONFLICT DO NOTHING)."""
    db.session.add(ScientistThanks(campaign_id=th["c26"].id, phone="13800000002", name="先到"))
    db.session.commit()
    added = T._insert([{"campaign_id": th["c26"].id, "phone": "13800000002", "name": "后到",
                        "status": "pending", "attempts": 0, "last_error": ""}])
    db.session.commit()
    assert added == 0
    assert rows(th["c26"])["13800000002"].name == "先到"


def test_one_sms_per_phone_per_edition(app, th, sms_outbox):
    T.send_thanks_task()
    T.send_thanks_task()  # a second run sends nothing more
    thanks = [m for m in sms_outbox if m["purpose"] == T.PURPOSE]
    phones = sorted(m["phone"] for m in thanks)
    # 2026: three phones; 2025: 张院士 again (one per edition)
    assert phones == ["13800000001", "13800000001", "13800000002", "13800000003"]
    zhang = [m for m in thanks if m["phone"] == "13800000001"]
    assert {m["params"][1] for m in zhang} == {"2025", "2026"}
    assert zhang[0]["text"].startswith("【全国科普日】张院士您好，感谢您参与")
    assert "中国科协向您致以诚挚谢意" in zhang[0]["text"]
    for r in list(rows(th["c26"]).values()) + list(rows(th["c25"]).values()):
        assert r.status == "sent" and r.attempts == 1 and r.sent_at is not None


def test_wording_and_sign_are_settings(app, th, sms_outbox):
    set_thanks(th["c26"], sign="中国科协", text="{name}老师：感谢参与{year}年科普日！")
    T.run_edition(th["c26"].id)
    texts = {m["phone"]: m["text"] for m in sms_outbox}
    assert texts["13800000002"] == "【中国科协】李研究员老师：感谢参与2026年科普日！"


def test_unreadable_settings_fall_back_to_defaults(app, th, sms_outbox):
    set_thanks(th["c26"], max_attempts="很多", text=123, sign=["x"], paused="yes")
    cfg = T.config_of(th["c26"].settings)
    assert (cfg.max_attempts, cfg.paused, cfg.sign) == (3, False, "全国科普日")
    th["c26"].settings = {"thanks_sms": "broken"}
    db.session.commit()
    assert T.config_of(th["c26"].settings).active
    T.run_edition(th["c26"].id)
    assert len(sms_outbox) == 3


# --------------------------------------------------------------------------- retries

def test_retries_are_bounded_with_backoff(app, th):
    set_thanks(th["c26"], max_attempts=3)
    backend = FailingBackend()
    T.enqueue_edition(th["c26"].id)
    start = utcnow()
    T.send_batch(th["c26"].id, backend=backend)
    r = rows(th["c26"])["13800000002"]
    assert (r.status, r.attempts) == ("failed", 1)
    assert "provider said no" in r.last_error
    assert r.next_attempt_at >= start + timedelta(minutes=29)
    # not due yet: nothing is tried
    T.send_batch(th["c26"].id, backend=backend)
    assert len(backend.calls) == 3
    for expected in (2, 3):
        ScientistThanks.query.filter_by(campaign_id=th["c26"].id).update(
            {"next_attempt_at": utcnow() - timedelta(seconds=1)})
        db.session.commit()
        T.send_batch(th["c26"].id, backend=backend)
        r = rows(th["c26"])["13800000002"]
        assert (r.status, r.attempts) == ("failed", expected)
    assert r.next_attempt_at is None          # used up: stays 失败 for good
    ScientistThanks.query.filter_by(campaign_id=th["c26"].id).update(
        {"next_attempt_at": utcnow() - timedelta(days=1)})
    db.session.commit()
    T.send_batch(th["c26"].id, backend=backend)
    assert len(backend.calls) == 9            # 3 phones × 3 tries, never a 4th
    assert max(r.attempts for r in rows(th["c26"]).values()) == 3


def test_backoff_grows():
    assert [T.backoff(n) for n in (1, 2, 3)] == [
        timedelta(minutes=30), timedelta(minutes=60), timedelta(minutes=120)]
    assert T.backoff(20) == timedelta(hours=24)


def test_a_failure_then_success(app, th, sms_outbox):
    T.enqueue_edition(th["c26"].id)
    T.send_batch(th["c26"].id, backend=FailingBackend())
    ScientistThanks.query.update({"next_attempt_at": utcnow() - timedelta(seconds=1)})
    db.session.commit()
    T.send_batch(th["c26"].id)
    r = rows(th["c26"])["13800000001"]
    assert (r.status, r.attempts, r.last_error) == ("sent", 2, "")
    assert len(sms_outbox) == 3


# --------------------------------------------------------------------------- stops

@pytest.mark.parametrize("values", [{"paused": True}, {"enabled": False}],
                         ids=["paused", "off"])
def test_nothing_sent_when_paused_or_off(app, th, sms_outbox, values):
    set_thanks(th["c26"], **values)
    T.send_thanks_task()
    assert {m["phone"] for m in sms_outbox} == {"13800000001"}   # only the 2025 edition
    assert rows(th["c26"]) == {}              # not even queued
    T.send_thanks_batch(th["c26"].id)
    assert len(sms_outbox) == 1


def test_pausing_stops_between_messages(app, th):
    T.enqueue_edition(th["c26"].id)
    sent = []

    class PausingBackend:
        def notify(self, phone, text, purpose, params):
            sent.append(phone)
            # the admin pauses in another session while the first message goes out
            with db.engine.begin() as conn:
                stored = conn.execute(select(Campaign.settings).where(
                    Campaign.id == th["c26"].id)).scalar()
                conn.execute(Campaign.__table__.update().where(
                    Campaign.__table__.c.id == th["c26"].id).values(
                    settings={**(stored or {}), "thanks_sms": {"paused": True}}))

    result = T.send_batch(th["c26"].id, backend=PausingBackend())
    assert len(sent) == 1 and result["sent"] == 1
    statuses = sorted(r.status for r in rows(th["c26"]).values())
    assert statuses == ["pending", "pending", "sent"]


# --------------------------------------------------------------------------- claims

def test_a_claimed_row_is_not_sent_twice(app, th, sms_outbox):
    T.enqueue_edition(th["c26"].id)
    r = rows(th["c26"])["13800000001"]
    # another consumer claimed it after this one read the due rows
    assert T._claim(r.id, "pending", 0, utcnow())
    assert not T._claim(r.id, "pending", 0, utcnow())
    result = T.send_batch(th["c26"].id)
    assert result["sent"] == 2
    assert "13800000001" not in {m["phone"] for m in sms_outbox}
    assert rows(th["c26"])["13800000001"].status == "sending"


def test_two_senders_reading_the_same_rows_send_each_once(app, th, sms_outbox):
    """The second sender read the same due rows before the first claimed them: its
    claims fail (status or attempts changed) and it sends nothing."""
    T.enqueue_edition(th["c26"].id)
    due = db.session.execute(select(ScientistThanks.id, ScientistThanks.status,
                                    ScientistThanks.attempts)).all()
    T.send_batch(th["c26"].id)
    assert len(sms_outbox) == 3
    assert not any(T._claim(i, s, a, utcnow()) for i, s, a in due)


def test_a_row_stuck_in_sending_counts_as_a_failed_try(app, th):
    T.enqueue_edition(th["c26"].id)
    r = rows(th["c26"])["13800000001"]
    T._claim(r.id, "pending", 0, utcnow() - timedelta(hours=1))
    assert T.recover_stale(th["c26"].id) == 1
    r = rows(th["c26"])["13800000001"]
    assert (r.status, r.attempts) == ("failed", 1) and "中断" in r.last_error


# --------------------------------------------------------------------------- admin page

def admin(make_user, role="national_admin", phone="13900000811"):
    return make_user(phone, roles=[role])


def test_page_counts_and_queue(client, auth, make_user, th):
    T.enqueue_edition(th["c26"].id)
    T.send_batch(th["c26"].id, limit=1)
    r = rows(th["c26"])["13800000003"]
    r.status, r.attempts, r.last_error = "failed", 1, "SmsSendError: 号码无效"
    r.next_attempt_at = utcnow() + timedelta(minutes=30)
    db.session.commit()
    auth.login_as(admin(make_user))
    body = client.get("/science-day/admin/thanks").get_data(as_text=True)
    assert 'id="count-total">3<' in body
    assert 'id="count-pending">1<' in body
    assert 'id="count-sent">1<' in body
    assert 'id="count-failed">1<' in body
    assert "号码无效" in body and "下次重试" in body and "张院士" in body
    # search by name, by phone, filter by status
    body = client.get("/science-day/admin/thanks?q=李研究").get_data(as_text=True)
    assert "李研究员" in body and "王教授" not in body and "共 1 条" in body
    body = client.get("/science-day/admin/thanks?q=13800000003").get_data(as_text=True)
    assert "王教授" in body and "李研究员" not in body
    body = client.get("/science-day/admin/thanks?status=sent").get_data(as_text=True)
    assert "张院士" in body and "王教授" not in body
    body = client.get("/science-day/admin/thanks?q=%25").get_data(as_text=True)
    assert "共 0 条" in body                 # LIKE wildcards are literal
    # garbage filters never take the page down
    assert client.get("/science-day/admin/thanks?status=x&page=abc").status_code == 200


def test_queue_is_paged(client, auth, make_user, th):
    db.session.add_all([ScientistThanks(campaign_id=th["c26"].id, phone=f"1370000{i:04d}",
                                        name=f"科学家{i:03d}") for i in range(120)])
    db.session.commit()
    auth.login_as(admin(make_user))
    first = client.get("/science-day/admin/thanks").get_data(as_text=True)
    assert "科学家000" in first and "科学家050" not in first and "第 1 / 3 页" in first
    last = client.get("/science-day/admin/thanks?page=9").get_data(as_text=True)
    assert "科学家119" in last and "第 3 / 3 页" in last


def test_page_without_an_edition(client, auth, make_user):
    auth.login_as(admin(make_user))
    assert "还没有全国科普日届次" in client.get("/science-day/admin/thanks").get_data(as_text=True)


def test_pause_resume_audited(client, auth, make_user, th, sms_outbox):
    user = admin(make_user)
    auth.login_as(user)
    c = th["c26"]
    resp = client.post(f"/science-day/admin/thanks/{c.id}/pause")
    assert resp.status_code == 303
    db.session.refresh(c)
    assert T.config_of(c.settings).paused
    assert "已暂停" in client.get("/science-day/admin/thanks").get_data(as_text=True)
    T.send_thanks_task()
    assert not any(m["params"][1] == "2026" for m in sms_outbox)
    # 立即发送一批 while paused: refused, nothing sent
    resp = client.post(f"/science-day/admin/thanks/{c.id}/send")
    assert resp.status_code == 409 and "请先恢复" in resp.get_data(as_text=True)
    assert not any(m["params"][1] == "2026" for m in sms_outbox)
    assert client.post(f"/science-day/admin/thanks/{c.id}/resume").status_code == 303
    db.session.refresh(c)
    assert not T.config_of(c.settings).paused
    actions = db.session.scalars(select(AuditLog.action).where(
        AuditLog.entity_type == "campaign", AuditLog.entity_id == c.id)).all()
    assert actions == ["thanks_pause", "thanks_resume"]
    # the edition settings page keeps working and does not drop the key
    assert (c.settings or {}).get("thanks_sms") == {"paused": False}


def test_send_now_runs_a_batch(client, auth, make_user, th, sms_outbox):
    auth.login_as(admin(make_user))
    resp = client.post(f"/science-day/admin/thanks/{th['c26'].id}/send")
    assert resp.status_code == 303
    assert sorted(m["phone"] for m in sms_outbox) == ["13800000001", "13800000002",
                                                      "13800000003"]


def test_retry_failed_gives_one_more_try(client, auth, make_user, th):
    set_thanks(th["c26"], max_attempts=1)
    T.enqueue_edition(th["c26"].id)
    T.send_batch(th["c26"].id, backend=FailingBackend())
    assert all(r.status == "failed" and r.next_attempt_at is None
               for r in rows(th["c26"]).values())
    auth.login_as(admin(make_user))
    resp = client.post(f"/science-day/admin/thanks/{th['c26'].id}/retry")
    assert resp.status_code == 303
    assert all(r.status == "pending" for r in rows(th["c26"]).values())
    backend = FailingBackend()
    T.send_batch(th["c26"].id, backend=backend)
    T.send_batch(th["c26"].id, backend=backend)
    assert len(backend.calls) == 3           # exactly one more try each
    assert all((r.status, r.attempts) == ("failed", 2) for r in rows(th["c26"]).values())


def _settings_form(c, **over):
    data = {"digest": T.settings_digest(c), "enabled": "y", "sign": "全国科普日",
            "text": "{name}您好，感谢您！", "max_attempts": "5"}
    data.update(over)
    return data


def test_settings_saved(client, auth, make_user, th):
    auth.login_as(admin(make_user))
    c = th["c26"]
    data = _settings_form(c)
    del data["enabled"]                      # an unchecked box: turned off
    resp = client.post(f"/science-day/admin/thanks/{c.id}/settings", data=data)
    assert resp.status_code == 303
    db.session.refresh(c)
    cfg = T.config_of(c.settings)
    assert (cfg.enabled, cfg.max_attempts, cfg.text) == (False, 5, "{name}您好，感谢您！")
    assert "已关闭" in client.get("/science-day/admin/thanks").get_data(as_text=True)


@pytest.mark.parametrize("over,field,message", [
    ({"text": ""}, "text", "请填写短信内容"),
    ({"text": "感谢您" * 70}, "text", "不能超过 200 字"),
    ({"text": "感谢您参与"}, "text", "须包含 {name}"),
    ({"sign": "【全国科普日】"}, "sign", "不需要括号"),
    ({"sign": "签" * 21}, "sign", "不能超过 20 字"),
    ({"max_attempts": "0"}, "max_attempts", ""),
    ({"max_attempts": "11"}, "max_attempts", ""),
    ({"max_attempts": "三"}, "max_attempts", "请输入整数"),
])
def test_settings_rules(client, auth, make_user, th, over, field, message):
    auth.login_as(admin(make_user))
    c = th["c26"]
    before = dict(c.settings)
    resp = client.post(f"/science-day/admin/thanks/{c.id}/settings",
                       data=_settings_form(c, **over))
    body = resp.get_data(as_text=True)
    assert resp.status_code == 422
    assert f'id="{field}-error"' in body and message in body
    for value in over.values():              # what was typed is kept
        assert (value in body) if value else True
    db.session.refresh(c)
    assert c.settings == before


def test_settings_conflict_keeps_what_was_typed(client, auth, make_user, th):
    auth.login_as(admin(make_user))
    c = th["c26"]
    stale = _settings_form(c, text="{name}老师好，谢谢！")
    set_thanks(c, text="{name}另一位管理员改过")
    resp = client.post(f"/science-day/admin/thanks/{c.id}/settings", data=stale)
    body = resp.get_data(as_text=True)
    assert resp.status_code == 409
    assert "其他管理员刚刚修改了感谢短信设置" in body and "{name}老师好，谢谢！" in body
    db.session.refresh(c)
    assert T.config_of(c.settings).text == "{name}另一位管理员改过"


def test_admin_menu_links_the_page(client, auth, make_user, th):
    auth.login_as(admin(make_user, "platform_admin", "13900000812"))
    # (the side menu is drawn on /admin/… pages: kepu.web.ADMIN_PATH)
    body = client.get("/admin/").get_data(as_text=True)
    assert 'href="/science-day/admin/thanks"' in body and "科学家感谢短信" in body


def test_queue_count_query_uses_the_index(app, th):
    if db.engine.dialect.name != "sqlite":
        pytest.skip("plan check on SQLite")
    from sqlalchemy import text

    stmt = (select(ScientistThanks.status, func.count(ScientistThanks.id))
            .where(ScientistThanks.campaign_id == 1).group_by(ScientistThanks.status))
    sql = str(stmt.compile(db.engine, compile_kwargs={"literal_binds": True}))
    plan = " ".join(str(r[-1]) for r in db.session.execute(text("EXPLAIN QUERY PLAN " + sql)))
    assert "ix_scientist_thanks_queue" in plan, plan
    due = select(ScientistThanks.id).where(T.due_condition(1, 3, utcnow()))
    sql = str(due.compile(db.engine, compile_kwargs={"literal_binds": True}))
    plan = " ".join(str(r[-1]) for r in db.session.execute(text("EXPLAIN QUERY PLAN " + sql)))
    assert "SEARCH scientist_thanks USING INDEX ix_scientist_thanks_queue" in plan, plan
    page = (select(ScientistThanks.id).where(ScientistThanks.campaign_id == 1,
                                             ScientistThanks.status == "failed")
            .order_by(ScientistThanks.id).limit(50))
    sql = str(page.compile(db.engine, compile_kwargs={"literal_binds": True}))
    plan = " ".join(str(r[-1]) for r in db.session.execute(text("EXPLAIN QUERY PLAN " + sql)))
    assert "(campaign_id=? AND status=?)" in plan, plan


def test_workbench_card_for_national_admins(client, auth, make_user, th):
    T.enqueue_edition(th["c26"].id)
    # the current edition is the latest (2026)
    auth.login_as(admin(make_user))
    body = client.get("/workbench").get_data(as_text=True)
    assert "科学家感谢短信" in body and "/science-day/admin/thanks?status=failed" in body
    auth.login_as(th["owner"])
    assert "科学家感谢短信" not in client.get("/workbench").get_data(as_text=True)
