"""Every role × every route, including other people's objects.

Roles: anonymous, a plain applicant, a recommender-unit admin, another user and the
platform admin. The expectations are a table; ``test_every_route_is_in_the_matrix``
fails when a route is added without a row here.
"""
from __future__ import annotations

import io
from dataclasses import dataclass

import pytest
from sqlalchemy import func, select

from kepu import jobs
from kepu.accounts.models import Grant, User
from kepu.extensions import db
from kepu.files.models import StoredFile
from kepu.jobs import Job
from kepu.orgs.models import Org, UnitApplication
from tests.conftest import for_each_role

ROLES = ["anonymous", "applicant", "unit_admin", "other", "platform_admin"]

def _png() -> bytes:
    from PIL import Image

    buf = io.BytesIO()
    Image.new("RGB", (4, 2), "white").save(buf, "PNG")
    return buf.getvalue()


PNG = _png()


@jobs.file_kind("matrix.note")
def _matrix_note(user, params) -> jobs.FileSpec:
    """A file job kind for the matrix: a small text file for its requester."""
    return jobs.FileSpec("说明.txt", lambda out, progress: out.write("导出".encode()))


@dataclass
class World:
    users: dict
    org: Org
    dup: Org
    application: UnitApplication
    file: StoredFile
    grant: Grant
    job: Job


@pytest.fixture
def world(app, make_user) -> World:
    org = Org(name="北京市科学技术协会", kind="省级科协", region_code="11")
    dup = Org(name="北京市科协", kind="其他", status="pending")
    db.session.add_all([org, dup])
    db.session.commit()
    users = {
        "applicant": make_user("13900000001", name="申报者"),
        "unit_admin": make_user("13900000002", roles=[("unit_admin", {"org_id": org.id})]),
        "other": make_user("13900000003"),
        "platform_admin": make_user("13900000004", roles=["platform_admin"]),
    }
    application = UnitApplication(user_id=users["applicant"].id, org_id=org.id,
                                  contact_name="张三")
    db.session.add(application)
    from kepu.files.operations import save_upload
    from werkzeug.datastructures import FileStorage

    stored = save_upload("image", FileStorage(io.BytesIO(PNG), filename="封面.png",
                                              content_type="image/png"), users["applicant"])
    db.session.commit()
    grant = users["unit_admin"].grants[0]
    # the applicant's finished export (a job: only its requester sees it)
    job = jobs.start_file_job("matrix.note", users["applicant"], {}, "测试导出")
    db.session.expire_all()
    assert job.status == "done"
    return World(users, org, dup, application, stored, grant, job)


def as_role(client, auth, world, role):
    if role != "anonymous":
        auth.login_as(world.users[role])
    return client


# (method, url builder, {role: expected status}) — "login" means a redirect to login.
L = "login"
PUBLIC = dict.fromkeys(ROLES, 200)
LOGGED_IN = {"anonymous": L, "applicant": 200, "unit_admin": 200, "other": 200,
             "platform_admin": 200}
R = "redirect"  # a 303 elsewhere (e.g. logged-in users away from the login page)
ANON_FORM = {"anonymous": 200, "applicant": R, "unit_admin": R, "other": R,
             "platform_admin": R}
ADMIN = {"anonymous": L, "applicant": 404, "unit_admin": 404, "other": 404,
         "platform_admin": 200}
REQUESTER = {"anonymous": L, "applicant": 200, "unit_admin": 404, "other": 404,
             "platform_admin": 404}

