"""Per-unit recommendation quota: default unlimited, enforced in single, bulk and
concurrent recommendations; the platform admin's quota page."""
from __future__ import annotations

import threading
import time

import pytest

from kepu.extensions import db
from kepu.works.models import Work, WorkUnitQuota
from kepu.works.operations import OperationError
from kepu.works.operations import review as review_ops

HX = {"HX-Request": "true"}


def set_quota(wc, org, quota):
    db.session.add(WorkUnitQuota(campaign_id=wc.campaign.id, org_id=org.id, quota=quota))
    db.session.commit()


def statuses(ids):
    db.session.expire_all()
    return [db.session.get(Work, i).status for i in ids]


def test_unlimited_by_default(app, wc):
    works = [wc.make_work(with_files=False) for _ in range(5)]
    for w in works:
        review_ops.recommend(w, wc.unit_admin, send_sms=False)
    assert statuses([w.id for w in works]) == ["recommended"] * 5
    info = review_ops.quota_info(wc.campaign.id, wc.unit.id)
    assert info.unlimited and info.used == 5 and info.label == "已推荐 5 / 不限"


def test_null_quota_row_is_unlimited(app, wc):
    set_quota(wc, wc.unit, None)
    works = [wc.make_work(with_files=False) for _ in range(3)]
    for w in works:
        review_ops.recommend(w, wc.unit_admin, send_sms=False)
    assert statuses([w.id for w in works]) == ["recommended"] * 3


def test_quota_reached_counts_works_in_review(client, auth, wc, sms_outbox):
    set_quota(wc, wc.unit, 2)
    wc.make_work(status="in_review", with_files=False)
    wc.make_work(status="reviewed", with_files=False)
    wc.make_work(status="recommended", channel=wc.other_unit, with_files=False)  # other unit
    w = wc.make_work(title="超出限额", with_files=False)
    auth.login_as(wc.unit_admin)
    html = client.get("/works/unit/").get_data(as_text=True)
    assert "已推荐 2 / 限额 2" in html and "已达限额" in html
    r = client.post(f"/works/{w.id}/recommend", data={"ctx": "unit"}, headers=HX)
    assert r.status_code == 409
    assert "已达到本单位推荐限额（2件），不能继续推荐" in r.get_data(as_text=True)
    assert statuses([w.id]) == ["pending"]
    assert sms_outbox == []
    # no audit row survives the rollback
    from kepu.workflow import AuditLog

    assert db.session.scalar(db.select(db.func.count(AuditLog.id))
                             .where(AuditLog.entity_id == w.id,
                                    AuditLog.entity_type == "work")) == 0


def test_quota_of_other_edition_ignored(app, wc):
    from kepu.admin.models import Campaign

    old = Campaign(kind="works", year=2025, title="2025年全国优质科普作品征集", settings={})
    db.session.add(old)
    db.session.commit()
    db.session.add(WorkUnitQuota(campaign_id=old.id, org_id=wc.unit.id, quota=0))
    db.session.commit()
    w = wc.make_work(with_files=False)
    review_ops.recommend(w, wc.unit_admin, send_sms=False)
    assert statuses([w.id]) == ["recommended"]


def test_bulk_never_exceeds_quota(client, auth, wc, sms_outbox):
    set_quota(wc, wc.unit, 3)
    wc.make_work(status="recommended", with_files=False)
    works = [wc.make_work(title=f"批量{i}", with_files=False) for i in range(4)]
    auth.login_as(wc.unit_admin)
    r = client.post("/works/unit/bulk",
                    data={"ids": [w.id for w in works], "action": "recommend",
                          "confirmed": "1"}, follow_redirects=True)
    html = r.get_data(as_text=True)
    assert "已推荐 2 件；未推荐 2 件" in html
    assert html.count("已达到本单位推荐限额（3件）") >= 2
    assert statuses([w.id for w in works]).count("recommended") == 2
    assert review_ops.recommended_count(wc.campaign.id, wc.unit.id) == 3
    assert len(sms_outbox) == 2


def test_quota_zero_blocks_everything(app, wc):
    set_quota(wc, wc.unit, 0)
    w = wc.make_work(with_files=False)
    with pytest.raises(OperationError) as e:
        review_ops.recommend(w, wc.unit_admin, send_sms=False)
    assert e.value.code == "quota"
    assert "（0件）" in e.value.message


