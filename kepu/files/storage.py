"""File storage on disk: streaming multipart parsing, paths, content types.

``init_files(app)`` installs ``UploadRequest`` as the app's request class. Its
stream factory makes Werkzeug's multipart parser write every file part straight
into ``UPLOAD_DIR/tmp/`` (``DiskUpload``, hashing with SHA-256 as it writes), instead
of a ``SpooledTemporaryFile`` that keeps the first 500 KB in memory and then spills
to the system temp dir. Because the temp file lives on the same filesystem as the
final location, storing an accepted upload is a single ``os.replace``. Parts that
are not stored are deleted when the request closes.
"""
from __future__ import annotations

import hashlib
import io
import os
import secrets
import time
from pathlib import Path

import click
from flask import Flask, current_app
from flask.wrappers import Request

TMP_SUBDIR = "tmp"

CONTENT_TYPES = {
    "pdf": "application/pdf",
    "doc": "application/msword",
    "docx": "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
    "wps": "application/wps-office.wps",
    "ppt": "application/vnd.ms-powerpoint",
    "pptx": "application/vnd.openxmlformats-officedocument.presentationml.presentation",
    "xls": "application/vnd.ms-excel",
    "xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
    "et": "application/vnd.ms-excel",
    "zip": "application/zip",
    "rar": "application/vnd.rar",
    "7z": "application/x-7z-compressed",
    "mp4": "video/mp4",
    "m4a": "audio/mp4",
    "mov": "video/quicktime",
    "mp3": "audio/mpeg",
    "jpg": "image/jpeg",
    "jpeg": "image/jpeg",
    "png": "image/png",
    "gif": "image/gif",
    "webp": "image/webp",
    "txt": "text/plain; charset=utf-8",
    "csv": "text/csv; charset=utf-8",
}
# Types a browser may show inline (never HTML/SVG: those could run script).
INLINE_EXTS = {"jpg", "jpeg", "png", "gif", "webp", "pdf"}


def content_type_for(ext: str) -> str:
    return CONTENT_TYPES.get(ext, "application/octet-stream")


# --- paths ---------------------------------------------------------------------------

def upload_root() -> Path:
    return Path(current_app.config["UPLOAD_DIR"])


def tmp_dir() -> Path:
    path = upload_root() / TMP_SUBDIR
    path.mkdir(parents=True, exist_ok=True)
    return path


def new_stored_name() -> str:
    """Random, unguessable, filesystem-safe; never derived from the user's name."""
    return secrets.token_urlsafe(24)


def path_for(stored_name: str) -> Path:
    """UPLOAD_DIR/<2-char shard>/<stored_name>."""
    if not stored_name or "/" in stored_name or stored_name.startswith("."):
        raise ValueError("bad stored name")
    return upload_root() / stored_name[:2] / stored_name


# --- streaming temp files --------------------------------------------------------------

class DiskUpload(io.FileIO):
    """A multipart file part being written to UPLOAD_DIR/tmp, hashed as it arrives.

    ``claim()`` hands the path to the caller (who moves or deletes it); otherwise
    ``close()`` deletes the file.
    """

    def __init__(self, directory: Path):
        for _ in range(10):
            path = directory / ("up-" + secrets.token_hex(16))
            try:
                fd = os.open(path, os.O_RDWR | os.O_CREAT | os.O_EXCL, 0o600)
                break
            except FileExistsError:  # pragma: no cover - 128 random bits
                continue
        else:  # pragma: no cover
            raise OSError("could not create an upload temp file")
        super().__init__(fd, "r+", closefd=True)
        self.path = str(path)
        self.sha256 = hashlib.sha256()
        self.written = 0
        self.claimed = False

    def write(self, data) -> int:  # type: ignore[override]
        view = memoryview(data).cast("B")
        self.sha256.update(view)
        done = 0
        while done < len(view):
            done += super().write(view[done:])
        self.written += done
        return done

    def claim(self) -> str:
        """Close the file and give its path to the caller."""
        self.flush()
        self.claimed = True
        super().close()
        return self.path

    def close(self) -> None:
        super().close()
        if not self.claimed:
            self.claimed = True
            try:
                os.unlink(self.path)
            except FileNotFoundError:
                pass


class UploadRequest(Request):
    """Flask request whose multipart file parts stream into UPLOAD_DIR/tmp."""

    def _get_file_stream(self, total_content_length, content_type, filename=None,
                         content_length=None):
        stream = DiskUpload(tmp_dir())
        self.__dict__.setdefault("_kepu_uploads", []).append(stream)
        return stream

    def close(self) -> None:
        try:
            super().close()
        finally:
            # Also parts of a parse that failed half-way (never reached request.files).
            for stream in self.__dict__.pop("_kepu_uploads", []):
                stream.close()  # idempotent; deletes the part unless it was claimed


# --- maintenance ------------------------------------------------------------------

def purge_tmp(older_than_seconds: float) -> int:
    """Delete temp parts left by crashed workers; returns how many were removed."""
    removed = 0
    cutoff = time.time() - older_than_seconds
    for entry in os.scandir(tmp_dir()):
        try:
            if entry.is_file() and entry.stat().st_mtime < cutoff:
                os.unlink(entry.path)
                removed += 1
        except FileNotFoundError:  # pragma: no cover - raced with another cleaner
            continue
    return removed


def init_files(app: Flask) -> None:
    app.request_class = UploadRequest
    Path(app.config["UPLOAD_DIR"], TMP_SUBDIR).mkdir(parents=True, exist_ok=True)
    app.config.setdefault("UPLOAD_ORPHAN_HOURS", 24)

    from .operations import upload_input_name
    from .specs import get_field

    def raise_unknown_upload_field(name):
        raise ValueError(f"unknown upload field spec {name!r}")

    app.jinja_env.globals.update(
        upload_field_spec=get_field, upload_input_name=upload_input_name,
        raise_unknown_upload_field=raise_unknown_upload_field)

    @app.cli.command("purge-uploads")
    @click.option("--hours", type=float, default=None,
                  help="Age of unattached uploads to delete (default UPLOAD_ORPHAN_HOURS).")
    def purge_uploads_command(hours: float | None) -> None:
        """Delete unattached uploads (and stale temp parts) older than --hours."""
        from datetime import timedelta

        from .operations import purge_orphans

        hours = hours if hours is not None else app.config["UPLOAD_ORPHAN_HOURS"]
        files, temps = purge_orphans(timedelta(hours=hours))
        click.echo(f"已删除 {files} 个未关联的上传文件，{temps} 个临时文件。")
