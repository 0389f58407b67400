"""推优 national results permission matrix: every route of
kepu/science_day/tuiyou_result_routes.py × every role (the roles of
tests/test_permissions_science_day.py plus the 推优 admins of Beijing and Guangdong).
The overview, selection, publication and export are the national admin's (and the
platform admin's); everyone else gets 404 and nothing changes; anonymous users are sent
to log in. The public results page answers everyone, anonymous included, and shows only
what is published. ``ENDPOINTS`` is read by test_every_science_day_route_is_in_the_matrix."""
from __future__ import annotations

import pytest
from sqlalchemy import func, select

from kepu.accounts import roles as R
from kepu.admin.models import Campaign
from kepu.extensions import db
from kepu.orgs.models import Org
from kepu.science_day.models import Activity
from kepu.science_day.tuiyou_models import ExcellentActivity, ExcellentUnit, TuiyouPublication
from kepu.timeutil import utcnow
from kepu.workflow import AuditLog
from tests.conftest import for_each_role

ROLES = ["anonymous", "officer", "province_admin", "national_admin", "society_admin",
         "city_admin", "platform_admin", "tuiyou_bj", "tuiyou_gd"]
NATIONAL = {"national_admin", "platform_admin"}


@pytest.fixture
def world(app, make_user):
    campaign = Campaign(kind="science_day", year=2026, title="2026年全国科普日", settings={})
    bj = Org(name="北京市科学技术协会", kind="省级科协", region_code="11")
    society = Org(name="中国科普作家协会", kind="全国学会")
    db.session.add_all([campaign, bj, society])
    db.session.commit()
    users = {
        "officer": make_user("13900002101", roles=["info_officer"]),
        "province_admin": make_user("13900002102",
                                    roles=[("provincial_admin", {"region_code": "11"})]),
        "national_admin": make_user("13900002103", roles=["national_admin"]),
        "society_admin": make_user("13900002104",
                                   roles=[("society_admin", {"org_id": society.id})]),
        "city_admin": make_user("13900002105", roles=[("city_admin", {"region_code": "1101"})]),
        "platform_admin": make_user("13900002106", roles=["platform_admin"]),
        "tuiyou_bj": make_user("13900002107", roles=[(R.TUIYOU_ADMIN, {"region_code": "11"})]),
        "tuiyou_gd": make_user("13900002108", roles=[(R.TUIYOU_ADMIN, {"region_code": "44"})]),
    }
    now = utcnow()
    a = Activity(campaign_id=campaign.id, owner_id=users["officer"].id, status="approved",
                 name="推荐的活动", mode="线下", activity_type="科普讲座", start_at=now,
                 end_at=now, region_code="110105", supervisor_category="省科协",
                 supervisor_org_id=bj.id, route_province="11", hosts=[{"name": "某馆"}],
                 submitted_at=now, approved_at=now)
    db.session.add(a)
    db.session.flush()
    db.session.add(ExcellentActivity(campaign_id=campaign.id, scope_key="province:11",
                                     activity_id=a.id))
    # a selected unit: publishing has something to publish
    db.session.add(ExcellentUnit(campaign_id=campaign.id, scope_key="province:11",
                                 unit_key="name:某馆", name="某馆", selected_at=now))
    db.session.commit()
    return users, a, campaign


def _state(campaign):
    db.session.expire_all()
    pub = db.session.get(TuiyouPublication, campaign.id)
    return (db.session.scalar(select(func.count()).select_from(ExcellentActivity).where(
                ExcellentActivity.selected_at.is_not(None))),
            db.session.scalar(select(func.count()).select_from(ExcellentUnit).where(
                ExcellentUnit.selected_at.is_not(None))),
            pub.published_at if pub else None,
            db.session.scalar(select(func.count()).select_from(AuditLog)))


