"""Expert assignment: balanced round-robin by category, conflicts of interest, the
per-work form, state moves and audit rows."""
from __future__ import annotations

import re
from collections import Counter

import pytest
from sqlalchemy import select

from kepu.extensions import db
from kepu.timeutil import utcnow
from kepu.workflow import AuditLog
from kepu.works.models import WorkAssignment
from kepu.works.operations import scoring as ops

HX = {"HX-Request": "true"}


def assignments_of(work_id):
    return list(db.session.scalars(select(WorkAssignment).where(WorkAssignment.work_id == work_id)
                                   .order_by(WorkAssignment.id)))


def audit_actions(work_id):
    return [a.action for a in db.session.scalars(
        select(AuditLog).where(AuditLog.entity_type == "work", AuditLog.entity_id == work_id)
        .order_by(AuditLog.id))]


@pytest.fixture
def expert3(make_user):
    return make_user("13900000021", name="专家丙", roles=["expert"])


def test_bulk_assign_is_balanced(wc, client, auth, expert3):
    works = [wc.make_work(status="recommended", title=f"作品{i}",
                          category="前沿科技" if i < 3 else "健康生活") for i in range(6)]
    auth.login_as(wc.admin)
    resp = client.post("/works/admin/assign", data={
        "work_ids": [w.id for w in works], "experts_per_work": "2", "scope": "selected"})
    assert resp.status_code == 303
    assert "batch=" in resp.headers["Location"]

    loads = Counter(a.expert_id for a in db.session.scalars(select(WorkAssignment)))
    assert loads == {wc.expert.id: 4, wc.expert2.id: 4, expert3.id: 4}
    for w in works:
        rows = assignments_of(w.id)
        assert len({a.expert_id for a in rows}) == 2
        db.session.refresh(w)
        assert w.status == "in_review"
        entry = db.session.scalar(select(AuditLog).where(
            AuditLog.entity_type == "work", AuditLog.entity_id == w.id, AuditLog.action == "assign"))
        assert entry.from_state == "recommended" and entry.to_state == "in_review"
        assert entry.actor_id == wc.admin.id
        assert sorted(entry.data["experts"]) == sorted(a.expert_id for a in rows)

    # The result table is shown after the redirect (post/redirect/get).
    page = client.get(resp.headers["Location"])
    assert page.status_code == 200
    html = page.get_data(as_text=True)
    assert "分配结果" in html
    for w in works:
        assert w.title in html
    assert "专家丙" in html


def test_balanced_within_each_category(wc, client, auth, expert3):
    works = [wc.make_work(status="recommended", title=f"作品{i}",
                          category="前沿科技" if i % 2 else "健康生活") for i in range(6)]
    auth.login_as(wc.admin)
    resp = client.post("/works/admin/assign", data={
        "work_ids": [w.id for w in works], "experts_per_work": "1"})
    assert resp.status_code == 303
    per_cat = Counter()
    for a in db.session.scalars(select(WorkAssignment)):
        per_cat[(a.expert_id, a.work.category)] += 1
    # 3 works per category, 3 experts, 1 each: every expert gets one of each category.
    for e in (wc.expert, wc.expert2, expert3):
        assert per_cat[(e.id, "前沿科技")] == 1
        assert per_cat[(e.id, "健康生活")] == 1


def test_existing_load_is_taken_into_account(wc, client, auth, expert3):
    busy = wc.make_work(status="recommended", title="已分配")
    auth.login_as(wc.admin)
    for e in (wc.expert, wc.expert2):
        assert client.post(f"/works/admin/{busy.id}/assign",
                           data={"action": "add", "expert_id": e.id}).status_code == 303
    new = wc.make_work(status="recommended", title="新作品")
    client.post("/works/admin/assign", data={"work_ids": [new.id], "experts_per_work": "1"})
    assert [a.expert_id for a in assignments_of(new.id)] == [expert3.id]