GET_ROUTES = [
    ("main.index", lambda w: "/", PUBLIC),
    ("main.healthz", lambda w: "/healthz", PUBLIC),
    ("accounts.login", lambda w: "/account/login", ANON_FORM),
    ("accounts.register", lambda w: "/account/register", ANON_FORM),
    ("accounts.reset_password", lambda w: "/account/reset", PUBLIC),
    ("orgs.channels", lambda w: "/orgs/channels", PUBLIC),
    ("orgs.channel_options", lambda w: "/orgs/channels/options?unit_type=高校科协", PUBLIC),
    ("orgs.regions", lambda w: "/orgs/regions?province=44", PUBLIC),
    ("orgs.autocomplete", lambda w: "/orgs/autocomplete?q=北京&field=org_id", PUBLIC),
    ("orgs.pick", lambda w: f"/orgs/pick?id={w.org.id}&field=org_id", PUBLIC),
    ("main.workbench", lambda w: "/workbench", LOGGED_IN),
    ("accounts.profile", lambda w: "/account/", LOGGED_IN),
    ("accounts.change_password", lambda w: "/account/password", LOGGED_IN),
    ("accounts.realname", lambda w: "/account/realname", LOGGED_IN),
    ("files.mine", lambda w: "/files/", LOGGED_IN),
    ("orgs.apply_unit", lambda w: "/orgs/apply", LOGGED_IN),
    ("orgs.my_units", lambda w: "/orgs/mine", LOGGED_IN),
    ("admin.index", lambda w: "/admin/", ADMIN),
    ("admin.users", lambda w: "/admin/users", ADMIN),
    ("admin.user_detail", lambda w: f"/admin/users/{w.users['applicant'].id}", ADMIN),
    ("orgs.admin_orgs", lambda w: "/orgs/admin/", ADMIN),
    ("orgs.admin_org_edit", lambda w: f"/orgs/admin/{w.org.id}", ADMIN),
    ("orgs.admin_org_merge", lambda w: f"/orgs/admin/{w.org.id}/merge", ADMIN),
    ("orgs.admin_applications", lambda w: "/orgs/admin/applications", ADMIN),
    ("orgs.admin_application_reject",
     lambda w: f"/orgs/admin/applications/{w.application.id}/reject", ADMIN),
    ("orgs.admin_application_row",
     lambda w: f"/orgs/admin/applications/{w.application.id}/row",
     {**ADMIN, "platform_admin": R}),  # a fragment URL: plain requests go to the list
    ("orgs.admin_import", lambda w: "/orgs/admin/import", ADMIN),
    ("orgs.admin_import_template", lambda w: "/orgs/admin/import/template.xlsx", ADMIN),
    ("orgs.admin_certifications", lambda w: "/orgs/admin/certifications", ADMIN),
    ("orgs.admin_certification_template",
     lambda w: "/orgs/admin/certifications/template/edu-base.xlsx", ADMIN),
    ("orgs.admin_supervisor_check",
     lambda w: f"/orgs/admin/supervisor?category=省科协&supervisor_id={w.org.id}&check=1", ADMIN),
    # someone's own object: the applicant's uploaded file
    ("files.download", lambda w: f"/files/{w.file.id}",
     {"anonymous": 404, "applicant": 200, "unit_admin": 404, "other": 404,
      "platform_admin": 200}),
    # jobs: the list is everyone's own; a job only its requester's (admins neither)
    ("jobs.mine", lambda w: "/jobs/", LOGGED_IN),
    ("jobs.show", lambda w: f"/jobs/{w.job.id}", REQUESTER),
    ("jobs.download", lambda w: f"/jobs/{w.job.id}/download", REQUESTER),
]

# POSTs that change something: (endpoint, url, data, {role: expected}, changed(world) -> bool)
ADMIN_POST = {"anonymous": L, "applicant": 404, "unit_admin": 404, "other": 404}


def _grant_exists(w):
    return db.session.get(Grant, w.grant.id) is not None


POST_ROUTES = [
    ("admin.grant_add", lambda w: f"/admin/users/{w.users['other'].id}/grants",
     lambda w: {"role": "platform_admin"}, ADMIN_POST,
     lambda w: db.session.scalar(select(func.count()).select_from(Grant).where(
         Grant.user_id == w.users["other"].id)) > 0),
    ("admin.grant_remove",
     lambda w: f"/admin/users/{w.users['unit_admin'].id}/grants/{w.grant.id}/delete",
     lambda w: {}, ADMIN_POST, lambda w: not _grant_exists(w)),
    ("admin.user_toggle_active",
     lambda w: f"/admin/users/{w.users['other'].id}/toggle-active", lambda w: {},
     ADMIN_POST, lambda w: not db.session.get(User, w.users["other"].id).active),
    ("orgs.admin_org_review", lambda w: f"/orgs/admin/{w.dup.id}/review",
     lambda w: {"action": "approve"}, ADMIN_POST,
     lambda w: db.session.get(Org, w.dup.id).status == "active"),
    ("orgs.admin_org_edit", lambda w: f"/orgs/admin/{w.org.id}",
     lambda w: {"name": "被篡改", "kind": "其他"}, ADMIN_POST,
     lambda w: db.session.get(Org, w.org.id).name == "被篡改"),
    ("orgs.admin_org_merge", lambda w: f"/orgs/admin/{w.dup.id}/merge",
     lambda w: {"other_id": str(w.org.id), "keep": "other"}, ADMIN_POST,
     lambda w: db.session.get(Org, w.dup.id).status == "merged"),
    ("orgs.admin_application_approve",
     lambda w: f"/orgs/admin/applications/{w.application.id}/approve", lambda w: {},
     ADMIN_POST, lambda w: db.session.get(UnitApplication, w.application.id).status != "pending"),
    ("orgs.admin_application_reject",
     lambda w: f"/orgs/admin/applications/{w.application.id}/reject",
     lambda w: {"comment": "不符合"}, ADMIN_POST,
     lambda w: db.session.get(UnitApplication, w.application.id).status != "pending"),
    ("orgs.admin_import", lambda w: "/orgs/admin/import",
     lambda w: {"file": (io.BytesIO("名称,类别\n新单位甲,其他\n".encode()), "orgs.csv")},
     ADMIN_POST, lambda w: db.session.scalar(select(Org).where(Org.name == "新单位甲")) is not None),
    ("orgs.admin_certifications", lambda w: "/orgs/admin/certifications",
     lambda w: {"list_key": "edu-base", "batch": "第一批",
                "file": (io.BytesIO("单位名称\n新基地甲\n".encode()), "bases.csv")},
     ADMIN_POST, lambda w: db.session.scalar(select(Org).where(Org.name == "新基地甲")) is not None),
    # another user's file cannot be deleted by anyone but its owner (admins neither)
    ("files.delete", lambda w: f"/files/{w.file.id}/delete", lambda w: {},
     {"anonymous": L, "unit_admin": 404, "other": 404, "platform_admin": 404},
     lambda w: db.session.get(StoredFile, w.file.id) is None),
    ("orgs.add", lambda w: "/orgs/add", lambda w: {"add_name": "匿名添加的单位"},
     {"anonymous": L}, lambda w: db.session.scalar(
         select(Org).where(Org.name == "匿名添加的单位")) is not None),
    ("files.upload", lambda w: "/files/upload",
     lambda w: {"field": "image", "file": (io.BytesIO(PNG), "a.png")}, {"anonymous": L},
     lambda w: db.session.scalar(select(func.count()).select_from(StoredFile)) > 1),
    # 重新导出 a job: only its requester
    ("jobs.retry", lambda w: f"/jobs/{w.job.id}/retry", lambda w: {},
     {"anonymous": L, "unit_admin": 404, "other": 404, "platform_admin": 404},
     lambda w: db.session.scalar(select(func.count()).select_from(Job)) > 1),
]

