"""统计 permission matrix: every route of kepu/science_day/stats_routes.py × every role.
National / platform admins, provincial, city / county and society admins reach their own
scope; everyone else gets 404; anonymous users are sent to log in; a scope that is not the
user's is 404. ``ENDPOINTS`` is read by test_every_science_day_route_is_in_the_matrix."""
from __future__ import annotations

from datetime import datetime

import pytest

from kepu.admin.models import Campaign
from kepu.extensions import db
from kepu.orgs.models import Org
from kepu.science_day.models import Activity

ROLES = ["anonymous", "officer", "other", "province_admin", "other_province_admin",
         "national_admin", "society_admin", "city_admin", "platform_admin", "expert"]
ALLOWED = {"province_admin", "other_province_admin", "national_admin", "society_admin",
           "city_admin", "platform_admin"}


@pytest.fixture
def world(app, make_user):
    campaign = Campaign(kind="science_day", year=2026, title="2026年全国科普日", settings={})
    bj = Org(name="北京市科学技术协会", kind="省级科协", region_code="11")
    society = Org(name="中国科普作家协会", kind="全国学会")
    db.session.add_all([campaign, bj, society])
    db.session.commit()
    users = {
        "officer": make_user("13900001101", roles=["info_officer"]),
        "other": make_user("13900001102"),
        "province_admin": make_user("13900001103",
                                    roles=[("provincial_admin", {"region_code": "11"})]),
        "other_province_admin": make_user("13900001104",
                                          roles=[("provincial_admin", {"region_code": "44"})]),
        "national_admin": make_user("13900001105", roles=["national_admin"]),
        "society_admin": make_user("13900001106",
                                   roles=[("society_admin", {"org_id": society.id})]),
        "city_admin": make_user("13900001107", roles=[("city_admin", {"region_code": "1101"})]),
        "platform_admin": make_user("13900001108", roles=["platform_admin"]),
        "expert": make_user("13900001109", roles=["expert"]),
    }
    db.session.add(Activity(campaign_id=campaign.id, owner_id=users["officer"].id,
                            status="approved", name="北京的活动", mode="线下",
                            activity_type="科普讲座", start_at=datetime(2026, 9, 15, 2),
                            region_code="110105", supervisor_category="省科协",
                            supervisor_org_id=bj.id, route_province="11",
                            hosts=[{"name": "某馆"}], submitted_at=datetime(2026, 9, 1)))
    db.session.commit()
    return users


ROUTES = [
    ("science_day.stats", "/science-day/stats/"),
    ("science_day.stats_export", "/science-day/stats/export.xlsx?table=region"),
]
ENDPOINTS = {r[0] for r in ROUTES}


@pytest.mark.parametrize("role", ROLES)
@pytest.mark.parametrize("endpoint,url", ROUTES, ids=[r[0] for r in ROUTES])
def test_stats_matrix(client, auth, world, role, endpoint, url):
    if role != "anonymous":
        auth.login_as(world[role])
    resp = client.get(url)
    if role == "anonymous":
        assert resp.status_code in (302, 303) and "/account/login" in resp.headers["Location"]
    elif role in ALLOWED:
        assert resp.status_code == 200, (role, resp.status_code)
    else:
        assert resp.status_code == 404, (role, resp.status_code)


@pytest.mark.parametrize("role,foreign", [
    ("province_admin", "p:44"), ("other_province_admin", "p:11"),
    ("city_admin", "r:4401"), ("society_admin", "o:999999"), ("society_admin", "national"),
    ("province_admin", "r:1101"), ("national_admin", "p:11"),
])
def test_foreign_scope_is_404(client, auth, world, role, foreign):
    auth.login_as(world[role])
    for endpoint, url in ROUTES:
        sep = "&" if "?" in url else "?"
        assert client.get(f"{url}{sep}scope={foreign}").status_code == 404, (endpoint, foreign)


def test_numbers_follow_the_scope(client, auth, world):
    """The one approved 北京 activity: counted for 北京, 东城/朝阳's city, national; not
    for 广东 or the society (not its 归口)."""
    def approved_total(role):
        auth.login_as(world[role])
        html = client.get("/science-day/stats/").get_data(as_text=True)
        section = html.split('id="stats-mode"')[1].split("</section>")[0]
        return "暂无已通过的活动" not in section

    assert approved_total("national_admin") and approved_total("province_admin")
    assert approved_total("city_admin")
    assert not approved_total("other_province_admin")
    assert not approved_total("society_admin")


def test_every_stats_route_is_in_this_matrix(app):
    ours = {r.endpoint for r in app.url_map.iter_rules()
            if r.endpoint.startswith("science_day.stats")}
    assert ours and ours <= ENDPOINTS
