"""Backups that restore everything: the database, the uploaded files and the keys.

``create_backup(dest)`` writes one ``.tar.gz`` archive, readable by its owner only
(mode 0600, written to a temporary name and linked into place, so an existing file is
never overwritten unless ``force``):

- ``database/kepu.sqlite3``: a consistent copy made with SQLite's online backup API
  while the app keeps running; or ``database/kepu.pgdump``: ``pg_dump --format=custom``
  on PostgreSQL (``pg_dump`` / ``pg_restore`` of the server's major version must be
  installed, e.g. Debian's ``postgresql-client``);
- ``uploads/...``: every stored file (not the ``tmp/`` parts of uploads in progress);
- ``keys/secret_key``: the ``SECRET_KEY`` in use. It signs sessions and keys the hashes
  of SMS codes and ID numbers: restored with a different key, a second account could
  certify an ID number already in use;
- ``manifest.json``: format, time, schema revision, backend, the size and SHA-256 of
  every file, and the row count of every table.

``restore_backup(archive)`` checks the archive first (only those members, no links, no
paths outside it, every checksum), refuses a non-empty database or upload folder unless
``force``, refuses when ``KEPU_SECRET_KEY`` is set to another key than the archived one,
then loads the database (SQLite backup API / ``pg_restore --single-transaction``), puts
the files and the key in place and compares every table's row count with the manifest.
The app must be restarted afterwards (it still holds the old key).

``backup_to_directory(folder, keep)`` is the scheduled form (a timestamped archive,
only the newest ``keep`` kept): ``flask kepu backup /var/backups/kepu --keep 14``.
"""
from __future__ import annotations

import hashlib
import io
import json
import os
import shutil
import sqlite3
import subprocess
import tarfile
import tempfile
from dataclasses import dataclass, field
from pathlib import Path

from flask import current_app
from sqlalchemy import func, select, text

from .extensions import db
from .timeutil import utcnow

FORMAT = "kepu-backup"
FORMAT_VERSION = 1
SQLITE_NAME = "database/kepu.sqlite3"
PGDUMP_NAME = "database/kepu.pgdump"
KEY_NAME = "keys/secret_key"
MANIFEST = "manifest.json"
ARCHIVE_PREFIX = "kepu-"
ARCHIVE_SUFFIX = ".tar.gz"


class BackupError(RuntimeError):
    """A backup or restore was refused or failed; the message says why (English, CLI)."""


@dataclass
class BackupResult:
    path: Path
    files: int
    bytes: int
    counts: dict = field(default_factory=dict)


# --- helpers -------------------------------------------------------------------------------

def _backend() -> str:
    return db.engine.dialect.name


def table_counts(conn=None) -> dict[str, int]:
    """Rows of every table of the models that exists (a fresh database has none)."""
    from sqlalchemy import inspect

    conn = conn if conn is not None else db.session.connection()
    existing = set(inspect(conn).get_table_names())
    return {t.name: conn.scalar(select(func.count()).select_from(t))
            for t in db.metadata.sorted_tables if t.name in existing}


def schema_revision() -> str | None:
    try:
        return db.session.scalar(text("SELECT version_num FROM alembic_version"))
    except Exception:  # noqa: BLE001 - no alembic_version table: schema not migrated
        db.session.rollback()
        return None


def _upload_files(root: Path):
    """(path, relative name) of every stored upload (not temp parts)."""
    if not root.is_dir():
        return
    for dirpath, dirnames, filenames in os.walk(root):
        rel_dir = Path(dirpath).relative_to(root)
        if rel_dir.parts[:1] == ("tmp",):
            dirnames[:] = []
            continue
        dirnames[:] = [d for d in dirnames if not (rel_dir == Path(".") and d == "tmp")]
        for name in filenames:
            path = Path(dirpath) / name
            if path.is_file() and not path.is_symlink():
                yield path, (rel_dir / name).as_posix()


