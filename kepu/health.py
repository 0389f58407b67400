"""``flask kepu check``: what an operator verifies after installing, upgrading or
restoring. Each check answers ok / warn / FAIL with one line of detail."""
from __future__ import annotations

import shutil
import stat
import tempfile
from dataclasses import dataclass
from pathlib import Path

from flask import current_app
from sqlalchemy import text

from .extensions import db

GB = 1024 ** 3


@dataclass
class Check:
    item: str
    status: str  # "ok" | "warn" | "FAIL"
    detail: str


def _database() -> Check:
    url = db.engine.url.render_as_string(hide_password=True)
    try:
        with db.engine.connect() as conn:
            conn.execute(text("SELECT 1"))
            version = conn.dialect.server_version_info
    except Exception as e:  # noqa: BLE001 - reported, not raised
        return Check("database", "FAIL", f"{url}: cannot connect ({e.__class__.__name__}: {e})")
    shown = ".".join(str(v) for v in version or ())
    return Check("database", "ok", f"{db.engine.dialect.name} {shown} at {url}")


def _schema() -> Check:
    from alembic.script import ScriptDirectory

    from .backup import schema_revision

    config = current_app.extensions["migrate"].migrate.get_config()
    heads = set(ScriptDirectory.from_config(config).get_heads())
    try:
        current = schema_revision()
    except Exception:  # noqa: BLE001
        current = None
    head = ", ".join(sorted(heads))
    if current in heads:
        return Check("schema", "ok", f"at head ({current})")
    if current is None:
        return Check("schema", "FAIL", f"not migrated (head is {head}): run "
                     "`flask --app app db upgrade`")
    return Check("schema", "FAIL", f"at {current}, head is {head}: run "
                 "`flask --app app db upgrade`")


def _uploads() -> list[Check]:
    root = Path(current_app.config["UPLOAD_DIR"])
    out = []
    try:
        (root / "tmp").mkdir(parents=True, exist_ok=True)
        with tempfile.NamedTemporaryFile(dir=root / "tmp", prefix=".check-"):
            pass
    except OSError as e:
        return [Check("uploads", "FAIL", f"{root} is not writable ({e.strerror or e})")]
    usage = shutil.disk_usage(root)
    ceiling = int(current_app.config["MAX_CONTENT_LENGTH"])
    free = f"{usage.free / GB:.1f} GB free of {usage.total / GB:.1f} GB at {root}"
    if usage.free < 2 * ceiling:
        out.append(Check("uploads", "FAIL", free + " (less than two of the largest uploads)"))
    elif usage.free < GB:
        out.append(Check("uploads", "warn", free))
    else:
        out.append(Check("uploads", "ok", free))
    mode = stat.S_IMODE(root.stat().st_mode)
    if mode & 0o007:
        out.append(Check("permissions", "warn",
                         f"{root} is open to every local user (mode {mode:o}); chmod o-rwx"))
    else:
        out.append(Check("permissions", "ok", f"{root} mode {mode:o}"))
    return out


def _secret_key() -> list[Check]:
    key = str(current_app.config.get("SECRET_KEY") or "")
    source = current_app.config.get("SECRET_KEY_SOURCE") or "config"
    out = []
    if len(key) < 16:
        out.append(Check("secret key", "FAIL", f"only {len(key)} characters (from {source}); "
                         "use at least 32 random characters"))
    elif len(key) < 32:
        out.append(Check("secret key", "warn", f"{len(key)} characters (from {source}); "
                         "32 or more recommended"))
    else:
        out.append(Check("secret key", "ok", f"{len(key)} characters, from {source}; keep it "
                         "with the backups (the ID-number hashes depend on it)"))
    key_file = Path(current_app.instance_path) / "secret_key"
    if source == "file" and key_file.exists():
        mode = stat.S_IMODE(key_file.stat().st_mode)
        if mode & 0o077:
            out.append(Check("secret key", "FAIL",
                             f"{key_file} is readable by others (mode {mode:o}); chmod 600"))
    return out


def _sms() -> Check:
    cfg = current_app.config
    backend = cfg.get("SMS_BACKEND")
    if backend == "tencent":
        missing = [k for k in ("SMS_TENCENT_SECRET_ID", "SMS_TENCENT_SECRET_KEY",
                               "SMS_TENCENT_SDK_APP_ID", "SMS_TENCENT_TEMPLATE_ID")
                   if not cfg.get(k)]
        if missing:
            return Check("sms", "FAIL", "tencent: missing " + ", ".join(
                "KEPU_" + k for k in missing))
        return Check("sms", "ok", f"tencent (region {cfg.get('SMS_TENCENT_REGION')})")
    if backend == "console":
        outbox = Path(current_app.instance_path) / "sms_outbox.jsonl"
        status = "ok" if cfg.get("DEMO_MODE") else "warn"
        return Check("sms", status, f"console: codes are written to {outbox}, not sent"
                     + ("" if cfg.get("DEMO_MODE") else " (set KEPU_SMS_BACKEND=tencent)"))
    if backend == "test":
        return Check("sms", "ok" if current_app.testing else "FAIL",
                     "test: codes are kept in memory only")
    return Check("sms", "FAIL", f"unknown backend {backend!r}")


def _web() -> list[Check]:
    cfg = current_app.config
    out = []
    storage = cfg.get("RATELIMIT_STORAGE_URI") or "memory://"
    if storage.startswith("memory"):
        out.append(Check("rate limits", "warn", "memory://: each worker counts on its own; "
                         "set KEPU_RATELIMIT_STORAGE_URI=redis://… with several workers"))
    else:
        out.append(Check("rate limits", "ok", storage.split("@")[-1]))
    hops = int(cfg.get("PROXY_HOPS") or 0)
    out.append(Check("proxy", "ok", f"{hops} trusted proxy hop(s)" if hops else
                     "no trusted proxy (set KEPU_PROXY_HOPS=1 behind nginx)"))
    out.append(Check("cookies", "ok" if cfg.get("SESSION_COOKIE_SECURE") else "warn",
                     "Secure (HTTPS only)" if cfg.get("SESSION_COOKIE_SECURE") else
                     "not Secure: set KEPU_COOKIE_SECURE=true behind HTTPS"))
    return out


def run_checks() -> list[Check]:
    results = [_database()]
    if results[0].status == "ok":
        results.append(_schema())
    results += _uploads()
    results += _secret_key()
    results.append(_sms())
    results += _web()
    return results


__all__ = ["Check", "run_checks"]
