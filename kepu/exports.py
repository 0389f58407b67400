"""xlsx exports shared by the campaigns (openpyxl write-only mode: constant memory)."""
from __future__ import annotations

import io
from typing import Iterable, Sequence
from urllib.parse import quote

from flask import Response
from openpyxl import Workbook
from openpyxl.cell import WriteOnlyCell
from openpyxl.styles import Alignment, Font

from .timeutil import fmt, utcnow


def xlsx_bytes(sheets: Sequence[tuple[str, Sequence[str], Iterable[Sequence]]],
               widths: dict[int, int] | None = None) -> bytes:
    """``sheets`` is [(title, header, rows)]; values may be str/int/float/None."""
    wb = Workbook(write_only=True)
    for title, header, rows in sheets:
        ws = wb.create_sheet(title=title[:31])
        for col, width in (widths or {}).items():
            ws.column_dimensions[chr(ord("A") + col)].width = width
        bold = []
        for h in header:
            c = WriteOnlyCell(ws, value=h)
            c.font = Font(bold=True)
            c.alignment = Alignment(vertical="center")
            bold.append(c)
        ws.append(bold)
        for row in rows:
            ws.append([_clean(v) for v in row])
    buf = io.BytesIO()
    wb.save(buf)
    return buf.getvalue()


def _clean(value):
    # Cells starting with = + - @ would be formulas in Excel: keep them as text.
    if isinstance(value, str) and value[:1] in ("=", "+", "-", "@"):
        return "'" + value
    return value


def attachment_response(data: bytes, filename: str, mimetype: str) -> Response:
    resp = Response(data, mimetype=mimetype)
    resp.headers["Content-Disposition"] = (
        f"attachment; filename=\"export{filename[filename.rfind('.'):]}\"; "
        f"filename*=UTF-8''{quote(filename)}")
    resp.headers["Cache-Control"] = "no-store"
    return resp


def xlsx_response(filename: str, sheets, widths=None) -> Response:
    """``filename`` like "作品推荐列表.xlsx" (a timestamp is added)."""
    stem, _, ext = filename.rpartition(".")
    name = f"{stem}_{fmt(utcnow(), '%Y%m%d%H%M')}.{ext}"
    return attachment_response(
        xlsx_bytes(sheets, widths), name,
        "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet")
