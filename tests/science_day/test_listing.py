"""上架 / 下架 of approved activities (seed 002 三(三).1): national admins any, provincial
admins their route province's; a reason is required; audited; the public site follows
at once; a re-approval keeps 下架."""
from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import select

from kepu.admin.models import Campaign
from kepu.extensions import db
from kepu.orgs.models import Org
from kepu.science_day.models import Activity, ActivityPublic
from kepu.science_day.operations import review
from kepu.science_day.operations.listing import publish_snapshot
from kepu.timeutil import utcnow
from kepu.workflow import AuditLog

HX = {"HX-Request": "true"}


@pytest.fixture
def world(app, make_user):
    campaign = Campaign(kind="science_day", year=2026, title="2026年全国科普日", settings={})
    bj = Org(name="北京市科学技术协会", kind="省级科协", region_code="11")
    db.session.add_all([campaign, bj])
    db.session.commit()
    officer = make_user("13900000801", roles=["info_officer"])
    now = utcnow()
    a = Activity(campaign_id=campaign.id, owner_id=officer.id, status="approved",
                 name="公开的活动", mode="线下", activity_type="科普讲座",
                 start_at=now + timedelta(days=5), end_at=now + timedelta(days=5, hours=2),
                 region_code="110105", supervisor_category="省科协", supervisor_org_id=bj.id,
                 route_province="11", hosts=[{"name": "某馆"}], submitted_at=now,
                 approved_at=now)
    db.session.add(a)
    db.session.flush()
    publish_snapshot(a)
    db.session.commit()
    return dict(
        activity=a, officer=officer,
        national=make_user("13900000802", roles=["national_admin"]),
        bj_admin=make_user("13900000803", roles=[("provincial_admin", {"region_code": "11"})]),
        gd_admin=make_user("13900000804", roles=[("provincial_admin", {"region_code": "44"})]),
    )


def public_ok(client, a) -> bool:
    return client.get(f"/science-day/events/{a.id}").status_code == 200


def test_national_admin_delists_with_a_reason_and_relists(world, client, auth):
    a = world["activity"]
    auth.login_as(world["national"])
    detail = client.get(f"/science-day/review/national/{a.id}").get_data(as_text=True)
    assert 'id="listing-panel"' in detail and "已上架" in detail
    # a reason is required: the message next to the field, nothing changed
    resp = client.post(f"/science-day/listing/{a.id}/delist", data={"reason": "  "},
                       headers=HX)
    assert resp.status_code == 422 and "请填写下架原因" in resp.get_data(as_text=True)
    assert public_ok(client, a)
    too_long = "很" * 501
    resp = client.post(f"/science-day/listing/{a.id}/delist", data={"reason": too_long})
    html = resp.get_data(as_text=True)
    assert resp.status_code == 422 and "不能超过500字" in html and too_long in html
    resp = client.post(f"/science-day/listing/{a.id}/delist", data={"reason": "信息有误"},
                       headers=HX)
    assert resp.status_code == 200 and "已下架" in resp.get_data(as_text=True)
    db.session.expire_all()
    assert not a.listed and a.delist_reason == "信息有误"
    assert not db.session.get(ActivityPublic, a.id).listed
    assert not public_ok(client, a)
    assert "公开的活动" not in client.get("/science-day/events/").get_data(as_text=True)
    detail = client.get(f"/science-day/review/national/{a.id}").get_data(as_text=True)
    assert "重新上架" in detail and "下架" in detail and "信息有误" in detail
    # twice is refused
    assert client.post(f"/science-day/listing/{a.id}/delist",
                       data={"reason": "再次"}).status_code == 409
    # 上架 again, without JavaScript: back to the page it came from
    back = f"/science-day/review/national/{a.id}"
    resp = client.post(f"/science-day/listing/{a.id}/relist", data={"next": back})
    assert resp.status_code == 303 and resp.headers["Location"].endswith(back)
    assert public_ok(client, a)
    actions = [r.action for r in db.session.scalars(
        select(AuditLog).where(AuditLog.entity_type == "activity", AuditLog.entity_id == a.id)
        .order_by(AuditLog.id))]
    assert actions == ["delist", "relist"]


def test_provincial_admin_of_the_route_only(world, client, auth):
    a = world["activity"]
    auth.login_as(world["gd_admin"])
    assert client.post(f"/science-day/listing/{a.id}/delist",
                       data={"reason": "x"}).status_code == 404
    assert client.get(f"/science-day/listing/{a.id}").status_code == 404
    auth.login_as(world["officer"])
    assert client.post(f"/science-day/listing/{a.id}/delist",
                       data={"reason": "x"}).status_code == 404
    assert public_ok(client, a)
    auth.login_as(world["bj_admin"])
    assert client.get(f"/science-day/listing/{a.id}").status_code == 200
    resp = client.post(f"/science-day/listing/{a.id}/delist", data={"reason": "不宜公开",
                                                                     "next": "//evil.example"})
    assert resp.status_code == 303 and "evil" not in resp.headers["Location"]
    assert not public_ok(client, a)


def test_not_yet_approved_has_no_panel(world, client, auth):
    a = world["activity"]
    db.session.delete(db.session.get(ActivityPublic, a.id))
    a.status, a.approved_at = "national_pending", None
    db.session.commit()
    auth.login_as(world["national"])
    assert client.get(f"/science-day/listing/{a.id}").status_code == 404
    html = client.get(f"/science-day/review/national/{a.id}").get_data(as_text=True)
    assert 'id="listing-panel"' not in html


def test_reapproval_keeps_delisted_and_edits_keep_the_public_version(world, client, auth):
    a = world["activity"]
    auth.login_as(world["national"])
    client.post(f"/science-day/listing/{a.id}/delist", data={"reason": "暂停展示"})
    db.session.expire_all()
    a.name, a.status = "修改后的活动", "national_pending"
    db.session.commit()
    review.decide(a, "national_approve", world["national"])
    db.session.expire_all()
    row = db.session.get(ActivityPublic, a.id)
    assert row.name == "修改后的活动" and not row.listed
    assert not public_ok(client, a)
    client.post(f"/science-day/listing/{a.id}/relist")
    assert public_ok(client, a)
