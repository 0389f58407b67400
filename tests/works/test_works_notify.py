"""SMS notices on 退回 / 推荐 never undo the review decision when the provider fails."""
from __future__ import annotations

from kepu.extensions import db
from kepu.works.models import Work
from kepu.works.operations.common import notify


def test_a_failing_provider_does_not_undo_the_recommendation(app, client, auth, wc, caplog):
    work = wc.make_work(status="pending")
    backend = app.extensions["kepu_sms"].backend

    def broken(*args, **kwargs):
        raise RuntimeError("provider down")

    backend.notify = broken
    auth.login_as(wc.unit_admin)
    resp = client.post(f"/works/{work.id}/recommend")
    assert resp.status_code in (200, 303)
    db.session.expire_all()
    assert db.session.get(Work, work.id).status == "recommended"
    assert "SMS notice for work" in caplog.text


def test_notice_carries_the_title_as_template_param(app, wc):
    work = wc.make_work(status="returned", title="一个非常非常长的作品名称超过二十个字的情况示例文本")
    notify(work, "return")
    sent = app.extensions["kepu_sms"].backend.outbox[-1]
    assert sent["purpose"] == "works_return"
    assert sent["params"] == [work.title[:20] + "…"]
    assert "退回修改" in sent["text"]
