"""Ids no column can hold (beyond 2**31 - 1, PostgreSQL's INTEGER; beyond 64 bits)
answer 404, never 500.

Every route of the URL map is called with huge values in each ``<int:...>`` part, and
every route is called with huge values in the query string and form fields that carry
ids, pages or years, as a platform admin and as a plain user.
"""
from __future__ import annotations

import re

import pytest

from kepu.extensions import db

HUGE = ["2147483648", "9223372036854775808", "99999999999999999999999", "1" + "0" * 400]
ROLES = ["platform_admin", "owner"]
ID_PARAMS = ["id", "org", "org_id", "page", "batch", "year", "campaign", "campaign_id",
             "channel_id", "expert_id", "work_id", "case_id", "file_id", "remove_file",
             "work_ids", "case_ids", "ids", "step", "per_page", "version", "target",
             "quota", "experts_per_work", "unit_id", "grant_id", "user_id", "other", "into",
             "merge_into", "value", "org_id_change"]


def _urls_with_ints(app, value: str):
    """(endpoint, methods, url) for every rule with an int part, filled with ``value``."""
    out = []
    for rule in app.url_map.iter_rules():
        conv = rule._converters  # noqa: SLF001 - the argument converters of the rule
        ints = [name for name, c in conv.items() if c.__class__.__name__.lower().find("int") >= 0
                or getattr(c, "num_convert", None) is int]
        if not ints:
            continue
        url = rule.rule
        for name, c in conv.items():
            fill = value if name in ints else _default_for(name, rule)
            url = re.sub(r"<(?:[^>:]+:)?" + name + r">", fill, url)
        out.append((rule.endpoint, sorted(rule.methods - {"HEAD", "OPTIONS"}), url))
    return out


def _default_for(name, rule):
    if name == "kind":
        return "works"
    return "x"


@pytest.mark.parametrize("value", HUGE)
@pytest.mark.parametrize("role", ROLES)
def test_huge_path_ids_are_404(app, client, auth, hw, role, value):
    auth.login_as(hw.users[role])
    bad = []
    routes = _urls_with_ints(app, value)
    assert len(routes) >= 35
    for endpoint, methods, url in routes:
        for method in methods:
            resp = client.open(url, method=method, data={} if method == "POST" else None)
            if resp.status_code != 404:
                bad.append((endpoint, method, url[:80], resp.status_code))
            db.session.rollback()
    assert not bad, bad


def _plain_routes(app):
    for rule in app.url_map.iter_rules():
        if rule.arguments or rule.endpoint == "static":
            continue
        yield rule.endpoint, sorted(rule.methods - {"HEAD", "OPTIONS"}), rule.rule


@pytest.mark.parametrize("role", ROLES)
def test_huge_query_and_form_ids_never_500(app, client, auth, hw, role):
    auth.login_as(hw.users[role])
    params = {p: HUGE[0] for p in ID_PARAMS}
    bad = []
    for endpoint, methods, url in _plain_routes(app):
        for method in methods:
            for value in (HUGE[0], HUGE[3]):
                params = {p: value for p in ID_PARAMS}
                if method == "GET":
                    resp = client.get(url, query_string=params)
                else:
                    resp = client.post(url, query_string=params, data=params)
                if resp.status_code >= 500:
                    bad.append((endpoint, method, resp.status_code))
                db.session.rollback()
    # The same with ids of real objects in the path and huge ones in the form.
    for endpoint, methods, url in _urls_with_ints(app, str(hw.w_pending.id)):
        for method in methods:
            params = {p: HUGE[0] for p in ID_PARAMS}
            resp = client.open(url, method=method, query_string=params,
                               data=params if method == "POST" else None)
            if resp.status_code >= 500:
                bad.append((endpoint, method, resp.status_code))
            db.session.rollback()
    assert not bad, bad


@pytest.mark.parametrize("url", [
    "/works/9223372036854775808", "/files/99999999999999999999999",
    "/orgs/pick?id=99999999999999999999999", "/orgs/pick?id=9223372036854775808",
    "/orgs/pick?id=%C2%B2",  # "²": isdigit() but not int()
])
def test_issue_examples_are_404(client, auth, hw, url):
    auth.login_as(hw.users["platform_admin"])
    assert client.get(url).status_code == 404


def test_largest_id_a_column_holds_is_a_plain_miss(client, auth, hw):
    """2**31 - 1: PostgreSQL's INTEGER (SQLite's is 64-bit)."""
    auth.login_as(hw.users["owner"])
    assert client.get("/files/2147483647").status_code == 404
    assert client.get(f"/files/{hw.file.id}").status_code == 200
