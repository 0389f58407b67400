"""Engine tuning. SQLite gets WAL, foreign keys, a busy timeout, and write transactions
that begin with ``BEGIN IMMEDIATE``, one at a time per process.

SQLite lets one connection write at a time. How kepu's SQLite connections behave
(``WriteGatedConnection``, installed by ``kepu.config`` unless
``SQLITE_IMMEDIATE_WRITES`` is false):

- Reads run in autocommit mode: no transaction is open until the first INSERT,
  UPDATE, DELETE or REPLACE (as with Python's default, "legacy" transaction control),
  so readers never hold or wait for the write lock.
- That first write statement opens the transaction with ``BEGIN IMMEDIATE``: the write
  lock is taken, waiting up to the busy timeout, before anything is written, never
  upgraded from a read lock (an upgrade cannot wait: it fails at once with "database
  is locked").
- Within one process, write transactions on the same database file queue on a FIFO
  lock (the "gate") before ``BEGIN IMMEDIATE``, and leave it at commit or rollback. The
  threads of one worker (``gunicorn -k gthread``) then wait their turn in order
  instead of polling SQLite's busy handler, whose sleeps are unfair: with 32 threads
  saving at once some waited past the 5 s timeout and failed (measured with
  bench/autosave.py). Only one connection per process competes for SQLite's lock.

Conditional writes (``UPDATE … WHERE version = :seen``) and ``kepu.workflow.lock_row``
rely on the write lock being held from the first write to the commit, as before.
"""
from __future__ import annotations

import collections
import os
import sqlite3
import threading

from sqlalchemy import event
from sqlalchemy.engine import Engine

from .extensions import db

#: First keywords of the statements that write (those Python's sqlite3 opens a
#: transaction for). DDL runs in autocommit mode, as it did before.
_WRITES = ("INSERT", "UPDATE", "DELETE", "REPLACE")


class FifoLock:
    """A lock handed to its waiters in arrival order, with a timeout."""

    def __init__(self) -> None:
        self._mutex = threading.Lock()
        self._waiters: collections.deque[threading.Lock] = collections.deque()
        self._locked = False

    def acquire(self, timeout: float) -> bool:
        with self._mutex:
            if not self._locked:
                self._locked = True
                return True
            waiter = threading.Lock()
            waiter.acquire()
            self._waiters.append(waiter)
        if waiter.acquire(timeout=max(timeout, 0)):
            return True  # handed over by release()
        with self._mutex:
            try:
                self._waiters.remove(waiter)
            except ValueError:
                return True  # handed over just as the wait timed out
        return False

    def release(self) -> None:
        with self._mutex:
            if self._waiters:
                self._waiters.popleft().release()  # stays locked: the next owner runs
            else:
                self._locked = False

    def locked(self) -> bool:
        return self._locked


_gates: dict[str, FifoLock] = {}
_gates_mutex = threading.Lock()


def write_gate(database: str) -> FifoLock:
    """The process-wide gate of one database file."""
    key = database if database.startswith("file:") else os.path.realpath(database)
    with _gates_mutex:
        gate = _gates.get(key)
        if gate is None:
            gate = _gates[key] = FifoLock()
        return gate


def _reset_gates_in_child() -> None:  # pragma: no cover - runs in forked workers
    global _gates_mutex
    _gates.clear()
    _gates_mutex = threading.Lock()


os.register_at_fork(after_in_child=_reset_gates_in_child)


def _is_write(sql: str) -> bool:
    head = sql.lstrip()[:8].upper()
    return head.startswith(_WRITES)


class WriteGatedCursor(sqlite3.Cursor):
    def execute(self, sql, parameters=(), /):
        if _is_write(sql):
            self.connection.begin_write()
        return super().execute(sql, parameters)

    def executemany(self, sql, seq_of_parameters, /):
        if _is_write(sql):
            self.connection.begin_write()
        return super().executemany(sql, seq_of_parameters)


class WriteGatedConnection(sqlite3.Connection):
    """A sqlite3 connection whose write transactions begin with ``BEGIN IMMEDIATE``
    after passing the process's gate for this database (see the module docstring).
    Pass it as ``sqlite3.connect(..., factory=WriteGatedConnection)``."""

    def __init__(self, database, *args, **kwargs):
        super().__init__(database, *args, **kwargs)
        self.isolation_level = None  # no implicit BEGIN: begin_write() opens transactions
        name = os.fspath(database)
        # an in-memory database belongs to its connection alone: nothing to queue for
        memory = name in ("", ":memory:") or "mode=memory" in name
        self._gate = None if memory else write_gate(name)
        self._gate_timeout = float(kwargs.get("timeout", args[0] if args else 5.0))
        self._holds_gate = False

    def cursor(self, factory=None):
        return super().cursor(factory or WriteGatedCursor)

    def execute(self, sql, parameters=(), /):
        return self.cursor().execute(sql, parameters)

    def executemany(self, sql, seq_of_parameters, /):
        return self.cursor().executemany(sql, seq_of_parameters)

    def begin_write(self) -> None:
        """Open the write transaction (no-op when one is open)."""
        if self.in_transaction:
            return
        if self._gate is not None and not self._holds_gate:
            if not self._gate.acquire(self._gate_timeout):
                raise sqlite3.OperationalError(
                    "database is locked (another write of this process did not finish "
                    f"within {self._gate_timeout:g} s)")
            self._holds_gate = True
        try:
            super().execute("BEGIN IMMEDIATE")
        except BaseException:
            self._leave_gate()
            raise

    def _leave_gate(self) -> None:
        if self._holds_gate and not self.in_transaction:
            self._holds_gate = False
            self._gate.release()

    def commit(self):
        try:
            return super().commit()
        finally:
            self._leave_gate()

    def rollback(self):
        try:
            return super().rollback()
        finally:
            self._leave_gate()

    def __exit__(self, exc_type, exc, tb):
        try:
            return super().__exit__(exc_type, exc, tb)
        finally:
            self._leave_gate()

    def close(self):
        try:
            if self.in_transaction:
                super().rollback()
        finally:
            try:
                super().close()
            finally:
                if self._holds_gate:
                    self._holds_gate = False
                    self._gate.release()


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


#: Tables and indexes that exist in the database but not in the models: the keyword
#: index of the Science Day public site — SQLite's FTS5 table with its shadow tables,
#: PostgreSQL's GIN expression index (migration b3d9f2a61c70 and
#: kepu.science_day.operations.search create them).
NOT_IN_MODELS = ("activity_public_fts", "ix_activity_public_search")


def include_name(name, type_, parent_names) -> bool:
    """Alembic's ``include_name``: leave those out of autogenerate comparisons."""
    return not (type_ in ("table", "index") and name and name.startswith(NOT_IN_MODELS))