def test_conflicting_experts_never_assigned(wc, client, auth, make_user):
    same_org = make_user("13900000022", name="同单位专家",
                         roles=[("expert", {"org_id": wc.unit.id})])
    unit_admin_expert = make_user("13900000023", name="推荐单位管理员兼专家",
                                  roles=["expert", ("unit_admin", {"org_id": wc.unit.id})])
    # Same applicant unit, written with full-width and extra spaces.
    same_name = make_user("13900000024", name="同名单位专家", unit_name="北京　科普 创作中心",
                          roles=["expert"])
    works = [wc.make_work(status="recommended", title=f"作品{i}") for i in range(4)]
    auth.login_as(wc.admin)
    resp = client.post("/works/admin/assign", data={
        "work_ids": [w.id for w in works], "experts_per_work": "2"})
    assert resp.status_code == 303
    assigned = {a.expert_id for a in db.session.scalars(select(WorkAssignment))}
    assert assigned == {wc.expert.id, wc.expert2.id}
    for bad in (same_org, unit_admin_expert, same_name):
        assert bad.id not in assigned


def test_conflict_by_channel_name_and_other_unit_allowed(wc, make_user):
    named = make_user("13900000025", unit_name="北京市科学技术协会", roles=["expert"])
    profile = ops.expert_profile(named, wc.campaign)
    mine = wc.make_work(status="recommended")
    theirs = wc.make_work(status="recommended", channel=wc.other_unit, applicant_unit="上海某单位")
    assert ops.conflict_reason(profile, mine) is not None
    assert ops.conflict_reason(profile, theirs) is None
    assert ops.normalize_name(" 北京（科协）Ａ ") == ops.normalize_name("北京(科协)a")


def test_not_enough_experts_reported(wc, client, auth, make_user):
    make_user("13900000026", roles=[("expert", {"org_id": wc.unit.id})])
    ok = wc.make_work(status="recommended", title="上海作品", channel=wc.other_unit,
                      applicant_unit="上海单位")
    auth.login_as(wc.admin)
    # 3 experts, one conflicts with works of wc.unit: k=3 only fits the Shanghai work.
    blocked = wc.make_work(status="recommended", title="北京作品")
    resp = client.post("/works/admin/assign", data={
        "work_ids": [ok.id, blocked.id], "experts_per_work": "3"}, follow_redirects=True)
    html = resp.get_data(as_text=True)
    assert "未能分配的作品" in html
    assert "需要 3 位" in html and "已回避" in html
    db.session.refresh(ok)
    db.session.refresh(blocked)
    assert ok.status == "in_review" and len(ok.assignments) == 3
    assert blocked.status == "recommended" and blocked.assignments == []


def test_nothing_assignable_is_422_and_nothing_written(wc, client, auth):
    w = wc.make_work(status="pending")
    auth.login_as(wc.admin)
    resp = client.post("/works/admin/assign", data={"work_ids": [w.id], "experts_per_work": "1"})
    assert resp.status_code == 422
    assert "只有“完成推荐”的作品可以批量分配" in resp.get_data(as_text=True)
    assert db.session.scalars(select(WorkAssignment)).all() == []
    db.session.refresh(w)
    assert w.status == "pending"


@pytest.mark.parametrize("k, message", [
    ("abc", "专家人数须为正整数"), ("0", "专家人数须在 1 到 10 之间"),
    ("3", "专家人数不能超过现有专家总数（2 位）"), ("", "请填写每件作品的评审专家人数")])
def test_experts_per_work_validated(wc, client, auth, k, message):
    w = wc.make_work(status="recommended")
    auth.login_as(wc.admin)
    resp = client.post("/works/admin/assign", data={"work_ids": [w.id], "experts_per_work": k})
    assert resp.status_code == 422
    html = resp.get_data(as_text=True)
    assert message in html
    assert 'id="k-error"' in html and 'aria-invalid="true"' in html
    assert f'value="{k}"' in html  # the typed value is kept
    db.session.refresh(w)
    assert w.status == "recommended"


