"""Exports shared by the campaigns: big xlsx files on the task queue, CSV streamed at
once, small xlsx files answered directly.

Cells whose text starts with ``= + - @`` (or a tab / carriage return) are written as
text prefixed with ``'``, in xlsx and CSV alike, so a spreadsheet never runs them as
formulas (CSV/formula injection).

**A big export (any size) runs as a job.** A campaign registers an *export kind* once,
at import time (e.g. in its routes module), then starts it from a POST route; the user
lands on ``/jobs/<id>``, watches the progress ("已导出 12,000 / 100,000 行") and
downloads the file there. Only the requester sees the job; the file is kept
``EXPORT_RETENTION_HOURS`` (default 24)::

    from kepu.exports import ExportSpec, Sheet, export_kind, start_export_response
    from kepu.jobs import JobRefused

    @export_kind("works.admin_all")
    def works_admin_export(user, params) -> ExportSpec:
        # Runs in the worker with the requester's user: check the permission again
        # (it may have been revoked since) and rebuild the query from plain params.
        campaign = db.session.get(Campaign, params["campaign_id"])
        if campaign is None or not user.is_platform_admin:
            raise JobRefused("无权导出作品列表")
        stmt, _ = filter_works(scope_stmt(user, campaign), params["filters"])

        def rows():                       # a generator: rows are streamed, never listed
            for w in db.session.scalars(stmt.execution_options(yield_per=500)):
                yield [w.id, w.title, ...]

        return ExportSpec(
            filename=f"{campaign.title}_作品列表.xlsx",   # a timestamp is added
            sheets=[Sheet("作品列表", EXPORT_HEADER, rows())],
            total=db.session.scalar(select(func.count()).select_from(stmt.subquery())),
            widths={1: 30, 4: 60})       # column index → width (characters)

    @bp.post("/admin/export.xlsx")
    @login_required
    def admin_export():
        if not current_user.is_platform_admin:      # the same check, now, in the route
            abort(404)
        campaign = viewed_campaign()                # session-based choices → params
        return start_export_response(
            "works.admin_all",
            {"campaign_id": campaign.id, "filters": request.args.to_dict()},
            f"{campaign.title} 作品列表（Excel）")

    # the CSV twin streams at once from the same declaration (GET, no job):
    @bp.get("/admin/export.csv")
    @login_required
    def admin_export_csv():
        ...same check...
        return export_csv_response("works.admin_all", {...same params...})

and in the list template (POST with CSRF for the job, a GET link for CSV)::

    {% from "_macros/export.html" import export_buttons %}
    {{ export_buttons(url_for("works.admin_export", **request.args),
                      url_for("works.admin_export_csv", **request.args)) }}

``params`` must be JSON (ids, strings, dicts of filters): the worker has no session,
no ``request`` and no ``current_user``; resolve such choices in the route.

**Small exports** keep the synchronous API: ``xlsx_response(filename, sheets, widths)``
and ``xlsx_bytes(sheets, widths)`` with ``sheets = [(title, header, rows)]``.

**Writer.** ``kepu/xlsx_writer.py``, a small streaming writer chosen by measurement
against openpyxl write-only, xlsxwriter ``constant_memory`` and pyexcelerate
(``bench/xlsx_writers.py``, figures in ``bench/README.md``): rows go straight into the
zip, so a job's memory does not grow with the row count.
"""
from __future__ import annotations

import csv
import io
from dataclasses import dataclass, field
from typing import Any, BinaryIO, Callable, Iterable, Sequence

from flask import Response, abort, stream_with_context

from . import jobs
from .jobs import FileSpec, JobRefused, Progress, stamped_filename
from .xlsx_writer import FORMULA_START, XlsxWriter, guard, text_of

__all__ = [
    "Sheet", "ExportSpec", "export_kind", "export_kinds", "start_export",
    "start_export_response", "csv_response", "export_csv_response", "xlsx_bytes",
    "xlsx_response", "write_xlsx", "safe_cell",
]

XLSX_MIMETYPE = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


def safe_cell(value):
    """Text that a spreadsheet would read as a formula gets a leading ``'``."""
    if isinstance(value, str) and value[:1] in FORMULA_START:
        return "'" + value
    return value


# --- specs and registry --------------------------------------------------------------------

@dataclass
class Sheet:
    title: str
    header: Sequence[str]
    rows: Iterable[Sequence[Any]]


@dataclass
class ExportSpec:
    """What an export kind returns. ``sheets`` are ``Sheet``s or (title, header, rows)
    tuples; ``total`` is the row count of all sheets (for the progress bar), if known;
    ``widths`` maps a 0-based column index to a width in characters."""

    filename: str
    sheets: Sequence[Sheet | tuple]
    total: int | None = None
    widths: dict[int, int] | None = field(default=None)


ExportKind = Callable[[Any, dict], ExportSpec]
_EXPORT_KINDS: dict[str, ExportKind] = {}


def export_kind(name: str) -> Callable[[ExportKind], ExportKind]:
    """Register ``fn(user, params) -> ExportSpec`` as the export ``name``."""
    def decorator(fn: ExportKind) -> ExportKind:
        register_export_kind(name, fn)
        return fn
    return decorator


def register_export_kind(name: str, fn: ExportKind) -> None:
    def as_file(user, params) -> FileSpec:
        spec = fn(user, params)
        if not spec.filename.lower().endswith(".xlsx"):
            spec.filename += ".xlsx"

        def write(out: BinaryIO, progress: Progress) -> None:
            write_xlsx(out, spec.sheets, spec.widths, progress)

        return FileSpec(spec.filename, write, total=spec.total, unit="行")

    as_file.__wrapped__ = fn  # type: ignore[attr-defined]
    jobs.register_file_kind(name, as_file)
    _EXPORT_KINDS[name] = fn


