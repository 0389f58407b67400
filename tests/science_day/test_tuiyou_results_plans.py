"""The 推优 results lists are served by indexes: a scope's recommended activities and
units read ix_excellent_activity_scope / ix_excellent_unit_scope in order (also with the
已入选 / 未入选 filters and for the export of every scope), the public page and the
national cap read ix_excellent_*_selected, the overview's per-scope counts group on the
scope index. SQLite: EXPLAIN QUERY PLAN (no full scan, no temporary sort, the index
named); PostgreSQL: no sequential scan with seqscan disabled. Dropping the indexes makes
the check fail."""
from __future__ import annotations

import re
from datetime import timedelta

import pytest
from sqlalchemy import text

from sd_plans import captured, plan_of
from kepu.admin.models import Campaign
from kepu.extensions import db
from kepu.science_day import tuiyou_results as ops
from kepu.science_day.models import Activity
from kepu.science_day.tuiyou_models import ExcellentActivity, ExcellentUnit, TuiyouPublication
from kepu.timeutil import utcnow

TABLES = r"(excellent_activity|excellent_unit|activity)"


@pytest.fixture
def world(app, make_user):
    c = Campaign(kind="science_day", year=2026, title="2026年全国科普日", settings={})
    db.session.add(c)
    db.session.commit()
    owner = make_user("13900002901")
    now = utcnow()
    for i in range(40):
        province = ["11", "44", "31"][i % 3]
        a = Activity(campaign_id=c.id, owner_id=owner.id, status="approved", name=f"活动{i}",
                     mode="线下", start_at=now, end_at=now, region_code=province + "0105",
                     supervisor_category="省科协", route_province=province,
                     hosts=[{"name": f"单位{i % 7}"}], submitted_at=now, approved_at=now)
        db.session.add(a)
        db.session.flush()
        db.session.add(ExcellentActivity(
            campaign_id=c.id, scope_key=f"province:{province}", activity_id=a.id,
            created_at=now - timedelta(minutes=i), selected_at=now if i % 4 == 0 else None))
        if i < 21:
            db.session.add(ExcellentUnit(
                campaign_id=c.id, scope_key=f"province:{province}", unit_key=f"name:单位{i}",
                name=f"单位{i}", created_at=now - timedelta(minutes=i),
                selected_at=now if i % 5 == 0 else None))
    db.session.add(TuiyouPublication(campaign_id=c.id, published_at=now))
    db.session.commit()
    return c


def problems(plan: str, index: str) -> list[str]:
    if db.engine.dialect.name != "sqlite":
        # the planner may pick either campaign-led index of a tiny table; what matters
        # is that an index condition on the edition serves it, not a scan
        out = re.findall(rf"Seq Scan on {TABLES}\b", plan)
        if not re.search(r"Index Cond: \(+(excellent_\w+\.)?campaign_id =", plan):
            out.append("no index condition on the edition")
        return out
    out = []
    if re.search(rf"\bSCAN {TABLES}\b(?! USING)", plan):
        out.append("full scan")
    if "TEMP B-TREE" in plan:
        out.append("sorts")
    if index not in plan:
        out.append(f"{index} not used")
    return out


def statements(fn, table):
    return [(s, p) for s, p in captured(fn)
            if re.search(rf"FROM {table}\b", s)]


A_SCOPE, U_SCOPE = "ix_excellent_activity_scope", "ix_excellent_unit_scope"
A_SEL, U_SEL = "ix_excellent_activity_selected", "ix_excellent_unit_selected"

CASES = [
    ("scope activities", lambda c: ops.activity_items(c.id, "province:11"),
     "excellent_activity", A_SCOPE),
    ("scope activities selected", lambda c: ops.activity_items(c.id, "province:11", "selected"),
     "excellent_activity", A_SCOPE),
    ("scope activities unselected",
     lambda c: ops.activity_items(c.id, "province:11", "unselected"), "excellent_activity",
     A_SCOPE),
    ("export activities", lambda c: ops.activity_items(c.id), "excellent_activity", A_SCOPE),
    ("scope units", lambda c: ops.db.session.scalars(ops.unit_query(c.id, "province:44")).all(),
     "excellent_unit", U_SCOPE),
    ("scope units selected",
     lambda c: ops.db.session.scalars(ops.unit_query(c.id, "province:44", "selected")).all(),
     "excellent_unit", U_SCOPE),
    ("export units", lambda c: ops.db.session.scalars(ops.unit_query(c.id)).all(),
     "excellent_unit", U_SCOPE),
    ("overview activity counts", lambda c: ops._grouped(ExcellentActivity, c.id),
     "excellent_activity", A_SCOPE),
    ("overview unit counts", lambda c: ops._grouped(ExcellentUnit, c.id),
     "excellent_unit", U_SCOPE),
    ("scope counts activities", lambda c: ops.scope_counts(c.id, "province:11"),
     "excellent_activity", A_SCOPE),
    ("scope counts units", lambda c: ops.scope_counts(c.id, "province:11"),
     "excellent_unit", U_SCOPE),
    ("cap / totals activities", lambda c: ops.selected_totals(c.id), "excellent_activity",
     A_SEL),
    ("cap / totals units", lambda c: ops.selected_totals(c.id), "excellent_unit", U_SEL),
    ("public activities", lambda c: ops.public_result(c), "excellent_activity", A_SEL),
    ("public units", lambda c: ops.public_result(c), "excellent_unit", U_SEL),
]


@pytest.mark.parametrize("label,fn,table,index", CASES, ids=[c[0] for c in CASES])
def test_results_queries_use_their_index(world, label, fn, table, index):
    found = statements(lambda: fn(world), table)
    assert found, label
    for s, p in found:
        plan = plan_of(s, p)
        assert not problems(plan, index), (label, problems(plan, index), s, plan)
    db.session.rollback()


def test_plan_check_fails_without_the_indexes(world):
    found = statements(lambda: ops.scope_counts(world.id, "province:11"),
                       "excellent_activity")
    found += statements(lambda: ops.selected_totals(world.id), "excellent_unit")
    conn = db.session.connection()
    if db.engine.dialect.name == "sqlite":
        # SQLite DDL autocommits outside a transaction (kepu/db_setup.py opens one on the
        # first write only): open it so the rollback below restores the indexes
        conn.execute(text("DELETE FROM excellent_activity WHERE 1 = 0"))
    for name in ("ix_excellent_activity_scope", "ix_excellent_activity_selected",
                 "ix_excellent_unit_scope", "ix_excellent_unit_selected"):
        conn.execute(text(f"DROP INDEX IF EXISTS {name}"))
    try:
        assert len(found) == 2
        assert problems(plan_of(*found[0]), A_SCOPE)
        if db.engine.dialect.name == "sqlite":
            # (PostgreSQL still serves it from uq_excellent_unit_unit, led by campaign_id)
            assert problems(plan_of(*found[1]), U_SEL)
    finally:
        db.session.rollback()
