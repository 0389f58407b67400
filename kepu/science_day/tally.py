"""The triggers that keep ``activity_tally`` exact (see ActivityTally).

Migration 9c4e2a7d1b35 creates them on a real database with its own frozen copy of this
SQL; this module creates them whenever the schema is built with ``create_all`` (tests,
benchmark databases), and reads the tallies for the review lists.
"""
from __future__ import annotations

from sqlalchemy import event, select

from ..extensions import db

SQLITE_TRIGGERS = [
    """CREATE TRIGGER activity_tally_insert AFTER INSERT ON activity BEGIN
         INSERT INTO activity_tally (campaign_id, route_key, status, n)
         VALUES (NEW.campaign_id, coalesce(NEW.route_province, ''), NEW.status, 1)
         ON CONFLICT (campaign_id, route_key, status) DO UPDATE SET n = n + 1;
       END""",
    """CREATE TRIGGER activity_tally_delete AFTER DELETE ON activity BEGIN
         UPDATE activity_tally SET n = n - 1
         WHERE campaign_id = OLD.campaign_id AND route_key = coalesce(OLD.route_province, '')
           AND status = OLD.status;
       END""",
    """CREATE TRIGGER activity_tally_update AFTER UPDATE OF status, route_province, campaign_id
       ON activity
       WHEN OLD.status IS NOT NEW.status OR OLD.route_province IS NOT NEW.route_province
            OR OLD.campaign_id IS NOT NEW.campaign_id
       BEGIN
         UPDATE activity_tally SET n = n - 1
         WHERE campaign_id = OLD.campaign_id AND route_key = coalesce(OLD.route_province, '')
           AND status = OLD.status;
         INSERT INTO activity_tally (campaign_id, route_key, status, n)
         VALUES (NEW.campaign_id, coalesce(NEW.route_province, ''), NEW.status, 1)
         ON CONFLICT (campaign_id, route_key, status) DO UPDATE SET n = n + 1;
       END""",
]

PG_FUNCTION = """
CREATE OR REPLACE FUNCTION activity_tally_sync() RETURNS trigger AS $$
BEGIN
  IF TG_OP IN ('UPDATE', 'DELETE') THEN
    UPDATE activity_tally SET n = n - 1
    WHERE campaign_id = OLD.campaign_id AND route_key = coalesce(OLD.route_province, '')
      AND status = OLD.status;
  END IF;
  IF TG_OP IN ('UPDATE', 'INSERT') THEN
    INSERT INTO activity_tally (campaign_id, route_key, status, n)
    VALUES (NEW.campaign_id, coalesce(NEW.route_province, ''), NEW.status, 1)
    ON CONFLICT (campaign_id, route_key, status) DO UPDATE SET n = activity_tally.n + 1;
  END IF;
  RETURN NULL;
END;
$$ LANGUAGE plpgsql
"""
PG_TRIGGERS = [
    "CREATE TRIGGER activity_tally_insert AFTER INSERT ON activity "
    "FOR EACH ROW EXECUTE FUNCTION activity_tally_sync()",
    "CREATE TRIGGER activity_tally_delete AFTER DELETE ON activity "
    "FOR EACH ROW EXECUTE FUNCTION activity_tally_sync()",
    "CREATE TRIGGER activity_tally_update AFTER UPDATE OF status, route_province, campaign_id "
    "ON activity FOR EACH ROW WHEN (OLD.status IS DISTINCT FROM NEW.status "
    "OR OLD.route_province IS DISTINCT FROM NEW.route_province "
    "OR OLD.campaign_id IS DISTINCT FROM NEW.campaign_id) "
    "EXECUTE FUNCTION activity_tally_sync()",
]


def create_triggers(bind) -> None:
    """Also used by the tests' schema (db.create_all has no triggers)."""
    if bind.dialect.name == "postgresql":
        bind.exec_driver_sql(PG_FUNCTION)
        for sql in PG_TRIGGERS:
            bind.exec_driver_sql(sql)
    else:
        for sql in SQLITE_TRIGGERS:
            bind.exec_driver_sql(sql)


def drop_triggers(bind) -> None:
    for name in ("activity_tally_insert", "activity_tally_delete", "activity_tally_update"):
        if bind.dialect.name == "postgresql":
            bind.exec_driver_sql(f"DROP TRIGGER IF EXISTS {name} ON activity")
        else:
            bind.exec_driver_sql(f"DROP TRIGGER IF EXISTS {name}")
    if bind.dialect.name == "postgresql":
        bind.exec_driver_sql("DROP FUNCTION IF EXISTS activity_tally_sync()")



def _after_create(target, connection, **kw) -> None:
    create_triggers(connection)


def install() -> None:
    """Have ``create_all`` add the triggers along with the ``activity`` table."""
    from .models import Activity

    if not event.contains(Activity.__table__, "after_create", _after_create):
        event.listen(Activity.__table__, "after_create", _after_create)


def tallies(campaign_id: int, route_key: str | None = None) -> dict[str, int]:
    """{status: n} of an edition, for one first-review province ("" = national only)
    or, with ``route_key`` None, for all of them."""
    from .models import ActivityTally

    stmt = select(ActivityTally.status, db.func.sum(ActivityTally.n)).where(
        ActivityTally.campaign_id == campaign_id)
    if route_key is not None:
        stmt = stmt.where(ActivityTally.route_key == route_key)
    return {status: int(n or 0) for status, n in
            db.session.execute(stmt.group_by(ActivityTally.status))}
