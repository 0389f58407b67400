"""The thank-you SMS task (kepu/science_day/thanks.py) through a real consumer process
(``flask --app app kepu worker``) with the console SMS backend: its outbox file shows one
SMS per phone per edition, nothing while an edition is paused, and retries of a refused
number that stop at the edition's ``max_attempts``.

Like test_jobs_consumer.py: the test client's app and the consumer share the test
database and the queue (a temp SqliteHuey file, or Redis when it answers).
"""
from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from datetime import timedelta
from pathlib import Path

import pytest
from sqlalchemy import select, update

from kepu.admin.models import Campaign
from kepu.extensions import db
from kepu.orgs.models import Org
from kepu.science_day import thanks as T
from kepu.science_day.after_models import ActivityScientist, ScientistThanks
from kepu.science_day.models import Activity
from kepu.timeutil import utcnow

from test_jobs_consumer import NO_REDIS, ROOT, TIMEOUT, queue_config, stop  # noqa: F401

TASK = "kepu.science_day.thanks.send_thanks_task"
CASES = [
    pytest.param("sqlite", "thread", id="sqlite-thread"),
    pytest.param("sqlite", "process", id="sqlite-process"),
    pytest.param("redis", "thread", id="redis-thread", marks=NO_REDIS),
]


def start_consumer(database_url: str, tmp_path: Path, queue_cfg: dict,
                   worker_type: str) -> subprocess.Popen:
    env = {k: v for k, v in os.environ.items() if not k.startswith("KEPU_")}
    env.update({
        "KEPU_DATABASE_URL": database_url,
        "KEPU_SECRET_KEY": "test-secret-of-the-suite",
        "KEPU_INSTANCE_PATH": str(tmp_path / "worker-instance"),
        "KEPU_UPLOAD_DIR": str(tmp_path / "uploads"),
        "KEPU_EXPORT_DIR": str(tmp_path / "exports"),
        "KEPU_JOBS_IMPORTS": '["thanks_for_tests"]',
        "KEPU_SMS_BACKEND": "console",
        "PYTHONPATH": str(Path(__file__).parent),
        "PYTHONUNBUFFERED": "1",
    })
    for key, value in queue_cfg.items():
        env["KEPU_" + key] = value
    log = open(tmp_path / "worker.log", "w")
    proc = subprocess.Popen(
        [sys.executable, "-m", "flask", "--app", "app", "kepu", "worker", "--workers", "1",
         "--worker-type", worker_type],
        cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
    log.close()
    proc.log_path = tmp_path / "worker.log"
    return proc


def seed() -> dict:
    c26 = Campaign(kind="science_day", year=2026, title="2026年全国科普日",
                   settings={"thanks_sms": {"paused": True, "max_attempts": 2}})
    c25 = Campaign(kind="science_day", year=2025, title="2025年全国科普日",
                   settings={"thanks_sms": {"paused": True}})
    org = Org(name="北京市科学技术协会", kind="省级科协", region_code="11")
    db.session.add_all([c26, c25, org])
    db.session.commit()
    from kepu.accounts.models import User

    owner = User(phone="13900000990", name="信息员", password_hash="!")  # cannot log in
    db.session.add(owner)
    db.session.commit()
    now = utcnow()

    def activity(campaign, status="approved"):
        a = Activity(campaign_id=campaign.id, owner_id=owner.id, status=status, name="活动",
                     mode="线下", activity_type="科普讲座", start_at=now - timedelta(days=3),
                     end_at=now - timedelta(days=3), region_code="110105",
                     supervisor_category="省科协", supervisor_org_id=org.id,
                     route_province="11", hosts=[{"name": "某馆"}], submitted_at=now)
        db.session.add(a)
        db.session.flush()
        return a

    acts = [activity(c26) for _ in range(3)]
    unapproved = activity(c26, "national_pending")
    old = activity(c25)
    for a in acts:       # the same scientist on three activities
        db.session.add(ActivityScientist(activity_id=a.id, name="张院士", phone="13800000001"))
    db.session.add(ActivityScientist(activity_id=acts[0].id, name="李研究员",
                                     phone="13800000002", position=1))
    db.session.add(ActivityScientist(activity_id=acts[1].id, name="号码无效",
                                     phone="13800000099", position=1))
    db.session.add(ActivityScientist(activity_id=unapproved.id, name="未通过",
                                     phone="13800000004"))
    db.session.add(ActivityScientist(activity_id=old.id, name="张院士", phone="13800000001"))
    db.session.commit()
    return {"c26": c26.id, "c25": c25.id}


def outbox(tmp_path: Path) -> list[dict]:
    path = tmp_path / "worker-instance" / "sms_outbox.jsonl"
    if not path.exists():
        return []
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines()]


