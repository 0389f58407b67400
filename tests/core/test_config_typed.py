"""KEPU_* settings are parsed by their declared type; a wrong one stops the start with a
clear message naming the variable (issue 11 §9)."""
from __future__ import annotations

import os

import pytest

from kepu import create_app
from kepu.config import ConfigError


@pytest.fixture
def env(monkeypatch, tmp_path):
    """A clean KEPU_* environment pointing at a throw-away instance folder."""
    for key in list(os.environ):
        if key.startswith("KEPU_") and not key.startswith("KEPU_TEST_"):
            monkeypatch.delenv(key)
    monkeypatch.setenv("KEPU_INSTANCE_PATH", str(tmp_path / "instance"))
    monkeypatch.setenv("KEPU_DATABASE_URL", "sqlite:///" + str(tmp_path / "k.sqlite3"))
    monkeypatch.setenv("KEPU_SECRET_KEY", "a-long-enough-secret-key-for-tests")

    def setenv(**values):
        for k, v in values.items():
            monkeypatch.setenv("KEPU_" + k, v)

    return setenv


def _app(env, **values):
    env(**values)
    return create_app()


@pytest.mark.parametrize("raw,expected", [
    ("False", False), ("false", False), ("0", False), ("no", False), ("off", False), ("", False),
    ("True", True), ("true", True), ("1", True), ("yes", True), ("on", True),
])
def test_booleans(env, raw, expected):
    app = _app(env, DEMO_MODE=raw, COOKIE_SECURE=raw)
    assert app.config["DEMO_MODE"] is expected
    assert app.config["SESSION_COOKIE_SECURE"] is expected


def test_numeric_looking_secret_key_is_a_string_and_pages_work(env):
    app = _app(env, SECRET_KEY="1234567890123456789012345")
    assert app.config["SECRET_KEY"] == "1234567890123456789012345"
    from kepu.extensions import db

    with app.app_context():
        db.create_all()
    assert app.test_client().get("/account/login").status_code == 200


def test_integers(env):
    app = _app(env, MAX_CONTENT_LENGTH="104857600", PROXY_HOPS="2",
               SMS_DAILY_LIMIT_PER_PHONE="7")
    assert app.config["MAX_CONTENT_LENGTH"] == 104857600
    assert app.config["PROXY_HOPS"] == 2
    assert app.config["SMS_DAILY_LIMIT_PER_PHONE"] == 7


@pytest.mark.parametrize("key,raw,hint", [
    ("MAX_CONTENT_LENGTH", "100MB", "whole number"),
    ("DEMO_MODE", "maybe", "true or false"),
    ("PROXY_HOPS", "-1", "0 or more"),
    ("PROXY_HOPS", "two", "whole number"),
    ("SMS_BACKEND", "pigeon", "console"),
    ("LOGIN_RATE_LIMIT", "10 per fortnight", "rate limit"),
    ("SQLALCHEMY_ENGINE_OPTIONS", "[1, 2]", "JSON object"),
    ("SECRET_KEY", "123", "at least"),
    ("SMS_CODE_TTL_SECONDS", "0", "1 or more"),
])
def test_wrong_values_refuse_to_start_naming_the_variable(env, key, raw, hint):
    with pytest.raises(ConfigError) as e:
        _app(env, **{key: raw})
    message = str(e.value)
    assert f"KEPU_{key}" in message and hint in message and repr(raw) in message


def test_every_wrong_value_is_reported_at_once(env):
    with pytest.raises(ConfigError) as e:
        _app(env, DEMO_MODE="maybe", MAX_CONTENT_LENGTH="100MB")
    assert "KEPU_DEMO_MODE" in str(e.value) and "KEPU_MAX_CONTENT_LENGTH" in str(e.value)


def test_unknown_variable_is_warned_about_not_applied(env, caplog):
    app = _app(env, COOKIE_SECRUE="true")
    assert "COOKIE_SECRUE" not in app.config
    assert "KEPU_COOKIE_SECRUE" in caplog.text


def test_instance_config_file_is_checked_too(env, tmp_path):
    inst = tmp_path / "instance"
    inst.mkdir(parents=True, exist_ok=True)
    (inst / "config.py").write_text('DEMO_MODE = "yes"\nPAGE_SIZE = "many"\n')
    with pytest.raises(ConfigError) as e:
        _app(env)
    assert "PAGE_SIZE" in str(e.value) and "config.py" in str(e.value)


def test_app_module_exits_with_the_message(tmp_path):
    import subprocess
    import sys

    envvars = {k: v for k, v in os.environ.items() if not k.startswith("KEPU_")}
    envvars.update(KEPU_INSTANCE_PATH=str(tmp_path / "i"), KEPU_DEMO_MODE="maybe",
                   KEPU_SECRET_KEY="a-long-enough-secret-key-for-tests")
    root = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
    out = subprocess.run([sys.executable, "-c", "import app"], cwd=root, env=envvars,
                         capture_output=True, text=True, timeout=120)
    assert out.returncode != 0
    assert "KEPU_DEMO_MODE" in out.stderr and "Traceback" not in out.stderr
