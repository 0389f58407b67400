"""Cases selected in 2025 must not come again: import of the list, exact / near matches."""
from __future__ import annotations

import re

import io

import pytest
from openpyxl import Workbook
from PIL import Image
from sqlalchemy import func, select

from kepu.cases.common import normalise
from kepu.cases.models import F_PHOTO_LANDSCAPE, F_PHOTO_PORTRAIT, Case, PastCase
from kepu.extensions import db


def jpeg(w: int, h: int) -> bytes:
    buf = io.BytesIO()
    Image.new("RGB", (w, h), (200, 120, 30)).save(buf, "JPEG", quality=80)
    return buf.getvalue()


def csv_bytes(rows, encoding="utf-8-sig") -> bytes:
    return "\r\n".join(",".join(r) for r in rows).encode(encoding)


def xlsx_bytes(rows) -> bytes:
    wb = Workbook()
    ws = wb.active
    for r in rows:
        ws.append(list(r))
    buf = io.BytesIO()
    wb.save(buf)
    return buf.getvalue()


def upload(client, data: bytes, name: str):
    return client.post("/cases/admin/past", data={"file": (io.BytesIO(data), name)},
                       content_type="multipart/form-data")


def past_rows():
    return [(p.year, p.name, p.unit_name) for p in db.session.scalars(
        select(PastCase).order_by(PastCase.id))]


# --- normalise -----------------------------------------------------------------------------

@pytest.mark.parametrize("a,b", [
    ("《流动科技馆进乡村》", "流动科技馆 进乡村"),
    ("“科普大篷车”走进山区！", "科普大篷车走进山区"),
    ("ＡＢＣ科学秀", "abc科学秀"),
    ("科技馆（北京）", "科技馆(北京)"),
    ("科普·市集—2025", "科普市集2025"),
])
def test_normalise_ignores_spaces_punctuation_width_and_case(a, b):
    assert normalise(a) == normalise(b) != ""


def test_normalise_keeps_different_words_apart():
    assert normalise("科普讲座进校园") != normalise("科普讲座进社区")


# --- import ----------------------------------------------------------------------------------

def test_import_requires_platform_admin(cc, client, auth):
    auth.login_as(cc.implementer)
    assert client.get("/cases/admin/past").status_code == 404
    r = upload(client, csv_bytes([["案例名称", "单位名称"], ["甲", "乙"]]), "a.csv")
    assert r.status_code == 404
    assert db.session.scalar(select(func.count(PastCase.id))) == 0


def test_import_csv_counts_and_is_idempotent(cc, client, auth):
    auth.login_as(cc.admin)
    rows = [["案例名称", "单位名称", "年份"],
            ["流动科技馆进乡村", "某县科技馆", "2025"],
            ["“科普大篷车”走进山区", "某省科协", ""],
            ["", "", ""],
            ["缺单位的案例", "", ""]]
    r = upload(client, csv_bytes(rows), "2025入选.csv")
    assert r.status_code == 200
    html = r.get_data(as_text=True)
    assert 'id="past-imported">2<' in html and 'id="past-skipped">1<' in html
    assert "第5行：缺少单位名称" in html
    assert past_rows() == [(2025, "流动科技馆进乡村", "某县科技馆"),
                           (2025, "“科普大篷车”走进山区", "某省科协")]  # year defaults to 2026 − 1
    # the same list again (spelled a little differently): nothing new
    again = [["案例名称", "单位名称"], ["《流动科技馆 进乡村》", "某县科技馆"],
             ["科普大篷车走进山区", "某省科协"]]
    r = upload(client, csv_bytes(again, "gb18030"), "again.csv")  # GBK file
    assert r.status_code == 200
    assert 'id="past-imported">0<' in r.get_data(as_text=True)
    assert len(past_rows()) == 2


def test_import_xlsx_with_title_row_and_other_headers(cc, client, auth):
    auth.login_as(cc.admin)
    rows = [("2025年“典赞·科普中国”入选案例名单", None, None),
            ("序号", "案例名称", "推荐单位"),
            (1, "科学表演进校园", "某市科技馆"),
            (2, "科技小院助农", "某农业大学")]
    r = upload(client, xlsx_bytes(rows), "名单.xlsx")
    assert r.status_code == 200
    assert past_rows() == [(2025, "科学表演进校园", "某市科技馆"), (2025, "科技小院助农", "某农业大学")]
    html = client.get("/cases/admin/past").get_data(as_text=True)
    assert "科学表演进校园" in html and "当前名单（2）" in html


@pytest.mark.parametrize("data,name,message", [
    (b"", "a.csv", "请选择要导入的文件"),
    (b"abc", "a.txt", "仅支持 .xlsx 或 .csv 文件"),
    (b"not a zip", "a.xlsx", "无法读取 xlsx 文件"),
    ("名称,地址\n甲,乙\n".encode(), "a.csv", "未找到表头"),
])
def test_import_errors_next_to_field(cc, client, auth, data, name, message):
    auth.login_as(cc.admin)
    if data:
        r = upload(client, data, name)
    else:
        r = client.post("/cases/admin/past", data={}, content_type="multipart/form-data")
    assert r.status_code == 422
    html = r.get_data(as_text=True)
    assert 'id="file-error"' in html and message in html


