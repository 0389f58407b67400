"""Configuration: defaults here, then ``instance/config.py``, then ``KEPU_*`` env vars.

Every setting below can be given as an environment variable with the ``KEPU_`` prefix,
e.g. ``KEPU_DATABASE_URL`` or ``KEPU_SMS_BACKEND``. Each value is parsed by the type
the setting declares here:

- ``bool``: ``true/false``, ``1/0``, ``yes/no``, ``on/off`` (any case; empty is false);
- ``int``: a whole number (``KEPU_MAX_CONTENT_LENGTH=104857600``, not ``100MB``);
- ``str``: taken as written (``KEPU_SECRET_KEY=123`` is the string ``"123"``);
- ``dict``: a JSON object.

Values from ``instance/config.py`` must have the declared type (strings are parsed as
above). Some settings are checked further (ranges, choices, rate-limit syntax, the
secret key's length). A wrong value stops the app from starting with ``ConfigError``,
whose message names every wrong variable; ``app.py`` turns it into a clean exit.
``KEPU_*`` variables that name no setting are ignored with a warning (a typo such as
``KEPU_COOKIE_SECRUE`` should not pass silently). ``KEPU_INSTANCE_PATH`` moves the
instance folder (database, uploads, secret key) elsewhere, e.g. ``/var/lib/kepu``.
"""
from __future__ import annotations

import json
import logging
import os
import re
import secrets
import typing
from pathlib import Path

log = logging.getLogger("kepu.config")

MB = 1024 * 1024
MIN_SECRET_KEY_LENGTH = 16


