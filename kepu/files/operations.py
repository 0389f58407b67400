"""Every write of the files area: store, attach, delete, purge.

Campaign usage::

    from kepu.files.operations import (UploadError, attach, claim_uploads, register_entity,
                                       save_uploads_from_request)

    register_entity("work", lambda id: db.session.get(Work, id))   # at import time

    # on form post: ids from the widget's hidden inputs + files posted without JS
    new, errors = save_uploads_from_request("work_file", current_user, "work_files")
    files = claim_uploads(request.form.getlist("work_files"), current_user, "work_file")
    for f in files + new:
        attach(f, "work", work.id)

``claim_uploads`` checks that each id belongs to the user and to the expected field,
so a file validated under a laxer field cannot be slipped into a stricter slot.
"""
from __future__ import annotations

import os
import shutil
import unicodedata
from datetime import timedelta
from typing import Iterable

from flask import request
from sqlalchemy import bindparam, select
from werkzeug.datastructures import FileStorage

from ..extensions import db
from ..inputs import parse_id
from ..timeutil import utcnow
from .models import StoredFile, load_entity, register_entity  # noqa: F401 (re-export)
from .specs import FieldSpec, get_field
from .storage import DiskUpload, content_type_for, new_stored_name, path_for, purge_tmp, tmp_dir
from .validation import MISMATCH_MESSAGE, UploadError, check_image, content_matches, read_head

__all__ = [
    "UploadError", "save_upload", "save_uploads", "save_uploads_from_request", "attach",
    "claim_uploads", "files_for", "delete_file", "purge_orphans", "register_entity",
    "upload_input_name",
]

IMAGE_EXTS = {"jpg", "jpeg", "png", "gif", "webp"}
COPY_CHUNK = 1024 * 1024


def upload_input_name(target_name: str) -> str:
    """Name of the widget's ``<input type=file>`` for a form field ``target_name``."""
    return f"{target_name}__upload"


def clean_filename(name: str | None) -> str:
    """The user's file name for display/download: no path, no control chars, ≤255."""
    name = (name or "").replace("\\", "/").rsplit("/", 1)[-1]
    name = "".join(ch for ch in name if unicodedata.category(ch)[0] != "C").strip()
    if len(name) > 255:
        stem, dot, ext = name.rpartition(".")
        if dot and len(ext) <= 10:
            name = stem[: 254 - len(ext)] + "." + ext
        else:
            name = name[:255]
    return name


def _ext_of(filename: str) -> str:
    stem, dot, ext = filename.rpartition(".")
    return ext.lower() if dot and stem else ""


def _resolve(field: str | FieldSpec) -> FieldSpec:
    spec = field if isinstance(field, FieldSpec) else get_field(field)
    if spec is None:
        raise UploadError("未知的上传项")
    return spec


def _spool_copy(src, spec: FieldSpec) -> tuple[str, int, str]:
    """Copy a non-disk stream into UPLOAD_DIR/tmp in chunks, hashing; stop when too big."""
    tmp = DiskUpload(tmp_dir())
    try:
        while True:
            chunk = src.read(COPY_CHUNK)
            if not chunk:
                break
            tmp.write(chunk)
            if tmp.written > spec.max_bytes:
                raise UploadError(spec.size_message)
    except BaseException:
        tmp.close()  # deletes it
        raise
    size, digest = tmp.written, tmp.sha256.hexdigest()
    return tmp.claim(), size, digest


def _unlink(path) -> None:
    try:
        os.unlink(path)
    except FileNotFoundError:
        pass


def save_upload(field: str | FieldSpec, file_storage: FileStorage, owner,
                *, commit: bool = True) -> StoredFile:
    """Validate one uploaded file against its field spec and store it.

    Raises ``UploadError`` with a Chinese message; on refusal nothing is kept.
    """
    spec = _resolve(field)
    filename = clean_filename(getattr(file_storage, "filename", None))
    if file_storage is None or not filename:
        raise UploadError("请选择要上传的文件")
    ext = _ext_of(filename)
    stream = file_storage.stream
    if not spec.allows(ext):
        if isinstance(stream, DiskUpload):
            stream.close()  # free the disk space now
        raise UploadError(spec.extension_message)

    if isinstance(stream, DiskUpload) and not stream.claimed:
        size = stream.written
        if size > spec.max_bytes:
            stream.close()
            raise UploadError(spec.size_message)
        digest = stream.sha256.hexdigest()
        tmp = stream.claim()
    else:
        tmp, size, digest = _spool_copy(stream, spec)

    final = None
    try:
        if size == 0:
            raise UploadError("文件为空，请重新选择")
        if not content_matches(ext, read_head(tmp)):
            raise UploadError(MISMATCH_MESSAGE)
        width = height = None
        if spec.image or ext in IMAGE_EXTS:
            width, height = check_image(spec, tmp, ext)
        stored_name = new_stored_name()
        final = path_for(stored_name)
        final.parent.mkdir(parents=True, exist_ok=True)
        os.replace(tmp, final)
        tmp = None
        row = StoredFile(
            owner_id=owner.id, field=spec.name[:40], original_name=filename,
            stored_name=stored_name, ext=ext, content_type=content_type_for(ext),
            size=size, sha256=digest, width=width, height=height,
        )
        db.session.add(row)
        if commit:
            db.session.commit()
        else:
            db.session.flush()
        return row
    except BaseException:
        if tmp is not None:
            _unlink(tmp)
        elif final is not None:  # moved into place, but the row was not written
            if commit:
                db.session.rollback()
            _unlink(final)
        raise


