"""提交至推荐单位 checks the case first and asks "确定提交？" only when it can be submitted
(issue 9: the question used to come before 10 errors). The question is a server-side
step, so it works without JavaScript: the form posts action=confirm_submit."""
from __future__ import annotations

import re

from test_cases_entry_form import full_form, new_draft, photos, reload


def post(client, case, data, action):
    return client.post(f"/cases/{case.id}/edit", data=dict(data, action=action))


def version_in(html: str) -> str:
    return re.search(r'id="draft-version" name="version" value="(\d+)"', html).group(1)


def test_errors_are_reported_before_any_question(cc, client, auth):
    case = new_draft(cc)
    auth.login_as(cc.implementer)
    r = post(client, case, full_form(case, name="", summary=""), "submit")
    html = r.get_data(as_text=True)
    assert r.status_code == 422
    assert 'id="confirm-submit"' not in html and "确定提交至" not in html
    summary = html[html.index('id="error-summary"'):]
    assert 'href="#name"' in summary and 'href="#upload-photo_landscape-input"' in summary
    assert "请填写简要概述" in summary
    assert 'data-confirm=' not in html  # no browser dialog before the check either
    assert reload(case.id).status == "draft"


def test_a_valid_case_is_asked_then_submitted(cc, client, auth):
    case = new_draft(cc)
    auth.login_as(cc.implementer)
    data = full_form(case, photos(cc))
    r = post(client, case, data, "submit")
    html = r.get_data(as_text=True)
    assert r.status_code == 200
    panel = html[html.index('id="confirm-submit"'):]
    assert f"确定提交至“{cc.unit.name}”" in panel
    assert re.search(r'<button type="submit" name="action" value="confirm_submit" '
                     r'class="btn btn-primary" autofocus>确认提交</button>', panel)
    assert 'value="save"' in panel  # or go back to editing
    case = reload(case.id)
    assert case.status == "draft" and case.name == data["name"]  # saved, not submitted
    r = post(client, case, dict(data, version=version_in(html)), "confirm_submit")
    assert r.status_code == 303 and r.headers["Location"] == f"/cases/{case.id}"
    assert reload(case.id).status == "submitted"


def test_confirm_checks_again(cc, client, auth):
    """A confirm_submit posted with a broken form (edited after the question) is refused
    with the errors, like 提交至推荐单位."""
    case = new_draft(cc)
    auth.login_as(cc.implementer)
    data = full_form(case, photos(cc))
    html = post(client, case, data, "submit").get_data(as_text=True)
    r = post(client, case, dict(data, name="", version=version_in(html)), "confirm_submit")
    assert r.status_code == 422 and "请填写案例名称" in r.get_data(as_text=True)
    assert reload(case.id).status == "draft"
