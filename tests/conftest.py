"""Shared fixtures. The suite runs on SQLite by default and on PostgreSQL when
``KEPU_TEST_DATABASE_URL`` is set (``.ci/run`` does both).

The schema is created once per session; after each test every table is emptied,
so each test starts from an empty database with a fresh app (``create_app``).
"""
from __future__ import annotations

import os
import re
from pathlib import Path

import pytest
from sqlalchemy import text

from kepu import create_app
from kepu.extensions import db

TEST_DB_URL = os.environ.get("KEPU_TEST_DATABASE_URL")
PASSWORD = "Passw0rd!"


@pytest.fixture(scope="session")
def database_url(tmp_path_factory, request):
    """SQLite: a file per session (per xdist worker). PostgreSQL: the given database, or
    with xdist (``-n 2``) one database per worker next to it, created and dropped here."""
    worker_id = getattr(request.config, "workerinput", {}).get("workerid", "master")
    if not TEST_DB_URL:
        yield "sqlite:///" + str(tmp_path_factory.mktemp("db") / "test.sqlite3")
        return
    if worker_id == "master":
        yield TEST_DB_URL
        return
    from sqlalchemy import create_engine
    from sqlalchemy.engine import make_url

    url = make_url(TEST_DB_URL)
    name = f"{url.database}_{worker_id}"
    admin = create_engine(url.set(drivername="postgresql+psycopg"),
                          isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    yield url.set(database=name).render_as_string(hide_password=False)
    with admin.connect() as conn:
        conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    admin.dispose()


def make_config(tmp_path: Path, database_url: str, **extra) -> dict:
    cfg = {
        "TESTING": True,
        "SECRET_KEY": "test-secret-of-the-suite",
        "DATABASE_URL": database_url,
        "INSTANCE_PATH": str(tmp_path / "instance"),
        "UPLOAD_DIR": str(tmp_path / "uploads"),
        "SMS_BACKEND": "test",
        "WTF_CSRF_ENABLED": False,
        "RATELIMIT_ENABLED": False,
        "SERVER_NAME": "localhost",
        # notices go out at once in tests; tests of the delay set it themselves
        "SMS_NOTICE_DELAY_SECONDS": 0,
        # the task queue runs each task at once, in the caller (tests/jobs has one test
        # against a real consumer process)
        "JOBS_IMMEDIATE": True,
    }
    cfg.update(extra)
    return cfg


_schema_ready: set[str] = set()
_hash_cache: dict[str, str] = {}


def _forget_cached_user() -> None:
    from flask import g

    g.pop("_login_user", None)


def _truncate_all() -> None:
    tables = [t.name for t in reversed(db.metadata.sorted_tables)]
    if db.engine.dialect.name == "postgresql":
        # TRUNCATE costs a new file per table (~130 ms a test); a test leaves a few
        # small tables behind: find them in one query and DELETE their rows, children
        # first, then rewind the id sequences the test used.
        probe = " UNION ALL ".join(
            f"SELECT '{t}' WHERE EXISTS (SELECT 1 FROM \"{t}\")" for t in tables)
        dirty = {r[0] for r in db.session.execute(text(probe))}
        for t in tables:
            if t in dirty:
                db.session.execute(text(f'DELETE FROM "{t}"'))
        used = db.session.execute(text(
            "SELECT sequencename FROM pg_sequences "
            "WHERE schemaname = current_schema() AND last_value IS NOT NULL")).scalars().all()
        for seq in used:
            db.session.execute(text(f"SELECT setval('\"{seq}\"', 1, false)"))
    else:
        for t in tables:
            db.session.execute(text(f'DELETE FROM "{t}"'))
    db.session.commit()


@pytest.fixture
def app_factory(tmp_path, database_url):
    """Build an app with extra config; the schema is shared, data is wiped after."""
    made = []

    def factory(**extra):
        app = create_app(make_config(tmp_path, database_url, **extra))
        # Tests keep one app context open, which requests then share; drop
        # Flask-Login's per-context user cache so each request loads its own user.
        app.before_request_funcs.setdefault(None, []).insert(0, _forget_cached_user)
        with app.app_context():
            if database_url not in _schema_ready:
                db.drop_all()
                db.create_all()
                _schema_ready.add(database_url)
        made.append(app)
        return app

    yield factory
    for app in made[:1]:
        with app.app_context():
            db.session.remove()
            _truncate_all()
            db.engine.dispose()
    for app in made[1:]:
        with app.app_context():
            db.engine.dispose()


@pytest.fixture
def app(app_factory):
    app = app_factory()
    with app.app_context():
        yield app


@pytest.fixture
def client(app):
    return app.test_client()


@pytest.fixture
def runner(app):
    return app.test_cli_runner()


@pytest.fixture
def make_user(app):
    """Create a user; ``roles`` is a list of role names or (role, {scope}) pairs."""
    from kepu.accounts.models import Grant, User

    counter = {"n": 0}

    def factory(phone: str | None = None, password: str = PASSWORD, roles=(), **fields):
        counter["n"] += 1
        phone = phone or f"1380000{counter['n']:04d}"
        user = User(phone=phone, **fields)
        # scrypt is slow on purpose; hash each distinct test password once
        if password not in _hash_cache:
            user.set_password(password)
            _hash_cache[password] = user.password_hash
        user.password_hash = _hash_cache[password]
        db.session.add(user)
        db.session.flush()
        for r in roles:
            role, scope = (r, {}) if isinstance(r, str) else r
            db.session.add(Grant(user_id=user.id, role=role, **scope))
        db.session.commit()
        return user

    return factory


def login_session(client, user) -> None:
    """Log ``user`` in on ``client`` without the form: a server-side session row (see
    kepu/accounts/sessions.py) and its token in the session cookie."""
    from flask import session

    from kepu.accounts import sessions

    app = client.application
    with app.test_request_context():
        sessions.start(user)
        token = session[sessions.SESSION_KEY]
    with client.session_transaction() as sess:
        sess.clear()
        sess["_user_id"] = user.get_id()
        sess["_fresh"] = True
        sess[sessions.SESSION_KEY] = token


class AuthActions:
    def __init__(self, client):
        self._client = client

    def login(self, phone: str, password: str = PASSWORD, follow: bool = False):
        return self._client.post(
            "/account/login",
            data={"method": "password", "phone": phone, "password": password},
            follow_redirects=follow,
        )

    def login_as(self, user):
        """Fast path: put the user in the session without the login form."""
        login_session(self._client, user)

    def logout(self):
        return self._client.post("/account/logout")


@pytest.fixture(name="login_session")
def login_session_fixture():
    """``login_session(client, user)`` for clients other than ``client``."""
    return login_session


@pytest.fixture
def auth(client):
    return AuthActions(client)


@pytest.fixture
def sms_outbox(app):
    """Messages captured by the in-memory ``test`` SMS backend."""
    return app.extensions["kepu_sms"].backend.outbox


def last_code(outbox, phone: str) -> str:
    for msg in reversed(outbox):
        if msg["phone"] == phone:
            return msg["code"]
    raise AssertionError(f"no SMS sent to {phone}")


def csrf_token_from(html: str) -> str:
    m = re.search(r'name="csrf_token"[^>]*value="([^"]+)"', html) or re.search(
        r'"X-CSRFToken": "([^"]+)"', html)
    assert m, "no CSRF token in page"
    return m.group(1)


@pytest.fixture
def code_for(sms_outbox):
    """The last SMS code sent to a phone (test backend)."""

    def get(phone: str) -> str:
        return last_code(sms_outbox, phone)

    return get


def for_each_role(app, roles, probe) -> None:
    """Run ``probe(client, auth, role)`` for every role against the same world, each role
    with its own fresh client (cookies), and fail once listing every role that failed.

    The permission matrices check one route for all roles in one test: building the
    world once per route instead of once per (route, role) keeps the matrices (over
    1,500 cells) from being a third of the suite's time."""
    failures = []
    for role in roles:
        client = app.test_client()
        try:
            probe(client, AuthActions(client), role)
        except AssertionError as e:
            failures.append(f"{role}: {e}")
        db.session.rollback()
        db.session.expire_all()
    assert not failures, "\n".join(failures)
