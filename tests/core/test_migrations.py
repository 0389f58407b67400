"""The Alembic migrations build exactly the schema the models describe."""
from __future__ import annotations

import uuid

import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from flask_migrate import downgrade, upgrade
from sqlalchemy import create_engine, inspect, text
from sqlalchemy.engine import make_url

from kepu import create_app
from kepu.extensions import db


@pytest.fixture
def fresh_url(tmp_path, database_url):
    url = make_url(database_url)
    if url.get_backend_name() == "sqlite":
        yield "sqlite:///" + str(tmp_path / "migrated.sqlite3")
        return
    name = f"kepu_mig_{uuid.uuid4().hex[:8]}"
    admin = create_engine(url.set(drivername="postgresql+psycopg"), isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    yield url.set(database=name).render_as_string(hide_password=False)
    with admin.connect() as conn:
        conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    admin.dispose()


def test_migrations_match_models_and_downgrade(tmp_path, fresh_url):
    app = create_app({"TESTING": True, "SECRET_KEY": "x", "DATABASE_URL": fresh_url,
                      "INSTANCE_PATH": str(tmp_path / "inst")})
    with app.app_context():
        upgrade()
        with db.engine.connect() as conn:
            from kepu.db_setup import include_name

            diff = compare_metadata(MigrationContext.configure(
                conn, opts={"include_name": include_name}), db.metadata)
        assert diff == [], f"models and migrations differ: {diff}"
        downgrade(revision="base")
        with db.engine.connect() as conn:
            tables = set(inspect(conn).get_table_names()) - {"alembic_version"}
        assert tables == set()
        db.engine.dispose()
