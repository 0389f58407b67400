"""SQLite write transactions: BEGIN IMMEDIATE at the first write, one writer at a time
per process (kepu.db_setup.WriteGatedConnection), reads in autocommit mode."""
from __future__ import annotations

import sqlite3
import threading
import time

import pytest

from kepu.db_setup import FifoLock, WriteGatedConnection, write_gate


def connect(path, timeout: float = 5.0) -> WriteGatedConnection:
    conn = sqlite3.connect(path, timeout=timeout, factory=WriteGatedConnection,
                           check_same_thread=False)
    conn.execute("PRAGMA journal_mode=WAL")
    return conn


@pytest.fixture
def dbfile(tmp_path):
    path = tmp_path / "w.sqlite3"
    conn = sqlite3.connect(path)
    conn.execute("PRAGMA journal_mode=WAL")
    conn.execute("CREATE TABLE t (id INTEGER PRIMARY KEY, v INTEGER)")
    conn.executemany("INSERT INTO t VALUES (?, 0)", [(1,), (2,)])
    conn.commit()
    conn.close()
    return path


# --- FifoLock --------------------------------------------------------------------------

def test_fifo_lock_hands_over_in_arrival_order():
    lock = FifoLock()
    assert lock.acquire(1)
    order, threads = [], []
    for i in range(5):
        def take(i=i):
            assert lock.acquire(5)
            order.append(i)
            lock.release()
        t = threading.Thread(target=take)
        t.start()
        threads.append(t)
        time.sleep(0.05)  # arrive one after the other
    lock.release()
    for t in threads:
        t.join(5)
    assert order == [0, 1, 2, 3, 4]
    assert not lock.locked()


def test_fifo_lock_times_out_and_stays_usable():
    lock = FifoLock()
    assert lock.acquire(1)
    t0 = time.monotonic()
    got = []
    t = threading.Thread(target=lambda: got.append(lock.acquire(0.2)))
    t.start()
    t.join(5)
    assert got == [False] and time.monotonic() - t0 >= 0.2
    lock.release()
    assert lock.acquire(0.1)
    lock.release()
    assert not lock.locked()


# --- the connection ----------------------------------------------------------------------

def test_reads_open_no_transaction_and_the_first_write_begins_immediate(dbfile):
    conn = connect(dbfile)
    seen = []
    conn.set_trace_callback(seen.append)
    assert conn.execute("SELECT v FROM t WHERE id = 1").fetchone() == (0,)
    assert not conn.in_transaction and not write_gate(str(dbfile)).locked()
    conn.execute("UPDATE t SET v = 1 WHERE id = 1")
    assert conn.in_transaction and write_gate(str(dbfile)).locked()
    conn.execute("UPDATE t SET v = 2 WHERE id = 2")  # same transaction: no second BEGIN
    conn.commit()
    assert not write_gate(str(dbfile)).locked()
    statements = [s.split()[0].upper() for s in seen]
    assert statements == ["SELECT", "BEGIN", "UPDATE", "UPDATE", "COMMIT"]
    assert seen[1] == "BEGIN IMMEDIATE"
    conn.close()


@pytest.mark.parametrize("end", ["rollback", "close", "context"])
def test_gate_released_when_the_transaction_ends(dbfile, end):
    conn = connect(dbfile)
    conn.execute("UPDATE t SET v = 5 WHERE id = 1")
    gate = write_gate(str(dbfile))
    assert gate.locked()
    if end == "rollback":
        conn.rollback()
    elif end == "close":
        conn.close()
    else:
        with conn:
            pass  # the context manager commits
    assert not gate.locked()
    other = connect(dbfile, timeout=0.2)
    other.execute("UPDATE t SET v = 6 WHERE id = 2")
    other.commit()
    assert other.execute("SELECT v FROM t WHERE id = 2").fetchone() == (6,)
    value = other.execute("SELECT v FROM t WHERE id = 1").fetchone()[0]
    assert value == (5 if end == "context" else 0)
    other.close()


