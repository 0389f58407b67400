"""A minimal streaming xlsx writer: rows go straight into the zip, memory stays flat.

Why not a library: ``bench/xlsx_writers.py`` (figures in ``bench/README.md``) writes the
works export's shape (100,000 rows × 27 columns, two ~1,000-character texts) with
openpyxl write-only, xlsxwriter ``constant_memory`` and pyexcelerate. All of them spend
most of their time in Python per cell and in deflate at level 6; none fits the 30 s
budget of a 100,000-row export with the database reads still to come, and pyexcelerate
holds the whole sheet in memory. This writer emits each row's XML with one join, uses
inline strings (no shared-string table to grow), deflates at level 1 (the file is ~20 %
larger), and compresses in a second thread (zlib releases the GIL), so generating and
compressing overlap.

What it writes: one workbook, one or more sheets with a bold, frozen header row and
optional column widths; cells are numbers or text. Text is written as text, never as a
formula, and text starting with ``= + - @`` (or a tab / carriage return) gets a leading
``'`` so that editing the cell in Excel cannot turn it into one either;
characters XML 1.0 cannot hold are written as Excel's ``_xHHHH_`` escapes; text longer
than Excel's 32,767-character cell limit is cut; a sheet longer than Excel's
1,048,576 rows continues on "<title>(2)" with the header repeated.
"""
from __future__ import annotations

import itertools
import queue
import re
import threading
import zipfile
from datetime import date, datetime
from typing import Any, Callable, Iterable, Sequence

# Text a spreadsheet would run as a formula (CSV/formula injection) gets a leading "'".
FORMULA_START = ("=", "+", "-", "@", "\t", "\r")

MAX_ROWS = 1_048_576
MAX_CELL_CHARS = 32_767
FLUSH_BYTES = 1 << 20  # hand ~1 MB of XML to the compressor at a time
_DONE = object()

_XML_BAD = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ud800-\udfff\ufffe\uffff]")
_SHEET_BAD = re.compile(r"[\[\]:*?/\\]")


def _xml_bad(m: re.Match) -> str:
    return "_x%04X_" % ord(m.group())


def escape(text: str) -> str:
    if "&" in text:
        text = text.replace("&", "&amp;")
    if "<" in text:
        text = text.replace("<", "&lt;")
    if ">" in text:
        text = text.replace(">", "&gt;")
    if "\r" in text:  # a parser would turn a raw CR into LF
        text = text.replace("\r", "&#13;")
    if _XML_BAD.search(text):
        text = _XML_BAD.sub(_xml_bad, text)
    return text


def _attr(text: str) -> str:
    return escape(text).replace('"', "&quot;")


def column_letter(index: int) -> str:
    """0 → A, 25 → Z, 26 → AA."""
    out = ""
    index += 1
    while index:
        index, rem = divmod(index - 1, 26)
        out = chr(65 + rem) + out
    return out


def sheet_title(title: str, used: set[str]) -> str:
    """Excel's rules: ≤ 31 characters, none of []:*?/\\, not quoted, unique (any case)."""
    clean = _SHEET_BAD.sub("_", title or "").strip("'").strip() or "Sheet"
    clean = clean[:31]
    base, n = clean, 2
    while clean.lower() in used:
        suffix = f"({n})"
        clean = base[:31 - len(suffix)] + suffix
        n += 1
    used.add(clean.lower())
    return clean


def guard(text: str | None) -> str | None:
    """Formula-like text → text with a leading ``'``."""
    if text and text[:1] in FORMULA_START:
        return "'" + text
    return text


def text_of(value: Any) -> str | None:
    """How a non-numeric value is shown (None → empty cell)."""
    if value is None:
        return None
    if isinstance(value, bool):
        return "是" if value else "否"
    if isinstance(value, datetime):
        from .timeutil import fmt

        return fmt(value)
    if isinstance(value, date):
        return value.isoformat()
    return str(value)