class _Hashing(io.RawIOBase):
    """Reads through ``fh`` while hashing what tarfile copies into the archive."""

    def __init__(self, fh):
        self.fh = fh
        self.sha256 = hashlib.sha256()

    def readable(self):
        return True

    def read(self, n=-1):
        data = self.fh.read(n)
        self.sha256.update(data)
        return data


def _pg_args(url) -> tuple[list[str], dict]:
    """libpq arguments for ``url`` (the password goes in the environment, not argv)."""
    env = dict(os.environ)
    if url.password:
        env["PGPASSWORD"] = str(url.password)
    conn = url.set(drivername="postgresql", password=None).render_as_string(hide_password=False)
    return ["--dbname", conn], env


def _run(cmd: list[str], env: dict) -> None:
    if shutil.which(cmd[0]) is None:
        raise BackupError(f"{cmd[0]} is not installed (Debian: apt-get install postgresql-client)")
    done = subprocess.run(cmd, env=env, capture_output=True, text=True)
    if done.returncode != 0:
        raise BackupError(f"{cmd[0]} failed: {done.stderr.strip()[:2000]}")


def _secret_key() -> str:
    return str(current_app.config["SECRET_KEY"])


# --- backup --------------------------------------------------------------------------------

def create_backup(dest, force: bool = False) -> BackupResult:
    """Write the archive to ``dest`` (see the module doc). Raises BackupError."""
    dest = Path(dest)
    if dest.exists() and not force:
        raise BackupError(f"{dest} exists; choose another name or pass --force to replace it")
    if not dest.parent.is_dir():
        raise BackupError(f"folder {dest.parent} does not exist")
    fd, partial = tempfile.mkstemp(prefix=".kepu-backup-", suffix=".partial", dir=dest.parent)
    os.fchmod(fd, 0o600)
    manifest = {"format": FORMAT, "version": FORMAT_VERSION,
                "created_at": utcnow().isoformat(timespec="seconds") + "Z",
                "database": _backend(), "schema_revision": schema_revision(),
                "files": {}, "counts": {}}
    total = 0
    try:
        with os.fdopen(fd, "wb") as raw, tarfile.open(fileobj=raw, mode="w:gz") as tar:
            def add(path: Path, arcname: str) -> None:
                nonlocal total
                info = tar.gettarinfo(str(path), arcname)
                info.mode, info.uid, info.gid, info.uname, info.gname = 0o600, 0, 0, "", ""
                with open(path, "rb") as fh:
                    hashing = _Hashing(fh)
                    tar.addfile(info, hashing)
                manifest["files"][arcname] = {"size": info.size,
                                              "sha256": hashing.sha256.hexdigest()}
                total += info.size

            def add_bytes(data: bytes, arcname: str) -> None:
                info = tarfile.TarInfo(arcname)
                info.size, info.mode, info.mtime = len(data), 0o600, int(utcnow().timestamp())
                tar.addfile(info, io.BytesIO(data))
                if arcname != MANIFEST:
                    manifest["files"][arcname] = {"size": len(data),
                                                  "sha256": hashlib.sha256(data).hexdigest()}

            with tempfile.TemporaryDirectory(dir=dest.parent, prefix=".kepu-db-") as work:
                snapshot = Path(work) / "db"
                manifest["counts"] = _dump_database(snapshot)
                add(snapshot, SQLITE_NAME if _backend() == "sqlite" else PGDUMP_NAME)
            root = Path(current_app.config["UPLOAD_DIR"])
            for path, rel in sorted(_upload_files(root), key=lambda p: p[1]):
                add(path, "uploads/" + rel)
            add_bytes(_secret_key().encode(), KEY_NAME)
            add_bytes(json.dumps(manifest, ensure_ascii=False, indent=1).encode(), MANIFEST)
        if force:
            os.replace(partial, dest)
        else:
            os.link(partial, dest)  # fails if dest appeared meanwhile: never overwrites
            os.unlink(partial)
    except FileExistsError:
        os.unlink(partial)
        raise BackupError(f"{dest} exists; choose another name or pass --force to replace it") \
            from None
    except BaseException:
        if os.path.exists(partial):
            os.unlink(partial)
        raise
    uploads = sum(1 for n in manifest["files"] if n.startswith("uploads/"))
    return BackupResult(dest, uploads, total, manifest["counts"])


