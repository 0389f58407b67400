"""Expert side: isolation (404 for anyone else), the rubric form with validation next to
each field, 暂存 / revise / 提交, read-only after submission, completion → 专家已评审."""
from __future__ import annotations

import re

import pytest
from sqlalchemy import select

from kepu.extensions import db
from kepu.workflow import AuditLog
from kepu.works.models import WorkAssignment
from kepu.works.operations import scoring as ops

HX = {"HX-Request": "true"}
FULL = {"score_scientific": "80", "score_innovative": "90", "score_communicative": "70",
        "comment_scientific": "内容准确", "overall": "整体优秀，推荐入选。"}


def submit_scores(client, a, data, **kw):
    """提交评分, then 确认提交评分 when the page asks (it asks only after validation)."""
    r = client.post(f"/works/expert/{a.id}", data=dict(data, action="submit"), **kw)
    if r.status_code == 200 and 'value="confirm_submit"' in r.get_data(as_text=True):
        r = client.post(f"/works/expert/{a.id}", data=dict(data, action="confirm_submit"), **kw)
    return r


def assign(work, *experts):
    for e in experts:
        db.session.add(WorkAssignment(work_id=work.id, expert_id=e.id))
    work.status = "in_review"
    db.session.commit()
    db.session.refresh(work)
    return work.assignments


@pytest.fixture
def scored(wc):
    work = wc.make_work(status="recommended", title="黑洞科普")
    a1, a2 = assign(work, wc.expert, wc.expert2)
    return work, a1, a2


def test_expert_list_shows_only_own(wc, client, auth, scored):
    work, a1, a2 = scored
    other = wc.make_work(status="recommended", title="别人的作品")
    assign(other, wc.expert2)
    auth.login_as(wc.expert)
    resp = client.get("/works/expert/")
    assert resp.status_code == 200
    html = resp.get_data(as_text=True)
    assert "黑洞科普" in html and "别人的作品" not in html
    assert f"/works/expert/{a1.id}" in html and f"/works/expert/{a2.id}" not in html
    assert "已提交 <strong>0</strong> / 共 <strong>1</strong>" in html
    assert "待评分" in html


def test_expert_list_404_for_non_experts(wc, client, auth):
    for user in (wc.applicant, wc.unit_admin, wc.admin):
        auth.login_as(user)
        assert client.get("/works/expert/").status_code == 404


def test_score_page_isolation(wc, client, auth, scored, make_user):
    work, a1, a2 = scored
    third = make_user("13900000031", roles=["expert"])
    for user in (wc.expert2, third, wc.applicant, wc.unit_admin):
        auth.login_as(user)
        assert client.get(f"/works/expert/{a1.id}").status_code == 404
        assert client.post(f"/works/expert/{a1.id}", data=dict(FULL, action="submit")).status_code == 404
    # The platform admin may read (read-only) but never write.
    auth.login_as(wc.admin)
    page = client.get(f"/works/expert/{a1.id}")
    assert page.status_code == 200
    assert "只读" in page.get_data(as_text=True)
    assert 'name="score_scientific"' not in page.get_data(as_text=True)
    assert client.post(f"/works/expert/{a1.id}", data=dict(FULL, action="save")).status_code == 404
    assert client.get("/works/expert/999999").status_code == 404
    db.session.refresh(a1)
    assert a1.scores in ({}, None) and a1.saved_at is None


def test_score_page_shows_work_and_rubric(wc, client, auth, scored):
    work, a1, _ = scored
    auth.login_as(wc.expert)
    html = client.get(f"/works/expert/{a1.id}").get_data(as_text=True)
    assert "黑洞科普" in html and "北京科普创作中心" in html  # the work's fields
    for label in ("科学性", "创新性", "传播性"):
        assert label in html
    assert 'name="score_scientific"' in html and 'name="comment_scientific"' in html
    assert 'name="overall"' in html
    assert "作品.pdf" in html  # the work file can be opened


@pytest.mark.parametrize("value, message", [
    ("101", "分数须在 0 到 100 之间"),
    ("-5", "请输入数字"),
    ("abc", "请输入数字"),
    ("85.55", "最多保留一位小数"),
    ("1e2", "请输入数字"),
])
def test_score_validation(wc, client, auth, scored, value, message):
    work, a1, _ = scored
    auth.login_as(wc.expert)
    data = dict(FULL, score_scientific=value, action="save")
    resp = client.post(f"/works/expert/{a1.id}", data=data)
    assert resp.status_code == 422
    html = resp.get_data(as_text=True)
    assert message in html
    assert 'id="score_scientific-error"' in html and 'aria-invalid="true"' in html
    assert f'value="{value}"' in html          # what was typed is kept
    assert re.search(r'id="score_scientific"[^>]*autofocus', html)  # focus on the first error
    assert "内容准确" in html and "整体优秀，推荐入选。" in html
    db.session.refresh(a1)
    assert a1.saved_at is None and not a1.scores


def test_submit_requires_every_score_and_overall(wc, client, auth, scored):
    work, a1, _ = scored
    auth.login_as(wc.expert)
    data = dict(FULL, score_innovative="", overall="", action="submit")
    resp = client.post(f"/works/expert/{a1.id}", data=data)
    assert resp.status_code == 422
    html = resp.get_data(as_text=True)
    assert "请为“创新性”打分" in html
    assert "提交评分前请填写总体评价" in html
    db.session.refresh(a1)
    assert a1.submitted_at is None