class Defaults:
    # Database: SQLite in instance/ unless DATABASE_URL is set.
    DATABASE_URL: str | None = None
    SQLALCHEMY_TRACK_MODIFICATIONS: bool = False
    SQLALCHEMY_ENGINE_OPTIONS: dict = {}
    SQLITE_BUSY_TIMEOUT_MS: int = 5000
    # SQLite write transactions begin with BEGIN IMMEDIATE, one at a time per process
    # (kepu.db_setup.WriteGatedConnection); false: Python's default transaction control.
    SQLITE_IMMEDIATE_WRITES: bool = True

    # Secrets: generated into instance/secret_key on first run when not set.
    SECRET_KEY: str | None = None
    # Sessions end on the server at logout; at the latest after this many seconds.
    PERMANENT_SESSION_LIFETIME: int = 31 * 24 * 3600
    # Anonymous public pages are cached per process, checked against the data's version
    # on every request (kepu.pagecache); entries expire after this many seconds, which
    # bounds what depends on the clock (未开始 / 进行中). 0 turns the cache off.
    PAGE_CACHE_SECONDS: int = 60

    # Uploads stream to disk below this folder (default instance/uploads).
    UPLOAD_DIR: str | None = None
    # Largest request body of an upload route (the reverse proxy's client_max_body_size);
    # each upload route's own limit, from its fields, is usually smaller.
    MAX_CONTENT_LENGTH: int = 210 * MB
    # Largest request body of every other route (no file parts there).
    MAX_FORM_LENGTH: int = 4 * MB
    # Max size of one non-file field of a form; max number of parts of a form.
    MAX_FORM_MEMORY_SIZE: int = 2 * MB
    MAX_FORM_PARTS: int = 1000
    # Unattached uploads and stale temp parts older than this are purged.
    UPLOAD_ORPHAN_HOURS: int = 24

    # Trusted reverse proxies in front of the app (X-Forwarded-For/-Proto hops).
    PROXY_HOPS: int = 0

    # SMS: console | test | tencent
    SMS_BACKEND: str = "console"
    SMS_CODE_TTL_SECONDS: int = 300
    SMS_RESEND_SECONDS: int = 60
    SMS_MAX_ATTEMPTS: int = 5
    # Per phone, per purpose (register / login / reset) and per Beijing day.
    SMS_DAILY_LIMIT_PER_PHONE: int = 10
    SMS_DAILY_LIMIT_PER_IP: int = 50
    SMS_SIGN_NAME: str = "科普征集平台"
    # 退回 / 推荐 notices wait this long on the task queue, so that a reviewer's 撤销
    # right after a decision sends nothing (0: at once)
    SMS_NOTICE_DELAY_SECONDS: float = 120
    # Tencent Cloud SMS (optional extra "tencent")
    SMS_TENCENT_SECRET_ID: str = ""
    SMS_TENCENT_SECRET_KEY: str = ""
    SMS_TENCENT_SDK_APP_ID: str = ""
    SMS_TENCENT_TEMPLATE_ID: str = ""
    # Notices (作品退回 / 完成推荐): "purpose:template_id,..." with the work title as {1}
    SMS_TENCENT_NOTICE_TEMPLATES: str = ""
    SMS_TENCENT_REGION: str = "ap-guangzhou"

    # Demo mode: pages say where SMS codes went (console outbox).
    DEMO_MODE: bool = False

    # Cookies
    SESSION_COOKIE_HTTPONLY: bool = True
    SESSION_COOKIE_SAMESITE: str = "Lax"
    SESSION_COOKIE_SECURE: bool = False
    REMEMBER_COOKIE_HTTPONLY: bool = True
    REMEMBER_COOKIE_SAMESITE: str = "Lax"
    REMEMBER_COOKIE_SECURE: bool = False
    COOKIE_SECURE: bool = False  # convenience: sets both *_COOKIE_SECURE

    # CSRF: also accepted from the X-CSRFToken header (HTMX).
    WTF_CSRF_TIME_LIMIT: int | None = None

    # Rate limits (Flask-Limiter)
    RATELIMIT_STORAGE_URI: str = "memory://"
    RATELIMIT_ENABLED: bool = True
    RATELIMIT_HEADERS_ENABLED: bool = True
    LOGIN_RATE_LIMIT: str = "10 per minute;100 per day"
    SMS_RATE_LIMIT: str = "5 per minute"
    CASES_CODE_RATE_LIMIT: str = "10 per minute"

    # Task queue (kepu/jobs.py, Huey): SQLite file under instance/ unless REDIS_URL is
    # set (e.g. redis://127.0.0.1:6379/0). JOBS_IMMEDIATE runs tasks in the caller
    # (unit tests). The consumer: flask --app app kepu worker.
    REDIS_URL: str | None = None
    JOBS_SQLITE_PATH: str | None = None      # default instance/jobs.sqlite3
    JOBS_QUEUE_NAME: str = "kepu"
    JOBS_IMMEDIATE: bool = False
    JOBS_WORKERS: int = 2
    JOBS_WORKER_TYPE: str = "thread"         # thread | process
    JOBS_MAX_DELAY: float = 1.0              # seconds between polls of an idle queue
    JOBS_IMPORTS: list = []                  # extra modules declaring tasks / kinds
    JOB_STALE_HOURS: float = 6               # a job queued/running longer has failed
    # Exports: files of finished jobs, kept this long for their requester.
    EXPORT_DIR: str | None = None            # default instance/exports
    EXPORT_RETENTION_HOURS: float = 24

    # Nightly backup by the task queue's worker (03:30 Beijing time) into this folder,
    # keeping the newest BACKUP_KEEP archives; unset: no scheduled backup (or use the
    # systemd timer of the README's deployment section).
    BACKUP_DIR: str | None = None
    BACKUP_KEEP: int = 14

    # Case PDFs: a CJK font file (found automatically when empty) and its cache folder.
    PDF_CJK_FONT: str = ""
    PDF_FONT_CACHE_DIR: str | None = None

    PLATFORM_NAME: str = "科普征集平台"
    # Footer of every page: who runs this deployment and how to reach its support.
    # Deployment facts, so configuration (KEPU_PLATFORM_OPERATOR, KEPU_PLATFORM_CONTACTS:
    # a JSON list or lines separated by "|"); each call's own 业务咨询 / 系统咨询 contacts
    # are edition settings, edited by platform admins under 届次与设置.
    PLATFORM_OPERATOR: str = "中国科学技术协会科普部"
    PLATFORM_CONTACTS: list | str = []
    PAGE_SIZE: int = 20


class ConfigError(RuntimeError):
    """One or more settings are wrong; the message lists them, one per line."""


