"""Platform administration: dashboard, user search, grants, activation."""
from __future__ import annotations

import re

import pytest
from sqlalchemy import select

from kepu.accounts import roles as R
from kepu.accounts.models import Grant, User
from kepu.extensions import db
from kepu.orgs.models import Org, UnitApplication
from kepu.workflow import AuditLog

HX = {"HX-Request": "true"}


@pytest.fixture
def admin(make_user, auth):
    user = make_user(phone="13800000001", name="管理员", roles=[R.PLATFORM_ADMIN])
    auth.login_as(user)
    return user


@pytest.fixture
def org(app):
    o = Org(name="北京市科学技术协会", kind="省级科协")
    db.session.add(o)
    db.session.commit()
    return o


ADMIN_URLS = ["/admin/", "/admin/users", "/admin/users/{uid}"]


@pytest.mark.parametrize("url", ADMIN_URLS)
@pytest.mark.parametrize("role", [None, R.UNIT_ADMIN, R.NATIONAL_ADMIN, R.EXPERT])
def test_admin_pages_404_for_others(client, make_user, auth, url, role):
    roles = []
    if role == R.UNIT_ADMIN:
        o = Org(name="某单位")
        db.session.add(o)
        db.session.commit()
        roles = [(role, {"org_id": o.id})]
    elif role:
        roles = [role]
    user = make_user(roles=roles)
    auth.login_as(user)
    assert client.get(url.format(uid=user.id)).status_code == 404


@pytest.mark.parametrize("method, url", [
    ("post", "/admin/users/{uid}/grants"), ("post", "/admin/users/{uid}/toggle-active"),
    ("post", "/admin/users/{uid}/grants/1/delete")])
def test_admin_posts_404_for_others(client, make_user, auth, method, url):
    user = make_user()
    auth.login_as(user)
    r = client.post(url.format(uid=user.id), data={"role": R.PLATFORM_ADMIN})
    assert r.status_code == 404
    assert not User.by_phone(user.phone).is_platform_admin


def test_admin_pages_redirect_anonymous(client):
    r = client.get("/admin/users")
    assert r.status_code == 302 and "/account/login" in r.headers["Location"]


def test_dashboard_counts(client, admin, org, make_user):
    pending = Org(name="待审核单位", status="pending")
    db.session.add(pending)
    applicant = make_user()
    db.session.add(UnitApplication(user_id=applicant.id, org_id=org.id))
    db.session.commit()
    html = client.get("/admin/").get_data(as_text=True)
    assert "管理后台" in html
    def figure(label):
        m = re.search(r'data-figure="' + label + r'">.*?<span class="figure-num">(\d+)</span>',
                      html, re.S)
        return int(m.group(1)) if m else None

    assert figure("注册用户") == 2
    assert figure("待审核单位") == 1
    assert figure("推荐单位管理员申请") == 1
    assert "/admin/users" in html


def test_user_search_and_htmx_rows(client, admin, make_user):
    make_user(phone="13911112222", name="张三")
    make_user(phone="13933334444", name="李四", unit_name="中国科普研究所")
    html = client.get("/admin/users").get_data(as_text=True)
    assert "13911112222" in html and "13933334444" in html
    assert 'hx-trigger="search, keyup delay:300ms changed"' in html and 'hx-push-url="true"' in html
    html = client.get("/admin/users?q=张").get_data(as_text=True)
    assert "13911112222" in html and "13933334444" not in html
    r = client.get("/admin/users?q=3333", headers=HX)
    frag = r.get_data(as_text=True)
    assert "<html" not in frag and 'id="user-results"' in frag
    assert "13933334444" in frag and "13911112222" not in frag
    assert "13933334444" in client.get("/admin/users?q=科普研究").get_data(as_text=True)
    assert "没有找到匹配的用户" in client.get("/admin/users?q=无此人").get_data(as_text=True)


def test_user_list_pagination(app, client, admin, make_user):
    app.config["PAGE_SIZE"] = 2
    for _ in range(4):
        make_user()
    html = client.get("/admin/users").get_data(as_text=True)
    assert "第 1 / 3 页" in html and "下一页" in html
    html = client.get("/admin/users?page=3").get_data(as_text=True)
    assert "第 3 / 3 页" in html and "上一页" in html
    assert client.get("/admin/users?page=99").status_code == 200


def test_user_detail_and_grant_form(client, admin, org, make_user):
    user = make_user(phone="13911112222")
    html = client.get(f"/admin/users/{user.id}").get_data(as_text=True)
    assert "13911112222" in html and "添加角色" in html
    for label in ("推荐单位管理员", "省级科协管理员", "评审专家", "北京市科学技术协会", "河北省"):
        assert label in html, label
    assert client.get("/admin/users/99999").status_code == 404


def test_grant_scope_refresh(client, admin, org, make_user):
    user = make_user()
    db.session.add(Org(name="中国科普作家协会", kind="全国学会"))
    db.session.commit()
    r = client.get(f"/admin/users/{user.id}?role=unit_admin&org_q=作家&province=13",
                   headers=HX)
    html = r.get_data(as_text=True)
    assert "<html" not in html and 'id="grant-scope"' in html
    assert "中国科普作家协会" in html and "北京市科学技术协会" not in html
    assert "石家庄市 长安区" in html