# Routes whose access is covered by their own area's tests (forms for everyone;
# 退出所有设备: tests/accounts/test_account_sessions.py).
OPEN_POSTS = {"accounts.login", "accounts.logout", "accounts.logout_everywhere",
              "accounts.register",
              "accounts.reset_password", "sms.send_code", "accounts.profile",
              "accounts.change_password", "accounts.realname", "orgs.apply_unit",
              # a view preference of any logged-in user: tests/works/test_edition_switch.py
              "main.view_edition"}


def check(resp, expected):
    if expected == R:
        assert resp.status_code in (302, 303), resp.status_code
        assert "/account/login" not in resp.headers["Location"]
    elif expected == L:
        assert resp.status_code in (302, 303), resp.status_code
        assert "/account/login" in resp.headers["Location"]
    else:
        assert resp.status_code == expected, (resp.status_code, resp.get_data(as_text=True)[:300])


@pytest.mark.parametrize("endpoint,url,expected", GET_ROUTES, ids=[r[0] for r in GET_ROUTES])
def test_get_matrix(app, world, endpoint, url, expected):
    def probe(client, auth, role):
        as_role(client, auth, world, role)
        check(client.get(url(world)), expected[role])

    for_each_role(app, ROLES, probe)



@pytest.mark.parametrize("endpoint,url,data,expected,changed", POST_ROUTES,
                         ids=[r[0] for r in POST_ROUTES])
def test_post_matrix_refusals_change_nothing(app, world, endpoint, url, data, expected,
                                             changed):
    """Every role in ``expected`` is refused and changes nothing (one world for all)."""
    def probe(client, auth, role):
        as_role(client, auth, world, role)
        resp = client.post(url(world), data=data(world), content_type="multipart/form-data")
        check(resp, expected[role])
        db.session.expire_all()
        assert not changed(world), f"{role} changed state through {endpoint}"

    for_each_role(app, [r for r in ROLES if r in expected], probe)


@pytest.mark.parametrize("endpoint,url,data,expected,changed", POST_ROUTES,
                         ids=[r[0] for r in POST_ROUTES])
def test_post_matrix_allowed_role_succeeds(client, auth, world, endpoint, url, data,
                                           expected, changed):
    """The role the route is for does change state (so the refusals above mean something)."""
    allowed = [r for r in ROLES if r not in expected]
    role = "platform_admin" if "platform_admin" in allowed else allowed[0]
    as_role(client, auth, world, role)
    resp = client.post(url(world), data=data(world), content_type="multipart/form-data")
    assert resp.status_code in (200, 303, 302), resp.status_code
    db.session.expire_all()
    assert changed(world), f"{role} could not use {endpoint}"


def test_every_route_is_in_the_matrix(app):
    covered = {r[0] for r in GET_ROUTES} | {r[0] for r in POST_ROUTES} | OPEN_POSTS | {"static"}
    # works.*, cases.* and science_day.* have their own matrix files
    missing = {r.endpoint for r in app.url_map.iter_rules()
               if not r.endpoint.startswith(("works.", "cases.", "science_day."))} - covered
    assert not missing, f"routes missing from the permission matrix: {sorted(missing)}"
