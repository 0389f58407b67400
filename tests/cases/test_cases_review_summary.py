"""Summary page and xlsx, the stamped scan (finalise + lock) and the national unlock."""
from __future__ import annotations

import io

from openpyxl import load_workbook

from kepu.cases.files import F_SCAN
from kepu.cases.models import Case, CaseUnitSubmission
from kepu.extensions import db
from kepu.files.models import StoredFile
from kepu.workflow import AuditLog

HX = {"HX-Request": "true"}
PDF = b"%PDF-1.4\n1 0 obj<<>>endobj\ntrailer<<>>\n%%EOF\n"


def reload(model, id_):
    db.session.expire_all()
    return db.session.get(model, id_)


def submission(cc, org=None):
    db.session.expire_all()
    return db.session.query(CaseUnitSubmission).filter_by(
        campaign_id=cc.campaign.id, org_id=(org or cc.unit).id).one_or_none()


def test_summary_page_lists_recommended_and_offers_downloads(cc, client, auth):
    cc.make_case(name="推荐的活动", status="recommended")
    cc.make_case(name="待推荐的", status="submitted")
    auth.login_as(cc.case_admin)
    html = client.get("/cases/unit/summary").get_data(as_text=True)
    assert "推荐的活动" in html and "待推荐的" not in html
    assert "/cases/unit/summary.pdf" in html and "/cases/unit/summary.xlsx" in html
    assert 'name="scan__upload"' in html
    assert "未提交" in html


def test_summary_xlsx_content(cc, client, auth):
    cc.make_case(name="推荐的活动", status="recommended", contact_phone="13911112222")
    cc.make_case(name="阵地案例", category="venue", subtype="其他", subtype_other="科普大篷车",
                 status="finalised")
    cc.make_case(name="待推荐的")
    cc.make_case(name="江苏的", status="recommended", unit=cc.other_unit)
    auth.login_as(cc.case_admin)
    r = client.get("/cases/unit/summary.xlsx")
    assert r.status_code == 200
    assert r.mimetype.endswith("spreadsheetml.sheet")
    ws = load_workbook(io.BytesIO(r.data)).active
    rows = [[c for c in row] for row in ws.iter_rows(values_only=True)]
    assert rows[0][:7] == ["序号", "案例名称", "所属类别", "子类", "实施单位", "联系人", "联系电话"]
    data = [r_ for r_ in rows[1:] if isinstance(r_[0], int)]
    names = [r_[1] for r_ in data]
    assert names == ["推荐的活动", "阵地案例"]
    assert data[0][2] == "科普活动服务" and data[0][6] == "13911112222"
    assert data[1][2] == "科普阵地建设" and data[1][3] == "其他（科普大篷车）"
    flat = " ".join(str(c) for row in rows for c in row if c)
    assert "中国科普作家协会" in flat and "推荐单位（盖章）" in flat


def upload_scan(cc, client, data=PDF, name="盖章汇总表.pdf"):
    return client.post("/cases/unit/scan", data={"scan__upload": (io.BytesIO(data), name)},
                       content_type="multipart/form-data")


def test_scan_upload_finalises_and_locks(cc, client, auth):
    a = cc.make_case(name="甲", status="recommended")
    b = cc.make_case(name="乙", category="venue", subtype="科技馆", status="recommended")
    c = cc.make_case(name="丙")
    auth.login_as(cc.case_admin)
    r = upload_scan(cc, client)
    assert r.status_code == 303, r.get_data(as_text=True)
    sub = submission(cc)
    assert sub.locked and sub.submitted_at and sub.submitted_by_id == cc.case_admin.id
    f = db.session.get(StoredFile, sub.scan_file_id)
    assert f.field == F_SCAN and f.entity_type == "case_submission" and f.entity_id == sub.id
    assert reload(Case, a.id).status == "finalised"
    assert reload(Case, b.id).status == "finalised"
    assert reload(Case, c.id).status == "submitted"
    actions = {x.action for x in db.session.query(AuditLog).all()}
    assert {"finalise", "scan_upload"} <= actions
    # locked: no more unit actions
    r = client.post(f"/cases/unit/cases/{c.id}/recommend", headers=HX)
    assert r.status_code == 409
    assert "本单位已上传盖章汇总表，推荐结果已锁定；如需修改请联系平台管理员解锁" in r.get_data(as_text=True)
    r = client.post(f"/cases/unit/cases/{a.id}/return", data={"comment": "改"}, headers=HX)
    assert r.status_code == 409
    assert reload(Case, a.id).status == "finalised"
    # uploading again is refused
    r = upload_scan(cc, client)
    assert r.status_code == 422 and "推荐结果已锁定" in r.get_data(as_text=True)
    page = client.get("/cases/unit/summary").get_data(as_text=True)
    assert "已上传盖章扫描件" in page
    # the unit, national admins and platform admins can download the scan; others not
    from flask import url_for

    with client.application.test_request_context():
        dl_url = url_for("files.download", file_id=f.id, name=f.original_name)
    assert client.get(dl_url).status_code == 200
    auth.login_as(cc.other_case_admin)
    assert client.get(dl_url).status_code == 404
    auth.login_as(cc.admin)
    assert client.get(dl_url).status_code == 200


