"""kepu.xlsx_writer: the streaming writer behind every xlsx export."""
from __future__ import annotations

import io
import zipfile
from datetime import date, datetime
from decimal import Decimal
from xml.etree import ElementTree

import pytest
from openpyxl import load_workbook

from kepu import xlsx_writer
from kepu.xlsx_writer import XlsxWriter, column_letter, sheet_title


def write(sheets, widths=None, **kwargs) -> bytes:
    buf = io.BytesIO()
    with XlsxWriter(buf, **kwargs) as x:
        for title, header, rows in sheets:
            x.sheet(title, header, rows, widths)
    return buf.getvalue()


def read(data: bytes):
    return load_workbook(io.BytesIO(data))


@pytest.mark.parametrize("threaded", [True, False])
def test_values_round_trip(threaded):
    when = datetime(2026, 6, 1, 2, 30)  # naive UTC → Beijing 10:30
    data = write([("作品列表", ["编号", "名称", "金额", "是否", "时间", "日期", "其他", "空"],
                   [[1, "科普 & <视频>\n第二行", 2.5, True, when, date(2026, 6, 1),
                     Decimal("3.10"), None],
                    [-7, "", 1e20, False, None, None, float("nan"), ""]])],
                 widths={1: 40, 4: 18.5}, threaded=threaded)
    ws = read(data).worksheets[0]
    assert ws.title == "作品列表"
    rows = list(ws.iter_rows(values_only=True))
    assert rows[0] == ("编号", "名称", "金额", "是否", "时间", "日期", "其他", None)[:7] + (
        "空",)
    assert rows[1] == (1, "科普 & <视频>\n第二行", 2.5, "是", "2026-06-01 10:30",
                       "2026-06-01", "3.10", None)
    assert rows[2][:4] == (-7, None, 1e20, "否") and rows[2][6] == "nan"
    assert ws["A1"].font.b and not ws["A2"].font.b
    assert ws.freeze_panes == "A2"
    assert ws.column_dimensions["B"].width == 40 and ws.column_dimensions["E"].width == 18.5


def test_every_part_is_well_formed_xml_and_declared():
    data = write([("一", ["a"], [["x"]]), ("二", ["b"], [])])
    with zipfile.ZipFile(io.BytesIO(data)) as z:
        names = set(z.namelist())
        assert names == {"[Content_Types].xml", "_rels/.rels", "xl/workbook.xml",
                         "xl/_rels/workbook.xml.rels", "xl/styles.xml",
                         "xl/worksheets/sheet1.xml", "xl/worksheets/sheet2.xml"}
        for name in names:
            ElementTree.fromstring(z.read(name))
        types = z.read("[Content_Types].xml").decode()
        assert "/xl/worksheets/sheet2.xml" in types and "/xl/styles.xml" in types
    assert read(data).sheetnames == ["一", "二"]


def test_formula_like_text_stays_text():
    texts = ["=1+1", "+86", "-5", "@A1", "\t=x", "\r=y", "正常", "a=b"]
    data = write([("t", ["=head"], [[t] for t in texts])])
    wb = read(data)
    cells = [c for (c,) in wb.worksheets[0].iter_rows()]
    assert cells[0].value == "'=head"
    assert [c.value for c in cells[1:]] == [
        "'=1+1", "'+86", "'-5", "'@A1", "'\t=x", "'\r=y", "正常", "a=b"]
    assert all(c.data_type == "s" for c in cells)


def test_characters_xml_cannot_hold_do_not_break_the_file():
    bad = "前\x01中\x0b后\ud800尾\ufffe"
    data = write([("t", ["a"], [[bad], ["x" * 40_000]])])
    rows = list(read(data).worksheets[0].iter_rows(values_only=True))
    assert rows[1][0].startswith("前") and "中" in rows[1][0] and "尾" in rows[1][0]
    assert len(rows[2][0]) == 32_767  # Excel's cell limit


def test_a_long_sheet_continues_on_the_next(monkeypatch):
    monkeypatch.setattr(xlsx_writer, "MAX_ROWS", 5)  # 1 header + 4 rows per sheet
    data = write([("作品列表", ["编号"], ([i] for i in range(1, 11)))])
    wb = read(data)
    assert wb.sheetnames == ["作品列表", "作品列表(2)", "作品列表(3)"]
    got = [list(ws.iter_rows(values_only=True)) for ws in wb.worksheets]
    assert got[0] == [("编号",), (1,), (2,), (3,), (4,)]
    assert got[1] == [("编号",), (5,), (6,), (7,), (8,)]
    assert got[2] == [("编号",), (9,), (10,)]
    # exactly full: no empty continuation sheet
    data = write([("t", ["n"], ([i] for i in range(4)))])
    assert read(data).sheetnames == ["t"]


def test_sheet_titles_follow_excel_rules():
    used: set[str] = set()
    assert sheet_title("a/b:c[d]*?\\", used) == "a_b_c_d____"
    long = sheet_title("长" * 40, used)
    assert len(long) == 31
    assert sheet_title("长" * 40, used) == "长" * 28 + "(2)"
    assert sheet_title("A_B_C_D____", used) == "A_B_C_D____(2)"
    assert sheet_title("", used) == "Sheet"
    assert [column_letter(i) for i in (0, 25, 26, 701, 702)] == ["A", "Z", "AA", "ZZ", "AAA"]


def test_an_error_in_the_rows_reaches_the_caller_and_stops_the_thread():
    def rows():
        for i in range(5000):
            if i == 4000:
                raise RuntimeError("数据库断开")
            yield [i, "长文本" * 200]

    buf = io.BytesIO()
    with pytest.raises(RuntimeError, match="数据库断开"):
        with XlsxWriter(buf) as x:
            x.sheet("t", ["n", "s"], rows())
    import threading
    assert not [t for t in threading.enumerate() if t.name == "xlsx-deflate"]


def test_an_unseekable_output_works():
    class Pipe:
        def __init__(self):
            self.buf = io.BytesIO()

        def write(self, b):
            return self.buf.write(b)

        def flush(self):
            pass

    pipe = Pipe()
    with XlsxWriter(pipe) as x:
        x.sheet("t", ["a"], [["流式"]] * 3)
    rows = list(read(pipe.buf.getvalue()).worksheets[0].iter_rows(values_only=True))
    assert rows == [("a",), ("流式",), ("流式",), ("流式",)]
