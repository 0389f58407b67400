"""``flask kepu check``: the operator's health report (database, schema version, upload
folder space and permissions, secret key, SMS backend); exit status 1 on a problem."""
from __future__ import annotations

from flask_migrate import stamp

from kepu.extensions import db


def _check(app):
    return app.test_cli_runner().invoke(args=["kepu", "check"])


KEY = "k" * 40


def test_check_reports_every_item(app_factory):
    app = app_factory(SECRET_KEY=KEY)
    ctx = app.app_context()
    ctx.push()
    stamp()  # the test schema is built by create_all: mark it as at the head revision
    result = _check(app)
    out = result.output
    for item in ("database", "schema", "uploads", "secret key", "sms"):
        assert item in out.lower(), out
    assert "head" in out and "free" in out
    assert result.exit_code == 0, out
    ctx.pop()


def test_check_fails_on_an_old_schema(app_factory):
    from sqlalchemy import text

    app = app_factory(SECRET_KEY=KEY)
    with app.app_context():
        with db.engine.begin() as conn:
            conn.execute(text("DROP TABLE IF EXISTS alembic_version"))
        result = _check(app)
    assert result.exit_code == 1
    assert "flask --app app db upgrade" in result.output


def test_check_fails_on_unwritable_uploads(app_factory, tmp_path):
    app = app_factory(SECRET_KEY=KEY)
    blocker = tmp_path / "a-file"
    blocker.write_text("x")
    app.config["UPLOAD_DIR"] = str(blocker / "uploads")  # cannot exist, even for root
    with app.app_context():
        stamp()
        result = _check(app)
    assert result.exit_code == 1 and "not writable" in result.output


def test_check_flags_a_short_secret_key(app_factory):
    app = app_factory(SECRET_KEY="short")
    with app.app_context():
        stamp()
        result = _check(app)
    assert result.exit_code == 1 and "secret key" in result.output.lower()
