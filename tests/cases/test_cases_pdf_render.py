"""Printable PDFs: the unit's summary table and the per-case 案例信息表 (WeasyPrint,
embedded CJK font)."""
from __future__ import annotations

import io
import shutil
import subprocess

import pytest

pypdf = pytest.importorskip("pypdf")


def pdf_text(data: bytes) -> str:
    if shutil.which("pdftotext"):
        out = subprocess.run(["pdftotext", "-layout", "-", "-"], input=data,
                             capture_output=True, check=True, timeout=60)
        return out.stdout.decode("utf-8")
    return "\n".join(p.extract_text() or "" for p in pypdf.PdfReader(io.BytesIO(data)).pages)


def embedded_fonts(data: bytes) -> list[tuple[str, bool]]:
    """(base font name, has an embedded font file) for every font in the PDF."""
    reader = pypdf.PdfReader(io.BytesIO(data))
    out = []
    for page in reader.pages:
        fonts = page.get("/Resources", {}).get("/Font", {})
        for ref in fonts.values():
            font = ref.get_object()
            descriptors = []
            if "/DescendantFonts" in font:
                for d in font["/DescendantFonts"]:
                    descriptors.append(d.get_object().get("/FontDescriptor"))
            else:
                descriptors.append(font.get("/FontDescriptor"))
            for desc in descriptors:
                desc = desc.get_object() if desc is not None else {}
                has_file = any(k in desc for k in ("/FontFile", "/FontFile2", "/FontFile3"))
                out.append((str(font.get("/BaseFont")), has_file))
    return out


def test_summary_pdf(cc, client, auth):
    cc.make_case(name="流动科技馆进乡村", status="recommended")
    cc.make_case(name="科技小院开放日", category="venue", subtype="科技小院", status="finalised")
    cc.make_case(name="未推荐案例")
    auth.login_as(cc.case_admin)
    r = client.get("/cases/unit/summary.pdf")
    assert r.status_code == 200, r.get_data(as_text=True)[:500]
    assert r.mimetype == "application/pdf"
    assert r.data.startswith(b"%PDF")
    assert "attachment" in r.headers["Content-Disposition"]
    text = pdf_text(r.data)
    assert "中国科普作家协会" in text
    assert "流动科技馆进乡村" in text and "科技小院开放日" in text
    assert "未推荐案例" not in text
    assert "推荐单位（盖章）" in text
    assert "序号" in text and "联系电话" in text
    fonts = embedded_fonts(r.data)
    cjk = [name for name, emb in fonts if "KepuCJK" in name]
    assert cjk, fonts
    assert all(emb for _name, emb in fonts), fonts


def test_summary_pdf_scope(cc, client, auth):
    auth.login_as(cc.other_case_admin)
    assert client.get(f"/cases/unit/summary.pdf?org={cc.unit.id}").status_code == 404


def test_case_pdf_layout_and_photos(cc, client, auth):
    case = cc.make_case(name="科学表演进校园", category="activity", subtype="其他",
                        subtype_other="科普剧", status="submitted",
                        media_reports=[{"title": "人民日报报道", "url": "https://example.com/a"}],
                        awards="获省级科普奖")
    auth.login_as(cc.case_admin)
    r = client.get(f"/cases/{case.id}/info.pdf")
    assert r.status_code == 200
    assert r.data.startswith(b"%PDF")
    text = pdf_text(r.data)
    assert "2026年度“典赞·科普中国”科普案例信息表" in text
    for label in ["案例名称", "照片", "实施单位", "单位地址", "联系人", "职务/职称", "联系电话",
                  "电子邮箱", "所属类别", "简要概述", "媒体报道标题和链接", "获奖情况", "详细材料"]:
        assert label in text, label
    assert "科学表演进校园" in text and "某县科技馆" in text and "人民日报报道" in text
    assert "科普剧" in text
    for sub in ["科普讲座", "科普市集", "科技小院", "生产线"]:
        assert sub in text
    assert "☑" in text and "☐" in text
    reader = pypdf.PdfReader(io.BytesIO(r.data))
    images = {img.data for page in reader.pages for img in page.images}
    assert len(images) == 2  # both photos (pypdf may list an image object twice)
    assert all(emb for _n, emb in embedded_fonts(r.data))


def test_case_pdf_permissions(cc, client, auth, make_user):
    case = cc.make_case()
    draft = cc.make_case(status="draft", name="草稿")
    auth.login_as(cc.implementer)  # owner
    assert client.get(f"/cases/{case.id}/info.pdf").status_code == 200
    auth.login_as(cc.other_case_admin)
    assert client.get(f"/cases/{case.id}/info.pdf").status_code == 404
    auth.login_as(cc.other_user)
    assert client.get(f"/cases/{case.id}/info.pdf").status_code == 404
    auth.login_as(cc.admin)
    assert client.get(f"/cases/{case.id}/info.pdf").status_code == 200
    assert client.get(f"/cases/{draft.id}/info.pdf").status_code == 404
    assert client.get("/cases/999999/info.pdf").status_code == 404


def test_missing_cjk_font_is_a_clear_error(cc, client, auth, app, monkeypatch):
    from kepu.cases import pdf

    from kepu import fonts

    monkeypatch.setattr(fonts, "REGULAR_CANDIDATES", [])
    monkeypatch.setattr(fonts, "_fc_match", lambda pattern: None)
    monkeypatch.setattr(fonts, "_cache", {})
    app.config["PDF_CJK_FONT"] = "/nonexistent/font.ttf"
    cc.make_case(status="recommended")
    auth.login_as(cc.case_admin)
    r = client.get("/cases/unit/summary.pdf")
    assert r.status_code == 503
    assert "未找到可嵌入PDF的中文字体" in r.get_data(as_text=True)
