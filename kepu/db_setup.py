"""Engine tuning: SQLite gets WAL, foreign keys and a busy timeout."""
from __future__ import annotations

from sqlalchemy import event
from sqlalchemy.engine import Engine

from .extensions import db


def init_db_events(app) -> None:
    with app.app_context():
        engine = db.engine
        if engine.dialect.name != "sqlite":
            return
        timeout_ms = int(app.config["SQLITE_BUSY_TIMEOUT_MS"])

        @event.listens_for(engine, "connect")
        def _sqlite_pragmas(dbapi_conn, _record):  # pragma: no cover - trivial
            cur = dbapi_conn.cursor()
            if ":memory:" not in str(engine.url):
                cur.execute("PRAGMA journal_mode=WAL")
            cur.execute("PRAGMA foreign_keys=ON")
            cur.execute(f"PRAGMA busy_timeout={timeout_ms}")
            cur.execute("PRAGMA synchronous=NORMAL")
            cur.close()


def is_sqlite(engine: Engine | None = None) -> bool:
    return (engine or db.engine).dialect.name == "sqlite"


def serialize_on(key: str) -> None:
    """Serialise transactions that check a limit on ``key`` and then write.

    PostgreSQL: a transaction-level advisory lock on the key's hash, held until commit
    or rollback, so a second request for the same key waits and then counts the first
    one's row. SQLite has one writer at a time: the caller writes first (e.g. inserts
    its row), which takes the write lock, and counts afterwards."""
    if is_sqlite():
        return
    import hashlib

    from sqlalchemy import text

    digest = hashlib.sha256(key.encode()).digest()
    db.session.execute(text("SELECT pg_advisory_xact_lock(:k)"),
                       {"k": int.from_bytes(digest[:8], "big", signed=True)})
