"""Fixtures for the org library tests."""
from __future__ import annotations

import importlib

import pytest

import kepu
from kepu.extensions import htmx as _htmx_extension

# Workaround (remove once kepu/__init__.py is fixed): importing the submodule
# ``kepu.htmx`` replaces the package attribute ``kepu.htmx`` (the HTMX extension that
# create_app() calls ``htmx.init_app`` on) with the module. Import every blueprint
# first, then put the extension back.
for _name in ("kepu.models", "kepu.main", "kepu.accounts", "kepu.sms", "kepu.orgs",
              "kepu.files", "kepu.admin"):
    importlib.import_module(_name)
if not hasattr(kepu.htmx, "init_app"):
    kepu.htmx = _htmx_extension

# Endpoints of other areas linked from the shared layout; stubbed only if missing.
STUB_ENDPOINTS = ["accounts.login", "accounts.register", "accounts.logout",
                  "accounts.profile", "admin.index"]


def _forget_cached_user():
    # The ``app`` fixture keeps one app context open for the whole test, so ``g`` (and
    # Flask-Login's cached ``g._login_user``) would outlive a request; start each request
    # without it so that switching users with auth.login_as() takes effect.
    from flask import g

    g.pop("_login_user", None)


@pytest.fixture
def app_factory(app_factory):
    def factory(**extra):
        app = app_factory(**extra)
        app.before_request_funcs.setdefault(None, []).insert(0, _forget_cached_user)
        for endpoint in STUB_ENDPOINTS:
            if endpoint not in app.view_functions:
                app.add_url_rule(f"/_stub/{endpoint}", endpoint=endpoint,
                                 view_func=lambda **kw: "stub", methods=["GET", "POST"])
        return app

    return factory


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