def test_add_org_grant(client, admin, org, make_user):
    user = make_user()
    r = client.post(f"/admin/users/{user.id}/grants",
                    data={"role": R.UNIT_ADMIN, "org_id": str(org.id)})
    assert r.status_code == 303
    grant = db.session.scalar(select(Grant).where(Grant.user_id == user.id))
    assert (grant.role, grant.org_id, grant.created_by_id) == (R.UNIT_ADMIN, org.id, admin.id)
    log = db.session.scalar(select(AuditLog).where(AuditLog.action == "grant_add",
                                                   AuditLog.entity_id == user.id))
    assert log.actor_id == admin.id
    html = client.get(f"/admin/users/{user.id}").get_data(as_text=True)
    assert "已添加角色" in html and "北京市科学技术协会" in html


def test_add_region_grants(client, admin, make_user):
    user = make_user()
    r = client.post(f"/admin/users/{user.id}/grants",
                    data={"role": R.PROVINCIAL_ADMIN, "province": "13"}, headers=HX)
    html = r.get_data(as_text=True)
    assert r.status_code == 200 and "已添加角色" in html and "河北省" in html
    assert 'id="grants-section"' in html and "<html" not in html
    r = client.post(f"/admin/users/{user.id}/grants",
                    data={"role": R.COUNTY_ADMIN, "province": "13", "subregion": "130102"})
    assert r.status_code == 303
    codes = {(g.role, g.region_code) for g in db.session.scalars(
        select(Grant).where(Grant.user_id == user.id))}
    assert codes == {(R.PROVINCIAL_ADMIN, "13"), (R.COUNTY_ADMIN, "130102")}


@pytest.mark.parametrize("data, message", [
    ({"role": ""}, "请选择角色"),
    ({"role": R.UNIT_ADMIN}, "请选择单位"),
    ({"role": R.PROVINCIAL_ADMIN}, "请选择地区"),
    ({"role": R.PROVINCIAL_ADMIN, "province": "13", "subregion": "1301"},
     "省级科协管理员须选择省级行政区"),
    ({"role": R.CITY_ADMIN, "province": "13"}, "市级科协管理员须选择地级市（或直辖市）"),
    ({"role": R.COUNTY_ADMIN, "province": "11", "subregion": "130102"},
     "所选市/区县不属于该省份"),
])
def test_add_grant_errors_next_to_field(client, admin, make_user, data, message):
    user = make_user()
    r = client.post(f"/admin/users/{user.id}/grants", data=data, headers=HX)
    assert r.status_code == 422
    assert message in r.get_data(as_text=True)
    assert db.session.scalar(select(Grant).where(Grant.user_id == user.id)) is None


def test_remove_grant_inline(client, admin, org, make_user):
    user = make_user(roles=[(R.UNIT_ADMIN, {"org_id": org.id})])
    grant = user.grants[0]
    r = client.post(f"/admin/users/{user.id}/grants/{grant.id}/delete", headers=HX)
    assert r.status_code == 200 and r.get_data(as_text=True) == ""
    assert db.session.get(Grant, grant.id) is None
    log = db.session.scalar(select(AuditLog).where(AuditLog.action == "grant_remove"))
    assert log.entity_id == user.id and log.actor_id == admin.id


def test_remove_grant_of_other_user_is_404(client, admin, org, make_user):
    a = make_user(roles=[(R.UNIT_ADMIN, {"org_id": org.id})])
    b = make_user()
    r = client.post(f"/admin/users/{b.id}/grants/{a.grants[0].id}/delete")
    assert r.status_code == 404
    assert db.session.get(Grant, a.grants[0].id) is not None


def test_cannot_remove_own_platform_admin(client, admin):
    grant = admin.grants[0]
    r = client.post(f"/admin/users/{admin.id}/grants/{grant.id}/delete", headers=HX)
    assert r.status_code == 422
    assert "不能移除自己的平台管理员角色" in r.get_data(as_text=True)
    assert db.session.get(Grant, grant.id) is not None


def test_toggle_active(client, admin, make_user):
    user = make_user()
    version = user.session_version
    r = client.post(f"/admin/users/{user.id}/toggle-active", headers=HX)
    html = r.get_data(as_text=True)
    assert r.status_code == 200 and "已停用" in html and "启用账号" in html
    db.session.refresh(user)
    assert user.active is False and user.session_version == version + 1
    assert db.session.scalar(select(AuditLog).where(AuditLog.action == "deactivate"))
    r = client.post(f"/admin/users/{user.id}/toggle-active")
    assert r.status_code == 303
    db.session.refresh(user)
    assert user.active is True
    r = client.post(f"/admin/users/{admin.id}/toggle-active", headers=HX)
    assert r.status_code == 422 and "不能停用自己的账号" in r.get_data(as_text=True)