#: extra checks: name -> (predicate on the parsed value, what is expected)
_MIN_1 = (lambda v: v is None or v >= 1, "1 or more")
_MIN_0 = (lambda v: v is None or v >= 0, "0 or more")
CHECKS: dict[str, tuple[typing.Callable, str]] = {
    "PROXY_HOPS": _MIN_0,
    "SQLITE_BUSY_TIMEOUT_MS": _MIN_0,
    "PERMANENT_SESSION_LIFETIME": _MIN_1,
    "MAX_CONTENT_LENGTH": _MIN_1,
    "MAX_FORM_LENGTH": _MIN_1,
    "MAX_FORM_MEMORY_SIZE": _MIN_1,
    "MAX_FORM_PARTS": _MIN_1,
    "UPLOAD_ORPHAN_HOURS": _MIN_1,
    "SMS_CODE_TTL_SECONDS": _MIN_1,
    "SMS_RESEND_SECONDS": _MIN_0,
    "SMS_MAX_ATTEMPTS": _MIN_1,
    "SMS_DAILY_LIMIT_PER_PHONE": _MIN_1,
    "SMS_DAILY_LIMIT_PER_IP": _MIN_1,
    "PAGE_SIZE": _MIN_1,
    "WTF_CSRF_TIME_LIMIT": _MIN_1,
    "SMS_BACKEND": (lambda v: v in ("console", "test", "tencent"),
                    "one of console, test, tencent"),
    "SESSION_COOKIE_SAMESITE": (lambda v: v in ("Lax", "Strict", "None"),
                                "one of Lax, Strict, None"),
    "REMEMBER_COOKIE_SAMESITE": (lambda v: v in ("Lax", "Strict", "None"),
                                 "one of Lax, Strict, None"),
}
RATE_LIMITS = ("LOGIN_RATE_LIMIT", "SMS_RATE_LIMIT", "CASES_CODE_RATE_LIMIT")
#: KEPU_* variables that are not settings (used by scripts and the test suite)
NOT_SETTINGS = {"INSTANCE_PATH"}
NOT_SETTING_PREFIXES = ("TEST_", "CHROMIUM")

_TRUE = {"1", "true", "yes", "on"}
_FALSE = {"0", "false", "no", "off", ""}


def declared_types() -> dict[str, object]:
    """Setting name -> its declared type: the annotation in ``Defaults``, else the type
    of the default value (``None`` meaning an optional string)."""
    types = {}
    hints = typing.get_type_hints(Defaults)
    for name in dir(Defaults):
        if not name.isupper():
            continue
        if name in hints:
            types[name] = hints[name]
        else:
            default = getattr(Defaults, name)
            types[name] = (str | None) if default is None else type(default)
    return types


def _base_types(declared) -> tuple[set, bool]:
    """({types}, optional) of a declared type such as ``int | None``."""
    args = typing.get_args(declared)
    if args:
        return {a for a in args if a is not type(None)}, type(None) in args
    return {declared}, False


def parse_value(name: str, raw, declared):
    """``raw`` (a string from the environment, or a Python value) as ``declared``.
    Raises ValueError with what was expected."""
    types, optional = _base_types(declared)
    if raw is None:
        if optional:
            return None
        raise ValueError("a value")
    if optional and isinstance(raw, str) and raw.strip() == "" and str not in types:
        return None
    if bool in types:
        if isinstance(raw, bool):
            return raw
        if isinstance(raw, str) and raw.strip().lower() in _TRUE | _FALSE:
            return raw.strip().lower() in _TRUE
        raise ValueError("true or false (also 1/0, yes/no, on/off)")
    if int in types:
        if isinstance(raw, int) and not isinstance(raw, bool):
            return raw
        if isinstance(raw, str) and re.fullmatch(r"\s*[+-]?\d+\s*", raw):
            return int(raw)
        raise ValueError("a whole number" + (" of bytes" if name.endswith(("LENGTH", "SIZE"))
                                             else ""))
    if float in types:
        if isinstance(raw, (int, float)) and not isinstance(raw, bool):
            return float(raw)
        if isinstance(raw, str) and re.fullmatch(r"\s*[+-]?(\d+\.?\d*|\.\d+)\s*", raw):
            return float(raw)
        raise ValueError("a number")
    for container, example in ((dict, '{"pool_size": 10}'), (list, '["a", "b"]')):
        if container not in types:
            continue
        if isinstance(raw, container):
            return raw
        try:
            value = json.loads(raw) if isinstance(raw, str) else None
        except ValueError:
            value = None
        if not isinstance(value, container):
            kind = "object" if container is dict else "array"
            raise ValueError(f"a JSON {kind}, e.g. {example}")
        return value
    if str in types:
        if isinstance(raw, str):
            return raw
        raise ValueError("a string")
    raise ValueError(f"a {declared}")  # pragma: no cover - every setting has a type above


def _check(name: str, value, errors: list[str], source: str, raw) -> None:
    rule = CHECKS.get(name)
    if rule is not None and not rule[0](value):
        errors.append(f"{source}: expected {rule[1]}, got {raw!r}")
    if name in RATE_LIMITS and value:
        from limits import parse_many

        try:
            parse_many(value)
        except ValueError:
            errors.append(f"{source}: expected a rate limit such as \"10 per minute\" "
                          f"(several separated by ;), got {raw!r}")


