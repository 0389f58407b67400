"""grant_role / revoke_grant scope rules and ensure_platform_admin (CLI create-admin)."""
from __future__ import annotations

import pytest
from sqlalchemy import select

from kepu.accounts import operations as ops
from kepu.accounts import roles as R
from kepu.accounts.models import Grant, User
from kepu.admin.models import Campaign
from kepu.extensions import db
from kepu.orgs.models import Org
from kepu.workflow import AuditLog


@pytest.fixture
def org(app):
    o = Org(name="中国科普作家协会", kind="全国学会")
    db.session.add(o)
    db.session.commit()
    return o


def test_ensure_platform_admin_creates_and_promotes(app, make_user):
    user, created = ops.ensure_platform_admin("13800009999", "Admin@123", "管理员")
    assert created and user.is_platform_admin and user.check_password("Admin@123")
    again, created = ops.ensure_platform_admin("13800009999", None)
    assert not created and again.id == user.id
    assert len(again.grants_for(R.PLATFORM_ADMIN)) == 1

    existing = make_user(phone="13800008888")
    promoted, created = ops.ensure_platform_admin("13800008888", None)
    assert not created and promoted.id == existing.id and promoted.is_platform_admin


@pytest.mark.parametrize("phone, password, message", [
    ("12345", "Admin@123", "请输入正确的手机号"),
    ("13800009999", "123", "密码长度须为6-20位"),
    ("13800009999", None, "密码长度须为6-20位"),
])
def test_ensure_platform_admin_refuses_bad_input(app, phone, password, message):
    with pytest.raises(ValueError, match=message):
        ops.ensure_platform_admin(phone, password)
    assert db.session.scalar(select(User)) is None


def test_cli_create_admin(app, runner):
    result = runner.invoke(args=["kepu", "create-admin", "13800007777",
                                 "--password", "Admin@123"])
    assert result.exit_code == 0, result.output
    assert User.by_phone("13800007777").is_platform_admin
    result = runner.invoke(args=["kepu", "create-admin", "999", "--password", "Admin@123"])
    assert result.exit_code != 0 and "请输入正确的手机号" in result.output


def test_org_role_needs_active_org(app, make_user, org):
    admin = make_user(roles=[R.PLATFORM_ADMIN])
    user = make_user()
    with pytest.raises(ops.AccountError, match="请选择单位"):
        ops.grant_role(user, R.UNIT_ADMIN, by=admin)
    with pytest.raises(ops.AccountError, match="所选单位不存在或未启用"):
        ops.grant_role(user, R.UNIT_ADMIN, org_id=org.id + 100, by=admin)
    org.status = "pending"
    db.session.commit()
    with pytest.raises(ops.AccountError, match="所选单位不存在或未启用"):
        ops.grant_role(user, R.UNIT_ADMIN, org_id=org.id, by=admin)
    org.status = "active"
    db.session.commit()
    grant = ops.grant_role(user, R.UNIT_ADMIN, org_id=org.id, region_code="11", by=admin)
    assert grant.org_id == org.id and grant.region_code is None  # scope of the role's kind only
    assert user.has_role(R.UNIT_ADMIN, org_id=org.id)
    log = db.session.scalar(select(AuditLog).where(AuditLog.action == "grant_add",
                                                   AuditLog.entity_id == user.id))
    assert log.actor_id == admin.id and log.data["role"] == R.UNIT_ADMIN
    with pytest.raises(ops.AccountError, match="该用户已拥有此角色"):
        ops.grant_role(user, R.UNIT_ADMIN, org_id=org.id, by=admin)


@pytest.mark.parametrize("role, code, ok", [
    (R.PROVINCIAL_ADMIN, "13", True),
    (R.PROVINCIAL_ADMIN, "1301", False),
    (R.PROVINCIAL_ADMIN, "", False),
    (R.PROVINCIAL_ADMIN, "99", False),
    (R.CITY_ADMIN, "1301", True),
    (R.CITY_ADMIN, "11", True),        # a municipality is a city
    (R.CITY_ADMIN, "13", False),
    (R.CITY_ADMIN, "130102", False),
    (R.COUNTY_ADMIN, "130102", True),
    (R.COUNTY_ADMIN, "110105", True),  # district of a municipality
    (R.COUNTY_ADMIN, "1301", False),
])
def test_region_roles_need_matching_region(app, make_user, role, code, ok):
    user = make_user()
    if ok:
        grant = ops.grant_role(user, role, region_code=code)
        assert grant.region_code == code
    else:
        with pytest.raises(ops.AccountError) as e:
            ops.grant_role(user, role, region_code=code)
        assert e.value.field == "region_code"
        assert db.session.scalar(select(Grant)) is None


def test_unscoped_and_campaign_roles(app, make_user):
    user = make_user()
    g = ops.grant_role(user, R.NATIONAL_ADMIN, org_id=5, region_code="11")
    assert (g.org_id, g.region_code) == (None, None)
    with pytest.raises(ops.AccountError, match="请选择有效的角色"):
        ops.grant_role(user, "nonsense")
    with pytest.raises(ops.AccountError, match="所选征集活动不存在"):
        ops.grant_role(user, R.EXPERT, campaign_id=12345)
    c = Campaign(kind="works", year=2026, title="2026 全国优质科普作品征集")
    db.session.add(c)
    db.session.commit()
    assert ops.grant_role(user, R.EXPERT, campaign_id=c.id).campaign_id == c.id
    assert ops.grant_role(user, R.EXPERT).campaign_id is None


def test_revoke_grant_audited(app, make_user, org):
    admin = make_user(roles=[R.PLATFORM_ADMIN])
    user = make_user()
    grant = ops.grant_role(user, R.SOCIETY_ADMIN, org_id=org.id, by=admin)
    ops.revoke_grant(grant, by=admin)
    assert db.session.scalar(select(Grant).where(Grant.user_id == user.id)) is None
    log = db.session.scalar(select(AuditLog).where(AuditLog.action == "grant_remove"))
    assert log.entity_id == user.id and log.data["role"] == R.SOCIETY_ADMIN
    own = admin.grants_for(R.PLATFORM_ADMIN)[0]
    with pytest.raises(ops.AccountError, match="不能移除自己的平台管理员角色"):
        ops.revoke_grant(own, by=admin)