def run_once(web, proc, done_before: int) -> int:
    """Enqueue the periodic task and wait until the consumer has run it once more."""
    with web.app_context():
        T.send_thanks_task.delay()
    deadline = time.monotonic() + TIMEOUT
    while True:
        log = proc.log_path.read_text()
        done = sum(1 for line in log.splitlines() if TASK in line and "executed in" in line)
        if done > done_before:
            return done
        assert proc.poll() is None, "the consumer exited:\n" + log
        assert time.monotonic() < deadline, f"task not run after {TIMEOUT} s:\n{log}"
        time.sleep(0.2)


def set_thanks(web, campaign_id: int, **values) -> None:
    with web.app_context():
        c = db.session.get(Campaign, campaign_id)
        c.settings = {**c.settings, "thanks_sms": {**c.settings["thanks_sms"], **values}}
        db.session.commit()


def states(web, campaign_id: int) -> dict[str, tuple[str, int]]:
    with web.app_context():
        return {r.phone: (r.status, r.attempts) for r in db.session.scalars(
            select(ScientistThanks).where(ScientistThanks.campaign_id == campaign_id))}


@pytest.mark.parametrize("queue_config,worker_type", CASES, indirect=["queue_config"])
def test_thanks_through_a_real_consumer(app_factory, database_url, tmp_path, queue_config,
                                        worker_type):
    web = app_factory(JOBS_IMMEDIATE=False, **queue_config)
    with web.app_context():
        ids = seed()
    proc = start_consumer(database_url, tmp_path, queue_config, worker_type)
    try:
        # both editions paused: the task runs and sends (and queues) nothing
        done = run_once(web, proc, 0)
        assert outbox(tmp_path) == []
        assert states(web, ids["c26"]) == {} and states(web, ids["c25"]) == {}

        # resumed: one SMS per phone per edition; the refused number fails (try 1 of 2)
        set_thanks(web, ids["c26"], paused=False)
        set_thanks(web, ids["c25"], paused=False)
        done = run_once(web, proc, done)
        sent = outbox(tmp_path)
        assert sorted((m["phone"], m["params"][1]) for m in sent) == [
            ("13800000001", "2025"), ("13800000001", "2026"), ("13800000002", "2026")]
        assert all(m["purpose"] == "science_day_thanks" for m in sent)
        assert sent[0]["text"].startswith("【全国科普日】")
        assert states(web, ids["c26"]) == {"13800000001": ("sent", 1),
                                           "13800000002": ("sent", 1),
                                           "13800000099": ("failed", 1)}

        # time passes (the backoff is over): one more try, then it stays 失败
        for _ in range(2):
            with web.app_context():
                db.session.execute(update(ScientistThanks).where(
                    ScientistThanks.next_attempt_at.is_not(None)).values(
                    next_attempt_at=utcnow() - timedelta(minutes=1)))
                db.session.commit()
            done = run_once(web, proc, done)
        assert len(outbox(tmp_path)) == 3          # nothing sent twice, nothing new
        assert states(web, ids["c26"])["13800000099"] == ("failed", 2)
        with web.app_context():
            row = db.session.scalar(select(ScientistThanks).where(
                ScientistThanks.phone == "13800000099"))
            assert "号码无效" in row.last_error and row.next_attempt_at is None
    finally:
        output = stop(proc)
    assert f"kepu worker: 1 {worker_type} worker(s)" in output, output
    assert f"+ {TASK}" in output, output       # registered as a periodic task
    assert "Traceback" not in output, output
