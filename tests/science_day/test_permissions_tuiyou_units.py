"""Permission matrix of the excellent organiser units routes
(kepu/science_day/tuiyou_unit_routes.py) × every role: Beijing's candidates are Beijing's
推优 admin's; Guangdong's 推优 admin, the national and provincial admins and everyone else
get 404 and change nothing; anonymous users are sent to log in. ``ENDPOINTS`` is read by
tests/test_permissions_science_day.py (test_every_science_day_route_is_in_the_matrix)."""
from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import func, select

from kepu.accounts import roles as R
from kepu.admin.models import Campaign
from kepu.extensions import db
from kepu.orgs.models import Org
from kepu.science_day.models import Activity
from kepu.science_day.tuiyou_models import ExcellentActivity, ExcellentUnit, TuiyouQuota
from kepu.timeutil import utcnow
from tests.conftest import for_each_role

# Beijing's 推优 admin last: their successful POST changes the world for whoever follows
ROLES = ["anonymous", "officer", "other", "province_admin", "national_admin",
         "society_admin", "city_admin", "platform_admin", "tuiyou_gd", "tuiyou_bj"]
WINDOWS = {k: {"open": "2020-01-01 00:00", "close": "2099-12-31 23:59"}
           for k in ("filing", "supplement", "summary", "annual_report", "recommend")}
UNIT = "name:北京市第八中学"


@pytest.fixture
def world(app, make_user):
    campaign = Campaign(kind="science_day", year=2026, title="2026年全国科普日",
                        settings={"windows": WINDOWS})
    bj = Org(name="北京市科学技术协会", kind="省级科协", region_code="11")
    society = Org(name="中国科普作家协会", kind="全国学会")
    db.session.add_all([campaign, bj, society])
    db.session.commit()
    users = {
        "officer": make_user("13900001201", roles=["info_officer"]),
        "other": make_user("13900001202"),
        "province_admin": make_user("13900001203",
                                    roles=[("provincial_admin", {"region_code": "11"})]),
        "national_admin": make_user("13900001204", roles=["national_admin"]),
        "society_admin": make_user("13900001205",
                                   roles=[("society_admin", {"org_id": society.id})]),
        "city_admin": make_user("13900001206", roles=[("city_admin", {"region_code": "1101"})]),
        "platform_admin": make_user("13900001207", roles=["platform_admin"]),
        "tuiyou_gd": make_user("13900001208", roles=[(R.TUIYOU_ADMIN, {"region_code": "44"})]),
        "tuiyou_bj": make_user("13900001209", roles=[(R.TUIYOU_ADMIN, {"region_code": "11"})]),
    }
    now = utcnow()
    a = Activity(campaign_id=campaign.id, owner_id=users["officer"].id, status="approved",
                 name="优秀的活动", mode="线下", activity_type="科普讲座",
                 start_at=now - timedelta(days=3), end_at=now - timedelta(days=2),
                 region_code="110105", supervisor_category="省科协", supervisor_org_id=bj.id,
                 route_province="11", hosts=[{"name": "北京市第八中学"}], submitted_at=now,
                 approved_at=now)
    db.session.add(a)
    db.session.flush()
    db.session.add(ExcellentActivity(campaign_id=campaign.id, scope_key="province:11",
                                     activity_id=a.id))
    db.session.add(TuiyouQuota(campaign_id=campaign.id, scope_key="province:11",
                               activities=2, units=2, activities_used=1, units_used=0))
    db.session.commit()
    return users, campaign


def _state(campaign):
    db.session.expire_all()
    q = db.session.get(TuiyouQuota, (campaign.id, "province:11"))
    return (q.units_used, q.units_cast_used,
            db.session.scalar(select(func.count()).select_from(ExcellentUnit)))


BJ = {"tuiyou_bj"}
ROUTES = [
    # (endpoint, method, path, data, who succeeds, their status)
    ("science_day.excellent_units", "GET", "/science-day/tuiyou/units?scope=province:11",
     None, BJ, 200),
    ("science_day.excellent_unit_recommend", "POST", "/science-day/tuiyou/units/recommend",
     {"scope": "province:11", "unit_key": UNIT}, BJ, 303),
    ("science_day.excellent_unit_withdraw", "POST", "/science-day/tuiyou/units/withdraw",
     {"scope": "province:11", "unit_key": UNIT}, BJ, 422),
]
ENDPOINTS = {r[0] for r in ROUTES}


@pytest.mark.parametrize("endpoint,method,path,data,allowed,status", ROUTES,
                         ids=[r[0] for r in ROUTES])
def test_units_matrix(app, world, endpoint, method, path, data, allowed, status):
    users, campaign = world

    def probe(client, auth, role):
        if role != "anonymous":
            auth.login_as(users[role])
        before = _state(campaign)
        resp = client.get(path) if method == "GET" else client.post(path, data=data)
        after = _state(campaign)
        if role == "anonymous":
            assert resp.status_code in (302, 303), resp.status_code
            assert "/account/login" in resp.headers["Location"]
        elif role in allowed:
            assert resp.status_code == status, resp.get_data(as_text=True)[:300]
            if method == "POST" and status == 303:
                assert after != before, f"{endpoint} did nothing for {role}"
            if method == "GET":
                assert "北京市第八中学" in resp.get_data(as_text=True)
            return
        else:
            assert resp.status_code == 404, (role, resp.status_code)
        assert after == before, f"{role} changed something through {endpoint}"

    for_each_role(app, ROLES, probe)


def test_guangdong_admin_has_a_units_page_of_its_own(client, auth, world):
    users, campaign = world
    auth.login_as(users["tuiyou_gd"])
    html = client.get("/science-day/tuiyou/units").get_data(as_text=True)
    assert "广东省科协" in html and "北京市第八中学" not in html
    for scope in ("province:44", ""):
        r = client.post("/science-day/tuiyou/units/recommend",
                        data={"scope": scope, "unit_key": UNIT})
        assert r.status_code == 404
    assert _state(campaign) == (0, 0, 0)


def test_every_units_route_is_in_this_matrix(app):
    ours = {r.endpoint for r in app.url_map.iter_rules()
            if app.view_functions[r.endpoint].__module__
            == "kepu.science_day.tuiyou_unit_routes"}
    assert ours and ours == ENDPOINTS
