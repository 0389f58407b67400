"""下载资源 and 年度工作总结 (issue 12): every role × every route of resource_routes and
annual_routes, including another province's report (404). Refusals change nothing; the
role a route is for succeeds. ``test_every_route_of_these_modules_is_in_the_matrix``
fails when a route is added to either module without a row here.
"""
from __future__ import annotations

from dataclasses import dataclass

import pytest
from sqlalchemy import func, select

from kepu.admin.models import Campaign
from kepu.extensions import db
from kepu.files.models import StoredFile
from kepu.jobs import Job
from kepu.orgs.models import Org
from kepu.science_day.after_models import AnnualReport, Resource
from kepu.timeutil import utcnow

ROLES = ["anonymous", "officer", "province_admin", "other_province_admin", "national_admin",
         "society_admin", "city_admin", "platform_admin"]
L = "login"
OPEN = {"windows": {"annual_report": {"open": "2020-01-01 00:00", "close": "2099-12-31 23:59"}}}
PDF = b"%PDF-1.4\n1 0 obj<<>>endobj\ntrailer<<>>\n%%EOF\n"


@dataclass
class World:
    users: dict
    campaign: Campaign
    resource: Resource     # with a file
    report: AnnualReport   # 北京's, filed
    other: AnnualReport    # 广东's, filed


@pytest.fixture
def world(app, make_user) -> World:
    campaign = Campaign(kind="science_day", year=2026, title="2026年全国科普日",
                        settings=dict(OPEN))
    society = Org(name="中国科普作家协会", kind="全国学会")
    db.session.add_all([campaign, society])
    db.session.commit()
    users = {
        "officer": make_user("13900000951", roles=["info_officer"]),
        "province_admin": make_user("13900000952",
                                    roles=[("provincial_admin", {"region_code": "11"})]),
        "other_province_admin": make_user("13900000953",
                                          roles=[("provincial_admin", {"region_code": "44"})]),
        "national_admin": make_user("13900000954", roles=["national_admin"]),
        "society_admin": make_user("13900000955",
                                   roles=[("society_admin", {"org_id": society.id})]),
        "city_admin": make_user("13900000956", roles=[("city_admin", {"region_code": "4401"})]),
        "platform_admin": make_user("13900000957", roles=["platform_admin"]),
    }
    stored = StoredFile(owner_id=users["national_admin"].id, field=f"sd_res:{campaign.id}:file",
                        original_name="指南.pdf", stored_name="perm-guide.pdf", ext="pdf",
                        content_type="application/pdf", size=len(PDF), sha256="x" * 64)
    db.session.add(stored)
    db.session.flush()
    from kepu.files.storage import path_for

    path = path_for(stored.stored_name)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(PDF)
    resource = Resource(campaign_id=campaign.id, kind="guide", title="平台操作指南",
                        file_id=stored.id, position=1)
    db.session.add(resource)
    db.session.flush()
    stored.entity_type, stored.entity_id = "sd_resource", resource.id
    report = AnnualReport(campaign_id=campaign.id, scope_key="province:11", region_code="11",
                          scope_name="北京市科协", text="北京总结", filed_at=utcnow())
    other = AnnualReport(campaign_id=campaign.id, scope_key="province:44", region_code="44",
                         scope_name="广东省科协", text="广东总结", filed_at=utcnow())
    db.session.add_all([report, other])
    db.session.commit()
    return World(users, campaign, resource, report, other)


def expect(default, **overrides):
    table = dict.fromkeys(ROLES, default)
    table["anonymous"] = L
    table.update(overrides)
    return table


MANAGERS = dict(national_admin=200, platform_admin=200)
FILERS = dict(province_admin=200, other_province_admin=200, society_admin=200)

GET_ROUTES = [
    ("science_day.public_resources", lambda w: "/science-day/resources",
     dict.fromkeys(ROLES, 200)),
    ("science_day.resource_file", lambda w: f"/science-day/resources/{w.resource.id}/file",
     dict.fromkeys(ROLES, 200)),
    ("science_day.admin_resources", lambda w: "/science-day/admin/resources",
     expect(404, **MANAGERS)),
    ("science_day.admin_resource_edit",
     lambda w: f"/science-day/admin/resources/{w.resource.id}/edit", expect(404, **MANAGERS)),
    ("science_day.annual_report", lambda w: "/science-day/annual", expect(404, **FILERS)),
    # another province's scope: only its own admin
    ("science_day.annual_report", lambda w: "/science-day/annual?scope=province:11",
     expect(404, province_admin=200)),
    ("science_day.annual_list", lambda w: "/science-day/admin/annual", expect(404, **MANAGERS)),
    ("science_day.annual_view", lambda w: f"/science-day/admin/annual/{w.report.id}",
     expect(404, **MANAGERS)),
    ("science_day.annual_view", lambda w: f"/science-day/admin/annual/{w.other.id}",
     expect(404, **MANAGERS)),
]


def _resource_state(w):
    db.session.expire_all()
    r = db.session.get(Resource, w.resource.id)
    return None if r is None else (r.title, r.position, r.kind)


def _report_text(w):
    db.session.expire_all()
    return db.session.get(AnnualReport, w.report.id).text


def _resources():
    return db.session.scalar(select(func.count(Resource.id)))


def _jobs():
    return db.session.scalar(select(func.count(Job.id)))


