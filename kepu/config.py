"""Configuration: defaults here, then ``instance/config.py``, then ``KEPU_*`` env vars.

Every setting can be given as an environment variable with the ``KEPU_`` prefix,
e.g. ``KEPU_DATABASE_URL`` or ``KEPU_SMS_BACKEND``. Values are parsed as JSON when
they look like JSON (numbers, booleans), otherwise used as strings.
"""
from __future__ import annotations

import json
import os
import secrets
from pathlib import Path


class Defaults:
    # Database: SQLite in instance/ unless DATABASE_URL is set.
    DATABASE_URL: str | None = None
    SQLALCHEMY_TRACK_MODIFICATIONS = False
    SQLALCHEMY_ENGINE_OPTIONS: dict = {}
    SQLITE_BUSY_TIMEOUT_MS = 5000

    # Secrets: generated into instance/secret_key on first run when not set.
    SECRET_KEY: str | None = None

    # Uploads stream to disk below this folder (default instance/uploads).
    UPLOAD_DIR: str | None = None
    # Hard ceiling for one request body; per-field limits are stricter.
    MAX_CONTENT_LENGTH = 210 * 1024 * 1024
    # Max size of the non-file part of a multipart form.
    MAX_FORM_MEMORY_SIZE = 2 * 1024 * 1024

    # SMS: console | test | tencent
    SMS_BACKEND = "console"
    SMS_CODE_TTL_SECONDS = 300
    SMS_RESEND_SECONDS = 60
    SMS_MAX_ATTEMPTS = 5
    SMS_DAILY_LIMIT_PER_PHONE = 10
    SMS_DAILY_LIMIT_PER_IP = 50
    SMS_SIGN_NAME = "科普征集平台"
    # 退回 / 推荐 notices wait this long on the task queue, so that a reviewer's 撤销
    # right after a decision sends nothing (0: at once)
    SMS_NOTICE_DELAY_SECONDS = 120
    # Tencent Cloud SMS (optional extra "tencent")
    SMS_TENCENT_SECRET_ID = ""
    SMS_TENCENT_SECRET_KEY = ""
    SMS_TENCENT_SDK_APP_ID = ""
    SMS_TENCENT_TEMPLATE_ID = ""
    # Notices (作品退回 / 完成推荐): "purpose:template_id,..." with the work title as {1}
    SMS_TENCENT_NOTICE_TEMPLATES = ""
    SMS_TENCENT_REGION = "ap-guangzhou"

    # Demo mode: pages say where SMS codes went (console outbox).
    DEMO_MODE = False

    # Cookies
    SESSION_COOKIE_HTTPONLY = True
    SESSION_COOKIE_SAMESITE = "Lax"
    SESSION_COOKIE_SECURE = False
    REMEMBER_COOKIE_HTTPONLY = True
    REMEMBER_COOKIE_SAMESITE = "Lax"
    REMEMBER_COOKIE_SECURE = False
    COOKIE_SECURE = False  # convenience: sets both *_COOKIE_SECURE

    # CSRF: also accepted from the X-CSRFToken header (HTMX).
    WTF_CSRF_TIME_LIMIT = None

    # Rate limits (Flask-Limiter)
    RATELIMIT_STORAGE_URI = "memory://"
    RATELIMIT_ENABLED = True
    RATELIMIT_HEADERS_ENABLED = True
    LOGIN_RATE_LIMIT = "10 per minute;100 per day"
    SMS_RATE_LIMIT = "5 per minute"

    # Task queue (kepu/jobs.py, Huey): SQLite file under instance/ unless REDIS_URL is
    # set (e.g. redis://127.0.0.1:6379/0). JOBS_IMMEDIATE runs tasks in the caller
    # (unit tests). The consumer: flask --app app kepu worker.
    REDIS_URL: str | None = None
    JOBS_SQLITE_PATH: str | None = None      # default instance/jobs.sqlite3
    JOBS_QUEUE_NAME = "kepu"
    JOBS_IMMEDIATE = False
    JOBS_WORKERS = 2
    JOBS_WORKER_TYPE = "thread"              # thread | process
    JOBS_MAX_DELAY = 1.0                     # seconds between polls of an idle queue
    JOBS_IMPORTS: list = []                  # extra modules declaring tasks / kinds
    JOB_STALE_HOURS = 6                      # a job queued/running longer has failed
    # Exports: files of finished jobs, kept this long for their requester.
    EXPORT_DIR: str | None = None            # default instance/exports
    EXPORT_RETENTION_HOURS = 24

    PLATFORM_NAME = "科普征集平台"
    # Footer of every page: who runs this deployment and how to reach its support.
    # Deployment facts, so configuration (KEPU_PLATFORM_OPERATOR, KEPU_PLATFORM_CONTACTS:
    # a JSON list or lines separated by "|"); each call's own 业务咨询 / 系统咨询 contacts
    # are edition settings, edited by platform admins under 届次与设置.
    PLATFORM_OPERATOR = "中国科学技术协会科普部"
    PLATFORM_CONTACTS: list | str = []
    PAGE_SIZE = 20


def _parse(value: str):
    try:
        return json.loads(value)
    except (ValueError, TypeError):
        return value


def load_config(app, test_config: dict | None = None) -> None:
    app.config.from_object(Defaults)
    instance = Path(app.instance_path)
    instance.mkdir(parents=True, exist_ok=True)
    if test_config is None:
        app.config.from_pyfile("config.py", silent=True)
        for key, value in os.environ.items():
            if key.startswith("KEPU_"):
                app.config[key[5:]] = _parse(value)
    else:
        app.config.from_mapping(test_config)

    if not app.config.get("SECRET_KEY"):
        key_file = instance / "secret_key"
        if not key_file.exists():
            key_file.write_text(secrets.token_hex(32))
            key_file.chmod(0o600)
        app.config["SECRET_KEY"] = key_file.read_text().strip()

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
    else:
        engine_opts.setdefault("pool_pre_ping", True)
    app.config["SQLALCHEMY_ENGINE_OPTIONS"] = engine_opts

    if not app.config.get("UPLOAD_DIR"):
        app.config["UPLOAD_DIR"] = str(instance / "uploads")
    Path(app.config["UPLOAD_DIR"]).mkdir(parents=True, exist_ok=True)

    if app.config.get("COOKIE_SECURE"):
        app.config["SESSION_COOKIE_SECURE"] = True
        app.config["REMEMBER_COOKIE_SECURE"] = True
    app.config["RATELIMIT_STORAGE_URI"] = app.config.get("RATELIMIT_STORAGE_URI") or "memory://"
