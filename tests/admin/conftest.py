"""Fixtures for the admin tests.

Pages render the shared layout, which links to endpoints of other areas (orgs.*).
Until those exist, ``app_factory`` adds placeholder routes for any that are missing,
only in these tests.
"""
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

STUB_ENDPOINTS = ["orgs.channels", "orgs.apply_unit", "orgs.my_units", "orgs.admin_orgs",
                  "orgs.admin_applications", "orgs.admin_import"]


def add_missing_endpoint_stubs(app) -> None:
    for endpoint in STUB_ENDPOINTS:
        if endpoint not in app.view_functions:
            app.add_url_rule(f"/_stub/{endpoint}", endpoint=endpoint,
                             view_func=lambda **kw: "stub")


@pytest.fixture
def app_factory(app_factory):
    def factory(**extra):
        app = app_factory(**extra)
        add_missing_endpoint_stubs(app)
        return app

    return factory


@pytest.fixture
def code_for(sms_outbox):
    """The last SMS code sent to a phone (test backend)."""

    def get(phone: str) -> str:
        for msg in reversed(sms_outbox):
            if msg["phone"] == phone:
                return msg["code"]
        raise AssertionError(f"no SMS sent to {phone}")

    return get
