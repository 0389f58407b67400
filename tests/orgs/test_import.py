import io

from openpyxl import Workbook, load_workbook
from sqlalchemy import func, select

from kepu.extensions import db
from kepu.orgs.models import Org
from kepu.orgs.operations import import_orgs, load_builtin_orgs
from kepu.workflow import AuditLog

from .conftest import org_named

CSV = ("名称,类别,上级单位,地区代码,别名,认证\n"
       "广州市科学技术协会,市级科协,广东省科学技术协会,4401,广州市科协|广州科协,\n"
       "广东省科学技术协会,省级科协,,44,广东省科协、广东科协,\n"
       "白云区科学技术协会,县级科协,广州市科协,440111,,全国科普示范县（市、区）\n")


def count_orgs():
    return db.session.scalar(select(func.count(Org.id)))


def test_load_builtin_has_all_32_provincial_cast(app):
    result = load_builtin_orgs()
    assert result.errors == []
    provincial = db.session.scalars(select(Org).where(Org.kind == "省级科协")).all()
    names = {o.name for o in provincial}
    assert len(provincial) == 32
    for n in ("北京市科学技术协会", "广西壮族自治区科学技术协会", "内蒙古自治区科学技术协会",
              "新疆维吾尔自治区科学技术协会", "新疆生产建设兵团科学技术协会", "西藏自治区科学技术协会"):
        assert n in names
    cast = org_named("中国科学技术协会")
    assert all(o.parent_id == cast.id for o in provincial)
    assert org_named("广东省科学技术协会").region_code == "44"
    assert "广东科协" in org_named("广东省科学技术协会").alias_names
    assert org_named("中国科普作家协会").kind == "全国学会"
    assert "中国科普作协" in org_named("中国科普作家协会").alias_names
    assert org_named("教育部").kind == "纲要办成员单位"
    # 部委: the ministries, and the 纲要办 members that are ministries as a further kind
    assert org_named("教育部").also_kinds == ["部委"]
    assert "中华人民共和国教育部" in org_named("教育部").alias_names
    assert org_named("外交部").kind == "部委"
    assert "中国证监会" in org_named("中国证券监督管理委员会").alias_names
    assert org_named("中华全国妇女联合会").also_kinds == []
    assert org_named("中国科学技术馆").certifications == ["全国科普教育基地"]
    again = load_builtin_orgs()
    assert (again.created, again.updated, again.errors) == (0, 0, [])
    assert again.unchanged == result.created


def test_import_csv_is_idempotent_and_resolves_parents_later_in_file(app):
    r = import_orgs(io.BytesIO(CSV.encode("utf-8")), "orgs.csv")
    assert (r.created, r.updated, r.unchanged, r.errors) == (3, 0, 0, [])
    gz = org_named("广州市科学技术协会")
    gd = org_named("广东省科学技术协会")
    by = org_named("白云区科学技术协会")
    assert gz.parent_id == gd.id and by.parent_id == gz.id  # parent by alias
    assert by.certifications == ["全国科普示范县（市、区）"]
    assert set(gd.alias_names) == {"广东省科协", "广东科协"}
    assert gz.initials == "gzskxjsxh"
    r2 = import_orgs(io.BytesIO(CSV.encode("utf-8")), "orgs.csv")
    assert (r2.created, r2.updated, r2.unchanged, r2.errors) == (0, 0, 3, [])
    assert count_orgs() == 3


def test_import_updates_by_name_and_by_id(app):
    import_orgs(io.BytesIO(CSV.encode("utf-8")), "orgs.csv")
    gz = org_named("广州市科学技术协会")
    csv2 = ("id,名称,别名\n"
            f"{gz.id},广州市科协（新名）,穗科协\n")
    r = import_orgs(io.BytesIO(csv2.encode()), "x.csv")
    assert (r.created, r.updated, r.errors) == (0, 1, [])
    db.session.refresh(gz)
    assert gz.name == "广州市科协（新名）" and "穗科协" in gz.alias_names
    assert gz.kind == "市级科协"  # empty cell keeps the value
    csv3 = "名称,地区代码\n广东省科学技术协会,440000\n"
    r = import_orgs(io.BytesIO(csv3.encode()), "x.csv")
    assert (r.updated, r.unchanged) == (0, 1)  # 440000 normalises to 44: nothing changed


def test_import_gbk_and_utf8_bom_csv(app):
    r = import_orgs(io.BytesIO(CSV.encode("gbk")), "gbk.csv")
    assert (r.created, r.errors) == (3, [])
    assert org_named("白云区科学技术协会") is not None
    r = import_orgs(io.BytesIO(CSV.encode("utf-8-sig")), "bom.csv")
    assert (r.created, r.unchanged, r.errors) == (0, 3, [])


