"""全国科普日 activity form (seed 002 三(二)): drafts and autosave with the version check,
every rule on the server, routing on submission, editing a submitted activity into
``pending_edit`` within the edit cap, windows, someone else's activity (404), 我的活动."""
from __future__ import annotations

import io
import re
from datetime import timedelta

import pytest
from PIL import Image
from sqlalchemy import select

from kepu.admin.models import Campaign
from kepu.extensions import db
from kepu.orgs.models import Org
from kepu.science_day.models import Activity, ActivityPublic, InfoOfficer
from kepu.timeutil import fmt, utcnow
from kepu.workflow import AuditLog

OPEN = {"windows": {"filing": {"open": "2020-01-01 00:00", "close": "2099-12-31 23:59"}}}


def png_bytes() -> bytes:
    buf = io.BytesIO()
    Image.new("RGB", (60, 40), (200, 30, 30)).save(buf, "PNG")
    return buf.getvalue()


def local(dt) -> str:
    return fmt(dt, "%Y-%m-%dT%H:%M")


@pytest.fixture
def sd(app, make_user):
    campaign = Campaign(kind="science_day", year=2026, title="2026年全国科普日", settings=dict(OPEN))
    bj = Org(name="北京市科学技术协会", kind="省级科协", region_code="11")
    gd = Org(name="广东省科学技术协会", kind="省级科协", region_code="44")
    gz = Org(name="广州市科学技术协会", kind="市级科协", region_code="4401",
             certifications=["全国科普示范县（市、区）"])
    dongcheng = Org(name="北京市东城区科学技术协会", kind="县级科协", region_code="110101")
    orphan = Org(name="某县科学技术协会", kind="县级科协")          # no region, no parent
    society = Org(name="中国科普作家协会", kind="全国学会")
    museum = Org(name="广州科学馆", kind="其他", certifications=["科普教育基地"])
    db.session.add_all([campaign, bj, gd, gz, dongcheng, orphan, society, museum])
    db.session.commit()
    officer = make_user("13900000701", name="信息员", roles=["info_officer"],
                        real_name="王信息", real_name_verified_at=utcnow())
    db.session.add(InfoOfficer(user_id=officer.id, org_id=museum.id, unit_name=museum.name))
    db.session.commit()
    other = make_user("13900000702", roles=["info_officer"])
    return dict(campaign=campaign, bj=bj, gd=gd, gz=gz, dongcheng=dongcheng, orphan=orphan,
                society=society, museum=museum, officer=officer, other=other)


def new_draft(client, auth, sd) -> Activity:
    auth.login_as(sd["officer"])
    resp = client.post("/science-day/activities/new")
    assert resp.status_code == 303, resp.get_data(as_text=True)[:500]
    return db.session.scalars(select(Activity).order_by(Activity.id.desc())).first()


def upload_poster(client, a) -> int:
    resp = client.post("/files/upload", data={
        "field": f"science_day:{a.campaign_id}:poster", "target": "poster",
        "poster__upload": (io.BytesIO(png_bytes()), "poster.png")},
        content_type="multipart/form-data", headers={"HX-Request": "true"})
    assert resp.status_code == 200, resp.get_data(as_text=True)[:300]
    return int(re.search(r'name="poster" value="(\d+)"', resp.get_data(as_text=True)).group(1))


def good_form(sd, a, **over) -> dict:
    start = utcnow() + timedelta(days=20)
    data = {
        "version": str(a.version), "name": "2026年全国科普日·科学之夜",
        "mode": "线下", "activity_type": "科普讲座",
        "start_at": local(start), "end_at": local(start + timedelta(hours=3)),
        "region_province": "44", "region_city": "4401", "region_county": "440111",
        "supervisor__present": "1", "supervisor_category": "市科协",
        "supervisor_org_id": str(sd["gz"].id),
        "joint_action": "0", "special_action": "0", "youth_festival": "0",
        "gov_coop": "0", "society_coop": "0", "booking": "0", "booking_url": "",
        "details": "活动将介绍……", "audience": "中小学生", "sci__present": "1",
        "sci_name": ["张三", "", ""], "sci_unit": ["某研究所", "", ""],
        "sci_title": ["研究员", "", ""], "scientists_note": "",
        "contact_name": "李老师", "contact_phone": "13800138000",
        "hosts__present": "1", "hosts_id": [""], "hosts_name": ["某某科技馆"],
        "organisers__present": "1", "gov_coop_orgs__present": "1",
        "society_coop_orgs__present": "1",
    }
    data.update(over)
    return data