def test_a_second_writer_of_the_process_waits_for_the_first(dbfile):
    first, second = connect(dbfile), connect(dbfile)
    first.execute("UPDATE t SET v = v + 1 WHERE id = 1")
    done = []

    def write():
        t0 = time.monotonic()
        second.execute("UPDATE t SET v = v + 10 WHERE id = 1")
        second.commit()
        done.append(time.monotonic() - t0)

    t = threading.Thread(target=write)
    t.start()
    time.sleep(0.3)
    assert not done  # still waiting for the first transaction
    assert not second.in_transaction  # waiting at the gate, not inside SQLite
    first.commit()
    t.join(5)
    assert done and done[0] >= 0.25
    assert first.execute("SELECT v FROM t WHERE id = 1").fetchone() == (11,)
    first.close()
    second.close()


def test_waiting_longer_than_the_timeout_is_an_error(dbfile):
    holder = connect(dbfile)
    holder.execute("UPDATE t SET v = 1 WHERE id = 1")
    waiter = connect(dbfile, timeout=0.2)
    errors = []

    def write():
        try:
            waiter.execute("UPDATE t SET v = 2 WHERE id = 2")
        except sqlite3.OperationalError as e:
            errors.append(str(e))

    t = threading.Thread(target=write)
    t.start()
    t.join(5)
    assert errors and "database is locked" in errors[0]
    holder.commit()
    waiter.execute("UPDATE t SET v = 2 WHERE id = 2")  # usable afterwards
    waiter.commit()
    holder.close()
    waiter.close()


def test_a_write_after_reads_never_fails_on_a_lock_upgrade(dbfile):
    """The read-then-write pattern of every operation. Here a reader's snapshot goes
    stale before it writes; with plain deferred transactions the write fails at once
    (SQLite cannot upgrade a stale read lock, the busy timeout does not help)."""
    other = sqlite3.connect(dbfile, isolation_level=None)

    # plain sqlite3, a deferred transaction opened by the first statement
    plain = sqlite3.connect(dbfile, timeout=2, isolation_level=None)
    plain.execute("BEGIN")
    plain.execute("SELECT v FROM t WHERE id = 1").fetchone()
    other.execute("UPDATE t SET v = v + 1 WHERE id = 2")
    with pytest.raises(sqlite3.OperationalError, match="locked"):
        plain.execute("UPDATE t SET v = v + 1 WHERE id = 1")
    plain.execute("ROLLBACK")
    plain.close()

    gated = connect(dbfile, timeout=2)
    gated.execute("SELECT v FROM t WHERE id = 1").fetchone()
    other.execute("UPDATE t SET v = v + 1 WHERE id = 2")
    gated.execute("UPDATE t SET v = v + 1 WHERE id = 1")
    gated.commit()
    assert gated.execute("SELECT v FROM t ORDER BY id").fetchall() == [(1,), (2,)]
    gated.close()
    other.close()


# --- the app's engine --------------------------------------------------------------------

def test_app_sqlite_engine_uses_the_gated_connection(tmp_path):
    from kepu import create_app
    from kepu.extensions import db

    for enabled, cls in ((True, WriteGatedConnection), (False, sqlite3.Connection)):
        app = create_app({"TESTING": True, "SECRET_KEY": "x",
                          "DATABASE_URL": f"sqlite:///{tmp_path / 'a.sqlite3'}",
                          "INSTANCE_PATH": str(tmp_path / "inst"),
                          "SQLITE_IMMEDIATE_WRITES": enabled})
        with app.app_context():
            raw = db.engine.raw_connection()
            try:
                assert type(raw.dbapi_connection) is cls
            finally:
                raw.close()
            db.engine.dispose()


def test_in_memory_databases_do_not_queue_on_each_other():
    first = sqlite3.connect(":memory:", factory=WriteGatedConnection, check_same_thread=False)
    second = sqlite3.connect(":memory:", factory=WriteGatedConnection, timeout=0.1)
    for conn in (first, second):
        conn.execute("CREATE TABLE t (v INTEGER)")
    first.execute("INSERT INTO t VALUES (1)")  # open write transaction, no gate held
    second.execute("INSERT INTO t VALUES (2)")  # another database: does not wait
    second.commit()
    first.commit()
    assert first.execute("SELECT v FROM t").fetchall() == [(1,)]
    first.close()
    second.close()
