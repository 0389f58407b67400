"""Certification lists imported from xlsx/csv (kepu.orgs.certify) and their admin page."""
from __future__ import annotations

import io
import re

import pytest
from openpyxl import Workbook, load_workbook
from sqlalchemy import func, select

from kepu.extensions import db
from kepu.orgs import certify
from kepu.orgs.certify import CERT_LISTS, import_certifications
from kepu.orgs.generate import generate_cast_orgs
from kepu.orgs.models import Org, OrgCertification
from kepu.orgs.operations import update_org
from kepu.workflow import AuditLog

from .conftest import org_named

DEMO = "全国科普示范县（市、区）"
BATCH = "2021—2025年度第一批"


@pytest.fixture
def hierarchy(builtin):
    generate_cast_orgs()


def csv_file(text: str) -> io.BytesIO:
    return io.BytesIO(text.encode("utf-8"))


def xlsx_file(rows) -> io.BytesIO:
    wb = Workbook()
    for r in rows:
        wb.active.append(r)
    out = io.BytesIO()
    wb.save(out)
    out.seek(0)
    return out


def cert_count(tag=None) -> int:
    stmt = select(func.count(OrgCertification.id))
    if tag:
        stmt = stmt.where(OrgCertification.tag == tag)
    return db.session.scalar(stmt)


COUNTIES = ("省份,地市,县（市、区）,地区代码,单位名称,备注\n"
            ",,,330106,,按代码\n"              # 杭州市西湖区
            "北京市,,朝阳区,,,直辖市的区\n"      # 北京市朝阳区 (not 长春市朝阳区)
            "浙江,,桐庐县,,,省份简称\n"
            "山西省,晋城市,城区,,,同名的区：填地市\n"
            "河南省,,济源市,,,省直辖县级市\n"
            ",,,,广州市白云区科学技术协会,按科协全称\n"
            "新疆生产建设兵团,,石河子市,,,兵团\n")


def test_demo_counties_match_their_cast_and_reimport_changes_nothing(app, hierarchy, admin):
    r = import_certifications("demo-county", csv_file(COUNTIES), "list.csv", batch=BATCH,
                              year=2021, by=admin)
    assert r.unmatched == [] and r.committed
    assert (r.rows, r.certified, r.already, r.created) == (7, 7, 0, 0)
    expected = ["杭州市西湖区科学技术协会", "北京市朝阳区科学技术协会", "桐庐县科学技术协会",
                "晋城市城区科学技术协会", "济源市科学技术协会", "广州市白云区科学技术协会",
                "石河子市科学技术协会"]
    for name in expected:
        org = org_named(name)
        assert org.certifications == [DEMO], name
        rec = org.certification_records[0]
        assert (rec.tag, rec.batch, rec.year, rec.imported_by_id) == (DEMO, BATCH, 2021, admin.id)
    assert org_named("长春市朝阳区科学技术协会").certifications == []
    assert org_named("阳泉市城区科学技术协会").certifications == []
    log = db.session.scalar(select(AuditLog).where(AuditLog.action == "certify_import"))
    assert log.data["certified"] == 7 and log.data["batch"] == BATCH
    # the same list again: idempotent
    again = import_certifications("demo-county", csv_file(COUNTIES), "list.csv", batch=BATCH,
                                  year=2021, by=admin)
    assert (again.certified, again.already, again.unmatched) == (0, 7, [])
    assert cert_count() == 7
    # a later batch of the same list adds a record, the tag stays one
    later = import_certifications("demo-county", csv_file("地区代码\n330106\n"), "b.csv",
                                  batch="第二批")
    assert later.certified == 1
    xihu = org_named("杭州市西湖区科学技术协会")
    assert xihu.certifications == [DEMO] and len(xihu.certification_records) == 2


def test_unmatched_rows_are_reported_by_row_and_nothing_is_imported(app, hierarchy):
    text = ("省份,地市,县（市、区）,地区代码\n"
            ",,,330106\n"
            "山西省,,城区,\n"            # two 城区 in 山西: ambiguous
            "浙江省,,不存在县,\n"
            ",,,999999\n"
            ",,,33\n"
            "火星省,,某县,\n"
            ",,,\n"                       # blank line: skipped, not reported
            "广东省,广州市,,\n")
    r = import_certifications("demo-county", csv_file(text), "x.csv", batch=BATCH)
    assert not r.committed and r.certified == 0
    rows = dict(r.unmatched)
    assert sorted(rows) == [3, 4, 5, 6, 7, 9]
    assert "对应多个地区" in rows[3] and "阳泉市城区" in rows[3] and "晋城市城区" in rows[3]
    assert rows[4] == "找不到地区「浙江省不存在县」"
    assert rows[5] == "地区代码「999999」无效"
    assert "省级行政区" in rows[6]
    assert rows[7] == "省份「火星省」无效"
    assert rows[9] == "请填写县（市、区）名称或地区代码"
    assert cert_count() == 0
    assert org_named("杭州市西湖区科学技术协会").certifications == []
    # asked to import the rest: the matched row is imported, the others still reported
    r = import_certifications("demo-county", csv_file(text), "x.csv", batch=BATCH,
                              partial=True)
    assert r.committed and r.certified == 1 and len(r.unmatched) == 6
    assert org_named("杭州市西湖区科学技术协会").certifications == [DEMO]