def reload(a) -> Activity:
    db.session.expire_all()
    return db.session.get(Activity, a.id)


def submit(client, a, data):
    return client.post(f"/science-day/activities/{a.id}/edit", data={**data, "action": "save"})


def ready(client, auth, sd) -> Activity:
    a = new_draft(client, auth, sd)
    pid = upload_poster(client, a)
    a = reload(a)
    return a, pid


# --- the happy path and routing ------------------------------------------------------------

def test_submit_routes_to_the_province_and_audits(client, auth, sd):
    a, pid = ready(client, auth, sd)
    resp = submit(client, a, good_form(sd, a, poster=str(pid)))
    assert resp.status_code == 303, resp.get_data(as_text=True)[:2000]
    a = reload(a)
    assert a.status == "province_pending" and a.route_province == "44"
    assert a.filer_unit == "广州科学馆"
    assert a.submitted_at and a.first_submitted_at and not a.short_notice
    assert a.scientists == [{"name": "张三", "unit": "某研究所", "title": "研究员"}]
    entry = db.session.scalars(select(AuditLog).where(AuditLog.entity_id == a.id,
                                                      AuditLog.action == "submit_province")).one()
    assert entry.to_state == "province_pending"


@pytest.mark.parametrize("category,org,region,status,route", [
    ("全国学会", "society", "440111", "national_pending", None),
    ("省科协", "bj", "440111", "province_pending", "11"),        # the org's own region wins
    ("区县科协", "orphan", "440111", "province_pending", "44"),   # no region / parent: 所在地区
])
def test_routing_table(client, auth, sd, category, org, region, status, route):
    a, pid = ready(client, auth, sd)
    form = good_form(sd, a, poster=str(pid), supervisor_category=category,
                     supervisor_org_id=str(sd[org].id), region_county=region)
    resp = submit(client, a, form)
    assert resp.status_code == 303, resp.get_data(as_text=True)[:2000]
    a = reload(a)
    assert (a.status, a.route_province) == (status, route)



# --- pages render ----------------------------------------------------------------------------

def test_pages_render(client, auth, sd):
    a, pid = ready(client, auth, sd)
    html = client.get(f"/science-day/activities/{a.id}/edit").get_data(as_text=True)
    for text in ("活动基本信息", "活动内容", "活动主办承办单位", "务必和单位公章一致", "查看简要示例",
                 "全国科普日文字（或标识）", "归口单位"):
        assert text in html
    assert client.get("/science-day/activities/mine").status_code == 200
    assert client.get(f"/science-day/activities/{a.id}").status_code == 200
    assert client.get("/science-day/activities/new").status_code == 200


def test_autosave_and_version_conflict(client, auth, sd):
    a = new_draft(client, auth, sd)
    v = a.version
    resp = client.post(f"/science-day/activities/{a.id}/autosave",
                       data={"version": str(v), "name": "食品安全进社区"})
    assert resp.status_code == 200 and "已保存" in resp.get_data(as_text=True)
    a = reload(a)
    assert a.name == "食品安全进社区" and a.food_safety and a.version == v + 1
    # a second tab still on the old version: refused, nothing overwritten
    resp = client.post(f"/science-day/activities/{a.id}/autosave",
                       data={"version": str(v), "name": "另一个窗口"})
    assert resp.status_code == 409 and "其他窗口" in resp.get_data(as_text=True)
    assert reload(a).name == "食品安全进社区"
    resp = client.post(f"/science-day/activities/{a.id}/edit",
                       data={"version": str(v), "name": "另一个窗口", "action": "save"})
    assert resp.status_code == 409
    html = resp.get_data(as_text=True)
    assert "其他窗口" in html and 'value="另一个窗口"' in html   # what was typed is kept
    assert reload(a).name == "食品安全进社区"


def field_error(html: str, name: str) -> str:
    m = re.search(rf'id="{name}-error"[^>]*>([^<]+)<', html)
    return m.group(1) if m else ""


