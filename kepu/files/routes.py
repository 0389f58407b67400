"""Routes (thin): load → 404 → permission → operation → render.

- files.mine      GET  /files/                      我的文件 (list + upload widget)
- files.upload    POST /files/upload                store files; HTMX → <li> fragment
- files.delete    POST /files/<id>/delete           owner only, unattached or editable
- files.download  GET  /files/<id>[/<name>]         permission-checked download
"""
from __future__ import annotations

import re
import unicodedata
from urllib.parse import quote

from flask import abort, flash, make_response, redirect, request, send_file, url_for
from flask_login import current_user, login_required
from sqlalchemy import select

from ..extensions import db
from ..htmx import is_fragment, render
from ..urls import local_referrer, next_from_request
from . import bp
from .models import StoredFile
from .operations import delete_file, save_uploads, upload_input_name
from .specs import get_field
from .storage import accepts_uploads, limit_for, path_for

MINE_FIELD = "attachment"
_TARGET_RE = re.compile(r"^[A-Za-z][A-Za-z0-9_\-]{0,59}$")
# Downloads are not pages: no scripts at all, but let the browser's own image/PDF
# viewers work when shown inline.
DOWNLOAD_CSP = ("default-src 'none'; img-src 'self'; media-src 'self'; object-src 'self'; "
                "style-src 'unsafe-inline'; frame-ancestors 'self'")


def content_disposition(name: str, ext: str, inline: bool = False) -> str:
    """``attachment; filename="ascii"; filename*=UTF-8''<RFC 5987>`` for any name."""
    kind = "inline" if inline else "attachment"
    fallback = unicodedata.normalize("NFKD", name).encode("ascii", "ignore").decode("ascii")
    fallback = re.sub(r'[^A-Za-z0-9!#$&+\-.^_`|~ ()\[\]]', "_", fallback).strip()
    if not fallback.rpartition(".")[0].strip("_ "):
        fallback = f"file.{ext}" if ext else "file"
    if fallback == name:
        return f'{kind}; filename="{fallback}"'
    return f"{kind}; filename=\"{fallback}\"; filename*=UTF-8''{quote(name, safe='!#$&+-.^_`|~')}"


def _safe_next(default: str) -> str:
    """A same-site path to go back to after a plain (non-HTMX) post."""
    return next_from_request() or local_referrer() or default


def _my_files_page(page: int):
    query = (select(StoredFile).where(StoredFile.owner_id == current_user.id)
             .order_by(StoredFile.created_at.desc(), StoredFile.id.desc()))
    return db.paginate(query, page=page, per_page=50, error_out=False)


def _render_mine(status: int = 200, error: str | None = None, block: str | None = None):
    page = request.args.get("page", 1, type=int)
    return render("files/mine.html", block=block, status=status,
                  pagination=_my_files_page(page), field_name=MINE_FIELD,
                  spec=get_field(MINE_FIELD), error=error, page=page)


@bp.get("/")
@login_required
def mine():
    return _render_mine(block="files_table")


def _upload_limit():
    """The field named in the query string (the widget posts there) decides the limit."""
    spec = get_field(request.args.get("field", ""))
    return limit_for(spec) if spec is not None else limit_for()


@bp.post("/upload")
@accepts_uploads(_upload_limit)
@login_required
def upload():
    spec = get_field(request.args.get("field") or request.form.get("field", ""))
    target = request.form.get("target", "")
    if spec is None:
        abort(400)
    if not _TARGET_RE.match(target):
        target = spec.name
    files = request.files.getlist("file") + request.files.getlist(upload_input_name(target))
    stored, errors = save_uploads(spec, files, current_user)

    if is_fragment():
        resp = render("files/_uploaded.html", status=200 if stored else 422,
                      stored=stored, errors=errors, target_name=target,
                      widget_id="upload-" + target)
        if stored:
            resp.headers["HX-Trigger"] = "files-changed"
        else:
            resp.headers["HX-Reswap"] = "none"  # keep the list; only the error (OOB) swaps
        return resp

    # Plain form post (the 我的文件 page without JavaScript).
    if errors and not stored:
        return _render_mine(status=422, error="；".join(errors))
    if errors:
        flash("部分文件未上传：" + "；".join(errors), "warning")
    flash(f"已上传 {len(stored)} 个文件", "success")
    return redirect(_safe_next(url_for("files.mine")), code=303)


@bp.post("/<int:file_id>/delete")
@login_required
def delete(file_id: int):
    stored = db.session.get(StoredFile, file_id)
    if stored is None or stored.owner_id != current_user.id:
        abort(404)
    if not stored.can_delete(current_user):
        message = "该文件已随申报材料提交，不能删除"
        if is_fragment():
            resp = make_response(f'<p class="error" role="alert">{message}</p>', 422)
            resp.headers["HX-Retarget"] = f"#file-{stored.id}"
            resp.headers["HX-Reswap"] = "beforeend"
            return resp
        flash(message, "error")
        return redirect(_safe_next(url_for("files.mine")), code=303)
    name = stored.original_name
    delete_file(stored)
    if is_fragment():
        resp = make_response("", 200)
        resp.headers["HX-Trigger"] = "files-changed"
        return resp
    flash(f"已删除文件：{name}", "success")
    return redirect(_safe_next(url_for("files.mine")), code=303)


@bp.get("/<int:file_id>", defaults={"name": None})
@bp.get("/<int:file_id>/<name>")
def download(file_id: int, name: str | None):
    stored = db.session.get(StoredFile, file_id)
    if stored is None or not stored.can_view(current_user):
        abort(404)
    path = path_for(stored.stored_name)
    if not path.is_file():
        abort(404)
    inline = request.args.get("inline") == "1" and stored.inline_ok
    resp = send_file(
        path, mimetype=stored.content_type, conditional=True, etag=stored.sha256,
        last_modified=stored.created_at, max_age=None,
    )
    resp.headers["Content-Disposition"] = content_disposition(
        stored.original_name, stored.ext, inline)
    resp.headers["X-Content-Type-Options"] = "nosniff"
    resp.headers["Content-Security-Policy"] = DOWNLOAD_CSP
    resp.headers["Cache-Control"] = "private, no-cache"
    return resp