def test_concurrent_recommendations_respect_quota(app, wc, monkeypatch):
    """Two admins of the same unit recommend two works at the same moment with one
    place left: exactly one succeeds. The count is slowed down so both requests are
    inside the critical section together unless the unit row lock serialises them."""
    from kepu.accounts.models import User

    from kepu.accounts.models import Grant

    u2 = User(phone="13900000099", name="第二管理员", password_hash="x")
    db.session.add(u2)
    db.session.flush()
    db.session.add(Grant(user_id=u2.id, role="unit_admin", org_id=wc.unit.id))
    db.session.commit()
    second_admin_id = u2.id
    set_quota(wc, wc.unit, 1)
    a = wc.make_work(title="并发甲", with_files=False)
    b = wc.make_work(title="并发乙", with_files=False)
    ids = [(a.id, wc.unit_admin.id), (b.id, second_admin_id)]

    original = review_ops.recommended_count

    def slow_count(campaign_id, org_id):
        time.sleep(0.4)
        return original(campaign_id, org_id)

    monkeypatch.setattr(review_ops, "recommended_count", slow_count)
    barrier = threading.Barrier(2)
    outcomes: list = []

    def worker(work_id, user_id):
        with app.app_context():
            try:
                work = db.session.get(Work, work_id)
                user = db.session.get(User, user_id)
                barrier.wait(timeout=5)
                review_ops.recommend(work, user, send_sms=False)
                outcomes.append("ok")
            except OperationError as e:
                outcomes.append(e.code)
            except Exception as e:  # noqa: BLE001 - reported below
                outcomes.append(repr(e))
            finally:
                db.session.remove()

    threads = [threading.Thread(target=worker, args=pair) for pair in ids]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=30)
    assert sorted(outcomes) in (["ok", "quota"], ["busy", "ok"]), outcomes
    monkeypatch.setattr(review_ops, "recommended_count", original)
    assert statuses([a.id, b.id]).count("recommended") == 1
    assert original(wc.campaign.id, wc.unit.id) == 1


# --- admin page ------------------------------------------------------------------------
def test_admin_quotas_page_lists_units_and_saves(client, auth, wc):
    wc.make_work(status="recommended", with_files=False)
    auth.login_as(wc.admin)
    html = client.get("/works/admin/quotas").get_data(as_text=True)
    assert "北京市科学技术协会" in html and "上海市科学技术协会" in html
    assert f'name="quota-{wc.unit.id}"' in html
    r = client.post("/works/admin/quotas",
                    data={f"quota-{wc.unit.id}": "5", f"quota-{wc.other_unit.id}": ""})
    assert r.status_code == 303
    assert review_ops.quota_of(wc.campaign.id, wc.unit.id) == 5
    assert review_ops.quota_of(wc.campaign.id, wc.other_unit.id) is None
    html = client.get("/works/admin/quotas").get_data(as_text=True)
    assert 'value="5"' in html and "已保存推荐限额" in html
    # blank again = unlimited
    client.post("/works/admin/quotas", data={f"quota-{wc.unit.id}": " "})
    assert review_ops.quota_of(wc.campaign.id, wc.unit.id) is None


@pytest.mark.parametrize("bad", ["-1", "abc", "1.5", "999999"])
def test_admin_quotas_errors_next_to_input(client, auth, wc, bad):
    auth.login_as(wc.admin)
    r = client.post("/works/admin/quotas",
                    data={f"quota-{wc.unit.id}": bad, f"quota-{wc.other_unit.id}": "7"})
    assert r.status_code == 422
    html = r.get_data(as_text=True)
    assert f'id="quota-{wc.unit.id}-error"' in html
    assert f'value="{bad}"' in html and 'value="7"' in html  # nothing typed is lost
    # nothing saved while any value is wrong
    assert review_ops.quota_of(wc.campaign.id, wc.other_unit.id) is None


def test_admin_quotas_ignores_non_units(client, auth, wc):
    from kepu.orgs.models import Org

    stray = Org(name="无管理员单位", kind="全国学会")
    db.session.add(stray)
    db.session.commit()
    auth.login_as(wc.admin)
    html = client.get("/works/admin/quotas").get_data(as_text=True)
    assert "无管理员单位" not in html
    client.post("/works/admin/quotas", data={f"quota-{stray.id}": "3"})
    assert review_ops.quota_of(wc.campaign.id, stray.id) is None
