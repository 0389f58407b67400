"""补充活动信息: every role × every route of kepu/science_day/supplement_routes.py. Only the
owner of the activity reaches them; everyone else (another info officer, every admin,
the platform admin) gets 404 and changes nothing; anonymous users are sent to log in.
``COVERED`` names these endpoints for the blueprint-wide check in
tests/test_permissions_science_day.py."""
from __future__ import annotations

import io
import uuid
from datetime import timedelta

import pytest
from sqlalchemy import func, select

from kepu.admin.models import Campaign
from kepu.extensions import db
from kepu.files.models import StoredFile
from kepu.orgs.models import Org
from kepu.science_day.after_models import ActivityScientist, ActivitySupplement
from kepu.science_day.models import Activity
from kepu.timeutil import utcnow

from sd_media import png_bytes, xlsx_bytes

ROLES = ["anonymous", "owner", "other_officer", "province_admin", "other_province_admin",
         "national_admin", "society_admin", "city_admin", "platform_admin"]

ENDPOINTS = COVERED = {"science_day.supplement", "science_day.supplement_autosave",
           "science_day.supplement_upload", "science_day.supplement_file_delete",
           "science_day.supplement_template", "science_day.supplement_import"}

WINDOWS = {"windows": {"supplement": {"open": "2020-01-01 00:00",
                                      "close": "2099-12-31 23:59"}}}


@pytest.fixture
def w(app, make_user):
    campaign = Campaign(kind="science_day", year=2026, title="2026年全国科普日",
                        settings=dict(WINDOWS))
    bj = Org(name="北京市科学技术协会", kind="省级科协", region_code="11")
    society = Org(name="中国科普作家协会", kind="全国学会")
    db.session.add_all([campaign, bj, society])
    db.session.commit()
    users = {
        "owner": make_user("13900000951", roles=["info_officer"]),
        "other_officer": make_user("13900000952", roles=["info_officer"]),
        "province_admin": make_user("13900000953",
                                    roles=[("provincial_admin", {"region_code": "11"})]),
        "other_province_admin": make_user("13900000954",
                                          roles=[("provincial_admin", {"region_code": "44"})]),
        "national_admin": make_user("13900000955", roles=["national_admin"]),
        "society_admin": make_user("13900000956",
                                   roles=[("society_admin", {"org_id": society.id})]),
        "city_admin": make_user("13900000957", roles=[("city_admin", {"region_code": "1101"})]),
        "platform_admin": make_user("13900000958", roles=["platform_admin"]),
    }
    now = utcnow()
    a = Activity(campaign_id=campaign.id, owner_id=users["owner"].id, status="approved",
                 name="已结束的活动", mode="线下", activity_type="科普讲座",
                 start_at=now - timedelta(days=3), end_at=now - timedelta(days=2),
                 region_code="110105", supervisor_category="省科协", supervisor_org_id=bj.id,
                 route_province="11", hosts=[{"name": "某馆"}], submitted_at=now,
                 approved_at=now)
    db.session.add(a)
    db.session.flush()
    photo = StoredFile(owner_id=users["owner"].id, field=f"science_day:{campaign.id}:effect_photo",
                       original_name="p.png", stored_name=uuid.uuid4().hex, ext="png",
                       content_type="image/png", size=10, sha256="0" * 64,
                       entity_type="activity", entity_id=a.id)
    db.session.add(photo)
    db.session.commit()
    return dict(users=users, a=a, photo=photo)


def login(client, auth, w, role):
    if role != "anonymous":
        auth.login_as(w["users"][role])


def state(w):
    db.session.expire_all()
    sup = db.session.get(ActivitySupplement, w["a"].id)
    return (sup.version if sup else None,
            db.session.scalar(select(func.count(ActivityScientist.id))),
            db.session.scalar(select(func.count(StoredFile.id))))


def _form(w):
    return {"version": "1", "media__present": "1", "media_title": ["报道"],
            "media_url": ["https://a.cn"], "participants_offline": "80",
            "sci__present": "1", "sci_name": ["张三"], "sci_phone": ["13800138000"],
            "sci_unit": [""], "sci_title": [""]}


# (endpoint, method, url(w), data(w) or None, multipart)
ROUTES = [
    ("science_day.supplement", "get", lambda w: f"/science-day/activities/{w['a'].id}/supplement",
     None, False),
    ("science_day.supplement_template", "get",
     lambda w: f"/science-day/activities/{w['a'].id}/supplement/scientists.xlsx", None, False),
    ("science_day.supplement", "post",
     lambda w: f"/science-day/activities/{w['a'].id}/supplement", _form, False),
    ("science_day.supplement_autosave", "post",
     lambda w: f"/science-day/activities/{w['a'].id}/supplement/autosave", _form, False),
    ("science_day.supplement_upload", "post",
     lambda w: f"/science-day/activities/{w['a'].id}/supplement/files/effect_photo",
     lambda w: {"effect_photo__upload": (io.BytesIO(png_bytes()), "x.png")}, True),
    ("science_day.supplement_file_delete", "post",
     lambda w: f"/science-day/activities/{w['a'].id}/supplement/files/{w['photo'].id}/delete",
     lambda w: {}, False),
    ("science_day.supplement_import", "post",
     lambda w: f"/science-day/activities/{w['a'].id}/supplement/scientists-import",
     lambda w: {"scientists_file": (io.BytesIO(xlsx_bytes([("李四", "13900139000")])),
                                    "名单.xlsx")}, True),
]


def _call(client, w, method, url, data, multipart):
    if method == "get":
        return client.get(url(w))
    kwargs = {"data": data(w)}
    if multipart:
        kwargs["content_type"] = "multipart/form-data"
    return client.post(url(w), **kwargs)


@pytest.mark.parametrize("role", ROLES)
@pytest.mark.parametrize("endpoint,method,url,data,multipart", ROUTES,
                         ids=[f"{r[0]}-{r[1]}" for r in ROUTES])
def test_matrix(client, auth, w, role, endpoint, method, url, data, multipart):
    login(client, auth, w, role)
    before = state(w)
    resp = _call(client, w, method, url, data, multipart)
    if role == "anonymous":
        assert resp.status_code in (302, 303) and "/account/login" in resp.headers["Location"]
        assert state(w) == before
    elif role == "owner":
        assert resp.status_code in (200, 303), resp.get_data(as_text=True)[:300]
        if method == "post":
            assert state(w) != before, f"{endpoint} did nothing for the owner"
    else:
        assert resp.status_code == 404, (role, resp.status_code)
        assert state(w) == before, f"{role} changed something through {endpoint}"


def test_an_officer_cannot_reach_the_owners_files_through_their_own_activity(client, auth, w):
    """Another officer's own approved activity does not open the owner's photo."""
    other = w["users"]["other_officer"]
    a2 = Activity(campaign_id=w["a"].campaign_id, owner_id=other.id, status="approved",
                  name="他的活动", mode="线下", start_at=w["a"].start_at, end_at=w["a"].end_at)
    db.session.add(a2)
    db.session.commit()
    auth.login_as(other)
    before = state(w)
    resp = client.post(f"/science-day/activities/{a2.id}/supplement/files/{w['photo'].id}/delete")
    assert resp.status_code == 404
    assert state(w) == before


def test_every_supplement_route_is_in_the_matrix(app):
    routes = {r.endpoint for r in app.url_map.iter_rules()
              if r.endpoint.startswith("science_day.supplement")}
    assert routes == COVERED == {r[0] for r in ROUTES}