def test_bases_are_matched_by_name_or_alias_and_created_when_missing(app, builtin, admin):
    rows = [["单位名称", "省份", "地区代码", "别名", "备注"],
            ["中国科技馆", "", "", "", "按别名"],
            ["上海科技馆", "上海市", "", "", "按名称"],
            ["某某市青少年科技馆", "河北省", "", "某某科技馆", "新建"],
            ["某某自然博物馆", "", "110105.0", "", "新建，xlsx 里的数字代码"],
            ["某某市青少年科技馆", "", "", "", "同一文件中重复"]]
    r = import_certifications("edu-base", xlsx_file(rows), "bases.xlsx", batch="2021—2025年第一批",
                              by=admin)
    assert r.unmatched == [] and r.committed
    assert (r.rows, r.certified, r.already, r.created) == (5, 4, 1, 2)
    museum = org_named("中国科学技术馆")
    assert set(museum.certifications) == {"全国科普教育基地"}
    assert len(museum.certification_records) == 1
    new = org_named("某某市青少年科技馆")
    assert (new.kind, new.status, new.region_code) == ("其他", "active", "13")
    assert new.alias_names == ["某某科技馆"] and new.initials.startswith("mmsqsnkjg")
    assert org_named("某某自然博物馆").region_code == "110105"
    total = db.session.scalar(select(func.count(Org.id)))
    again = import_certifications("edu-base", xlsx_file(rows), "bases.xlsx",
                                  batch="2021—2025年第一批")
    assert (again.created, again.certified, again.already) == (0, 0, 5)
    assert db.session.scalar(select(func.count(Org.id))) == total
    # another list for the same unit adds its own tag
    r = import_certifications("free-museum", csv_file("科技馆名称\n中国科技馆\n"), "m.csv",
                              batch="2021年度")
    assert r.certified == 1
    assert org_named("中国科学技术馆").certifications == ["全国科普教育基地", "免费开放科技馆"]


def test_an_ambiguous_alias_or_pending_unit_is_not_guessed(app, builtin, make_user):
    user = make_user()
    db.session.add_all([
        Org(name="甲科技馆", kind="其他", certifications=[]),
        Org(name="乙科技馆", kind="其他", certifications=[]),
        Org(name="丙科技馆", kind="其他", status="pending", created_by_id=user.id,
            certifications=[])])
    db.session.commit()
    from kepu.orgs.operations import set_aliases

    for n in ("甲科技馆", "乙科技馆"):
        set_aliases(org_named(n), ["本市科技馆"], replace=False)
    db.session.commit()
    r = import_certifications("free-museum", csv_file("单位名称\n本市科技馆\n丙科技馆\n"),
                              "m.csv", batch="2021年度")
    assert not r.committed
    assert "是多个单位的别名" in dict(r.unmatched)[2]
    assert "尚未通过审核" in dict(r.unmatched)[3]
    assert db.session.scalar(select(func.count(Org.id)).where(Org.name == "本市科技馆")) == 0


def test_a_failure_midway_leaves_nothing_half_imported(app, builtin, monkeypatch):
    def boom(*a, **kw):
        raise RuntimeError("disk full")

    monkeypatch.setattr(certify, "audit", boom)
    with pytest.raises(RuntimeError):
        import_certifications("edu-base", csv_file("单位名称\n新基地一\n中国科技馆\n"),
                              "b.csv", batch="第一批")
    db.session.expire_all()
    assert org_named("新基地一") is None
    assert cert_count() == 0
    assert org_named("中国科学技术馆").certifications == ["全国科普教育基地"]  # as shipped