@pytest.mark.parametrize("over,field,message", [
    ({"name": "科" * 51}, "name", "不能超过50字"),
    ({"name": ""}, "name", "请填写活动名称"),
    ({"start_at": local(utcnow() - timedelta(hours=2))}, "start_at", "应晚于填报时间"),
    ({"booking": "1", "booking_url": ""}, "booking_url", "预约链接"),
    ({"booking": "1", "booking_url": "ftp://x.cn/a"}, "booking_url", "http"),
    ({"hosts_name": [""]}, "hosts", "至少一个主办单位"),
    ({"sci_name": ["甲", "乙", "丙", "丁"], "sci_unit": ["", "", "", ""],
      "sci_title": ["", "", "", ""]}, "scientists", "最多填写3人"),
    ({"sci_name": ["", "", ""], "sci_unit": ["", "", ""], "sci_title": ["", "", ""]},
     "scientists", "请填写参与的科技工作者"),
    ({"supervisor_category": "区县科协", "supervisor_org_id": "dongcheng"},
     "supervisor_org_id", "市科协"),
    ({"region_county": ""}, "region_code", "区县"),
    ({"contact_phone": "12345"}, "contact_phone", "格式不正确"),
    ({"joint_action": "1", "joint_action_items__present": "1"}, "joint_action_items", "请勾选"),
    ({"gov_coop": "1"}, "gov_coop_orgs", "至少一个"),
    ({"mode": ""}, "mode", "请选择活动方式"),
])
def test_rules_refused_next_to_the_field_and_kept(client, auth, sd, over, field, message):
    a, pid = ready(client, auth, sd)
    if over.get("supervisor_org_id") == "dongcheng":
        over = {**over, "supervisor_org_id": str(sd["dongcheng"].id)}
    form = good_form(sd, a, poster=str(pid), **over)
    resp = submit(client, a, form)
    assert resp.status_code == 422
    html = resp.get_data(as_text=True)
    assert message in field_error(html, field), (field, field_error(html, field))
    assert reload(a).status == "draft"
    if over.get("name"):
        assert f'value="{over["name"]}"' in html and reload(a).name == over["name"]


def test_online_may_stop_at_the_province(client, auth, sd):
    a, pid = ready(client, auth, sd)
    resp = submit(client, a, good_form(sd, a, poster=str(pid), mode="线上", region_city="",
                                       region_county=""))
    assert resp.status_code == 303
    assert reload(a).region_code == "44"


def test_short_notice_is_allowed_but_flagged(client, auth, sd):
    a, pid = ready(client, auth, sd)
    start = utcnow() + timedelta(days=2)
    resp = submit(client, a, good_form(sd, a, poster=str(pid), start_at=local(start),
                                       end_at=local(start + timedelta(hours=2))))
    assert resp.status_code == 303
    a = reload(a)
    assert a.short_notice and a.status == "province_pending"
    html = client.get("/science-day/activities/mine").get_data(as_text=True)
    assert "不足7天" in html


def test_poster_required(client, auth, sd):
    a = new_draft(client, auth, sd)
    resp = submit(client, a, good_form(sd, a))
    assert resp.status_code == 422
    assert "请上传活动宣传图" in resp.get_data(as_text=True)


def test_orgs_link_or_stay_text(client, auth, sd):
    a, pid = ready(client, auth, sd)
    form = good_form(sd, a, poster=str(pid), hosts_id=["", str(sd["museum"].id)],
                     hosts_name=["广州市科学技术协会", "x"], society_coop="1",
                     society_coop_orgs_id=[""], society_coop_orgs_name=["某某学会"])
    assert submit(client, a, form).status_code == 303
    a = reload(a)
    # a typed exact name of a library org links it; an id is resolved to its name
    assert a.hosts == [{"id": sd["gz"].id, "name": "广州市科学技术协会"},
                       {"id": sd["museum"].id, "name": "广州科学馆"}]
    assert a.society_coop_orgs == [{"name": "某某学会"}]


