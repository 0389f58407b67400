"""Permission matrix of the thank-you SMS admin page (kepu/science_day/thanks_routes.py):
every route × every role. Platform admins and national admins (中国科协) only; every
other role gets 404 and changes nothing; anonymous visitors go to the login page. A
campaign of another kind, or one that does not exist, is 404 even for the admins."""
from __future__ import annotations

import pytest
from sqlalchemy import func, select

from kepu.admin.models import Campaign
from kepu.extensions import db
from kepu.science_day import thanks as T
from kepu.science_day.after_models import ScientistThanks
from kepu.workflow import AuditLog

ROLES = ["anonymous", "officer", "other", "province_admin", "national_admin",
         "society_admin", "city_admin", "platform_admin"]
ADMINS = {"national_admin", "platform_admin"}

#: every endpoint of thanks_routes.py (the science_day matrix counts these as covered)
ENDPOINTS = {"science_day.admin_thanks", "science_day.admin_thanks_settings",
             "science_day.admin_thanks_pause", "science_day.admin_thanks_resume",
             "science_day.admin_thanks_retry", "science_day.admin_thanks_send"}


@pytest.fixture
def world(app, make_user):
    from kepu.orgs.models import Org

    campaign = Campaign(kind="science_day", year=2026, title="2026年全国科普日",
                        settings={"thanks_sms": {"paused": False}})
    works = Campaign(kind="works", year=2026, title="2026年作品征集", settings={})
    society = Org(name="中国科普作家协会", kind="全国学会")
    db.session.add_all([campaign, works, society])
    db.session.commit()
    db.session.add(ScientistThanks(campaign_id=campaign.id, phone="13800000001", name="张院士",
                                   status="failed", attempts=3))
    db.session.commit()
    users = {
        "officer": make_user("13900000901", roles=["info_officer"]),
        "other": make_user("13900000902"),
        "province_admin": make_user("13900000903",
                                    roles=[("provincial_admin", {"region_code": "11"})]),
        "national_admin": make_user("13900000904", roles=["national_admin"]),
        "society_admin": make_user("13900000905",
                                   roles=[("society_admin", {"org_id": society.id})]),
        "city_admin": make_user("13900000906", roles=[("city_admin", {"region_code": "4401"})]),
        "platform_admin": make_user("13900000907", roles=["platform_admin"]),
    }
    return {"campaign": campaign, "works": works, "users": users}


def login(client, auth, world, role):
    if role != "anonymous":
        auth.login_as(world["users"][role])


def _cfg(world):
    db.session.expire_all()
    return T.config_of(db.session.get(Campaign, world["campaign"].id).settings)


def _audits(world):
    return db.session.scalar(select(func.count(AuditLog.id)).where(
        AuditLog.entity_type == "campaign"))


def _row(world):
    db.session.expire_all()
    return db.session.scalar(select(ScientistThanks))


# (endpoint, path, data, changed(world) -> bool)
POSTS = [
    ("science_day.admin_thanks_pause", "pause", {}, lambda w: _cfg(w).paused),
    ("science_day.admin_thanks_retry", "retry", {}, lambda w: _row(w).status == "pending"),
    ("science_day.admin_thanks_send", "send", {}, lambda w: _audits(w) > 0),
    ("science_day.admin_thanks_settings", "settings",
     {"enabled": "y", "sign": "中国科协", "text": "{name}您好", "max_attempts": "4"},
     lambda w: _cfg(w).sign == "中国科协"),
]


@pytest.mark.parametrize("role", ROLES)
def test_page(client, auth, world, role):
    login(client, auth, world, role)
    resp = client.get("/science-day/admin/thanks")
    if role == "anonymous":
        assert resp.status_code in (302, 303) and "/account/login" in resp.headers["Location"]
    elif role in ADMINS:
        assert resp.status_code == 200 and "张院士" in resp.get_data(as_text=True)
    else:
        assert resp.status_code == 404


def _post(client, world, path, data, campaign=None):
    campaign = campaign or world["campaign"]
    if path == "settings":
        data = {**data, "digest": T.settings_digest(campaign)}
    return client.post(f"/science-day/admin/thanks/{campaign.id}/{path}", data=data)


@pytest.mark.parametrize("role", ROLES)
@pytest.mark.parametrize("endpoint,path,data,changed", POSTS, ids=[p[0] for p in POSTS])
def test_posts(client, auth, world, role, endpoint, path, data, changed):
    login(client, auth, world, role)
    resp = _post(client, world, path, data)
    if role == "anonymous":
        assert resp.status_code in (302, 303) and "/account/login" in resp.headers["Location"]
    elif role in ADMINS:
        assert resp.status_code == 303, resp.get_data(as_text=True)[:300]
        assert changed(world), f"{endpoint} did nothing for {role}"
        return
    else:
        assert resp.status_code == 404
    assert not changed(world), f"{role} changed something through {endpoint}"


@pytest.mark.parametrize("role", ROLES)
def test_resume(client, auth, world, role):
    T.store_settings(world["campaign"], None, "thanks_pause", paused=True)
    login(client, auth, world, role)
    resp = _post(client, world, "resume", {})
    if role in ADMINS:
        assert resp.status_code == 303 and not _cfg(world).paused
    else:
        assert resp.status_code == (302 if role == "anonymous" else 404)
        assert _cfg(world).paused


@pytest.mark.parametrize("role", sorted(ADMINS))
@pytest.mark.parametrize("path", ["pause", "resume", "retry", "send", "settings"])
def test_other_kinds_of_campaign_are_404(client, auth, world, role, path):
    login(client, auth, world, role)
    assert _post(client, world, path, {}, campaign=world["works"]).status_code == 404
    assert client.post(f"/science-day/admin/thanks/99999/{path}").status_code == 404
    db.session.expire_all()
    assert not (db.session.get(Campaign, world["works"].id).settings or {})


def test_every_thanks_route_is_here(app):
    routes = {r.endpoint for r in app.url_map.iter_rules()
              if r.endpoint.startswith("science_day.admin_thanks")}
    assert routes == ENDPOINTS