class _Compressor:
    """Writes chunks to a zip member from a second thread (deflate releases the GIL)."""

    def __init__(self, member):
        self.member = member
        self.queue: queue.Queue = queue.Queue(maxsize=8)
        self.error: BaseException | None = None
        self.thread = threading.Thread(target=self._run, name="xlsx-deflate", daemon=True)
        self.thread.start()

    def _run(self) -> None:
        while True:
            chunk = self.queue.get()
            if chunk is None:
                return
            if self.error is None:
                try:
                    self.member.write(chunk)
                except BaseException as e:  # noqa: BLE001 - re-raised in the caller
                    self.error = e

    def write(self, chunk: bytes) -> None:
        if self.error is not None:
            raise self.error
        self.queue.put(chunk)

    def close(self) -> None:
        self.queue.put(None)
        self.thread.join()
        if self.error is not None:
            raise self.error


class XlsxWriter:
    """``with XlsxWriter(out) as x: x.sheet(title, header, rows, widths)``.

    ``out`` is a path or a writable binary file (seekable or not). ``on_row`` is
    called after every data row (progress).
    """

    def __init__(self, out, *, compresslevel: int = 1, threaded: bool = True):
        self.zip = zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED, allowZip64=True,
                                   compresslevel=compresslevel)
        self.threaded = threaded
        self.sheets: list[str] = []
        self._used: set[str] = set()

    def __enter__(self) -> "XlsxWriter":
        return self

    def __exit__(self, exc_type, exc, tb) -> None:
        if exc_type is None:
            self.close()
        else:
            self.zip.close()

    def sheet(self, title: str, header: Sequence[Any], rows: Iterable[Sequence[Any]],
              widths: dict[int, float] | None = None,
              on_row: Callable[[], None] | None = None) -> None:
        header = list(header)
        it = iter(rows)
        part = 1
        while True:
            name = sheet_title(title if part == 1 else f"{title}({part})", self._used)
            overflow = self._write_sheet(name, header, it, widths or {}, on_row)
            if overflow is _DONE:
                return
            it = itertools.chain([overflow], it)  # continue on the next sheet
            part += 1

    def _write_sheet(self, name: str, header: list, rows, widths: dict, on_row):
        """Write one sheet; returns the first row that did not fit, or ``_DONE``."""
        self.sheets.append(name)
        index = len(self.sheets)
        member = self.zip.open(f"xl/worksheets/sheet{index}.xml", "w", force_zip64=True)
        sink = _Compressor(member) if self.threaded else member
        letters = [column_letter(i) for i in range(max(len(header), 1))]
        cols = "".join(
            f'<col min="{c + 1}" max="{c + 1}" width="{float(w):g}" customWidth="1"/>'
            for c, w in sorted(widths.items()))
        parts = [
            '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n'
            '<worksheet xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main">'
            '<sheetViews><sheetView workbookViewId="0"'
            + (' tabSelected="1"' if index == 1 else "") + '>'
            '<pane ySplit="1" topLeftCell="A2" activePane="bottomLeft" state="frozen"/>'
            '<selection pane="bottomLeft" activeCell="A2" sqref="A2"/></sheetView></sheetViews>'
            '<sheetFormatPr defaultRowHeight="15"/>'
            + (f"<cols>{cols}</cols>" if cols else "") + "<sheetData>",
            '<row r="1">',
        ]
        for c, h in enumerate(header):
            text = guard(text_of(h))
            if text:
                parts.append(f'<c r="{letters[c]}1" s="1" t="inlineStr"><is><t xml:space='
                             f'"preserve">{escape(text[:MAX_CELL_CHARS])}</t></is></c>')
        parts.append("</row>")
        size = 0
        r = 1
        overflow: Any = _DONE
        try:
            for row in rows:
                r += 1
                out = [f'<row r="{r}">']
                for c, v in enumerate(row):
                    if c >= len(letters):
                        letters.append(column_letter(c))
                    if v is None or v == "":
                        continue
                    if isinstance(v, str):
                        if v[:1] in FORMULA_START:
                            v = "'" + v
                        if len(v) > MAX_CELL_CHARS:
                            v = v[:MAX_CELL_CHARS]
                        out.append(f'<c r="{letters[c]}{r}" t="inlineStr"><is><t xml:space='
                                   f'"preserve">{escape(v)}</t></is></c>')
                    elif (isinstance(v, (int, float)) and not isinstance(v, bool)
                          and v == v and v not in (float("inf"), float("-inf"))):
                        out.append(f'<c r="{letters[c]}{r}"><v>{v!r}</v></c>')
                    else:
                        text = guard(text_of(v))
                        if text:
                            out.append(f'<c r="{letters[c]}{r}" t="inlineStr"><is><t xml:space='
                                       f'"preserve">{escape(text[:MAX_CELL_CHARS])}</t></is></c>')
                out.append("</row>")
                line = "".join(out)
                parts.append(line)
                size += len(line)
                if on_row is not None:
                    on_row()
                if size >= FLUSH_BYTES // 3:  # ~1 MB once encoded (CJK is 3 bytes)
                    sink.write("".join(parts).encode("utf-8", "replace"))
                    parts.clear()
                    size = 0
                if r == MAX_ROWS:
                    overflow = next(rows, _DONE)
                    break
            parts.append("</sheetData></worksheet>")
            sink.write("".join(parts).encode("utf-8", "replace"))
        finally:
            if sink is not member:
                sink.close()
            member.close()
        return overflow

    def close(self) -> None:
        z = self.zip
        n = len(self.sheets)
        z.writestr("[Content_Types].xml", (
            '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n'
            '<Types xmlns="http://schemas.openxmlformats.org/package/2006/content-types">'
            '<Default Extension="rels" '
            'ContentType="application/vnd.openxmlformats-package.relationships+xml"/>'
            '<Default Extension="xml" ContentType="application/xml"/>'
            '<Override PartName="/xl/workbook.xml" ContentType="application/'
            'vnd.openxmlformats-officedocument.spreadsheetml.sheet.main+xml"/>'
            + "".join(
                f'<Override PartName="/xl/worksheets/sheet{i}.xml" ContentType="application/'
                'vnd.openxmlformats-officedocument.spreadsheetml.worksheet+xml"/>'
                for i in range(1, n + 1))
            + '<Override PartName="/xl/styles.xml" ContentType="application/'
            'vnd.openxmlformats-officedocument.spreadsheetml.styles+xml"/>'
            '</Types>'))
        z.writestr("_rels/.rels", (
            '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n'
            '<Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships">'
            '<Relationship Id="rId1" Type="http://schemas.openxmlformats.org/officeDocument/'
            '2006/relationships/officeDocument" Target="xl/workbook.xml"/></Relationships>'))
        z.writestr("xl/workbook.xml", (
            '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n'
            '<workbook xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main" '
            'xmlns:r="http://schemas.openxmlformats.org/officeDocument/2006/relationships">'
            '<bookViews><workbookView activeTab="0"/></bookViews><sheets>'
            + "".join(f'<sheet name="{_attr(name)}" sheetId="{i}" r:id="rId{i}"/>'
                      for i, name in enumerate(self.sheets, 1))
            + "</sheets></workbook>"))
        z.writestr("xl/_rels/workbook.xml.rels", (
            '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n'
            '<Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships">'
            + "".join(
                f'<Relationship Id="rId{i}" Type="http://schemas.openxmlformats.org/'
                f'officeDocument/2006/relationships/worksheet" Target="worksheets/sheet{i}.xml"/>'
                for i in range(1, n + 1))
            + f'<Relationship Id="rId{n + 1}" Type="http://schemas.openxmlformats.org/'
            'officeDocument/2006/relationships/styles" Target="styles.xml"/>'
            '</Relationships>'))
        z.writestr("xl/styles.xml", STYLES)
        z.close()


# Two cell formats: 0 plain, 1 bold (the header).
STYLES = (
    '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n'
    '<styleSheet xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main">'
    '<fonts count="2"><font><sz val="11"/><name val="等线"/><family val="2"/></font>'
    '<font><b/><sz val="11"/><name val="等线"/><family val="2"/></font></fonts>'
    '<fills count="2"><fill><patternFill patternType="none"/></fill>'
    '<fill><patternFill patternType="gray125"/></fill></fills>'
    '<borders count="1"><border><left/><right/><top/><bottom/><diagonal/></border></borders>'
    '<cellStyleXfs count="1"><xf numFmtId="0" fontId="0" fillId="0" borderId="0"/>'
    '</cellStyleXfs>'
    '<cellXfs count="2"><xf numFmtId="0" fontId="0" fillId="0" borderId="0" xfId="0"/>'
    '<xf numFmtId="0" fontId="1" fillId="0" borderId="0" xfId="0" applyFont="1"/></cellXfs>'
    '<cellStyles count="1"><cellStyle name="Normal" xfId="0" builtinId="0"/></cellStyles>'
    '</styleSheet>')