def test_org_list_fragment_and_suggest(client, auth, sd):
    a = new_draft(client, auth, sd)
    url = f"/science-day/activities/{a.id}/org-list/hosts"
    resp = client.post(url, data={"hosts_id": [""], "hosts_name": ["甲单位"],
                                  "add_id": str(sd["museum"].id)}, headers={"HX-Request": "1"})
    html = resp.get_data(as_text=True)
    assert "甲单位" in html and "广州科学馆" in html and "已认证" in html
    resp = client.post(url, data={"hosts_name": ["甲单位"], "hosts_id": [""], "add": "1",
                                  "hosts__q": "乙单位"})
    assert "乙单位" in resp.get_data(as_text=True)
    resp = client.post(url, data={"hosts_name": ["甲单位", "乙"], "hosts_id": ["", ""],
                                  "remove": "0"})
    assert "甲单位" not in resp.get_data(as_text=True)
    resp = client.get(f"/science-day/activities/{a.id}/org-suggest/hosts?hosts__q=科学馆")
    assert "广州科学馆" in resp.get_data(as_text=True)
    assert client.get(f"/science-day/activities/{a.id}/org-suggest/nope?q=x").status_code == 404


def test_add_without_javascript_saves_and_keeps(client, auth, sd):
    a = new_draft(client, auth, sd)
    resp = client.post(f"/science-day/activities/{a.id}/edit", data={
        "version": str(a.version), "name": "未完成", "hosts__present": "1", "hosts_id": [""],
        "hosts_name": ["甲单位"], "hosts__q": "乙单位", "action": "add:hosts"})
    assert resp.status_code == 303 and "#hosts-box" in resp.headers["Location"]
    a = reload(a)
    assert a.name == "未完成" and [h["name"] for h in a.hosts] == ["甲单位", "乙单位"]


# --- windows, ownership, officers -----------------------------------------------------------

def test_outside_the_filing_window_the_server_refuses(client, auth, sd):
    a = new_draft(client, auth, sd)
    sd["campaign"].settings = {"windows": {"filing": {"open": "2020-01-01 00:00",
                                                      "close": "2021-09-28 23:59:59"}}}
    db.session.commit()
    resp = client.post(f"/science-day/activities/{a.id}/autosave",
                       data={"version": str(a.version), "name": "晚了"})
    assert resp.status_code == 409
    assert "已于 2021-09-28 23:59 截止" in resp.get_data(as_text=True)
    resp = client.post("/science-day/activities/new")
    assert resp.status_code == 403 and "截止" in resp.get_data(as_text=True)
    assert reload(a).name != "晚了"


def test_someone_elses_activity_is_404(client, auth, sd):
    a = new_draft(client, auth, sd)
    auth.login_as(sd["other"])
    for url in (f"/science-day/activities/{a.id}", f"/science-day/activities/{a.id}/edit",
                f"/science-day/activities/{a.id}/org-suggest/hosts"):
        assert client.get(url).status_code == 404
    for url in (f"/science-day/activities/{a.id}/edit", f"/science-day/activities/{a.id}/autosave",
                f"/science-day/activities/{a.id}/delete",
                f"/science-day/activities/{a.id}/org-list/hosts"):
        assert client.post(url, data={"version": str(a.version), "name": "x",
                                      "action": "save"}).status_code == 404
    assert reload(a).name != "x"


def test_non_officer_is_led_to_certification(client, auth, sd, make_user):
    user = make_user("13900000709")
    auth.login_as(user)
    resp = client.get("/science-day/activities/new")
    assert resp.status_code == 303 and resp.headers["Location"].endswith("/science-day/officer")


# --- editing a submitted activity -----------------------------------------------------------

def submitted(client, auth, sd, **over) -> tuple[Activity, dict]:
    a, pid = ready(client, auth, sd)
    form = good_form(sd, a, poster=str(pid), **over)
    assert submit(client, a, form).status_code == 303
    return reload(a), form


def approve(a):
    from kepu.science_day.operations.listing import publish_snapshot

    a.status = "approved"
    a.approved_at = utcnow()
    publish_snapshot(a)
    db.session.commit()


