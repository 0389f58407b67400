"""推优 permission matrix: every route of kepu/science_day/tuiyou_routes.py × every role
(the roles of tests/test_permissions_science_day.py plus the 推优 admins of Beijing and
Guangdong). Quotas and 推优 admins are the national admin's (and the platform admin's);
Beijing's candidates are Beijing's 推优 admin's; everyone else gets 404 and nothing
changes; anonymous users are sent to log in. ``ENDPOINTS`` is read by
test_every_science_day_route_is_in_the_matrix."""
from __future__ import annotations

import uuid
from datetime import timedelta

import pytest
from sqlalchemy import func, select

from kepu.accounts import roles as R
from kepu.accounts.models import Grant
from kepu.admin.models import Campaign
from kepu.extensions import db
from kepu.files.models import StoredFile
from kepu.orgs.models import Org
from kepu.science_day.after_models import SUMMARY_PARTS, ActivitySupplement
from kepu.science_day.models import Activity
from kepu.science_day.tuiyou_models import ExcellentActivity, TuiyouGrant, TuiyouQuota
from kepu.timeutil import utcnow

ROLES = ["anonymous", "officer", "province_admin", "national_admin", "society_admin",
         "city_admin", "platform_admin", "tuiyou_bj", "tuiyou_gd"]
WINDOWS = {k: {"open": "2020-01-01 00:00", "close": "2099-12-31 23:59"}
           for k in ("filing", "supplement", "summary", "annual_report", "recommend")}
NATIONAL = {"national_admin", "platform_admin"}


@pytest.fixture
def world(app, make_user):
    campaign = Campaign(kind="science_day", year=2026, title="2026年全国科普日",
                        settings={"windows": WINDOWS})
    bj = Org(name="北京市科学技术协会", kind="省级科协", region_code="11")
    society = Org(name="中国科普作家协会", kind="全国学会")
    db.session.add_all([campaign, bj, society])
    db.session.commit()
    users = {
        "officer": make_user("13900001101", roles=["info_officer"]),
        "province_admin": make_user("13900001102",
                                    roles=[("provincial_admin", {"region_code": "11"})]),
        "national_admin": make_user("13900001103", roles=["national_admin"]),
        "society_admin": make_user("13900001104",
                                   roles=[("society_admin", {"org_id": society.id})]),
        "city_admin": make_user("13900001105", roles=[("city_admin", {"region_code": "1101"})]),
        "platform_admin": make_user("13900001106", roles=["platform_admin"]),
        "tuiyou_bj": make_user("13900001107", roles=[(R.TUIYOU_ADMIN, {"region_code": "11"})]),
        "tuiyou_gd": make_user("13900001108", roles=[(R.TUIYOU_ADMIN, {"region_code": "44"})]),
    }
    now = utcnow()
    a = Activity(campaign_id=campaign.id, owner_id=users["officer"].id, status="approved",
                 name="合格的活动", mode="线下", activity_type="科普讲座",
                 start_at=now - timedelta(days=3), end_at=now - timedelta(days=2),
                 region_code="110105", supervisor_category="省科协", supervisor_org_id=bj.id,
                 route_province="11", hosts=[{"name": "某馆"}], submitted_at=now,
                 approved_at=now)
    db.session.add(a)
    db.session.flush()
    db.session.add(ActivitySupplement(
        activity_id=a.id, media_reports=[{"title": "报道", "url": "https://e.example.com/1"}],
        participants_offline=80, video_durations={},
        summary={k: "内容" for k, _ in SUMMARY_PARTS}, summary_filed_at=now))
    for field, n in (("effect_photo", 3), ("participant_photo", 1)):
        for i in range(n):
            db.session.add(StoredFile(
                owner_id=users["officer"].id, field=f"science_day:{campaign.id}:{field}",
                original_name=f"{i}.png", stored_name=uuid.uuid4().hex, ext="png",
                content_type="image/png", size=10, sha256="0" * 64, entity_type="activity",
                entity_id=a.id))
    db.session.add(TuiyouQuota(campaign_id=campaign.id, scope_key="province:11",
                               activities=2, units=1, activities_used=0, units_used=0))
    db.session.commit()
    return users, a, campaign


def _state(campaign):
    db.session.expire_all()
    q = db.session.get(TuiyouQuota, (campaign.id, "province:11"))
    return (q.activities, q.activities_used,
            db.session.scalar(select(func.count()).select_from(ExcellentActivity)),
            db.session.scalar(select(func.count()).select_from(TuiyouGrant)),
            (campaign.settings or {}).get("tuiyou"))


