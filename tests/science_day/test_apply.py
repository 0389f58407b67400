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

