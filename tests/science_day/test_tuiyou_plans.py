"""The 推优 candidate lists are served by indexes (a province can have 300,000 approved
activities): a province's page reads ix_activity_queue_province in order, an org's
ix_activity_queue_supervisor, the recommended tab ix_excellent_activity_scope — no full
scan, no sort. SQLite: EXPLAIN QUERY PLAN; PostgreSQL: no sequential scan with seqscan
disabled. Dropping the index makes the check fail."""
from __future__ import annotations

import re
from datetime import timedelta

import pytest
from sqlalchemy import text

from sd_plans import captured, plan_of
from kepu.admin.models import Campaign
from kepu.extensions import db
from kepu.orgs.models import Org
from kepu.science_day import tuiyou as ops
from kepu.science_day.models import Activity
from kepu.timeutil import utcnow


@pytest.fixture
def world(app, make_user):
    c = Campaign(kind="science_day", year=2026, title="2026年全国科普日", settings={})
    society = Org(name="中国科普作家协会", kind="全国学会")
    db.session.add_all([c, society])
    db.session.commit()
    owner = make_user("13900000901")
    now = utcnow()
    for i in range(30):
        national = i % 3 == 0
        db.session.add(Activity(
            campaign_id=c.id, owner_id=owner.id, status=["approved", "draft"][i % 5 == 4],
            name=f"活动{i}", mode="线下", start_at=now, end_at=now,
            region_code="110105", supervisor_category="全国学会" if national else "省科协",
            supervisor_org_id=society.id if national else None,
            route_province=None if national else ["11", "44"][i % 2],
            submitted_at=now - timedelta(hours=i), approved_at=now))
    db.session.commit()
    return c, society


def problems(plan: str, index: str) -> list[str]:
    if db.engine.dialect.name != "sqlite":
        return [m for m in re.findall(r"Seq Scan on (activity|excellent_activity)\b", plan)]
    out = []
    if re.search(r"\bSCAN (activity|excellent_activity)\b(?! USING)", plan):
        out.append("full scan")
    if "TEMP B-TREE" in plan:
        out.append("sorts")
    if index not in plan:
        out.append(f"{index} not used")
    return out


def list_statements(campaign, scope, **kw):
    seen = captured(lambda: ops.candidates(campaign.id, scope, **kw))
    return [(s, p) for s, p in seen
            if re.search(r"FROM (activity|excellent_activity)\b", s) and "LIMIT" in s]


CASES = [
    ("province", "province", {}, "ix_activity_queue_province"),
    ("province page 500", "province", {"page": 500}, "ix_activity_queue_province"),
    ("province search", "province", {"q": "活动1"}, "ix_activity_queue_province"),
    ("province eligible", "province", {"show": "eligible"}, "ix_activity_queue_province"),
    ("org", "org", {}, "ix_activity_queue_supervisor"),
    ("recommended", "province", {"show": "recommended"}, "ix_excellent_activity_scope"),
]


@pytest.mark.parametrize("label,kind,kw,index", CASES, ids=[c[0] for c in CASES])
def test_candidate_lists_use_their_index(world, label, kind, kw, index):
    campaign, society = world
    scope = ops.province_scope("44") if kind == "province" else ops.org_scope(society)
    statements = list_statements(campaign, scope, **kw)
    assert statements, label
    for s, p in statements:
        plan = plan_of(s, p)
        assert not problems(plan, index), (label, problems(plan, index), s, plan)
    db.session.rollback()


def test_plan_check_fails_without_the_index(world):
    campaign, _ = world
    statements = list_statements(campaign, ops.province_scope("44"))
    conn = db.session.connection()
    if db.engine.dialect.name == "sqlite":
        # SQLite DDL autocommits outside a transaction (kepu/db_setup.py opens one on the
        # first write only): open it so the rollback below restores the indexes
        conn.execute(text("DELETE FROM activity WHERE 1 = 0"))
    for name in ("ix_activity_queue_province", "ix_activity_queue_province_time",
                 "ix_activity_queue_status", "ix_activity_queue_time",
                 "ix_activity_queue_region", "ix_activity_queue_supervisor",
                 "ix_activity_campaign_id"):
        conn.execute(text(f"DROP INDEX IF EXISTS {name}"))
    try:
        found = [problems(plan_of(s, p), "ix_activity_queue_province") for s, p in statements]
        assert any(found), found
    finally:
        db.session.rollback()
