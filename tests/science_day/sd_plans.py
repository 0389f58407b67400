"""What the 推优 plan tests share: the SELECT statements a call runs, and their plans
(SQLite: EXPLAIN QUERY PLAN; PostgreSQL: EXPLAIN with sequential scans disabled, so a
missing index shows as a Seq Scan even on the tests' tiny tables)."""
from __future__ import annotations

from sqlalchemy import event

from kepu.extensions import db


def captured(fn) -> list[tuple]:
    """(statement, parameters) of every SELECT ``fn()`` runs."""
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


def plan_of(statement, parameters) -> str:
    conn = db.session.connection()
    if db.engine.dialect.name == "sqlite":
        return "\n".join(r[-1] for r in conn.exec_driver_sql(
            "EXPLAIN QUERY PLAN " + statement, parameters).all())
    conn.exec_driver_sql("SET LOCAL enable_seqscan = off")
    return "\n".join(r[0] for r in conn.exec_driver_sql("EXPLAIN " + statement,
                                                        parameters).all())