def test_comment_length_checked(wc, client, auth, scored):
    work, a1, _ = scored
    auth.login_as(wc.expert)
    resp = client.post(f"/works/expert/{a1.id}", data=dict(
        FULL, comment_innovative="长" * (ops.COMMENT_MAX + 1), action="save"))
    assert resp.status_code == 422
    assert "评语不能超过 500 字" in resp.get_data(as_text=True)


def test_save_revise_then_submit(wc, client, auth, scored):
    work, a1, _ = scored
    auth.login_as(wc.expert)
    # 暂存 with one criterion only: allowed, no total yet.
    resp = client.post(f"/works/expert/{a1.id}", data={"score_scientific": "60", "action": "save"})
    assert resp.status_code == 303
    db.session.refresh(a1)
    assert a1.scores == {"scientific": 60} and a1.total is None
    assert a1.saved_at is not None and a1.submitted_at is None
    html = client.get("/works/expert/").get_data(as_text=True)
    assert "已暂存" in html
    # Revise (HTMX): the form block comes back with the saved status.
    resp = client.post(f"/works/expert/{a1.id}", data=dict(FULL, score_scientific="８０.5", action="save"),
                       headers=HX)
    assert resp.status_code == 200
    body = resp.get_data(as_text=True)
    assert "已暂存" in body and "<html" not in body
    db.session.refresh(a1)
    assert a1.scores == {"scientific": 80.5, "innovative": 90, "communicative": 70}
    # 80.5/100*40 + 90/100*30 + 70/100*30 = 32.2 + 27 + 21 = 80.2
    assert a1.total == pytest.approx(80.2)
    assert a1.comments["scientific"] == "内容准确"
    # Submit.
    resp = submit_scores(client, a1, FULL)
    assert resp.status_code == 303
    db.session.refresh(a1)
    assert a1.submitted_at is not None and a1.total == pytest.approx(80.0)
    assert a1.comments[ops.OVERALL] == "整体优秀，推荐入选。"
    page = client.get(f"/works/expert/{a1.id}").get_data(as_text=True)
    assert "评分不能再修改" in page and 'name="score_scientific"' not in page


def test_no_changes_after_submit(wc, client, auth, scored):
    work, a1, _ = scored
    auth.login_as(wc.expert)
    submit_scores(client, a1, FULL)
    resp = client.post(f"/works/expert/{a1.id}", data=dict(FULL, score_scientific="10", action="save"))
    assert resp.status_code == 422
    assert "评分已提交，不能再修改" in resp.get_data(as_text=True)
    db.session.refresh(a1)
    assert a1.scores["scientific"] == 80


def test_completion_only_when_all_submitted(wc, client, auth, scored):
    work, a1, a2 = scored
    auth.login_as(wc.expert)
    submit_scores(client, a1, FULL)
    db.session.refresh(work)
    assert work.status == "in_review"
    auth.login_as(wc.expert2)
    client.post(f"/works/expert/{a2.id}", data=dict(FULL, action="save"))
    db.session.refresh(work)
    assert work.status == "in_review"
    resp = submit_scores(client, a2, FULL, follow_redirects=True)
    assert "已进入“专家已评审”" in resp.get_data(as_text=True)
    db.session.refresh(work)
    assert work.status == "reviewed"
    actions = [e.action for e in db.session.scalars(select(AuditLog).where(
        AuditLog.entity_type == "work", AuditLog.entity_id == work.id).order_by(AuditLog.id))]
    assert actions == ["score_submit", "score_submit", "complete_review"]
    last = db.session.scalar(select(AuditLog).where(AuditLog.action == "complete_review"))
    assert last.from_state == "in_review" and last.to_state == "reviewed"
    assert last.actor_id == wc.expert2.id


def test_scores_refused_when_not_in_review(wc, client, auth, scored):
    work, a1, _ = scored
    work.status = "recommended"
    db.session.commit()
    auth.login_as(wc.expert)
    page = client.get(f"/works/expert/{a1.id}").get_data(as_text=True)
    assert "不在专家评审阶段" in page and 'name="score_scientific"' not in page
    resp = client.post(f"/works/expert/{a1.id}", data=dict(FULL, action="submit"))
    assert resp.status_code == 422
    assert "不在专家评审阶段，不能评分" in resp.get_data(as_text=True)
    db.session.refresh(a1)
    assert a1.submitted_at is None and a1.saved_at is None


def test_weighted_total_formula():
    rubric = [{"key": "a", "weight": 2, "max": 10}, {"key": "b", "weight": 1, "max": 50}]
    # (8/10*2 + 25/50*1) / 3 * 100 = (1.6 + 0.5) / 3 * 100 = 70
    assert ops.weighted_total(rubric, {"a": 8, "b": 25}) == pytest.approx(70.0)
    assert ops.weighted_total(rubric, {"a": 8}) is None
    assert ops.parse_score("100", 100) == (100, None)
    assert ops.parse_score(" 7.5 ", 10) == (7.5, None)
    assert ops.parse_score("", 10) == (None, None)
    assert ops.parse_score("10.1", 10)[1] == "分数须在 0 到 10 之间"
