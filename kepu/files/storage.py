"""File storage on disk: streaming multipart parsing, request limits, paths, types.

``init_files(app)`` installs ``UploadRequest`` as the app's request class. Its
stream factory makes Werkzeug's multipart parser write every file part straight
into ``UPLOAD_DIR/tmp/`` (``DiskUpload``, hashing with SHA-256 as it writes), instead
of a ``SpooledTemporaryFile`` that keeps the first 500 KB in memory and then spills
to the system temp dir. Because the temp file lives on the same filesystem as the
final location, storing an accepted upload is a single ``os.replace``. Parts that
are not stored are deleted when the request closes. (Its input is also cleaned:
``kepu.inputs.CleanInputRequest``.)

Request limits, set before anything reads the body (the first ``before_request``
hook, ahead of CSRF and rate limits, which read the form):

- Only views marked ``@accepts_uploads(limit)`` take file parts, and only from a
  logged-in user; anywhere else a file part is refused (400) before it is written.
- Such a view's ``limit()`` (it may use ``request.view_args``) gives the largest body
  and the number of files: Flask's per-request ``max_content_length`` and
  ``max_form_parts`` are set from it, and the file count is enforced as the parts
  arrive, so a body with hundreds of file parts never holds hundreds of files open.
- Every other request body is at most ``MAX_FORM_LENGTH``; ``MAX_CONTENT_LENGTH`` is
  the ceiling of any upload route (the reverse proxy's ``client_max_body_size``).
- An anonymous POST to an upload route is sent to the login page unread.
"""
from __future__ import annotations

import hashlib
import io
import os
import secrets
import time
from pathlib import Path

from dataclasses import dataclass
from typing import Callable

import click
from flask import Flask, current_app, request
from flask.wrappers import Request
from werkzeug.exceptions import BadRequest, RequestEntityTooLarge

from ..inputs import CleanInputRequest

TMP_SUBDIR = "tmp"
#: files an upload route takes when its fields do not say
DEFAULT_MAX_FILES = 20
#: form parts besides the files (text fields, ids of files uploaded earlier)
FIELD_PARTS = 500

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


class UploadNotAccepted(BadRequest):
    description = "此处不接受文件上传。"
    user_message = "此处不接受文件上传，请通过页面上的上传控件选择文件。"


class TooManyFiles(RequestEntityTooLarge):
    description = "一次上传的文件过多。"
    user_message = "一次上传的文件过多，请分批上传。"


@dataclass(frozen=True)
class UploadLimit:
    """What one request to an upload route may carry."""

    max_bytes: int
    max_files: int = DEFAULT_MAX_FILES


def accepts_uploads(limit: Callable[[], UploadLimit] | None = None):
    """Mark a view as an upload route (put it right under ``@bp.route``).

    ``limit()`` runs before the body is read (``request.view_args`` are set; use
    ``limit_for(...)``); without one the route takes up to ``MAX_CONTENT_LENGTH`` and
    ``DEFAULT_MAX_FILES`` files."""

    def decorator(view):
        view.kepu_upload_limit = limit or (lambda: limit_for())
        return view

    return decorator


def limit_for(*specs, max_bytes: int | None = None, max_files: int | None = None
              ) -> UploadLimit:
    """The limit of a route taking the files of ``specs`` (FieldSpec or None) in one
    request, plus the form: their sizes times their counts, within the server ceiling."""
    ceiling = int(current_app.config["MAX_CONTENT_LENGTH"])
    room = int(current_app.config["MAX_FORM_LENGTH"])
    total = files = 0
    for spec in specs:
        if spec is None:
            continue
        count = spec.max_files or DEFAULT_MAX_FILES
        total += spec.max_bytes * count
        files += count
    if max_bytes is not None:
        total += max_bytes
    if max_files is not None:
        files += max_files
    if not specs and max_bytes is None:
        total = ceiling
    return UploadLimit(min(ceiling, total + room), max(1, files or DEFAULT_MAX_FILES))


def _upload_limit_of(view) -> Callable[[], UploadLimit] | None:
    while view is not None:
        found = getattr(view, "kepu_upload_limit", None)
        if found is not None:
            return found
        view = getattr(view, "__wrapped__", None)
    return None


def apply_request_limits():
    """First ``before_request`` hook: fix this request's body limits (module doc)."""
    from flask_login import current_user

    from ..extensions import login_manager

    cfg = current_app.config
    request.max_content_length = int(cfg["MAX_FORM_LENGTH"])
    request.max_form_parts = int(cfg["MAX_FORM_PARTS"])
    limit = _upload_limit_of(current_app.view_functions.get(request.endpoint or ""))
    if limit is None or request.method in ("GET", "HEAD", "OPTIONS"):
        return None
    if not current_user.is_authenticated:
        return login_manager.unauthorized()  # the body stays unread
    allowed = limit()
    request.max_content_length = allowed.max_bytes
    request.max_form_parts = allowed.max_files + FIELD_PARTS
    request.__dict__["_kepu_max_files"] = allowed.max_files
    return None


class UploadRequest(CleanInputRequest, Request):
    """The app's request class: cleaned input, file parts streamed into UPLOAD_DIR/tmp
    on upload routes only, at most the route's number of files."""

    def _get_file_stream(self, total_content_length, content_type, filename=None,
                         content_length=None):
        allowed = self.__dict__.get("_kepu_max_files", 0)
        parts = self.__dict__.setdefault("_kepu_uploads", [])
        if not allowed:
            raise UploadNotAccepted()
        if len(parts) >= allowed:
            raise TooManyFiles()
        stream = DiskUpload(tmp_dir())
        parts.append(stream)
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
    # Ahead of every other hook: CSRF and rate limits read the form.
    app.before_request_funcs.setdefault(None, []).insert(0, apply_request_limits)
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
