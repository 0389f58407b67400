"""生成活动海报: every role × every poster route (kepu/science_day/poster_routes.py), in the
style of tests/test_permissions_science_day.py. Only the activity's owner reaches them;
everyone else — reviewers of the activity included — gets 404 and changes nothing;
anonymous users are sent to log in. ``test_every_poster_route_is_in_the_matrix`` fails
when a poster route is added without a row."""
from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta

import pytest
from sqlalchemy import func, select

from kepu.admin.models import Campaign
from kepu.extensions import db
from kepu.files.models import StoredFile
from kepu.orgs.models import Org
from kepu.science_day import poster_routes as R
from kepu.science_day.models import Activity
from kepu.timeutil import utcnow

ROLES = ["anonymous", "officer", "other", "province_admin", "other_province_admin",
         "national_admin", "society_admin", "city_admin", "platform_admin"]
L = "login"


@dataclass
class World:
    users: dict
    pending: Activity      # 省管理员审批中 in 北京, the officer's
    draft: Activity
    poster: StoredFile     # a generated poster of ``pending``


def _activity(owner, org, status, campaign, name):
    now = utcnow()
    a = Activity(campaign_id=campaign.id, owner_id=owner.id, status=status, name=name,
                 mode="线下", activity_type="科普讲座", start_at=now + timedelta(days=9),
                 end_at=now + timedelta(days=9, hours=2), region_code="110105",
                 supervisor_category="省科协", supervisor_org_id=org.id,
                 route_province="11", hosts=[{"name": "某馆"}],
                 submitted_at=None if status == "draft" else now)
    db.session.add(a)
    return a


@pytest.fixture
def world(app, make_user) -> World:
    campaign = Campaign(kind="science_day", year=2026, title="2026年全国科普日", settings={})
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
        "city_admin": make_user("13900000907", roles=[("city_admin", {"region_code": "4401"})]),
        "platform_admin": make_user("13900000908", roles=["platform_admin"]),
    }
    owner = users["officer"]
    pending = _activity(owner, bj, "province_pending", campaign, "待省级审核")
    draft = _activity(owner, bj, "draft", campaign, "草稿")
    db.session.commit()
    with app.test_request_context():
        poster = R.generate(pending, "builtin:sky")
    return World(users, pending, draft, poster)


def login(client, auth, world, role):
    if role != "anonymous":
        auth.login_as(world.users[role])


def check(resp, expected):
    if expected == L:
        assert resp.status_code in (302, 303), resp.status_code
        assert "/account/login" in resp.headers["Location"]
    else:
        assert resp.status_code == expected, (resp.status_code,
                                              resp.get_data(as_text=True)[:300])


def owner_only(owner_status=200):
    table = dict.fromkeys(ROLES, 404)
    table["anonymous"] = L
    table["officer"] = owner_status
    return table


def _base(w, a=None):
    return f"/science-day/activities/{(a or w.pending).id}/poster"


GET_ROUTES = [
    ("science_day.poster_page", lambda w: _base(w), owner_only()),
    # a draft's panel explains why there is no poster yet (the page itself is fine)
    ("science_day.poster_page", lambda w: _base(w, w.draft), owner_only()),
    ("science_day.poster_preview", lambda w: f"{_base(w)}/{w.poster.id}", owner_only()),
    ("science_day.poster_download", lambda w: f"{_base(w)}/{w.poster.id}/download",
     owner_only()),
    ("science_day.poster_background", lambda w: f"{_base(w)}/backgrounds/builtin:dawn",
     owner_only()),
    # the poster of one activity through another's URL: 404 for the owner too
    ("science_day.poster_preview", lambda w: f"{_base(w, w.draft)}/{w.poster.id}",
     owner_only(404)),
    ("science_day.poster_download", lambda w: f"{_base(w, w.draft)}/{w.poster.id}/download",
     owner_only(404)),
]


def _generated_count(w) -> int:
    db.session.expire_all()
    return db.session.scalar(select(func.count(StoredFile.id)).where(
        StoredFile.field.like("%:generated_poster")))


def _poster_set(w) -> bool:
    db.session.expire_all()
    return R.current_poster(db.session.get(Activity, w.pending.id)) is not None


# (endpoint, url, data, owner's status, changed(world) -> bool)
POST_ROUTES = [
    ("science_day.poster_generate", lambda w: f"{_base(w)}/generate", {"background": "builtin:leaf"}, 303,
     lambda w: _generated_count(w) > 1),
    ("science_day.poster_use", lambda w: f"{_base(w)}/{w.poster.id}/use", {}, 303,
     _poster_set),
]


@pytest.mark.parametrize("role", ROLES)
@pytest.mark.parametrize("endpoint,url,expected", GET_ROUTES, ids=[r[0] for r in GET_ROUTES])
def test_get_matrix(client, auth, world, role, endpoint, url, expected):
    login(client, auth, world, role)
    check(client.get(url(world)), expected[role])


@pytest.mark.parametrize("role", ROLES)
@pytest.mark.parametrize("endpoint,url,data,status,changed", POST_ROUTES,
                         ids=[r[0] for r in POST_ROUTES])
def test_post_matrix(client, auth, world, role, endpoint, url, data, status, changed):
    login(client, auth, world, role)
    resp = client.post(url(world), data=data)
    if role == "officer":
        check(resp, status)
        assert changed(world), f"{endpoint} did nothing for the owner"
    else:
        check(resp, L if role == "anonymous" else 404)
        assert not changed(world), f"{role} changed something through {endpoint}"


@pytest.mark.parametrize("role", ROLES)
def test_draft_generate_is_refused_for_everyone(client, auth, world, role):
    login(client, auth, world, role)
    resp = client.post(f"{_base(world, world.draft)}/generate", data={"background": "builtin:sky"})
    check(resp, L if role == "anonymous" else 409 if role == "officer" else 404)
    assert _generated_count(world) == 1


def covered() -> set[str]:
    return {r[0] for r in GET_ROUTES} | {r[0] for r in POST_ROUTES}


# read by tests/test_permissions_science_day.py (every science_day route has a row)
ENDPOINTS = covered()


def test_every_poster_route_is_in_the_matrix(app):
    routes = {r.endpoint for r in app.url_map.iter_rules()
              if app.view_functions[r.endpoint].__module__ == R.__name__}
    assert routes, "no poster routes found"
    missing = routes - covered()
    assert not missing, f"poster routes missing from the matrix: {sorted(missing)}"