ROUTES = [
    # (endpoint, method, path, data, who succeeds, their status)
    ("science_day.excellent_overview", "GET", "/science-day/tuiyou/results", None, NATIONAL,
     200),
    ("science_day.excellent_scope", "GET",
     "/science-day/tuiyou/results/scope?scope=province:11", None, NATIONAL, 200),
    ("science_day.excellent_select", "POST", "/science-day/tuiyou/results/select",
     {"scope": "province:11", "kind": "activity", "action": "select", "ids": "{id}"},
     NATIONAL, 303),
    ("science_day.excellent_publish", "POST", "/science-day/tuiyou/results/publish",
     {"confirmed": "1"}, NATIONAL, 303),
    # nothing published in this world: refused with a message (success: test_tuiyou_results)
    ("science_day.excellent_unpublish", "POST", "/science-day/tuiyou/results/unpublish",
     {}, NATIONAL, 422),
    ("science_day.excellent_export", "GET", "/science-day/tuiyou/results/export.xlsx",
     None, NATIONAL, 200),
]
PUBLIC = "science_day.public_excellent"
ENDPOINTS = {r[0] for r in ROUTES} | {PUBLIC}


@pytest.mark.parametrize("endpoint,method,path,data,allowed,status", ROUTES,
                         ids=[r[0] for r in ROUTES])
def test_results_matrix(app, world, endpoint, method, path, data, allowed, status):
    users, activity, campaign = world

    def probe(client, auth, role):
        if role != "anonymous":
            auth.login_as(users[role])
        before = _state(campaign)
        if method == "GET":
            resp = client.get(path)
        else:
            resp = client.post(path, data={k: v.format(id=activity.id)
                                           for k, v in data.items()})
        after = _state(campaign)
        if role == "anonymous":
            assert resp.status_code in (302, 303), resp.status_code
            assert "/account/login" in resp.headers["Location"]
        elif role in allowed:
            assert resp.status_code == status, resp.get_data(as_text=True)[:300]
            if method == "POST" and status == 303:
                assert after != before
                db.session.rollback()
                _reset(campaign)
            return
        else:
            assert resp.status_code == 404, resp.status_code
        assert after == before, f"{role} changed something through {endpoint}"

    for_each_role(app, ROLES, probe)


def _reset(campaign):
    """Undo an allowed role's change so the next role meets the same world."""
    for model in (ExcellentActivity,):
        for row in db.session.scalars(select(model)):
            row.selected_at = None
    db.session.query(TuiyouPublication).delete()
    db.session.commit()


def test_public_results_page_answers_everyone(app, world):
    users, activity, campaign = world

    def probe(client, auth, role):
        if role != "anonymous":
            auth.login_as(users[role])
        resp = client.get("/science-day/excellent")
        assert resp.status_code == 200, resp.status_code
        html = resp.get_data(as_text=True)
        published = db.session.get(TuiyouPublication, campaign.id) is not None
        assert ("评选结果尚未公布" in html) != published
        assert ("某馆" in html) == published

    for_each_role(app, ROLES, probe)
    db.session.add(TuiyouPublication(campaign_id=campaign.id, published_at=utcnow()))
    db.session.commit()
    for_each_role(app, ROLES, probe)


def test_scope_must_be_known(client, auth, world):
    users, activity, _ = world
    auth.login_as(users["national_admin"])
    for scope in ("province:99", "org:999999", "", "x"):
        assert client.get(f"/science-day/tuiyou/results/scope?scope={scope}").status_code == 404
        r = client.post("/science-day/tuiyou/results/select",
                        data={"scope": scope, "kind": "activity", "action": "select",
                              "ids": str(activity.id)})
        assert r.status_code == 404
    for data in ({"kind": "other", "action": "select"}, {"kind": "activity", "action": "x"},
                 {"kind": "activity", "row": f"drop:{activity.id}"}):
        r = client.post("/science-day/tuiyou/results/select",
                        data={"scope": "province:11", "ids": str(activity.id), **data})
        assert r.status_code == 404
    assert _state(world[2])[0] == 0


def test_every_results_route_is_in_this_matrix(app):
    ours = {r.endpoint for r in app.url_map.iter_rules()
            if app.view_functions[r.endpoint].__module__
            == "kepu.science_day.tuiyou_result_routes"}
    assert ours and ours <= ENDPOINTS
    assert PUBLIC in {r.endpoint for r in app.url_map.iter_rules()}
