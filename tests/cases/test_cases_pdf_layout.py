"""The summary PDF never splits a phone number or a case name within its limit, and
sizes its columns to the content (A4 landscape, table-layout auto); the 案例信息表 keeps
the phone whole too. Checked on the text pdftotext lays out line by line."""
from __future__ import annotations

import io

import pytest
from test_cases_pdf_render import pdf_text

pypdf = pytest.importorskip("pypdf")

NAME_20 = "流动科技馆进乡村暨青少年科学素质提升行动"  # exactly the 20-character limit
LONG_UNIT = "中国科学技术协会科学技术传播中心（北京市西城区复兴路三号院科普大楼）"


def test_summary_keeps_phones_and_names_whole(cc, client, auth):
    assert len(NAME_20) == 20
    cc.make_case(name=NAME_20, status="recommended", contact_phone="010-68526368",
                 impl_unit=LONG_UNIT, contact_name="温超")
    cc.make_case(name="科技小院开放日", category="venue", subtype="科技小院",
                 status="recommended", contact_phone="15901291219", contact_name="李秋雨")
    auth.login_as(cc.case_admin)
    r = client.get("/cases/unit/summary.pdf")
    assert r.status_code == 200
    page = pypdf.PdfReader(io.BytesIO(r.data)).pages[0]
    assert float(page.mediabox.width) > float(page.mediabox.height)  # landscape
    lines = pdf_text(r.data).splitlines()
    for whole in ("010-68526368", "15901291219", NAME_20, "李秋雨"):
        assert any(whole in line for line in lines), (whole, lines)
    row = next(line for line in lines if NAME_20 in line)
    assert "010-68526368" in row and "温超" in row  # one row, nothing wrapped away


def test_case_sheet_keeps_the_phone_whole(cc, client, auth):
    case = cc.make_case(status="submitted", contact_phone="010-68526368")
    auth.login_as(cc.case_admin)
    r = client.get(f"/cases/{case.id}/info.pdf")
    assert r.status_code == 200
    assert any("010-68526368" in line for line in pdf_text(r.data).splitlines())
