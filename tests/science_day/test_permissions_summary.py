"""活动总结 permission matrix: every route of kepu/science_day/summary_routes.py × every
role (the roles of tests/test_permissions_science_day.py). Only the owner reaches the
summary of their activity; everyone else gets 404 (reviewers included: they read it on
their detail page) and nothing changes; anonymous users are sent to log in.
``ENDPOINTS`` is read by test_every_science_day_route_is_in_the_matrix."""
from __future__ import annotations

from datetime import timedelta

import pytest

from kepu.admin.models import Campaign
from kepu.extensions import db
from kepu.orgs.models import Org
from kepu.science_day.after_models import ActivitySupplement
from kepu.science_day.models import Activity
from kepu.timeutil import utcnow

ROLES = ["anonymous", "officer", "other", "province_admin", "other_province_admin",
         "national_admin", "society_admin", "city_admin", "platform_admin"]
WINDOWS = {k: {"open": "2020-01-01 00:00", "close": "2099-12-31 23:59"}
           for k in ("filing", "supplement", "summary", "annual_report", "recommend")}
PARTS = {"basic": "基本情况", "results": "成果成效", "highlights": "特色亮点",
         "resources": "科普资源", "experience": "工作体会"}


@pytest.fixture
def world(app, make_user):
    campaign = Campaign(kind="science_day", year=2026, title="2026年全国科普日",
                        settings={"windows": WINDOWS})
    bj = Org(name="北京市科学技术协会", kind="省级科协", region_code="11")
    society = Org(name="中国科普作家协会", kind="全国学会")
    db.session.add_all([campaign, bj, society])
    db.session.commit()
    users = {
        "officer": make_user("13900000901", roles=["info_officer"]),
        "other": make_user("13900000902", roles=["info_officer"]),
        "province_admin": make_user("13900000903",
                                    roles=[("provincial_admin", {"region_code": "11"})]),
        "other_province_admin": make_user("13900000904",
                                          roles=[("provincial_admin", {"region_code": "44"})]),
        "national_admin": make_user("13900000905", roles=["national_admin"]),
        "society_admin": make_user("13900000906",
                                   roles=[("society_admin", {"org_id": society.id})]),
        "city_admin": make_user("13900000907", roles=[("city_admin", {"region_code": "1101"})]),
        "platform_admin": make_user("13900000908", roles=["platform_admin"]),
    }
    now = utcnow()
    activity = Activity(campaign_id=campaign.id, owner_id=users["officer"].id,
                        status="approved", name="已结束的活动", mode="线下",
                        activity_type="科普讲座", start_at=now - timedelta(days=2, hours=2),
                        end_at=now - timedelta(days=2), region_code="110105",
                        supervisor_category="省科协", supervisor_org_id=bj.id,
                        route_province="11", hosts=[{"name": "某馆"}], submitted_at=now,
                        approved_at=now)
    db.session.add(activity)
    db.session.commit()
    return users, activity


def _summary_of(activity):
    db.session.expire_all()
    sup = db.session.get(ActivitySupplement, activity.id)
    return (sup.summary, sup.summary_filed_at, sup.version) if sup else None


ROUTES = [
    # (endpoint, method, url tail, data, owner's status)
    ("science_day.summary", "GET", "/summary", None, 200),
    ("science_day.summary", "POST", "/summary", {"action": "file", "version": "0", **PARTS},
     303),
    ("science_day.summary_autosave", "POST", "/summary/autosave",
     {"version": "0", "basic": "自动保存"}, 200),
]
ENDPOINTS = {r[0] for r in ROUTES}


@pytest.mark.parametrize("role", ROLES)
@pytest.mark.parametrize("endpoint,method,tail,data,owner_status", ROUTES,
                         ids=[f"{r[0]}-{r[1]}" for r in ROUTES])
def test_summary_matrix(client, auth, world, role, endpoint, method, tail, data,
                        owner_status):
    users, activity = world
    if role != "anonymous":
        auth.login_as(users[role])
    path = f"/science-day/activities/{activity.id}{tail}"
    resp = client.get(path) if method == "GET" else client.post(path, data=data)
    if role == "anonymous":
        assert resp.status_code in (302, 303) and "/account/login" in resp.headers["Location"]
    elif role == "officer":
        assert resp.status_code == owner_status, resp.get_data(as_text=True)[:300]
    else:
        assert resp.status_code == 404, (role, resp.status_code)
    after = _summary_of(activity)
    if method == "POST" and role == "officer":
        assert after is not None and after[2] == 1
        if data.get("action") == "file":
            assert after[0] == PARTS and after[1] is not None
        else:
            assert after[0]["basic"] == "自动保存" and after[1] is None
    else:
        assert after is None, f"{role} changed the summary through {endpoint}"


def test_every_summary_route_is_in_this_matrix(app):
    ours = {r.endpoint for r in app.url_map.iter_rules()
            if r.endpoint.startswith("science_day.summary")}
    assert ours and ours <= ENDPOINTS
