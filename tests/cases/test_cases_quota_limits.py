"""Recommendation quotas: ≤3 per category per unit, ≤6 across both, race-safe."""
from __future__ import annotations

import threading
import time

import pytest

from kepu.accounts.models import User
from kepu.cases.models import Case
from kepu.cases.operations import review as ops
from kepu.extensions import db
from kepu.workflow import OperationError

HX = {"HX-Request": "true"}


def status_of(case_id):
    db.session.expire_all()
    return db.session.get(Case, case_id).status


def test_fourth_in_one_category_refused_with_message(cc, client, auth):
    for i in range(3):
        cc.make_case(name=f"已推荐{i}", status="recommended")
    fourth = cc.make_case(name="第四个")
    auth.login_as(cc.case_admin)
    r = client.post(f"/cases/unit/cases/{fourth.id}/recommend", headers=HX)
    assert r.status_code == 409
    html = r.get_data(as_text=True)
    assert "本单位“科普活动服务”类已推荐3个案例，已达上限（每类不超过3个）" in html
    assert status_of(fourth.id) == "submitted"
    # finalised cases count too
    db.session.get(Case, fourth.id)
    other = cc.make_case(name="阵地", category="venue", subtype="科技馆")
    ops.recommend(db.session.get(Case, other.id), cc.case_admin)
    assert status_of(other.id) == "recommended"


def test_no_js_quota_refusal_shows_message_on_page(cc, client, auth):
    for i in range(3):
        cc.make_case(name=f"已推荐{i}", status="finalised" if i == 0 else "recommended")
    fourth = cc.make_case(name="第四个")
    auth.login_as(cc.case_admin)
    r = client.post(f"/cases/unit/cases/{fourth.id}/recommend")
    assert r.status_code == 409
    html = r.get_data(as_text=True)
    assert "<html" in html and "已达上限（每类不超过3个）" in html


def test_three_plus_three_ok_seventh_refused(cc):
    cases = [cc.make_case(name=f"活动{i}") for i in range(3)]
    cases += [cc.make_case(name=f"阵地{i}", category="venue", subtype="科技馆") for i in range(3)]
    for c in cases:
        ops.recommend(db.session.get(Case, c.id), cc.case_admin)
    assert all(status_of(c.id) == "recommended" for c in cases)
    seventh = cc.make_case(name="第七个", category="venue", subtype="实验室")
    with pytest.raises(OperationError) as e:
        ops.recommend(db.session.get(Case, seventh.id), cc.case_admin)
    assert "已达上限" in e.value.message
    assert status_of(seventh.id) == "submitted"
    meter = {m.key: m for m in ops.quota_meter(cc.campaign, cc.unit.id)}
    assert (meter["activity"].used, meter["venue"].used, meter["total"].used) == (3, 3, 6)
    assert meter["total"].limit == 6


def test_total_quota_message(cc):
    cc.campaign.settings = {**cc.campaign.settings, "quota_total": 4}
    db.session.commit()
    for i in range(3):
        cc.make_case(name=f"活动{i}", status="recommended")
    cc.make_case(name="阵地0", category="venue", subtype="科技馆", status="recommended")
    fifth = cc.make_case(name="阵地1", category="venue", subtype="科技馆")
    with pytest.raises(OperationError) as e:
        ops.recommend(db.session.get(Case, fifth.id), cc.case_admin)
    assert e.value.message == "两类案例合计已推荐4个，已达上限（合计不超过4个）"
    assert status_of(fifth.id) == "submitted"


def test_quota_is_per_unit(cc):
    for i in range(3):
        cc.make_case(name=f"作协{i}", status="recommended")
    jiangsu = cc.make_case(name="江苏活动", unit=cc.other_unit)
    ops.recommend(db.session.get(Case, jiangsu.id), cc.other_case_admin)
    assert status_of(jiangsu.id) == "recommended"


def test_returned_and_unrecommended_free_slots(cc):
    recs = [cc.make_case(name=f"活动{i}", status="recommended") for i in range(3)]
    waiting = cc.make_case(name="等待")
    ops.unrecommend(db.session.get(Case, recs[0].id), cc.case_admin)
    ops.recommend(db.session.get(Case, waiting.id), cc.case_admin)
    assert status_of(waiting.id) == "recommended"


def test_concurrent_recommend_exactly_one_wins(cc, app, make_user, monkeypatch):
    """Two admins of the same unit recommend different cases at once; one slot left."""
    for i in range(2):
        cc.make_case(name=f"已推荐{i}", status="recommended")
    a = cc.make_case(name="甲")
    b = cc.make_case(name="乙")
    second_admin = make_user("13900000041", name="第二位管理员",
                             roles=[("case_unit", {"org_id": cc.unit.id})])
    ids = [(a.id, cc.case_admin.id), (b.id, second_admin.id)]

    # Hold each transaction open a moment after counting and before committing, so
    # without the unit lock both would count 3 and both would win.
    real_check = ops._quota_error

    def slow_check(*args, **kwargs):
        message = real_check(*args, **kwargs)
        time.sleep(0.3)
        return message

    monkeypatch.setattr(ops, "_quota_error", slow_check)
    barrier = threading.Barrier(2)
    results: dict[int, str] = {}

    def worker(case_id: int, user_id: int):
        with app.app_context():
            try:
                user = db.session.get(User, user_id)
                case = db.session.get(Case, case_id)
                barrier.wait(timeout=10)
                ops.recommend(case, user)
                results[case_id] = "ok"
            except OperationError as e:
                results[case_id] = e.message
            except Exception as e:  # noqa: BLE001 - surfaced by the assertion below
                results[case_id] = f"UNEXPECTED {type(e).__name__}: {e}"
            finally:
                db.session.remove()

    threads = [threading.Thread(target=worker, args=pair) for pair in ids]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=30)
    assert len(results) == 2, results
    winners = [k for k, v in results.items() if v == "ok"]
    assert len(winners) == 1, results
    loser_message = next(v for v in results.values() if v != "ok")
    assert ("已达上限" in loser_message or loser_message == "操作冲突，请刷新后重试"), results
    db.session.expire_all()
    states = sorted(status_of(x) for x, _ in ids)
    assert states == ["recommended", "submitted"]
    meter = {m.key: m.used for m in ops.quota_meter(cc.campaign, cc.unit.id)}
    assert meter["activity"] == 3