def export_kinds() -> list[str]:
    return sorted(_EXPORT_KINDS)


def start_export(kind: str, user, params: dict | None, label: str) -> jobs.Job:
    """Create the Job for ``user`` and enqueue it; returns the Job."""
    if kind not in _EXPORT_KINDS:
        raise KeyError(f"unknown export kind {kind!r}")
    return jobs.start_file_job(kind, user, params, label)


def start_export_response(kind: str, params: dict | None, label: str) -> Response:
    """For a POST route: start the export for the logged-in user and redirect to the
    job's page (``HX-Redirect`` for HTMX requests, 303 otherwise)."""
    if kind not in _EXPORT_KINDS:
        raise KeyError(f"unknown export kind {kind!r}")
    return jobs.start_file_job_response(kind, params, label)


# --- xlsx ------------------------------------------------------------------------------

def _sheet_parts(sheet) -> tuple[str, Sequence[str], Iterable[Sequence]]:
    if isinstance(sheet, Sheet):
        return sheet.title, sheet.header, sheet.rows
    title, header, rows = sheet
    return title, header, rows


def write_xlsx(out, sheets, widths: dict[int, int] | None = None,
               progress: Progress | None = None, *, small: bool = False) -> None:
    """Write ``sheets`` to ``out`` (a path or a binary file), row by row.

    A big export streams (memory stays flat whatever the row count; deflate level 1 in
    a second thread); ``small`` is for files built inside a request (level 6, one
    thread). Numbers stay numbers, datetimes become "YYYY-MM-DD HH:MM" (Beijing time),
    True/False "是"/"否", everything else text (formula-like text with a leading ').
    """
    on_row = progress.advance if progress is not None else None
    with XlsxWriter(out, compresslevel=6 if small else 1, threaded=not small) as x:
        for sheet in sheets:
            title, header, rows = _sheet_parts(sheet)
            x.sheet(title, header, rows, widths, on_row)


def xlsx_bytes(sheets: Sequence[tuple[str, Sequence[str], Iterable[Sequence]]],
               widths: dict[int, int] | None = None) -> bytes:
    """``sheets`` is [(title, header, rows)]; values may be str/int/float/None."""
    buf = io.BytesIO()
    write_xlsx(buf, sheets, widths, small=True)
    return buf.getvalue()


def attachment_response(data, filename: str, mimetype: str) -> Response:
    from .files.routes import content_disposition

    ext = filename.rpartition(".")[2].lower() if "." in filename else ""
    resp = Response(data, mimetype=mimetype)
    resp.headers["Content-Disposition"] = content_disposition(filename, ext)
    resp.headers["Cache-Control"] = "no-store"
    return resp


def xlsx_response(filename: str, sheets, widths=None) -> Response:
    """A small xlsx built in the request; ``filename`` like "作品推荐列表.xlsx" (a
    timestamp is added). Anything that may reach thousands of rows: use a job."""
    return attachment_response(xlsx_bytes(sheets, widths), stamped_filename(filename),
                               XLSX_MIMETYPE)


# --- CSV -------------------------------------------------------------------------------

CSV_BATCH_ROWS = 500


def _csv_chunks(header: Sequence[str], rows: Iterable[Sequence]) -> Iterable[bytes]:
    buf = io.StringIO()
    writer = csv.writer(buf, lineterminator="\r\n")
    writer.writerow([_csv_value(h) for h in header])
    yield ("\ufeff" + buf.getvalue()).encode("utf-8")  # BOM: Excel reads it as UTF-8
    buf.seek(0)
    buf.truncate()
    n = 0
    for row in rows:
        writer.writerow([_csv_value(v) for v in row])
        n += 1
        if n % CSV_BATCH_ROWS == 0:
            yield buf.getvalue().encode("utf-8")
            buf.seek(0)
            buf.truncate()
    if buf.tell():
        yield buf.getvalue().encode("utf-8")


def _csv_value(v):
    if isinstance(v, (int, float)) and not isinstance(v, bool):
        return v
    return guard(text_of(v)) or ""


def csv_response(filename: str, header: Sequence[str], rows: Iterable[Sequence]) -> Response:
    """Stream a CSV (UTF-8 with BOM, CRLF) as the rows come; ``filename`` like
    "作品列表.csv" (a timestamp is added). Needs no job: the first bytes leave at once."""
    if not filename.lower().endswith(".csv"):
        filename += ".csv"
    resp = attachment_response(stream_with_context(_csv_chunks(header, rows)),
                               stamped_filename(filename), "text/csv; charset=utf-8")
    resp.headers["X-Accel-Buffering"] = "no"  # let a proxy pass the stream on
    return resp


def export_csv_response(kind: str, params: dict | None, sheet: int = 0) -> Response:
    """Stream one sheet (the first by default) of an export kind as CSV, for the
    logged-in user; the kind's own permission check answers 404 when it refuses."""
    from flask_login import current_user

    fn = _EXPORT_KINDS.get(kind)
    if fn is None:
        raise KeyError(f"unknown export kind {kind!r}")
    try:
        spec = fn(current_user, dict(params or {}))
    except JobRefused:
        abort(404)
    title, header, rows = _sheet_parts(spec.sheets[sheet])
    stem = spec.filename[:-5] if spec.filename.lower().endswith(".xlsx") else spec.filename
    return csv_response(stem + ".csv", header, rows)