def _apply(app, name: str, raw, source: str, types: dict, errors: list[str]) -> None:
    try:
        value = parse_value(name, raw, types[name])
    except ValueError as e:
        errors.append(f"{source}: expected {e}, got {raw!r}")
        return
    _check(name, value, errors, source, raw)
    app.config[name] = value


def load_config(app, test_config: dict | None = None) -> None:
    app.config.from_object(Defaults)
    app.config["PERMANENT_SESSION_LIFETIME"] = Defaults.PERMANENT_SESSION_LIFETIME
    instance = Path(app.instance_path)
    instance.mkdir(parents=True, exist_ok=True, mode=0o700)  # database, key, uploads
    types = declared_types()
    errors: list[str] = []
    key_source = "test" if test_config is not None else None
    if test_config is None:
        pyfile = instance / "config.py"
        if pyfile.exists():
            values: dict = {"__file__": str(pyfile)}
            exec(compile(pyfile.read_bytes(), str(pyfile), "exec"), values)  # noqa: S102
            for name, raw in values.items():
                if not name.isupper():
                    continue
                if name in types:
                    _apply(app, name, raw, f"{name} in {pyfile}", types, errors)
                else:
                    app.config[name] = raw  # Flask's own or extension settings
            if values.get("SECRET_KEY"):
                key_source = "instance config"
        for env, raw in sorted(os.environ.items()):
            if not env.startswith("KEPU_"):
                continue
            name = env[5:]
            if name in types:
                _apply(app, name, raw, env, types, errors)
                if name == "SECRET_KEY" and raw:
                    key_source = "environment"
            elif name not in NOT_SETTINGS and not name.startswith(NOT_SETTING_PREFIXES):
                log.warning("%s is not a kepu setting and is ignored (see kepu/config.py)",
                            env)
    else:
        app.config.from_mapping(test_config)

    secret = app.config.get("SECRET_KEY")
    if secret and key_source in ("environment", "instance config") \
            and len(str(secret)) < MIN_SECRET_KEY_LENGTH:
        where = "KEPU_SECRET_KEY" if key_source == "environment" else "SECRET_KEY in config.py"
        errors.append(f"{where}: expected at least {MIN_SECRET_KEY_LENGTH} characters "
                      f"(e.g. python3 -c 'import secrets; print(secrets.token_hex(32))'), "
                      f"got {secret!r}")
    if errors:
        raise ConfigError("kepu cannot start, the configuration is wrong:\n  "
                          + "\n  ".join(errors))

    if not app.config.get("SECRET_KEY"):
        key_file = instance / "secret_key"
        if not key_file.exists():
            fd = os.open(key_file, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
            with os.fdopen(fd, "w") as fh:
                fh.write(secrets.token_hex(32))
        app.config["SECRET_KEY"] = key_file.read_text().strip()
        key_source = "file"
    app.config["SECRET_KEY_SOURCE"] = key_source

    url = app.config.get("DATABASE_URL") or app.config.get("SQLALCHEMY_DATABASE_URI")
    if not url:
        url = "sqlite:///" + str(instance / "kepu.sqlite3")
    if url.startswith("postgres://"):
        url = "postgresql://" + url[len("postgres://"):]
    if url.startswith("postgresql://"):
        url = "postgresql+psycopg://" + url[len("postgresql://"):]
    app.config["SQLALCHEMY_DATABASE_URI"] = url
    engine_opts = dict(app.config.get("SQLALCHEMY_ENGINE_OPTIONS") or {})
    if url.startswith("sqlite"):
        engine_opts.setdefault("connect_args", {})
        engine_opts["connect_args"].setdefault(
            "timeout", app.config["SQLITE_BUSY_TIMEOUT_MS"] / 1000
        )
        if app.config.get("SQLITE_IMMEDIATE_WRITES", True):
            from .db_setup import WriteGatedConnection

            engine_opts["connect_args"].setdefault("factory", WriteGatedConnection)
    else:
        engine_opts.setdefault("pool_pre_ping", True)
    app.config["SQLALCHEMY_ENGINE_OPTIONS"] = engine_opts

    if not app.config.get("UPLOAD_DIR"):
        app.config["UPLOAD_DIR"] = str(instance / "uploads")
    Path(app.config["UPLOAD_DIR"]).mkdir(parents=True, exist_ok=True, mode=0o700)

    if app.config.get("COOKIE_SECURE"):
        app.config["SESSION_COOKIE_SECURE"] = True
        app.config["REMEMBER_COOKIE_SECURE"] = True
    app.config["RATELIMIT_STORAGE_URI"] = app.config.get("RATELIMIT_STORAGE_URI") or "memory://"