def save_uploads(field: str | FieldSpec, file_storages: Iterable[FileStorage], owner
                 ) -> tuple[list[StoredFile], list[str]]:
    """Store several files; returns (stored, error messages prefixed by file name)."""
    spec = _resolve(field)
    files = [f for f in file_storages if f is not None and f.filename]
    if not files:
        return [], ["请选择要上传的文件"]
    if spec.max_files is not None and len(files) > spec.max_files:
        for f in files:
            f.close()
        return [], ["只能上传一个文件" if spec.max_files == 1
                    else f"一次最多上传{spec.max_files}个文件"]
    stored, errors = [], []
    for f in files:
        try:
            stored.append(save_upload(spec, f, owner))
        except UploadError as e:
            name = clean_filename(f.filename)
            errors.append(f"{name}：{e.message}" if len(files) > 1 else e.message)
    return stored, errors


def save_uploads_from_request(field_name: str | FieldSpec, owner,
                              target_name: str | None = None
                              ) -> tuple[list[StoredFile], list[str]]:
    """Store files posted without JavaScript by ``upload_widget(field_name, target_name)``.

    Returns ([], []) when the user chose no file.
    """
    spec = _resolve(field_name)
    name = upload_input_name(target_name or spec.name)
    files = [f for f in request.files.getlist(name) if f and f.filename]
    if not files:
        return [], []
    return save_uploads(spec, files, owner)


def claim_uploads(ids: Iterable, owner, field: str | FieldSpec,
                  entity_type: str | None = None, entity_id: int | None = None
                  ) -> list[StoredFile]:
    """The files with these ids that ``owner`` uploaded for ``field`` (others ignored).

    Files already attached elsewhere are ignored; files attached to the given entity
    are kept (re-submitting the same form). Order follows ``ids``. Raises
    ``UploadError`` when more than the field's ``max_files`` remain.
    """
    spec = _resolve(field)
    wanted: list[int] = []
    for raw in ids:
        value = parse_id(raw)
        if value is None:
            continue
        if value not in wanted:
            wanted.append(value)
    if not wanted:
        return []
    rows = db.session.scalars(select(StoredFile).where(
        StoredFile.id.in_(wanted), StoredFile.owner_id == owner.id,
        StoredFile.field == spec.name)).all()
    by_id = {r.id: r for r in rows
             if r.entity_type is None
             or (r.entity_type == entity_type and r.entity_id == entity_id)}
    result = [by_id[i] for i in wanted if i in by_id]
    if spec.max_files is not None and len(result) > spec.max_files:
        raise UploadError("只能上传一个文件" if spec.max_files == 1
                          else f"最多上传{spec.max_files}个文件")
    return result


def attach(stored_file: StoredFile, entity_type: str, entity_id: int,
           *, commit: bool = True) -> StoredFile:
    """Attach a file to an entity: from now on ``entity.can_view`` also grants downloads."""
    stored_file.entity_type = entity_type
    stored_file.entity_id = entity_id
    if commit:
        db.session.commit()
    return stored_file


_FILES_FOR = (select(StoredFile)
              .where(StoredFile.entity_type == bindparam("entity_type"),
                     StoredFile.entity_id == bindparam("entity_id"))
              .order_by(StoredFile.created_at, StoredFile.id))
_FILES_FOR_FIELD = _FILES_FOR.where(StoredFile.field == bindparam("field"))


def files_for(entity_type: str, entity_id: int, field: str | None = None) -> list[StoredFile]:
    """The files attached to an entity (of one field), oldest first. The statements are
    built once (every form save and page with files runs one)."""
    if field is None:
        return list(db.session.scalars(
            _FILES_FOR, {"entity_type": entity_type, "entity_id": entity_id}))
    return list(db.session.scalars(
        _FILES_FOR_FIELD, {"entity_type": entity_type, "entity_id": entity_id, "field": field}))


def delete_file(stored_file: StoredFile, *, commit: bool = True) -> None:
    """Delete the row, then the bytes (a left-over file on disk is harmless)."""
    path = path_for(stored_file.stored_name)
    db.session.delete(stored_file)
    if commit:
        db.session.commit()
    _unlink(path)


def purge_orphans(older_than: timedelta = timedelta(days=1)) -> tuple[int, int]:
    """Delete unattached uploads older than ``older_than`` and stale temp parts.

    Returns (stored files deleted, temp files deleted).
    """
    cutoff = utcnow() - older_than
    rows = db.session.scalars(select(StoredFile).where(
        StoredFile.entity_type.is_(None), StoredFile.created_at < cutoff)).all()
    paths = [path_for(r.stored_name) for r in rows]
    for r in rows:
        db.session.delete(r)
    db.session.commit()
    for p in paths:
        _unlink(p)
    temps = purge_tmp(max(older_than.total_seconds(), 3600))
    return len(rows), temps


def copy_to(stored_file: StoredFile, dst) -> None:  # pragma: no cover - helper for exports
    """Write the stored bytes to an open binary file (e.g. into a zip export)."""
    with open(path_for(stored_file.stored_name), "rb") as src:
        shutil.copyfileobj(src, dst, COPY_CHUNK)