def _dump_database(target: Path) -> dict[str, int]:
    """Write a consistent copy of the database to ``target``; the row counts of that
    very copy (the app may keep writing meanwhile)."""
    from sqlalchemy import create_engine

    db.session.commit()
    if _backend() == "sqlite":
        src = sqlite3.connect(db.engine.url.database)
        try:
            out = sqlite3.connect(str(target))
            with out:
                src.backup(out)
            out.close()
        finally:
            src.close()
        os.chmod(target, 0o600)
        copy = create_engine(f"sqlite:///{target}")
        try:
            with copy.connect() as conn:
                return table_counts(conn)
        finally:
            copy.dispose()
    # PostgreSQL: count in a snapshot and let pg_dump use the same one.
    args, env = _pg_args(db.engine.url)
    with db.engine.connect() as conn:
        conn = conn.execution_options(isolation_level="REPEATABLE READ")
        with conn.begin():
            snapshot = conn.scalar(text("SELECT pg_export_snapshot()"))
            counts = table_counts(conn)
            _run(["pg_dump", "--format=custom", "--no-owner", "--no-privileges",
                  f"--snapshot={snapshot}", "--file", str(target), *args], env)
    return counts


def backup_to_directory(folder, keep: int = 14, stamp: str | None = None) -> Path:
    """A timestamped archive in ``folder``; older ones beyond the newest ``keep`` are
    deleted. The function to schedule (task queue or a systemd timer)."""
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True, mode=0o700)
    stamp = stamp or utcnow().strftime("%Y%m%d-%H%M%S")
    path = folder / f"{ARCHIVE_PREFIX}{stamp}{ARCHIVE_SUFFIX}"
    create_backup(path)
    archives = sorted(p for p in folder.iterdir()
                      if p.name.startswith(ARCHIVE_PREFIX) and p.name.endswith(ARCHIVE_SUFFIX))
    for old in archives[:-keep] if keep > 0 else []:
        old.unlink()
    return path


# --- restore -------------------------------------------------------------------------------

def _read_checked(archive: Path, into: Path) -> dict:
    """Extract ``archive`` into ``into`` after checking every member; the manifest."""
    try:
        tar = tarfile.open(archive, mode="r:gz")
    except (OSError, tarfile.TarError) as e:
        raise BackupError(f"{archive} is not a kepu backup archive ({e})") from None
    with tar:
        members = tar.getmembers()
        names = [m.name for m in members]
        if MANIFEST not in names:
            raise BackupError(f"{archive} has no {MANIFEST}: not a kepu backup")
        manifest = json.load(tar.extractfile(MANIFEST))
        if manifest.get("format") != FORMAT or manifest.get("version") != FORMAT_VERSION:
            raise BackupError("unknown backup format")
        expected = set(manifest.get("files", {})) | {MANIFEST}
        if len(names) != len(set(names)):
            raise BackupError("the archive names a file twice")
        for m in members:
            name = m.name
            if (not m.isfile() or name.startswith("/") or ".." in Path(name).parts
                    or name not in expected):
                raise BackupError(f"unexpected member in the archive: {name!r}")
        missing = expected - set(names)
        if missing:
            raise BackupError(f"the archive lacks {sorted(missing)[:5]}")
        tar.extractall(into, filter="data")
    for name, meta in manifest["files"].items():
        path = into / name
        digest = hashlib.sha256()
        with open(path, "rb") as fh:
            for chunk in iter(lambda: fh.read(1 << 20), b""):
                digest.update(chunk)
        if path.stat().st_size != meta["size"] or digest.hexdigest() != meta["sha256"]:
            raise BackupError(f"{name} does not match its checksum: the archive is damaged")
    return manifest


def instance_is_empty() -> tuple[bool, str]:
    counts = table_counts()
    used = {t: n for t, n in counts.items() if n}
    if used:
        return False, "the database has data (" + ", ".join(
            f"{t}: {n}" for t, n in sorted(used.items())[:4]) + ")"
    if any(True for _ in _upload_files(Path(current_app.config["UPLOAD_DIR"]))):
        return False, "the upload folder has files"
    return True, ""


