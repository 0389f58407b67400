"""全国科普日: every role × every route of the blueprint, including other people's and
other provinces' objects (another province's admin gets 404). Refusals change nothing;
the role a route is for succeeds. ``test_every_science_day_route_is_in_the_matrix``
fails when a route is added without a row.
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta

import pytest
from sqlalchemy import func, select

from kepu.admin.models import Campaign
from kepu.extensions import db
from kepu.orgs.models import Org
from kepu.science_day.models import Activity
from kepu.timeutil import utcnow
from tests.conftest import for_each_role

ROLES = ["anonymous", "officer", "other", "province_admin", "other_province_admin",
         "national_admin", "society_admin", "city_admin", "platform_admin"]
L, R = "login", "redirect"


@dataclass
class World:
    users: dict
    pending: Activity      # 省管理员审批中 in 北京
    national: Activity     # 全国审批中
    draft: Activity


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
        "officer": make_user("13900000601", roles=["info_officer"]),
        "other": make_user("13900000602"),
        "province_admin": make_user("13900000603",
                                    roles=[("provincial_admin", {"region_code": "11"})]),
        "other_province_admin": make_user("13900000604",
                                          roles=[("provincial_admin", {"region_code": "44"})]),
        "national_admin": make_user("13900000605", roles=["national_admin"]),
        "society_admin": make_user("13900000606",
                                   roles=[("society_admin", {"org_id": society.id})]),
        "city_admin": make_user("13900000607", roles=[("city_admin", {"region_code": "4401"})]),
        "platform_admin": make_user("13900000608", roles=["platform_admin"]),
    }
    owner = users["officer"]
    pending = _activity(owner, bj, "province_pending", campaign, "待省级审核")
    national = _activity(owner, bj, "national_pending", campaign, "待全国审核")
    draft = _activity(owner, bj, "draft", campaign, "草稿")
    db.session.commit()
    return World(users, pending, national, draft)


def expect(default, **overrides):
    table = dict.fromkeys(ROLES, default)
    table["anonymous"] = L
    table.update(overrides)
    return table


def _public(w, listed=True):
    """An approved activity of 北京 with its public version (made once per test)."""
    key = "_public_listed" if listed else "_public_delisted"
    if key not in w.__dict__:
        from kepu.science_day.operations.listing import publish_snapshot

        org = db.session.get(Org, w.pending.supervisor_org_id)
        a = _activity(w.users["officer"], org, "approved", w.pending.campaign,
                      "已上架" if listed else "已下架")
        a.approved_at, a.listed = utcnow(), listed
        db.session.flush()
        publish_snapshot(a)
        db.session.commit()
        w.__dict__[key] = a
    return w.__dict__[key]


def _public_row(a):
    from kepu.science_day.models import ActivityPublic

    db.session.expire_all()
    return db.session.get(ActivityPublic, a.id)


PUBLIC = dict.fromkeys(ROLES, 200)
LISTING = dict(national_admin=200, platform_admin=200, province_admin=200)
NATIONAL = dict(national_admin=200, platform_admin=200)
PROVINCE = dict(province_admin=200)

GET_ROUTES = [
    ("science_day.review_home", lambda w: "/science-day/review/",
     expect(404, province_admin=R, other_province_admin=R, national_admin=R, society_admin=R,
            city_admin=R, platform_admin=R)),
    ("science_day.review_province", lambda w: "/science-day/review/province/",
     expect(404, province_admin=200, other_province_admin=200)),
    ("science_day.review_province_detail",
     lambda w: f"/science-day/review/province/{w.pending.id}", expect(404, **PROVINCE)),
    ("science_day.review_province_row",
     lambda w: f"/science-day/review/province/{w.pending.id}/row", expect(404, province_admin=R)),
    ("science_day.review_province_province_reject",
     lambda w: f"/science-day/review/province/{w.pending.id}/province_reject",
     expect(404, **PROVINCE)),
    ("science_day.review_national", lambda w: "/science-day/review/national/",
     expect(404, **NATIONAL)),
    ("science_day.review_national_detail",
     lambda w: f"/science-day/review/national/{w.national.id}", expect(404, **NATIONAL)),
    ("science_day.review_national_row",
     lambda w: f"/science-day/review/national/{w.national.id}/row",
     expect(404, national_admin=R, platform_admin=R)),
    ("science_day.review_national_national_reject",
     lambda w: f"/science-day/review/national/{w.national.id}/national_reject",
     expect(404, **NATIONAL)),
    ("science_day.review_supervisor", lambda w: "/science-day/review/supervisor/",
     expect(404, society_admin=200)),
    # the society admin's org is not this activity's 归口: 404 like everyone else's
    ("science_day.review_supervisor_detail",
     lambda w: f"/science-day/review/supervisor/{w.pending.id}", expect(404)),
    ("science_day.review_supervisor_row",
     lambda w: f"/science-day/review/supervisor/{w.pending.id}/row", expect(404)),
    ("science_day.review_region", lambda w: "/science-day/review/region/",
     expect(404, city_admin=200)),
    # a 广州 city admin and a 北京 activity
    ("science_day.review_region_detail",
     lambda w: f"/science-day/review/region/{w.pending.id}", expect(404)),
    ("science_day.review_region_row",
     lambda w: f"/science-day/review/region/{w.pending.id}/row", expect(404)),
    ("science_day.admin_editions", lambda w: "/science-day/admin/editions",
     expect(404, platform_admin=200)),
    ("science_day.review_province_export_csv",
     lambda w: "/science-day/review/province/export.csv",
     expect(404, province_admin=200, other_province_admin=200)),
    ("science_day.review_national_export_csv",
     lambda w: "/science-day/review/national/export.csv", expect(404, **NATIONAL)),
    ("science_day.review_supervisor_export_csv",
     lambda w: "/science-day/review/supervisor/export.csv", expect(404, society_admin=200)),
    ("science_day.review_region_export_csv",
     lambda w: "/science-day/review/region/export.csv", expect(404, city_admin=200)),
    # the public site: everyone, logged in or not; only approved, listed activities
    ("science_day.public_home", lambda w: "/science-day/", PUBLIC),
    ("science_day.public_list", lambda w: "/science-day/events/?q=上架&province=11", PUBLIC),
    ("science_day.public_detail", lambda w: f"/science-day/events/{_public(w).id}", PUBLIC),
    ("science_day.public_detail", lambda w: f"/science-day/events/{w.national.id}",
     dict.fromkeys(ROLES, 404)),
    ("science_day.public_detail",
     lambda w: f"/science-day/events/{_public(w, listed=False).id}",
     dict.fromkeys(ROLES, 404)),
    # no file of this activity: 404 (served images are covered in test_public.py)
    ("science_day.public_image",
     lambda w: f"/science-day/events/{_public(w).id}/images/1", dict.fromkeys(ROLES, 404)),
    # 上架/下架 panel: national admins, the provincial admin of the route province
    ("science_day.listing_panel", lambda w: f"/science-day/listing/{_public(w).id}",
     expect(404, **LISTING)),
    ("science_day.listing_panel", lambda w: f"/science-day/listing/{w.national.id}",
     expect(404)),   # not approved: nothing to list
    ("science_day.admin_settings",
     lambda w: f"/science-day/admin/editions/{w.pending.campaign_id}/settings",
     expect(404, platform_admin=200)),
    # info officers (apply_routes): everyone may certify and list their own; only the
    # owner reaches an activity; 发布活动 leads a non-officer to certification
    ("science_day.officer", lambda w: "/science-day/officer", expect(200)),
    # (403 for the officer: the world's edition uses the default, closed, filing window)
    ("science_day.new_activity", lambda w: "/science-day/activities/new",
     expect(R, officer=403)),
    ("science_day.my_activities", lambda w: "/science-day/activities/mine", expect(200)),
    ("science_day.view_activity", lambda w: f"/science-day/activities/{w.draft.id}",
     expect(404, officer=200)),
    # the filing window of the default settings is closed: the owner is sent to the view
    ("science_day.edit_activity", lambda w: f"/science-day/activities/{w.draft.id}/edit",
     expect(404, officer=R)),
    ("science_day.activity_org_suggest",
     lambda w: f"/science-day/activities/{w.draft.id}/org-suggest/hosts?q=某",
     expect(404, officer=200)),
    ("science_day.admin_officers", lambda w: "/science-day/admin/officers",
     expect(404, platform_admin=200)),
]

# (endpoint, url, data, allowed roles, changed(world) -> bool)
POST_ROUTES = [
    ("science_day.review_province_province_approve",
     lambda w: f"/science-day/review/province/{w.pending.id}/province_approve", {},
     {"province_admin"}, lambda w: w.pending.status != "province_pending"),
    ("science_day.review_province_province_reject",
     lambda w: f"/science-day/review/province/{w.pending.id}/province_reject",
     {"comment": "不规范"}, {"province_admin"},
     lambda w: w.pending.status != "province_pending"),
    ("science_day.review_province_bulk", lambda w: "/science-day/review/province/bulk",
     {"action": "province_approve", "confirmed": "1"}, {"province_admin"},
     lambda w: w.pending.status != "province_pending"),
    ("science_day.review_national_national_approve",
     lambda w: f"/science-day/review/national/{w.national.id}/national_approve", {},
     {"national_admin", "platform_admin"}, lambda w: w.national.status != "national_pending"),
    ("science_day.review_national_national_reject",
     lambda w: f"/science-day/review/national/{w.national.id}/national_reject",
     {"comment": "不规范"}, {"national_admin", "platform_admin"},
     lambda w: w.national.status != "national_pending"),
    ("science_day.review_national_bulk", lambda w: "/science-day/review/national/bulk",
     {"action": "national_approve", "confirmed": "1"}, {"national_admin", "platform_admin"},
     lambda w: w.national.status != "national_pending"),
    ("science_day.listing_delist", lambda w: f"/science-day/listing/{_public(w).id}/delist",
     {"reason": "信息有误"}, {"national_admin", "platform_admin", "province_admin"},
     lambda w: not _public_row(_public(w)).listed),
    ("science_day.listing_relist",
     lambda w: f"/science-day/listing/{_public(w, listed=False).id}/relist", {},
     {"national_admin", "platform_admin", "province_admin"},
     lambda w: _public_row(_public(w, listed=False)).listed),
    ("science_day.admin_editions", lambda w: "/science-day/admin/editions",
     {"year": "2027", "title": "2027年全国科普日"}, {"platform_admin"},
     lambda w: db.session.scalar(select(func.count(Campaign.id)).where(
         Campaign.kind == "science_day")) > 1),
]


def _export_started(w) -> bool:
    from kepu.jobs import Job

    return (db.session.scalar(select(func.count(Job.id))) or 0) > 0


POST_ROUTES += [
    (f"science_day.review_{key}_export", lambda w, key=key: f"/science-day/review/{key}/export.xlsx",
     {}, allowed, _export_started)
    for key, allowed in (("province", {"province_admin", "other_province_admin"}),
                         ("national", {"national_admin", "platform_admin"}),
                         ("supervisor", {"society_admin"}), ("region", {"city_admin"}))]

# The owner's writes on an activity: 404 for everyone else, nothing changes.
OWNER_POST_ROUTES = [
    ("science_day.edit_activity", lambda w: f"/science-day/activities/{w.draft.id}/edit",
     {"action": "draft", "name": "改"}),
    ("science_day.autosave_activity",
     lambda w: f"/science-day/activities/{w.draft.id}/autosave", {"name": "改"}),
    ("science_day.activity_org_list",
     lambda w: f"/science-day/activities/{w.draft.id}/org-list/hosts", {"add": "1"}),
    ("science_day.discard_edit", lambda w: f"/science-day/activities/{w.draft.id}/discard", {}),
    ("science_day.delete_activity", lambda w: f"/science-day/activities/{w.draft.id}/delete",
     {}),
]
# Undo routes: refused for everyone here (nothing was decided yet); success is covered in
# tests/science_day/test_review.py.
UNDO_ROUTES = [
    ("science_day.review_province_province_unapprove",
     lambda w: f"/science-day/review/province/{w.national.id}/province_unapprove"),
    ("science_day.review_province_province_unreject",
     lambda w: f"/science-day/review/province/{w.pending.id}/province_unreject"),
    ("science_day.review_national_national_unapprove",
     lambda w: f"/science-day/review/national/{w.national.id}/national_unapprove"),
    ("science_day.review_national_national_unreject",
     lambda w: f"/science-day/review/national/{w.national.id}/national_unreject"),
]


def login(client, auth, world, role):
    if role != "anonymous":
        auth.login_as(world.users[role])


def check(resp, expected):
    if expected == R:
        assert resp.status_code in (302, 303), resp.status_code
        assert "/account/login" not in resp.headers.get("Location", "")
    elif expected == L:
        assert resp.status_code in (302, 303), resp.status_code
        assert "/account/login" in resp.headers["Location"]
    else:
        assert resp.status_code == expected, (resp.status_code,
                                              resp.get_data(as_text=True)[:300])


def _ids(w):
    return [str(w.pending.id), str(w.national.id), str(w.draft.id)]


@pytest.mark.parametrize("endpoint,url,expected", GET_ROUTES, ids=[r[0] for r in GET_ROUTES])
def test_get_matrix(app, world, endpoint, url, expected):
    def probe(client, auth, role):
        login(client, auth, world, role)
        check(client.get(url(world)), expected[role])

    for_each_role(app, ROLES, probe)


@pytest.mark.parametrize("endpoint,url,data,allowed,changed", POST_ROUTES,
                         ids=[r[0] for r in POST_ROUTES])
def test_post_refusals_change_nothing(app, world, endpoint, url, data, allowed, changed):
    """Every role outside ``allowed`` is refused and changes nothing (one world for all)."""
    def probe(client, auth, role):
        login(client, auth, world, role)
        resp = client.post(url(world), data={**data, "ids": _ids(world)})
        if role == "anonymous":
            check(resp, L)
        elif endpoint.endswith("_bulk") and resp.status_code in (302, 303):
            pass  # a bulk outside one's scope finds nothing to do ("请先勾选…")
        else:
            assert resp.status_code == 404, (role, resp.status_code)
        db.session.expire_all()
        assert not changed(world), f"{role} changed an activity through {endpoint}"

    for_each_role(app, [r for r in ROLES if r not in allowed], probe)


@pytest.mark.parametrize("endpoint,url,data,allowed,changed", POST_ROUTES,
                         ids=[r[0] for r in POST_ROUTES])
def test_post_allowed_roles_succeed(client, auth, world, endpoint, url, data, allowed, changed):
    for role in sorted(allowed)[:1]:
        login(client, auth, world, role)
        resp = client.post(url(world), data={**data, "ids": _ids(world)})
        assert resp.status_code in (200, 302, 303), resp.get_data(as_text=True)[:300]
        db.session.expire_all()
        assert changed(world), f"{endpoint} did nothing for {role}"


@pytest.mark.parametrize("endpoint,url", UNDO_ROUTES, ids=[r[0] for r in UNDO_ROUTES])
def test_undo_without_a_decision_is_refused(app, world, endpoint, url):
    def probe(client, auth, role):
        login(client, auth, world, role)
        before = (world.pending.status, world.national.status)
        resp = client.post(url(world))
        assert resp.status_code in ((302,) if role == "anonymous" else (404, 409))
        db.session.expire_all()
        assert (world.pending.status, world.national.status) == before

    for_each_role(app, ROLES, probe)


@pytest.mark.parametrize("endpoint,url,data", OWNER_POST_ROUTES,
                         ids=[r[0] for r in OWNER_POST_ROUTES])
def test_owner_routes_refuse_everyone_else(app, world, endpoint, url, data):
    def probe(client, auth, role):
        login(client, auth, world, role)
        resp = client.post(url(world), data={**data, "version": str(world.draft.version)})
        check(resp, L if role == "anonymous" else 404)
        db.session.expire_all()
        assert db.session.get(Activity, world.draft.id).name == "草稿"

    for_each_role(app, [r for r in ROLES if r != "officer"], probe)


@pytest.mark.parametrize("role", ROLES)
def test_officer_revoke_is_for_platform_admins(client, auth, world, role):
    from kepu.science_day.models import InfoOfficer

    row = InfoOfficer(user_id=world.users["officer"].id, unit_name="某馆")
    db.session.add(row)
    db.session.commit()
    login(client, auth, world, role)
    resp = client.post(f"/science-day/admin/officers/{row.id}/revoke", data={"reason": "测试"})
    db.session.expire_all()
    revoked = db.session.get(InfoOfficer, row.id).revoked_at is not None
    if role == "platform_admin":
        assert resp.status_code == 303 and revoked
    else:
        check(resp, L if role == "anonymous" else 404)
        assert not revoked


def covered() -> set[str]:
    return ({r[0] for r in GET_ROUTES} | {r[0] for r in POST_ROUTES}
            | {r[0] for r in UNDO_ROUTES} | {r[0] for r in OWNER_POST_ROUTES}
            | {"science_day.admin_officer_revoke"} | _covered_by_part_matrices())


def _covered_by_part_matrices() -> set[str]:
    """Endpoints whose rows live in a part's own matrix, tests/science_day/
    test_permissions_<part>.py (each module lists them in ``ENDPOINTS``)."""
    import importlib.util
    import sys
    from pathlib import Path

    folder = Path(__file__).parent / "science_day"
    if str(folder) not in sys.path:      # their helpers (e.g. sd_media) live there
        sys.path.insert(0, str(folder))
    found: set[str] = set()
    for path in sorted(folder.glob("test_permissions_*.py")):
        spec = importlib.util.spec_from_file_location(f"_sd_matrix_{path.stem}", path)
        module = importlib.util.module_from_spec(spec)
        sys.modules[spec.name] = module      # dataclasses look their module up there
        spec.loader.exec_module(module)
        found |= set(getattr(module, "ENDPOINTS", ()))
    return found


def test_every_science_day_route_is_in_the_matrix(app):
    routes = {r.endpoint for r in app.url_map.iter_rules()
              if r.endpoint.startswith("science_day.")}
    missing = routes - covered()
    assert not missing, f"science_day routes missing from the matrix: {sorted(missing)}"