ROUTES = [
    # (endpoint, method, path, data, who succeeds, their status)
    ("science_day.tuiyou_quotas", "GET", "/science-day/tuiyou/quotas", None, NATIONAL, 200),
    ("science_day.tuiyou_formula", "POST", "/science-day/tuiyou/quotas/formula",
     {"total_activities": "10", "total_units": "5", "minimum": "1"}, NATIONAL, 303),
    ("science_day.tuiyou_quota_save", "POST", "/science-day/tuiyou/quotas/save",
     {"scope": "province:11", "activities": "3", "units": "1"}, NATIONAL, 303),
    ("science_day.tuiyou_admins", "GET", "/science-day/tuiyou/admins", None, NATIONAL, 200),
    ("science_day.tuiyou_grant", "POST", "/science-day/tuiyou/admins/grant",
     {"scope": "province:44", "name": "李四", "phone": "13912349999"}, NATIONAL, 303),
    ("science_day.tuiyou_home", "GET", "/science-day/tuiyou?scope=province:11", None,
     {"tuiyou_bj"}, 200),
    ("science_day.tuiyou_recommend", "POST", "/science-day/tuiyou/recommend",
     {"scope": "province:11", "activity_id": "{id}"}, {"tuiyou_bj"}, 303),
    ("science_day.tuiyou_withdraw", "POST", "/science-day/tuiyou/withdraw",
     {"scope": "province:11", "activity_id": "{id}"}, {"tuiyou_bj"}, 422),
]
ENDPOINTS = {r[0] for r in ROUTES}


@pytest.mark.parametrize("role", ROLES)
@pytest.mark.parametrize("endpoint,method,path,data,allowed,status", ROUTES,
                         ids=[r[0] for r in ROUTES])
def test_tuiyou_matrix(client, auth, world, role, endpoint, method, path, data, allowed,
                       status):
    users, activity, campaign = world
    if role != "anonymous":
        auth.login_as(users[role])
    before = _state(campaign)
    if method == "GET":
        resp = client.get(path)
    else:
        resp = client.post(path, data={k: v.format(id=activity.id) for k, v in data.items()})
    after = _state(campaign)
    if role == "anonymous":
        assert resp.status_code in (302, 303) and "/account/login" in resp.headers["Location"]
    elif role in allowed:
        assert resp.status_code == status, resp.get_data(as_text=True)[:300]
        if method == "POST" and status == 303:
            assert after != before
        return
    else:
        assert resp.status_code == 404, (role, resp.status_code)
    assert after == before, f"{role} changed something through {endpoint}"


def test_guangdong_admin_cannot_reach_beijing_by_scope_or_id(client, auth, world):
    users, activity, campaign = world
    auth.login_as(users["tuiyou_gd"])
    assert client.get("/science-day/tuiyou").status_code == 200
    for scope in ("province:44", ""):
        r = client.post("/science-day/tuiyou/recommend",
                        data={"scope": scope, "activity_id": activity.id})
        assert r.status_code == 404
    assert _state(campaign)[2] == 0


def test_new_roles_work_on_the_admin_user_page(client, auth, world):
    """The role label shows on the user page, and the platform admin can grant the new
    roles there (region / org scoped like the other admins)."""
    users, _, _ = world
    auth.login_as(users["platform_admin"])
    target = users["officer"]
    html = client.get(f"/admin/users/{users['tuiyou_bj'].id}").get_data(as_text=True)
    assert "科普日推优管理员（省级）" in html
    r = client.post(f"/admin/users/{target.id}/grants",
                    data={"role": R.TUIYOU_ADMIN, "province": "44"})
    assert r.status_code in (302, 303), r.get_data(as_text=True)[:300]
    db.session.expire_all()
    assert db.session.scalar(select(Grant.region_code).where(
        Grant.user_id == target.id, Grant.role == R.TUIYOU_ADMIN)) == "44"
    html = client.get(f"/admin/users/{target.id}").get_data(as_text=True)
    assert "科普日推优管理员（省级）" in html and "科普日推优管理员（学会/部委）" in html
    r = client.post(f"/admin/users/{target.id}/grants",
                    data={"role": R.TUIYOU_ADMIN, "province": "44", "subregion": "4401"})
    assert r.status_code == 422 and "须选择省级行政区" in r.get_data(as_text=True)


def test_every_tuiyou_route_is_in_this_matrix(app):
    ours = {r.endpoint for r in app.url_map.iter_rules()
            if r.endpoint.startswith("science_day.tuiyou")}
    assert ours and ours <= ENDPOINTS
