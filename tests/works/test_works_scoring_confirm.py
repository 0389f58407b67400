"""提交评分 validates first and asks "确定提交？" only when the scores are complete; the
question is a server-side step (also for the HTMX form), the scores kept as 暂存."""
from __future__ import annotations

import re

from test_works_scoring_expert import FULL, HX, scored  # noqa: F401

from kepu.extensions import db


def test_incomplete_scores_are_reported_without_a_question(wc, client, auth, scored):
    work, a1, _ = scored
    auth.login_as(wc.expert)
    for headers in ({}, HX):
        r = client.post(f"/works/expert/{a1.id}", data=dict(FULL, overall="", action="submit"),
                        headers=headers)
        html = r.get_data(as_text=True)
        assert r.status_code == 422
        assert 'id="confirm-submit"' not in html and "data-confirm" not in html
        summary = html[html.index('id="error-summary"'):]
        assert '<a href="#overall"' in summary and "提交评分前请填写总体评价" in summary
    db.session.refresh(a1)
    assert a1.submitted_at is None


def test_complete_scores_are_saved_then_confirmed(wc, client, auth, scored):
    work, a1, _ = scored
    auth.login_as(wc.expert)
    r = client.post(f"/works/expert/{a1.id}", data=dict(FULL, action="submit"), headers=HX)
    html = r.get_data(as_text=True)
    assert r.status_code == 200 and "<html" not in html
    assert "提交后不能再修改评分" in html
    assert re.search(r'value="confirm_submit" class="btn btn-primary" autofocus>确认提交评分<', html)
    db.session.refresh(a1)
    assert a1.saved_at is not None and a1.submitted_at is None  # kept as 暂存
    assert a1.scores == {"scientific": 80, "innovative": 90, "communicative": 70}
    r = client.post(f"/works/expert/{a1.id}", data=dict(FULL, action="confirm_submit"))
    assert r.status_code == 303
    db.session.refresh(a1)
    assert a1.submitted_at is not None