def test_form_and_file_errors(app, builtin):
    with pytest.raises(certify.OrgError):
        import_certifications("nope", csv_file("a\n"), "a.csv", batch="x")
    with pytest.raises(certify.OrgError) as e:
        import_certifications("edu-base", csv_file("单位名称\n甲\n"), "a.csv", batch="  ")
    assert e.value.field == "batch"
    r = import_certifications("edu-base", csv_file("名字,地址\n甲,乙\n"), "a.csv", batch="x")
    assert r.error and "缺少表头" in r.error
    r = import_certifications("edu-base", io.BytesIO(b"not a zip"), "a.xlsx", batch="x")
    assert r.error == "无法读取 xlsx 文件，请确认文件未损坏"
    r = import_certifications("edu-base", csv_file(""), "a.csv", batch="x")
    assert r.error == "文件为空"


def test_removing_a_tag_in_the_editor_drops_its_records(app, hierarchy, admin):
    import_certifications("demo-county", csv_file("地区代码\n330122\n"), "x.csv", batch=BATCH)
    org = org_named("桐庐县科学技术协会")
    update_org(org, admin, name=org.name, kind=org.kind, parent=org.parent,
               region_code=org.region_code, certifications=[], aliases=org.alias_names)
    assert cert_count() == 0 and org_named("桐庐县科学技术协会").certifications == []


# --------------------------------------------------------------------------- admin pages

@pytest.mark.parametrize("key", list(CERT_LISTS))
def test_templates_download(client, auth, admin, key):
    auth.login_as(admin)
    r = client.get(f"/orgs/admin/certifications/template/{key}.xlsx")
    assert r.status_code == 200 and "attachment" in r.headers["Content-Disposition"]
    wb = load_workbook(io.BytesIO(r.data))
    assert [c.value for c in wb.worksheets[0][1]] == list(CERT_LISTS[key].headers)
    assert wb.worksheets[0].max_row == 1  # no example rows that could be imported by mistake
    notes = "\n".join(str(c.value) for row in wb["说明"].iter_rows() for c in row)
    assert CERT_LISTS[key].tag in notes


def test_template_of_an_unknown_list_is_404(client, auth, admin):
    auth.login_as(admin)
    assert client.get("/orgs/admin/certifications/template/other.xlsx").status_code == 404


def test_admin_upload_page(client, auth, hierarchy, admin):
    auth.login_as(admin)
    page = client.get("/orgs/admin/certifications").get_data(as_text=True)
    for cert in CERT_LISTS.values():
        assert cert.title in page
    # field errors next to the fields, values kept
    r = client.post("/orgs/admin/certifications", data={"batch": "第一批"},
                    content_type="multipart/form-data")
    html = r.get_data(as_text=True)
    assert r.status_code == 422
    assert "请选择名单类型" in html and "请选择要上传的文件" in html and 'value="第一批"' in html
    r = client.post("/orgs/admin/certifications", data={
        "list_key": "demo-county", "batch": "第一批",
        "file": (io.BytesIO(b"x"), "list.pdf")}, content_type="multipart/form-data")
    assert r.status_code == 422 and "仅支持 .xlsx 或 .csv 文件" in r.get_data(as_text=True)
    # unmatched rows: nothing imported, listed by row
    rows = [["省份", "地市", "县（市、区）", "地区代码"], ["", "", "", "330106"],
            ["浙江省", "", "不存在县", ""]]
    r = client.post("/orgs/admin/certifications", data={
        "list_key": "demo-county", "batch": "第一批", "year": "2021",
        "file": (xlsx_file(rows), "list.xlsx")}, content_type="multipart/form-data")
    html = r.get_data(as_text=True)
    assert r.status_code == 422 and "本次没有导入任何数据" in html
    assert re.search(r"第 3 行</td><td[^>]*>找不到地区「浙江省不存在县」", html)
    assert cert_count() == 0
    # the same file, importing what matches
    r = client.post("/orgs/admin/certifications", data={
        "list_key": "demo-county", "batch": "第一批", "year": "2021", "partial": "y",
        "file": (xlsx_file(rows), "list.xlsx")}, content_type="multipart/form-data")
    html = r.get_data(as_text=True)
    assert r.status_code == 200
    assert re.search(r'id="cert-certified">1<', html)
    assert re.search(r'id="cert-count-demo-county">1<', html)
    assert org_named("杭州市西湖区科学技术协会").certifications == [DEMO]


def test_non_admins_cannot_import(client, auth, make_user):
    user = make_user()
    auth.login_as(user)
    r = client.post("/orgs/admin/certifications", data={
        "list_key": "edu-base", "batch": "第一批",
        "file": (io.BytesIO("单位名称\n偷偷新建的基地\n".encode()), "b.csv")},
        content_type="multipart/form-data")
    assert r.status_code == 404
    assert org_named("偷偷新建的基地") is None
    assert client.get("/orgs/admin/certifications/template/edu-base.xlsx").status_code == 404
