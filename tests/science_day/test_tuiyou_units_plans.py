"""The units page's queries are served by indexes: the scope's recommended activities by
ix_excellent_activity_scope, its recommended units by ix_excellent_unit_scope, units
recommended elsewhere by uq_excellent_unit_unit, host orgs by primary key and ix_org_name
— no full scan of excellent_activity, excellent_unit or org, no sort. SQLite: EXPLAIN
QUERY PLAN; PostgreSQL: no sequential scan with seqscan disabled. Dropping the indexes
makes the check fail."""
from __future__ import annotations

import re
from datetime import timedelta

import pytest
from sqlalchemy import text

from sd_plans import captured, plan_of
from kepu.admin.models import Campaign
from kepu.extensions import db
from kepu.orgs.models import Org
from kepu.science_day import tuiyou_units as ops
from kepu.science_day.annual import province_scope
from kepu.science_day.models import Activity
from kepu.science_day.tuiyou_models import ExcellentActivity, ExcellentUnit
from kepu.timeutil import utcnow

TABLES = r"(excellent_activity|excellent_unit|org)"


@pytest.fixture
def world(app, make_user):
    c = Campaign(kind="science_day", year=2026, title="2026年全国科普日", settings={})
    museum = Org(name="北京科学中心", kind="其他", region_code="11")
    db.session.add_all([c, museum] + [Org(name=f"单位{i}", kind="其他") for i in range(20)])
    db.session.commit()
    owner = make_user("13900000951")
    now = utcnow()
    for i in range(30):
        province = ["11", "44"][i % 2]
        a = Activity(campaign_id=c.id, owner_id=owner.id, status="approved", name=f"活动{i}",
                     mode="线下", start_at=now, end_at=now, region_code=province + "0105",
                     supervisor_category="省科协", route_province=province,
                     hosts=[{"id": museum.id, "name": museum.name}, {"name": f"某中学{i % 4}"}],
                     submitted_at=now - timedelta(hours=i), approved_at=now)
        db.session.add(a)
        db.session.flush()
        db.session.add(ExcellentActivity(campaign_id=c.id, scope_key=f"province:{province}",
                                         activity_id=a.id, created_at=now - timedelta(hours=i)))
    # other scopes' activities, so that on PostgreSQL the scope index is the selective one
    others = [Activity(campaign_id=c.id, owner_id=owner.id, status="approved", name=f"其他{i}",
                       mode="线下", start_at=now, end_at=now, region_code="310105",
                       supervisor_category="省科协", route_province="31", hosts=[],
                       submitted_at=now, approved_at=now) for i in range(300)]
    db.session.add_all(others)
    db.session.flush()
    db.session.add_all([ExcellentActivity(campaign_id=c.id, scope_key=f"org:{i % 30}",
                                          activity_id=a.id, created_at=now)
                        for i, a in enumerate(others)])
    db.session.add(ExcellentUnit(campaign_id=c.id, scope_key="province:44",
                                 unit_key="name:某中学1", name="某中学1"))
    # other scopes' units: enough rows for the planner to prefer the right index
    db.session.add_all([ExcellentUnit(campaign_id=c.id, scope_key=f"org:{i % 40}",
                                      unit_key=f"name:单位{i}", name=f"单位{i}")
                        for i in range(400)])
    db.session.commit()
    if db.engine.dialect.name != "sqlite":
        db.session.execute(text("ANALYZE excellent_unit"))
        db.session.execute(text("ANALYZE excellent_activity"))
        db.session.execute(text("ANALYZE org"))
        db.session.commit()
    return c


def problems(plan: str, index: str) -> list[str]:
    """What is wrong with ``plan`` for a query that should read ``index``."""
    if db.engine.dialect.name != "sqlite":
        out = re.findall(rf"Seq Scan on {TABLES}\b", plan)
        name = "pk_org" if index == "PRIMARY KEY" else index
    else:
        out = ["full scan"] if re.search(rf"\bSCAN {TABLES}\b(?! USING)", plan) else []
        if "TEMP B-TREE" in plan:
            out.append("sorts")
        name = ("INTEGER PRIMARY KEY" if index == "PRIMARY KEY"
                else "sqlite_autoindex_excellent_unit" if index.startswith("uq_") else index)
    if name not in plan:
        out.append(f"{name} not used")
    return out


def board_statements(campaign):
    seen = captured(lambda: ops.board(campaign, province_scope("11")))
    return [(s, p) for s, p in seen
            if re.search(rf"(FROM|JOIN) {TABLES}\b", s) and "generated_key" not in s.split(
                "WHERE")[-1]]


def index_of(statement: str) -> str:
    if "JOIN excellent_activity" in statement:
        return "ix_excellent_activity_scope"
    if "FROM excellent_unit" in statement:
        return ("ix_excellent_unit_scope" if "scope_key =" in statement
                else "uq_excellent_unit_unit")
    return "ix_org_name" if "org.name IN" in statement else "PRIMARY KEY"


def test_units_board_queries_use_indexes(world):
    statements = board_statements(world)
    wanted = sorted(index_of(s) for s, _ in statements)
    assert wanted == ["PRIMARY KEY", "ix_excellent_activity_scope", "ix_excellent_unit_scope",
                      "ix_org_name", "uq_excellent_unit_unit"], wanted
    for s, p in statements:
        plan = plan_of(s, p)
        assert not problems(plan, index_of(s)), (problems(plan, index_of(s)), s, plan)
    db.session.rollback()


def test_plan_check_fails_without_the_indexes(world):
    statements = board_statements(world)
    conn = db.session.connection()
    if db.engine.dialect.name == "sqlite":
        # SQLite DDL autocommits outside a transaction (kepu/db_setup.py opens one on the
        # first write only): open it so the rollback below restores the indexes
        conn.execute(text("DELETE FROM excellent_unit WHERE 1 = 0"))
    for name in ("ix_excellent_activity_scope", "ix_excellent_unit_scope", "ix_org_name"):
        conn.execute(text(f"DROP INDEX IF EXISTS {name}"))
    try:
        found = {index_of(s): problems(plan_of(s, p), index_of(s)) for s, p in statements}
        for index in ("ix_excellent_activity_scope", "ix_excellent_unit_scope", "ix_org_name"):
            assert found[index], found
        assert not found["uq_excellent_unit_unit"], found
    finally:
        db.session.rollback()
    # the rollback brought them back
    s, p = next((s, p) for s, p in statements if index_of(s) == "ix_excellent_unit_scope")
    assert not problems(plan_of(s, p), "ix_excellent_unit_scope")
    db.session.rollback()
