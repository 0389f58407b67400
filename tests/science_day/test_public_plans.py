"""Every query of the public activity list is served by an index.

The statements ``public_page`` runs (the count — tallies or a capped count —, the page of
ids, the rows by id) are captured for each kind of filter and explained on the database
at hand. SQLite: no full scan of ``activity_public`` ("SCAN activity_public"), the index
expected for the filter, no temporary B-tree for the ORDER BY of the page (the index
gives the order, so page 2,000 reads 40,000 index entries and sorts nothing); a keyword
is found through the FTS5 table (its rowid order, no sort) and each candidate by primary
key. PostgreSQL (sequential scans disabled, the test table being tiny): no sequential
scan of ``activity_public``. Dropping an index makes the check fail.
"""
from __future__ import annotations

import re
from datetime import timedelta

import pytest
from sqlalchemy import event, text

from kepu.admin.models import Campaign
from kepu.extensions import db
from kepu.science_day.models import Activity
from kepu.science_day.operations import search
from kepu.science_day.operations.listing import publish_snapshot
from kepu.science_day.settings import ScienceDaySettings
from kepu.timeutil import utcnow

REGIONS = ["110105", "110108", "440111", "440106", "510104"]


@pytest.fixture
def campaign(app, make_user):
    c = Campaign(kind="science_day", year=2026, title="2026年全国科普日", settings={})
    db.session.add(c)
    db.session.commit()
    owner = make_user("13900000901")
    now = utcnow()
    for i in range(40):
        a = Activity(campaign_id=c.id, owner_id=owner.id, status="approved",
                     name=f"量子科普活动{i}", mode=["线上", "线下"][i % 2],
                     activity_type=["科普讲座", "科普展览"][i % 2 == 0 and i % 4 == 0],
                     start_at=now + timedelta(days=i - 20),
                     end_at=now + timedelta(days=i - 20, hours=3),
                     region_code=REGIONS[i % 5], supervisor_category="省科协",
                     hosts=[{"name": "某科技馆"}], approved_at=now, submitted_at=now)
        db.session.add(a)
        db.session.flush()
        publish_snapshot(a)
    db.session.commit()
    return c


# (label, query args, expected index; "fts" = the keyword index)
CASES = [
    ("page 1", {}, "ix_activity_public_list"),
    ("page 2,000", {"page": "2000"}, "ix_activity_public_list"),
    ("province", {"province": "44"}, "ix_activity_public_province"),
    ("province + type", {"province": "44", "type": "科普讲座"}, "ix_activity_public_prov_type"),
    ("province + type + mode", {"province": "44", "type": "科普讲座", "mode": "线下"},
     "ix_activity_public_prov_type"),
    ("city", {"province": "44", "city": "4401"}, "ix_activity_public_city"),
    ("county", {"province": "44", "city": "4401", "county": "440111"},
     "ix_activity_public_county"),
    ("type", {"type": "科普展览"}, "ix_activity_public_type"),
    ("mode", {"mode": "线上"}, "ix_activity_public_mode"),
    ("dates", {"date_from": "2026-09-01", "date_to": "2026-09-30"}, "ix_activity_public_list"),
    ("upcoming", {"status": "upcoming"}, "ix_activity_public_list"),
    ("ongoing", {"status": "ongoing"}, "ix_activity_public_list"),
    ("ended + province", {"status": "ended", "province": "11"},
     "ix_activity_public_province"),
    ("keyword", {"q": "量子"}, "fts"),
    ("keyword one character", {"q": "量"}, "fts"),
    ("keyword + province + type", {"q": "科普活动", "province": "44", "type": "科普讲座"},
     "fts"),
]


def _captured(fn) -> list[tuple[str, object]]:
    seen = []

    def before(conn, cursor, statement, parameters, context, executemany):
        if statement.lstrip().upper().startswith("SELECT"):
            seen.append((statement, parameters))

    event.listen(db.engine, "before_cursor_execute", before)
    try:
        fn()
    finally:
        event.remove(db.engine, "before_cursor_execute", before)
    return seen


def plan_of(statement: str, parameters) -> str:
    conn = db.session.connection()
    if db.engine.dialect.name == "sqlite":
        rows = conn.exec_driver_sql("EXPLAIN QUERY PLAN " + statement, parameters).all()
        return "\n".join(r[-1] for r in rows)
    conn.exec_driver_sql("ANALYZE activity_public")
    conn.exec_driver_sql("SET LOCAL enable_seqscan = off")
    rows = conn.exec_driver_sql("EXPLAIN " + statement, parameters).all()
    return "\n".join(r[0] for r in rows)