def test_edit_of_an_approved_activity_goes_to_pending_edit_then_back_to_review(client, auth, sd):
    a, form = submitted(client, auth, sd)
    approve(a)
    a = reload(a)
    # autosave while editing: the live fields and the public snapshot stay as approved
    resp = client.post(f"/science-day/activities/{a.id}/autosave",
                       data={"version": str(a.version), "name": "改过的名称"})
    assert resp.status_code == 200
    a = reload(a)
    assert a.name == "2026年全国科普日·科学之夜" and a.pending_edit["name"] == "改过的名称"
    assert db.session.get(ActivityPublic, a.id).name == "2026年全国科普日·科学之夜"
    # the reviewer's detail page shows the submitted version
    html = client.get(f"/science-day/activities/{a.id}/edit").get_data(as_text=True)
    assert 'value="改过的名称"' in html and "还可修改 <strong id=\"edits-left\">3</strong> 次" in html
    # 保存: applied and re-submitted to the start of its route; the snapshot is untouched
    resp = submit(client, a, {**form, "version": str(a.version), "name": "改过的名称"})
    assert resp.status_code == 303, resp.get_data(as_text=True)[:1500]
    a = reload(a)
    assert (a.status, a.name, a.edits_used, a.pending_edit) == (
        "province_pending", "改过的名称", 1, None)
    assert db.session.get(ActivityPublic, a.id).name == "2026年全国科普日·科学之夜"


def test_edit_cap_is_enforced_on_the_server(client, auth, sd):
    sd["campaign"].settings = {**OPEN, "edit_cap": 2}
    db.session.commit()
    a, form = submitted(client, auth, sd)
    for i in range(2):
        a = reload(a)
        resp = submit(client, a, {**form, "version": str(a.version), "name": f"第{i}次修改"})
        assert resp.status_code == 303
    a = reload(a)
    assert a.edits_used == 2
    resp = submit(client, a, {**form, "version": str(a.version), "name": "第三次"})
    assert resp.status_code == 409 and "修改次数已用完" in resp.get_data(as_text=True)
    resp = client.post(f"/science-day/activities/{a.id}/autosave",
                       data={"version": str(a.version), "name": "第三次"})
    assert resp.status_code == 409
    assert reload(a).name == "第1次修改"
    html = client.get("/science-day/activities/mine").get_data(as_text=True)
    assert re.search(r'data-label="剩余修改次数">0<', html)


def test_no_cap_when_the_edition_has_none(client, auth, sd):
    sd["campaign"].settings = {**OPEN, "edit_cap": ""}
    db.session.commit()
    a, form = submitted(client, auth, sd)
    for i in range(4):
        a = reload(a)
        assert submit(client, a, {**form, "version": str(a.version)}).status_code == 303
    assert reload(a).edits_used == 4


def test_a_refused_activity_is_corrected_and_resubmitted(client, auth, sd):
    a, form = submitted(client, auth, sd)
    a.status, a.reject_reason = "province_rejected", "名称不规范"
    db.session.commit()
    html = client.get("/science-day/activities/mine").get_data(as_text=True)
    assert "名称不规范" in html and "省管理员审批拒绝" in html
    a = reload(a)
    resp = submit(client, a, {**form, "version": str(a.version), "name": "规范的名称"})
    assert resp.status_code == 303
    a = reload(a)
    assert (a.status, a.name, a.reject_reason, a.edits_used) == (
        "province_pending", "规范的名称", "", 0)


def test_my_activities_columns(client, auth, sd):
    a, form = submitted(client, auth, sd)
    approve(a)
    html = client.get("/science-day/activities/mine").get_data(as_text=True)
    for text in ("审核状态", "活动状态", "上下架状态", "已通过", "未开始", "已上架"):
        assert text in html


def test_my_activities_query_uses_an_index(app, client, auth, sd):
    from tests.core.test_queue_plans import _list_statements, plan_of, plan_problems

    from kepu.review_queue import QueueContext
    from kepu.science_day.apply_routes import MY_QUEUE

    submitted(client, auth, sd)
    ctx = QueueContext(sd["officer"], sd["campaign"])
    for args in ({}, {"needs_action": "1"}, {"q": "科学"}):
        statements = _list_statements(MY_QUEUE, ctx, args, app)
        assert 1 <= len(statements) <= 2  # the count (and the rows when there are some)
        for statement, parameters in statements:
            plan = plan_of(statement, parameters)
            assert not plan_problems(plan, "activity", "ix_activity_owner_id!"), plan
        db.session.rollback()