def test_no_work_selected(wc, client, auth):
    wc.make_work(status="recommended")
    auth.login_as(wc.admin)
    resp = client.post("/works/admin/assign", data={"experts_per_work": "2", "scope": "selected"})
    assert resp.status_code == 422
    assert "请至少勾选一件作品" in resp.get_data(as_text=True)


def test_assign_all_matching_filter(wc, client, auth):
    a = wc.make_work(status="recommended", category="前沿科技")
    b = wc.make_work(status="recommended", category="健康生活")
    auth.login_as(wc.admin)
    resp = client.post("/works/admin/assign", data={
        "experts_per_work": "1", "scope": "all", "category": "健康生活"})
    assert resp.status_code == 303
    db.session.refresh(a)
    db.session.refresh(b)
    assert a.status == "recommended" and b.status == "in_review"


def test_assign_page_lists_recommended_and_preselects_posted_ids(wc, client, auth):
    rec = wc.make_work(status="recommended", title="待分配作品")
    pend = wc.make_work(status="pending", title="待推荐作品")
    auth.login_as(wc.admin)
    html = client.get("/works/admin/assign").get_data(as_text=True)
    assert "待分配作品" in html and "待推荐作品" not in html
    # Posted from the all-works list: no experts_per_work → the page with those ticked.
    resp = client.post("/works/admin/assign", data={"work_ids": [rec.id, pend.id]})
    assert resp.status_code == 200
    html = resp.get_data(as_text=True)
    assert re.search(rf'name="work_ids" value="{rec.id}"\s+aria-label="选择《待分配作品》" checked', html)
    assert re.search(rf'name="work_ids" value="{pend.id}"\s+aria-label="选择《待推荐作品》" checked', html)
    assert "从作品列表带入的其他作品" in html and "待推荐作品" in html
    assert db.session.scalars(select(WorkAssignment)).all() == []


def test_admin_pages_404_for_others(wc, client, auth):
    w = wc.make_work(status="recommended")
    for user in (wc.expert, wc.unit_admin, wc.applicant):
        auth.login_as(user)
        assert client.get("/works/admin/assign").status_code == 404
        assert client.post("/works/admin/assign", data={
            "work_ids": [w.id], "experts_per_work": "1"}).status_code == 404
        assert client.get(f"/works/admin/{w.id}/assign").status_code == 404
        assert client.post(f"/works/admin/{w.id}/assign", data={
            "action": "add", "expert_id": wc.expert.id}).status_code == 404
    db.session.refresh(w)
    assert w.status == "recommended"
    auth.logout()
    assert client.get("/works/admin/assign").status_code in (302, 401)


# --------------------------------------------------------------------------- per work

def test_per_work_add_moves_to_in_review_with_audit(wc, client, auth):
    w = wc.make_work(status="recommended")
    auth.login_as(wc.admin)
    page = client.get(f"/works/admin/{w.id}/assign")
    assert page.status_code == 200
    resp = client.post(f"/works/admin/{w.id}/assign", data={"action": "add", "expert_id": wc.expert.id})
    assert resp.status_code == 303
    db.session.refresh(w)
    assert w.status == "in_review"
    assert [a.expert_id for a in w.assignments] == [wc.expert.id]
    assert "assign" in audit_actions(w.id)
    # Adding a second expert keeps the state and writes an add_expert audit row.
    resp = client.post(f"/works/admin/{w.id}/assign", data={"action": "add", "expert_id": wc.expert2.id},
                       headers=HX)
    assert resp.status_code == 200
    assert "已添加专家 专家乙" in resp.get_data(as_text=True)
    db.session.refresh(w)
    assert w.status == "in_review" and len(w.assignments) == 2
    assert audit_actions(w.id)[-1] == "add_expert"
    # The same expert twice is refused.
    resp = client.post(f"/works/admin/{w.id}/assign", data={"action": "add", "expert_id": wc.expert.id})
    assert resp.status_code == 422
    assert "已是该作品的评审专家" in resp.get_data(as_text=True)