# (endpoint, url, data, roles allowed, changed(world, before))
POST_ROUTES = [
    ("science_day.admin_resource_add", lambda w: "/science-day/admin/resources",
     {"title": "新资源", "kind": "other", "url": "https://a.example/x"},
     {"national_admin", "platform_admin"},
     lambda w, b: _resources() > b[3]),
    ("science_day.admin_resource_edit",
     lambda w: f"/science-day/admin/resources/{w.resource.id}/edit",
     {"title": "改名", "kind": "guide", "url": "", "resource_file": "0"},
     {"national_admin", "platform_admin"},
     lambda w, b: _resource_state(w) != b),
    ("science_day.admin_resource_move",
     lambda w: f"/science-day/admin/resources/{w.resource.id}/move", {"direction": "down"},
     {"national_admin", "platform_admin"}, None),
    ("science_day.admin_resource_delete",
     lambda w: f"/science-day/admin/resources/{w.resource.id}/delete", {},
     {"national_admin", "platform_admin"}, lambda w, b: _resource_state(w) is None),
    ("science_day.annual_report", lambda w: "/science-day/annual",
     {"scope": "province:11", "version": "0", "text": "改写", "action": "draft"},
     {"province_admin"}, lambda w, b: _report_text(w) == "改写"),
    ("science_day.annual_autosave", lambda w: "/science-day/annual/autosave",
     {"scope": "province:11", "version": "0", "text": "改写"},
     {"province_admin"}, lambda w, b: _report_text(w) == "改写"),
    ("science_day.annual_export", lambda w: "/science-day/admin/annual/export.zip", {},
     {"national_admin", "platform_admin"}, lambda w, b: _jobs() > b[1]),
]


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


@pytest.mark.parametrize("role", ROLES)
@pytest.mark.parametrize("endpoint,url,expected", GET_ROUTES,
                         ids=[f"{r[0]}-{i}" for i, r in enumerate(GET_ROUTES)])
def test_get_matrix(client, auth, world, role, endpoint, url, expected):
    login(client, auth, world, role)
    check(client.get(url(world)), expected[role])


def _before(w):
    return (_resource_state(w), _jobs(), _report_text(w), _resources())


def _refusals():
    return [(role, *row) for row in POST_ROUTES for role in ROLES if role not in row[3]]


@pytest.mark.parametrize("role,endpoint,url,data,allowed,changed", _refusals(),
                         ids=[f"{r[1]}-{r[0]}" for r in _refusals()])
def test_post_refusals_change_nothing(client, auth, world, role, endpoint, url, data,
                                      allowed, changed):
    login(client, auth, world, role)
    before = _before(world)
    resp = client.post(url(world), data=data)
    check(resp, L if role == "anonymous" else 404)
    assert _before(world) == before, f"{role} changed something through {endpoint}"


@pytest.mark.parametrize("endpoint,url,data,allowed,changed", POST_ROUTES,
                         ids=[r[0] for r in POST_ROUTES])
def test_post_allowed_roles_succeed(client, auth, world, endpoint, url, data, allowed,
                                    changed):
    for role in sorted(allowed):
        login(client, auth, world, role)
        before = _before(world)
        data = dict(data)
        if "version" in data:
            db.session.expire_all()
            data["version"] = str(db.session.get(AnnualReport, world.report.id).version)
        if endpoint == "science_day.admin_resource_edit":
            data["resource_file"] = str(world.resource.file_id)
            data["title"] = f"改名-{role}"
            db.session.expire_all()
            data["stamp"] = db.session.get(Resource, world.resource.id).updated_at.isoformat()
        if endpoint == "science_day.admin_resource_move":
            # a second row below, so that moving down changes the order
            db.session.add(Resource(campaign_id=world.campaign.id, kind="guide",
                                    title=f"下一个-{role}", url="https://a.example", position=9))
            db.session.commit()
        resp = client.post(url(world), data=data)
        assert resp.status_code in (200, 302, 303), resp.get_data(as_text=True)[:300]
        if endpoint == "science_day.admin_resource_move":
            db.session.expire_all()
            assert _resource_state(world)[1] != before[0][1] or role != sorted(allowed)[0]
        elif changed is not None:
            assert changed(world, before), f"{endpoint} did nothing for {role}"
        if endpoint == "science_day.admin_resource_delete":
            break


# read by tests/test_permissions_science_day.py (every science_day route has a row)
ENDPOINTS = {r[0] for r in GET_ROUTES} | {r[0] for r in POST_ROUTES}


def test_every_route_of_these_modules_is_in_the_matrix(app):
    from kepu.science_day import annual_routes, resource_routes

    mine = {r.endpoint for r in app.url_map.iter_rules()
            if r.endpoint.startswith("science_day.")
            and getattr(app.view_functions[r.endpoint], "__module__", "") in (
                annual_routes.__name__, resource_routes.__name__)}
    assert mine, "no routes found"
    covered = {r[0] for r in GET_ROUTES} | {r[0] for r in POST_ROUTES}
    assert not mine - covered, f"missing from the matrix: {sorted(mine - covered)}"


def test_an_attachment_of_another_province_is_404(client, auth, world):
    stored = StoredFile(owner_id=world.users["province_admin"].id,
                        field=f"sd_annual:{world.campaign.id}:attachment",
                        original_name="北京.pdf", stored_name="perm-bj.pdf", ext="pdf",
                        content_type="application/pdf", size=len(PDF), sha256="y" * 64,
                        entity_type="annual_report", entity_id=world.report.id)
    db.session.add(stored)
    db.session.commit()
    from kepu.files.storage import path_for

    path_for(stored.stored_name).write_bytes(PDF)
    for role, status in [("other_province_admin", 404), ("society_admin", 404),
                         ("city_admin", 404), ("national_admin", 200),
                         ("province_admin", 200)]:
        login(client, auth, world, role)
        assert client.get(f"/files/{stored.id}").status_code == status, role