def problems_of(statement: str, plan: str, expected: str) -> list[str]:
    out = []
    if db.engine.dialect.name != "sqlite":
        if re.search(r"Seq Scan on activity_public\b", plan):
            out.append("sequential scan of activity_public")
        return out
    if re.search(r"\bSCAN activity_public\b", plan):
        out.append("full scan of activity_public")
    page = "ORDER BY" in statement
    if page and "TEMP B-TREE" in plan:
        out.append("sorts instead of reading in index order")
    if "activity_public_tally" in statement:
        return out
    if "activity_id IN" in statement:
        if "INTEGER PRIMARY KEY" not in plan:
            out.append("rows not loaded by primary key")
    elif expected == "fts":
        if not re.search(r"^SCAN activity_public_fts VIRTUAL TABLE INDEX", plan, re.M):
            out.append("keyword not found through the FTS index (as the outer loop)")
        if "SEARCH activity_public USING INTEGER PRIMARY KEY" not in plan:
            out.append("candidates not checked by primary key")
    elif expected not in plan:
        out.append(f"{expected} not used")
    return out


def _statements(campaign, args):
    settings = ScienceDaySettings(campaign)
    f = search.PublicFilters.from_args(args, settings)
    assert not f.errors, f.errors
    seen = _captured(lambda: search.public_page(campaign.id, f))
    return [(s, p) for s, p in seen if "activity_public" in s]


@pytest.mark.parametrize("label,args,expected", CASES, ids=[c[0] for c in CASES])
def test_public_list_queries_use_their_index(app, campaign, label, args, expected):
    statements = _statements(campaign, args)
    assert 2 <= len(statements) <= 3, (label, [s for s, _ in statements])
    for statement, parameters in statements:
        plan = plan_of(statement, parameters)
        problems = problems_of(statement, plan, expected)
        assert not problems, (label, problems, statement, plan)
    db.session.rollback()


def test_counts_without_keyword_or_fine_filters_come_from_the_tallies(app, campaign):
    statements = _statements(campaign, {"province": "44", "type": "科普讲座"})
    assert any("activity_public_tally" in s for s, _ in statements)
    assert not any("count(" in s.lower() and "FROM activity_public " in s
                   for s, _ in statements)


def test_plan_check_fails_without_the_index(app, campaign):
    statements = _statements(campaign, {"province": "44", "type": "科普讲座"})
    conn = db.session.connection()
    for name in ("ix_activity_public_prov_type", "ix_activity_public_province",
                 "ix_activity_public_type"):
        conn.execute(text(f"DROP INDEX {name}"))
    if db.engine.dialect.name != "sqlite":
        for name in ("ix_activity_public_list", "ix_activity_public_mode",
                     "ix_activity_public_city", "ix_activity_public_county"):
            conn.execute(text(f"DROP INDEX {name}"))
    try:
        found = [problems_of(s, plan_of(s, p), "ix_activity_public_prov_type")
                 for s, p in statements]
        assert any(found), found
    finally:
        db.session.rollback()


def test_review_lists_default_tab_is_read_in_index_order(app, campaign, make_user):
    """bench/science_day.py: a province's list of 300,000 activities sorted them all for
    each page (665 ms); with the time-ordered indexes a page is read in order (1 ms)."""
    from kepu.review_queue import QueueContext
    from kepu.science_day.queues import NATIONAL_QUEUE, PROVINCE_QUEUE

    user = make_user("13900000902", roles=["national_admin"])
    for queue, extra, index in (
            (PROVINCE_QUEUE, {"route": "44", "region_base": "44"},
             "ix_activity_queue_province_time"),
            (NATIONAL_QUEUE, {}, "ix_activity_queue_time")):
        ctx = QueueContext(user, campaign, None, can_decide=True,
                           extra={"settings": ScienceDaySettings(campaign), **extra})
        args = queue.parse({}, ctx)
        seen = [(s, p) for s, p in _captured(lambda: queue.rows(ctx, args))
                if "FROM activity" in s]
        plan = plan_of(*seen[0])
        if db.engine.dialect.name == "sqlite":
            assert f"COVERING INDEX {index}" in plan, plan
            assert not re.search(index + r"[^\n]*\n[^\n]*USE TEMP B-TREE FOR ORDER BY", plan), plan
        else:
            assert not re.search(r"Seq Scan on activity\b", plan), plan
        db.session.rollback()
