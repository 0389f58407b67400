"""Fixtures for the org library tests."""
from __future__ import annotations

import pytest


@pytest.fixture
def admin(make_user):
    return make_user(name="平台管理员", roles=["platform_admin"])


@pytest.fixture
def builtin(app):
    from kepu.orgs.operations import load_builtin_orgs

    result = load_builtin_orgs()
    assert not result.errors, result.errors
    return result


def org_named(name):
    from sqlalchemy import select

    from kepu.extensions import db
    from kepu.orgs.models import Org

    return db.session.scalar(select(Org).where(Org.name == name))


HX = {"HX-Request": "true"}
