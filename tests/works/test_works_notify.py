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


def _run_due(app, seconds: float = 3600) -> int:
    """Run the notices scheduled on the (immediate-mode) queue as if ``seconds`` passed."""
    from datetime import datetime, timedelta, timezone

    from kepu.jobs import queue

    huey = queue().huey
    later = datetime.now(timezone.utc).replace(tzinfo=None) + timedelta(seconds=seconds)
    tasks = huey.read_schedule(later)
    for task in tasks:
        huey.execute(task, timestamp=later)
    return len(tasks)


def test_notices_wait_so_that_an_undo_sends_nothing(app, client, auth, wc):
    """With a delay, 推荐 then 撤销 right after sends no SMS; a decision that stands is
    notified once the delay has passed."""
    app.config["SMS_NOTICE_DELAY_SECONDS"] = 120
    outbox = app.extensions["kepu_sms"].backend.outbox
    undone = wc.make_work(title="推荐后撤销", with_files=False)
    kept = wc.make_work(title="推荐后保留", with_files=False)
    returned = wc.make_work(title="退回后撤销", with_files=False)
    auth.login_as(wc.unit_admin)
    client.post(f"/works/{undone.id}/recommend")
    client.post(f"/works/{undone.id}/unrecommend")
    client.post(f"/works/{kept.id}/recommend")
    client.post(f"/works/{returned.id}/return", data={"comment": "请补充"})
    client.post(f"/works/{returned.id}/unreturn")
    assert outbox == []                      # nothing sent at decision time
    assert _run_due(app, 10) == 0            # nor before the delay has passed
    assert _run_due(app) == 3
    assert [m["text"] for m in outbox] == [
        "您申报的作品《推荐后保留》已通过推荐单位审核，完成推荐。"]