def test_per_work_form_refuses_conflict(wc, client, auth, make_user):
    bad = make_user("13900000027", name="回避专家", roles=[("expert", {"org_id": wc.unit.id})])
    w = wc.make_work(status="recommended")
    auth.login_as(wc.admin)
    html = client.get(f"/works/admin/{w.id}/assign").get_data(as_text=True)
    assert f'<option value="{bad.id}" disabled>' in html
    assert "需回避" in html
    resp = client.post(f"/works/admin/{w.id}/assign", data={"action": "add", "expert_id": bad.id})
    assert resp.status_code == 422
    html = resp.get_data(as_text=True)
    assert "不能分配 回避专家" in html and 'id="expert-error"' in html
    db.session.refresh(w)
    assert w.status == "recommended" and w.assignments == []


def test_per_work_refuses_non_expert_and_wrong_state(wc, client, auth):
    w = wc.make_work(status="pending")
    auth.login_as(wc.admin)
    resp = client.post(f"/works/admin/{w.id}/assign", data={"action": "add", "expert_id": wc.expert.id})
    assert resp.status_code == 422
    assert "不能分配专家" in resp.get_data(as_text=True)
    w2 = wc.make_work(status="recommended")
    resp = client.post(f"/works/admin/{w2.id}/assign", data={"action": "add", "expert_id": wc.applicant.id})
    assert resp.status_code == 422
    assert "不是本届征集的评审专家" in resp.get_data(as_text=True)
    draft = wc.make_work(status="draft")
    assert client.get(f"/works/admin/{draft.id}/assign").status_code == 404


def _submit(assignment, total=80.0):
    assignment.scores = {"scientific": 80, "innovative": 80, "communicative": 80}
    assignment.comments = {"_overall": "好"}
    assignment.total = total
    assignment.saved_at = assignment.submitted_at = utcnow()
    db.session.commit()


def test_remove_last_open_expert_completes_review(wc, client, auth):
    w = wc.make_work(status="recommended")
    auth.login_as(wc.admin)
    for e in (wc.expert, wc.expert2):
        client.post(f"/works/admin/{w.id}/assign", data={"action": "add", "expert_id": e.id})
    db.session.refresh(w)
    done, open_ = w.assignments
    _submit(done)
    # A submitted expert cannot be removed.
    resp = client.post(f"/works/admin/{w.id}/assign", data={"action": "remove", "assignment_id": done.id})
    assert resp.status_code == 422
    assert "已提交评分，不能移除" in resp.get_data(as_text=True)
    resp = client.post(f"/works/admin/{w.id}/assign", data={"action": "remove", "assignment_id": open_.id})
    assert resp.status_code == 303
    db.session.refresh(w)
    assert w.status == "reviewed"
    assert [a.id for a in w.assignments] == [done.id]
    actions = audit_actions(w.id)
    assert actions[-2:] == ["remove_expert", "complete_review"]


def test_remove_only_expert_refused(wc, client, auth):
    w = wc.make_work(status="recommended")
    auth.login_as(wc.admin)
    client.post(f"/works/admin/{w.id}/assign", data={"action": "add", "expert_id": wc.expert.id})
    db.session.refresh(w)
    resp = client.post(f"/works/admin/{w.id}/assign",
                       data={"action": "remove", "assignment_id": w.assignments[0].id})
    assert resp.status_code == 422
    assert "至少需要一位评审专家" in resp.get_data(as_text=True)
    db.session.refresh(w)
    assert w.status == "in_review" and len(w.assignments) == 1


def test_adding_expert_to_reviewed_work_reopens(wc, client, auth):
    w = wc.make_work(status="recommended")
    auth.login_as(wc.admin)
    client.post(f"/works/admin/{w.id}/assign", data={"action": "add", "expert_id": wc.expert.id})
    db.session.refresh(w)
    _submit(w.assignments[0])
    w.status = "reviewed"
    db.session.commit()
    resp = client.post(f"/works/admin/{w.id}/assign", data={"action": "add", "expert_id": wc.expert2.id})
    assert resp.status_code == 303
    db.session.refresh(w)
    assert w.status == "in_review"
    assert audit_actions(w.id)[-1] == "reopen_review"