def test_import_xlsx_idempotent(app):
    wb = Workbook()
    ws = wb.active
    for line in CSV.strip().split("\n"):
        ws.append(line.split(","))
    ws.append(["上海科技馆", "其他", None, 310115, None, "全国科普教育基地|免费开放科技馆"])
    buf = io.BytesIO()
    wb.save(buf)
    data = buf.getvalue()
    r = import_orgs(io.BytesIO(data), "orgs.xlsx")
    assert (r.created, r.errors) == (4, [])
    sh = org_named("上海科技馆")
    assert sh.region_code == "310115"
    assert sh.certifications == ["全国科普教育基地", "免费开放科技馆"]
    r = import_orgs(io.BytesIO(data), "orgs.xlsx")
    assert (r.created, r.updated, r.unchanged, r.errors) == (0, 0, 4, [])


def test_import_reports_row_errors_and_keeps_good_rows(app):
    bad = ("名称,类别,上级单位,地区代码,认证\n"
           "甲单位,不存在的类别,,,\n"
           "乙单位,其他,,123,\n"
           "丙单位,其他,没有这个单位,,\n"
           ",其他,,,\n"
           "丁单位,其他,,,假认证\n"
           "戊单位,其他,,,\n")
    r = import_orgs(io.BytesIO(bad.encode()), "bad.csv")
    assert r.created == 2  # 丙 (parent missing but org created) and 戊
    joined = "\n".join(r.errors)
    assert "第2行：类别「不存在的类别」无效" in joined
    assert "第3行：地区代码「123」无效" in joined
    assert "第4行：找不到上级单位「没有这个单位」" in joined
    assert "第5行：名称不能为空" in joined
    assert "第6行：未知的认证类型「假认证」" in joined
    assert org_named("戊单位") is not None and org_named("甲单位") is None


def test_import_rejects_other_formats(app):
    r = import_orgs(io.BytesIO(b"x"), "orgs.txt")
    assert r.errors == ["仅支持 .xlsx 或 .csv 文件"]
    r = import_orgs(io.BytesIO(b"foo,bar\n1,2\n"), "orgs.csv")
    assert r.errors and "缺少“名称”列" in r.errors[0]


def test_admin_import_page_upload_and_template(client, auth, admin):
    auth.login_as(admin)
    r = client.get("/orgs/admin/import")
    assert r.status_code == 200 and "上传并导入" in r.get_data(as_text=True)
    r = client.post("/orgs/admin/import", data={"file": (io.BytesIO(CSV.encode("gbk")), "orgs.csv")},
                    content_type="multipart/form-data")
    html = r.get_data(as_text=True)
    assert r.status_code == 200
    assert '<dd id="import-created">3</dd>' in html
    r = client.post("/orgs/admin/import", data={"file": (io.BytesIO(CSV.encode()), "orgs.csv")},
                    content_type="multipart/form-data")
    assert '<dd id="import-unchanged">3</dd>' in r.get_data(as_text=True)
    assert db.session.scalar(select(func.count(AuditLog.id)).where(AuditLog.action == "import")) == 2
    r = client.post("/orgs/admin/import", data={"file": (io.BytesIO(b"abc"), "orgs.exe")},
                    content_type="multipart/form-data")
    assert r.status_code == 422 and "仅支持 .xlsx 或 .csv 文件" in r.get_data(as_text=True)
    r = client.post("/orgs/admin/import", data={}, content_type="multipart/form-data")
    assert r.status_code == 422 and "请选择要上传的文件" in r.get_data(as_text=True)
    big = io.BytesIO(b"a" * (10 * 1024 * 1024 + 10))
    r = client.post("/orgs/admin/import", data={"file": (big, "big.csv")},
                    content_type="multipart/form-data")
    assert r.status_code == 422 and "10 MB" in r.get_data(as_text=True)
    r = client.get("/orgs/admin/import/template.xlsx")
    assert r.status_code == 200 and "attachment" in r.headers["Content-Disposition"]
    ws = load_workbook(io.BytesIO(r.data)).active
    assert [c.value for c in ws[1]] == ["名称", "类别", "上级单位", "地区代码", "别名", "认证", "兼属类别"]


def test_import_further_kinds_column_adds_and_validates(app):
    csv = ("名称,类别,兼属类别\n"
           "某部,纲要办成员单位,部委\n"
           "某学会,全国学会,纲要办成员单位|部委\n"
           "某单位,其他,不存在的类别\n")
    r = import_orgs(io.BytesIO(csv.encode()), "x.csv")
    assert (r.created, len(r.errors)) == (2, 1) and "兼属类别「不存在的类别」无效" in r.errors[0]
    assert org_named("某部").also_kinds == ["部委"]
    assert org_named("某学会").also_kinds == ["纲要办成员单位", "部委"]
    # a later file adds, never removes
    r = import_orgs(io.BytesIO("名称,兼属类别\n某部,全国学会\n".encode()), "y.csv")
    assert r.updated == 1 and org_named("某部").also_kinds == ["全国学会", "部委"]
