"""Per-(edition, recommender unit, status) counts of works, kept exact by database
triggers on ``work`` (``WorkTally``).

The unit's review list shows a tab per status with its count; counting a unit's 25,000
works by status on every page read the unit's whole index (about 6 ms a page at
national scale, a third of the request). Unfiltered lists read these rows instead; a
search or a filter still counts through the index. ``channel_key`` is the unit's org id
(0 for a draft without one). Migration c4e8a2f6b1d3 creates the triggers on a real
database with its own frozen copy of this SQL; ``install()`` creates them whenever the
schema is built with ``create_all`` (tests, benchmark databases).
"""
from __future__ import annotations

from sqlalchemy import event, select

from ..extensions import db

_KEY_NEW = "NEW.campaign_id, coalesce(NEW.channel_id, 0), NEW.status"
_OLD_MATCH = ("campaign_id = OLD.campaign_id AND channel_key = coalesce(OLD.channel_id, 0) "
              "AND status = OLD.status")

SQLITE_TRIGGERS = [
    f"""CREATE TRIGGER work_tally_insert AFTER INSERT ON work BEGIN
         INSERT INTO work_tally (campaign_id, channel_key, status, n) VALUES ({_KEY_NEW}, 1)
         ON CONFLICT (campaign_id, channel_key, status) DO UPDATE SET n = n + 1;
       END""",
    f"""CREATE TRIGGER work_tally_delete AFTER DELETE ON work BEGIN
         UPDATE work_tally SET n = n - 1 WHERE {_OLD_MATCH};
       END""",
    f"""CREATE TRIGGER work_tally_update AFTER UPDATE OF status, channel_id, campaign_id ON work
       WHEN OLD.status IS NOT NEW.status OR OLD.channel_id IS NOT NEW.channel_id
            OR OLD.campaign_id IS NOT NEW.campaign_id
       BEGIN
         UPDATE work_tally SET n = n - 1 WHERE {_OLD_MATCH};
         INSERT INTO work_tally (campaign_id, channel_key, status, n) VALUES ({_KEY_NEW}, 1)
         ON CONFLICT (campaign_id, channel_key, status) DO UPDATE SET n = n + 1;
       END""",
]

PG_FUNCTION = f"""
CREATE OR REPLACE FUNCTION work_tally_sync() RETURNS trigger AS $$
BEGIN
  IF TG_OP IN ('UPDATE', 'DELETE') THEN
    UPDATE work_tally SET n = n - 1 WHERE {_OLD_MATCH};
  END IF;
  IF TG_OP IN ('UPDATE', 'INSERT') THEN
    INSERT INTO work_tally (campaign_id, channel_key, status, n) VALUES ({_KEY_NEW}, 1)
    ON CONFLICT (campaign_id, channel_key, status) DO UPDATE SET n = work_tally.n + 1;
  END IF;
  RETURN NULL;
END;
$$ LANGUAGE plpgsql
"""
PG_TRIGGERS = [
    "CREATE TRIGGER work_tally_insert AFTER INSERT ON work "
    "FOR EACH ROW EXECUTE FUNCTION work_tally_sync()",
    "CREATE TRIGGER work_tally_delete AFTER DELETE ON work "
    "FOR EACH ROW EXECUTE FUNCTION work_tally_sync()",
    "CREATE TRIGGER work_tally_update AFTER UPDATE OF status, channel_id, campaign_id "
    "ON work FOR EACH ROW WHEN (OLD.status IS DISTINCT FROM NEW.status "
    "OR OLD.channel_id IS DISTINCT FROM NEW.channel_id "
    "OR OLD.campaign_id IS DISTINCT FROM NEW.campaign_id) "
    "EXECUTE FUNCTION work_tally_sync()",
]
BACKFILL = ("INSERT INTO work_tally (campaign_id, channel_key, status, n) "
            "SELECT campaign_id, coalesce(channel_id, 0), status, count(*) FROM work "
            "GROUP BY campaign_id, coalesce(channel_id, 0), status")


def create_triggers(bind) -> None:
    if bind.dialect.name == "postgresql":
        bind.exec_driver_sql(PG_FUNCTION)
        for sql in PG_TRIGGERS:
            bind.exec_driver_sql(sql)
    else:
        for sql in SQLITE_TRIGGERS:
            bind.exec_driver_sql(sql)


def drop_triggers(bind) -> None:
    for name in ("work_tally_insert", "work_tally_delete", "work_tally_update"):
        if bind.dialect.name == "postgresql":
            bind.exec_driver_sql(f"DROP TRIGGER IF EXISTS {name} ON work")
        else:
            bind.exec_driver_sql(f"DROP TRIGGER IF EXISTS {name}")
    if bind.dialect.name == "postgresql":
        bind.exec_driver_sql("DROP FUNCTION IF EXISTS work_tally_sync()")


_STMTS: dict = {}


def _statement(name: str):
    """The two tally reads, built once with bind parameters (every review list page
    runs one)."""
    stmt = _STMTS.get(name)
    if stmt is None:
        from sqlalchemy import bindparam, func

        from .models import WorkTally

        if name == "unit":
            stmt = select(WorkTally.status, WorkTally.n).where(
                WorkTally.campaign_id == bindparam("campaign_id"),
                WorkTally.channel_key == bindparam("org_id"))
        else:
            stmt = (select(WorkTally.status, func.sum(WorkTally.n))
                    .where(WorkTally.campaign_id == bindparam("campaign_id"))
                    .group_by(WorkTally.status))
        _STMTS[name] = stmt
    return stmt


def unit_tallies(campaign_id: int, org_id: int) -> dict[str, int]:
    """{status: n} of one unit's works in an edition (drafts included)."""
    return {status: int(n) for status, n in db.session.execute(
        _statement("unit"), {"campaign_id": campaign_id, "org_id": org_id})}


def campaign_tallies(campaign_id: int) -> dict[str, int]:
    """{status: n} of an edition's works over every unit (drafts included)."""
    return {status: int(n or 0) for status, n in db.session.execute(
        _statement("campaign"), {"campaign_id": campaign_id})}


def _after_create(target, connection, **kw) -> None:
    create_triggers(connection)


def install() -> None:
    """Have ``create_all`` add the triggers along with the ``work`` table."""
    from .models import Work

    if not event.contains(Work.__table__, "after_create", _after_create):
        event.listen(Work.__table__, "after_create", _after_create)