def test_delete_past_case(cc, client, auth):
    auth.login_as(cc.admin)
    upload(client, csv_bytes([["案例名称", "实施单位"], ["甲案例", "乙单位"]]), "a.csv")
    past = db.session.scalars(select(PastCase)).one()
    r = client.post(f"/cases/admin/past/{past.id}/delete")
    assert r.status_code in (302, 303)
    assert db.session.scalar(select(func.count(PastCase.id))) == 0
    auth.login_as(cc.implementer)
    assert client.post(f"/cases/admin/past/{past.id}/delete").status_code == 404


# --- matching on submit ---------------------------------------------------------------------

def add_past(cc, name, unit, year=2025):
    db.session.add(PastCase(campaign_id=cc.campaign.id, year=year, name=name, unit_name=unit,
                            norm_name=normalise(name), norm_unit=normalise(unit)))
    db.session.commit()


def submit_case(cc, client, auth, **fields):
    case = cc.make_case(status="draft", with_photos=False, **fields)
    land = cc.upload(cc.implementer, F_PHOTO_LANDSCAPE, jpeg(80, 50), "横.jpg")
    port = cc.upload(cc.implementer, F_PHOTO_PORTRAIT, jpeg(50, 80), "竖.jpg")
    auth.login_as(cc.implementer)
    data = {
        "version": str(case.version), "action": "submit", "name": case.name,
        "impl_unit": case.impl_unit, "unit_address": case.unit_address,
        "contact_name": case.contact_name, "job_title": case.job_title,
        "contact_phone": case.contact_phone, "email": case.email, "category": case.category,
        "subtype": f"{case.category}:{case.subtype}", "summary": case.summary,
        "details": case.details, "photo_landscape": str(land.id), "photo_portrait": str(port.id),
    }
    r = client.post(f"/cases/{case.id}/edit", data=data)
    html = r.get_data(as_text=True)
    if r.status_code == 200 and 'value="confirm_submit"' in html:  # asked after validation
        version = re.search(r'id="draft-version" name="version" value="(\d+)"', html).group(1)
        r = client.post(f"/cases/{case.id}/edit",
                        data=dict(data, action="confirm_submit", version=version))
    db.session.expire_all()
    return r, db.session.get(Case, case.id)


def test_exact_duplicate_refused_next_to_name(cc, client, auth):
    add_past(cc, "流动科技馆进乡村", "某县科技馆")
    r, case = submit_case(cc, client, auth, name="《流动科技馆 进乡村》", impl_unit="某县 科技馆")
    assert r.status_code == 422
    html = r.get_data(as_text=True)
    assert '<p class="error" id="name-error" role="alert">该案例已于2025年入选“典赞·科普中国”，按通知要求不再重复提交</p>' in html
    assert case.status == "draft"


def test_exact_duplicate_by_recommender_unit_name(cc, client, auth):
    add_past(cc, "科普作家进校园", "中国科普作家协会")  # listed under the recommender
    r, case = submit_case(cc, client, auth, name="科普作家进校园", impl_unit="某中学")
    assert r.status_code == 422 and "不再重复提交" in r.get_data(as_text=True)
    assert case.status == "draft"


def test_near_match_allowed_and_noted(cc, client, auth):
    add_past(cc, "流动科技馆进乡村", "某县科技馆")
    r, case = submit_case(cc, client, auth, name="流动科技馆进乡村活动", impl_unit="某县科技馆")
    assert r.status_code in (302, 303)
    assert case.status == "submitted"
    assert case.duplicate_note == "与2025年入选案例“流动科技馆进乡村”（某县科技馆）相似"


def test_same_name_other_unit_is_a_near_match(cc, client, auth):
    add_past(cc, "流动科技馆进乡村", "另一个省的科技馆")
    r, case = submit_case(cc, client, auth, name="流动科技馆进乡村", impl_unit="某县科技馆")
    assert r.status_code in (302, 303) and case.status == "submitted"
    assert "另一个省的科技馆" in case.duplicate_note


def test_different_case_not_flagged(cc, client, auth):
    add_past(cc, "流动科技馆进乡村", "某县科技馆")
    r, case = submit_case(cc, client, auth, name="科学实验秀进社区", impl_unit="某县科技馆")
    assert r.status_code in (302, 303)
    assert case.status == "submitted" and case.duplicate_note == ""


def test_similar_name_with_unrelated_unit_not_flagged(cc, client, auth):
    add_past(cc, "流动科技馆进乡村", "黑龙江省某市青少年宫")
    r, case = submit_case(cc, client, auth, name="流动科技馆进乡村活动", impl_unit="某县科技馆")
    assert r.status_code in (302, 303)
    assert case.status == "submitted" and case.duplicate_note == ""


def test_past_cases_of_another_edition_do_not_count(cc, client, auth):
    from kepu.admin.models import Campaign

    old = Campaign(kind="cases", year=2025, title="2025", settings={})
    db.session.add(old)
    db.session.commit()
    db.session.add(PastCase(campaign_id=old.id, year=2024, name="流动科技馆进乡村",
                            unit_name="某县科技馆", norm_name=normalise("流动科技馆进乡村"),
                            norm_unit=normalise("某县科技馆")))
    db.session.commit()
    r, case = submit_case(cc, client, auth, name="流动科技馆进乡村", impl_unit="某县科技馆")
    assert r.status_code in (302, 303) and case.status == "submitted"