def restore_backup(archive, force: bool = False) -> dict:
    """Restore ``archive`` into this instance (see the module doc). Returns the manifest.
    Raises BackupError without changing anything when a check fails."""
    archive = Path(archive)
    if not archive.is_file():
        raise BackupError(f"{archive} does not exist")
    instance = Path(current_app.instance_path)
    with tempfile.TemporaryDirectory(dir=instance, prefix=".restore-") as work:
        work = Path(work)
        manifest = _read_checked(archive, work)
        if manifest["database"] != _backend():
            raise BackupError(f"the archive holds a {manifest['database']} database; this "
                              f"instance uses {_backend()}")
        key = (work / KEY_NAME).read_text()
        source = current_app.config.get("SECRET_KEY_SOURCE")
        if source in ("environment", "instance config") and key != _secret_key():
            raise BackupError("KEPU_SECRET_KEY (or SECRET_KEY in instance/config.py) differs "
                              "from the archived key: set it to the archived key "
                              f"({KEY_NAME} in the archive) or remove it, then restore again")
        if not force:
            empty, why = instance_is_empty()
            if not empty:
                raise BackupError(f"refusing to restore into a non-empty instance: {why}; "
                                  "pass --force to replace its database and uploads")

        _load_database(work)
        _put_uploads(work / "uploads", Path(current_app.config["UPLOAD_DIR"]))
        key_file = instance / "secret_key"
        fd = os.open(key_file, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        os.fchmod(fd, 0o600)
        with os.fdopen(fd, "w") as fh:
            fh.write(key)

    db.session.remove()
    db.engine.dispose()
    counts = table_counts()
    db.session.remove()
    if counts != manifest["counts"]:
        wrong = {t: (counts.get(t), n) for t, n in manifest["counts"].items()
                 if counts.get(t) != n}
        raise BackupError(f"restored row counts differ from the backup: {wrong}")
    return manifest


def _load_database(work: Path) -> None:
    db.session.remove()
    db.engine.dispose()
    if _backend() == "sqlite":
        src = sqlite3.connect(str(work / SQLITE_NAME))
        try:
            dst = sqlite3.connect(db.engine.url.database)
            with dst:
                src.backup(dst)
            dst.close()
        finally:
            src.close()
        return
    args, env = _pg_args(db.engine.url)
    _run(["pg_restore", "--no-owner", "--no-privileges", "--clean", "--if-exists",
          "--single-transaction", "--exit-on-error", *args, str(work / PGDUMP_NAME)], env)


def _put_uploads(source: Path, root: Path) -> None:
    root.mkdir(parents=True, exist_ok=True)
    for path, _rel in list(_upload_files(root)):
        path.unlink()  # --force: the archive's files replace the current ones
    if not source.is_dir():
        return
    for path in sorted(source.rglob("*")):
        if path.is_file():
            target = root / path.relative_to(source)
            target.parent.mkdir(parents=True, exist_ok=True)
            shutil.copyfile(path, target)
            os.chmod(target, 0o600)


# --- nightly, on the task queue ----------------------------------------------------------

def _nightly_backup() -> None:
    """03:30 Beijing time in the worker, when ``BACKUP_DIR`` is set: a new archive there,
    the newest ``BACKUP_KEEP`` kept (a systemd timer running ``flask kepu backup`` does
    the same without the worker; see the README)."""
    from flask import current_app

    folder = current_app.config.get("BACKUP_DIR")
    if not folder:
        return
    path = backup_to_directory(folder, keep=int(current_app.config.get("BACKUP_KEEP") or 14))
    current_app.logger.info("nightly backup written to %s", path)


def register_tasks() -> None:
    from . import jobs

    # crontab in UTC: 19:30 UTC is 03:30 in Beijing
    jobs.periodic(jobs.crontab(hour="19", minute="30"), name="nightly_backup")(_nightly_backup)