def test_scan_upload_accepts_image(cc, client, auth):
    from tests.cases.conftest import jpeg_bytes

    cc.make_case(status="recommended")
    auth.login_as(cc.case_admin)
    r = upload_scan(cc, client, jpeg_bytes(600, 800), "扫描.jpg")
    assert r.status_code == 303
    assert submission(cc).locked


def test_scan_upload_requires_a_recommended_case(cc, client, auth):
    cc.make_case(status="submitted")
    auth.login_as(cc.case_admin)
    r = upload_scan(cc, client)
    assert r.status_code == 422
    assert "请先推荐案例" in r.get_data(as_text=True) or "还没有已推荐的案例" in r.get_data(as_text=True)
    assert submission(cc) is None


def test_scan_upload_requires_a_file_and_checks_type(cc, client, auth):
    cc.make_case(status="recommended")
    auth.login_as(cc.case_admin)
    r = client.post("/cases/unit/scan", data={}, content_type="multipart/form-data")
    assert r.status_code == 422 and "请上传盖章汇总表扫描件" in r.get_data(as_text=True)
    r = upload_scan(cc, client, b"hello", "scan.txt")
    assert r.status_code == 422
    assert 'aria-invalid' in r.get_data(as_text=True) or "error" in r.get_data(as_text=True)
    assert submission(cc) is None


def test_scan_upload_via_widget_ids(cc, client, auth):
    """With JS the widget uploads first and the form posts the stored file id."""
    cc.make_case(status="recommended")
    stored = cc.upload(cc.case_admin, F_SCAN, PDF, "汇总表.pdf")
    auth.login_as(cc.case_admin)
    r = client.post("/cases/unit/scan", data={"scan": str(stored.id)})
    assert r.status_code == 303
    assert submission(cc).scan_file_id == stored.id
    # someone else's upload id is not accepted
    cc.make_case(status="recommended", unit=cc.other_unit)
    auth.login_as(cc.other_case_admin)
    other = cc.upload(cc.case_admin, F_SCAN, PDF, "别人的.pdf")
    r = client.post("/cases/unit/scan", data={"scan": str(other.id)})
    assert r.status_code == 422
    assert submission(cc, cc.other_unit) is None


def test_scan_upload_refused_when_window_closed(cc, client, auth):
    cc.make_case(status="recommended")
    cc.campaign.settings = {**cc.campaign.settings, "window_close": "2021-01-01 00:00"}
    db.session.commit()
    auth.login_as(cc.case_admin)
    r = upload_scan(cc, client)
    assert r.status_code == 422 and "截止" in r.get_data(as_text=True)
    assert submission(cc) is None


def test_admin_unlock_requires_reason_and_restores(cc, client, auth, make_user):
    a = cc.make_case(name="甲", status="recommended")
    auth.login_as(cc.case_admin)
    assert upload_scan(cc, client).status_code == 303
    sub_id = submission(cc).id
    # the unit admin cannot unlock
    r = client.post(f"/cases/admin/units/{cc.unit.id}/unlock", data={"reason": "x"})
    assert r.status_code == 404
    auth.login_as(cc.admin)
    r = client.post(f"/cases/admin/units/{cc.unit.id}/unlock", data={"reason": " "}, headers=HX)
    assert r.status_code == 422 and "请填写解锁原因" in r.get_data(as_text=True)
    assert submission(cc).locked
    r = client.post(f"/cases/admin/units/{cc.unit.id}/unlock", data={"reason": ""})
    assert r.status_code == 422 and "请填写解锁原因" in r.get_data(as_text=True)
    r = client.post(f"/cases/admin/units/{cc.unit.id}/unlock",
                    data={"reason": "单位申请更换案例"}, headers=HX)
    assert r.status_code == 200
    sub = submission(cc)
    assert not sub.locked and sub.unlocked_by_id == cc.admin.id
    assert reload(Case, a.id).status == "recommended"
    log = db.session.query(AuditLog).filter_by(entity_type="case_submission", entity_id=sub_id,
                                               action="unlock").one()
    assert log.comment == "单位申请更换案例"
    assert db.session.query(AuditLog).filter_by(entity_type="case", entity_id=a.id,
                                                action="unlock").one().comment == "单位申请更换案例"
    # the unit can act again
    auth.login_as(cc.case_admin)
    r = client.post(f"/cases/unit/cases/{a.id}/unrecommend", headers=HX)
    assert r.status_code == 200
    # unlocking an unlocked unit is refused
    auth.login_as(cc.admin)
    r = client.post(f"/cases/admin/units/{cc.unit.id}/unlock", data={"reason": "再次"})
    assert r.status_code == 422
    # a national admin may unlock too
    nat = make_user("13900000051", roles=["national_admin"])
    auth.login_as(cc.case_admin)
    client.post(f"/cases/unit/cases/{a.id}/recommend", headers=HX)
    assert upload_scan(cc, client).status_code == 303
    auth.login_as(nat)
    r = client.post(f"/cases/admin/units/{cc.unit.id}/unlock", data={"reason": "更正"})
    assert r.status_code == 303
    assert not submission(cc).locked
