"""Implementing units: start a case with a 推荐码, the 附件 form's rules, drafts, submit."""
from __future__ import annotations

import io
import os
import re

import pytest
from PIL import Image
from sqlalchemy import select

from kepu.cases.models import F_AWARD_PROOF, F_PHOTO_LANDSCAPE, F_PHOTO_PORTRAIT, Case
from kepu.extensions import db
from kepu.workflow import AuditLog

HX = {"HX-Request": "true"}


def jpeg(w: int, h: int) -> bytes:
    buf = io.BytesIO()
    Image.new("RGB", (w, h), (30, 120, 200)).save(buf, "JPEG", quality=80)
    return buf.getvalue()


def noise_jpeg(w: int = 1400, h: int = 1000) -> bytes:
    """Random pixels do not compress: well over 1 MB."""
    buf = io.BytesIO()
    Image.frombytes("RGB", (w, h), os.urandom(w * h * 3)).save(buf, "JPEG", quality=95)
    data = buf.getvalue()
    assert len(data) > 1024 * 1024
    return data


def reload(case_id: int) -> Case:
    db.session.expire_all()
    return db.session.get(Case, case_id)


def new_draft(cc, owner=None, **fields) -> Case:
    case = cc.make_case(owner=owner, status="draft", with_photos=False, **fields)
    return case


def photos(cc, owner=None) -> dict:
    owner = owner or cc.implementer
    land = cc.upload(owner, F_PHOTO_LANDSCAPE, jpeg(80, 50), "横.jpg")
    port = cc.upload(owner, F_PHOTO_PORTRAIT, jpeg(50, 80), "竖.jpg")
    return {"photo_landscape": str(land.id), "photo_portrait": str(port.id)}


def full_form(case: Case, files: dict | None = None, **over) -> dict:
    data = {
        "version": str(case.version),
        "name": "流动科技馆进乡村",
        "impl_unit": "某县科技馆", "unit_address": "某省某县人民路1号",
        "contact_name": "李四", "job_title": "馆长", "contact_phone": "13912340000",
        "email": "lisi@example.com", "category": "activity", "subtype": "activity:科普讲座",
        "subtype_other": "", "summary": "组织流动科技馆巡展20场，覆盖学生1万人次。",
        "media_title": ["", "", ""], "media_url": ["", "", ""], "awards": "",
        "details": "实施、应用及推广情况：……\n成效与创新亮点：……\n经验及思考：……",
    }
    data.update(files or {})
    data.update(over)
    return data


def submit(client, case, data):
    """提交至推荐单位, then 确认提交 when the page asks (it asks only after validation)."""
    r = client.post(f"/cases/{case.id}/edit", data=dict(data, action="submit"))
    html = r.get_data(as_text=True)
    if r.status_code != 200 or 'value="confirm_submit"' not in html:
        return r
    version = re.search(r'id="draft-version" name="version" value="(\d+)"', html).group(1)
    return client.post(f"/cases/{case.id}/edit",
                       data=dict(data, action="confirm_submit", version=version))


def error_next_to(html: str, field_id: str) -> str:
    """The error paragraph rendered for a field (by the forms macro)."""
    m = re.search(rf'<p class="error" id="{re.escape(field_id)}-error"[^>]*>([^<]+)</p>', html)
    return m.group(1) if m else ""


# --- start with a 推荐码 -----------------------------------------------------------------

def test_start_with_code_confirms_unit_then_creates_draft(cc, client, auth):
    auth.login_as(cc.implementer)
    assert client.get("/cases/start").status_code == 200
    typed = " " + cc.code.code.lower()[:4] + "-" + cc.code.code.lower()[4:] + " "
    r = client.post("/cases/start", data={"code": typed})
    assert r.status_code == 200
    html = r.get_data(as_text=True)
    assert "中国科普作家协会" in html and "确认，开始填写" in html
    assert db.session.scalar(select(Case.id)) is None  # nothing created yet
    r = client.post("/cases/start", data={"code": typed, "confirm": "1"})
    assert r.status_code in (302, 303)
    case = db.session.scalars(select(Case)).one()
    assert r.headers["Location"].endswith(f"/cases/{case.id}/edit")
    assert (case.org_id, case.owner_id, case.status) == (cc.unit.id, cc.implementer.id, "draft")
    assert case.contact_phone == cc.implementer.phone  # prefilled from the account
    assert db.session.scalar(select(AuditLog).where(AuditLog.entity_type == "case",
                                                    AuditLog.action == "create")) is not None


def test_start_wrong_code_message_next_to_field(cc, client, auth):
    auth.login_as(cc.implementer)
    r = client.post("/cases/start", data={"code": "WRONG-CODE1", "confirm": "1"})
    assert r.status_code == 422
    html = r.get_data(as_text=True)
    assert "推荐码无效" in error_next_to(html, "code")
    assert 'value="WRONG-CODE1"' in html
    assert db.session.scalar(select(Case.id)) is None


def test_start_requires_login(cc, client):
    r = client.get("/cases/start")
    assert r.status_code in (302, 303) and "/account/login" in r.headers["Location"]


def test_start_refused_when_window_closed(cc, client, auth):
    cc.campaign.settings = dict(cc.campaign.settings, window_close="2021-01-01 00:00")
    db.session.commit()
    auth.login_as(cc.implementer)
    r = client.post("/cases/start", data={"code": cc.code.code, "confirm": "1"})
    assert r.status_code == 422
    assert "已于 2021-01-01 00:00 截止" in r.get_data(as_text=True)
    assert db.session.scalar(select(Case.id)) is None


# --- the form and its rules --------------------------------------------------------------

def test_edit_page_lays_out_every_field_of_the_attachment(cc, client, auth):
    case = new_draft(cc)
    auth.login_as(cc.implementer)
    html = client.get(f"/cases/{case.id}/edit").get_data(as_text=True)
    for label in ("案例名称", "横版照片", "竖版照片", "实施单位", "单位地址", "联系人", "职务/职称",
                  "联系电话", "电子邮箱", "所属类别", "科普活动服务", "科普阵地建设", "科普讲座",
                  "科普市集", "综合活动", "科技小院", "生产线", "简要概述", "媒体报道标题和链接",
                  "获奖情况", "获奖证明材料", "详细材料", "实施、应用及推广情况", "成效与创新亮点",
                  "经验及思考", "2025-01-01", "2025年已入选的案例不再重复提交"):
        assert label in html, label
    assert 'data-counter="20"' in html and 'data-counter="500"' in html
    assert 'data-counter="3000"' in html
    assert html.count('name="media_title"') == 3
    assert 'hx-post="/cases/%d/autosave"' % case.id in html


def test_complete_submit_moves_to_submitted_with_audit(cc, client, auth):
    case = new_draft(cc)
    auth.login_as(cc.implementer)
    r = submit(client, case, full_form(case, photos(cc)))
    assert r.status_code in (302, 303), r.get_data(as_text=True)[:3000]
    case = reload(case.id)
    assert case.status == "submitted" and case.submitted_at is not None
    assert (case.category, case.subtype) == ("activity", "科普讲座")
    log = db.session.scalars(select(AuditLog).where(AuditLog.entity_type == "case",
                                                    AuditLog.entity_id == case.id,
                                                    AuditLog.action == "submit")).one()
    assert (log.from_state, log.to_state, log.actor_id) == ("draft", "submitted", cc.implementer.id)
    from kepu.cases.operations.entry import case_files

    files = case_files(case)
    assert len(files["photo_landscape"]) == 1 and len(files["photo_portrait"]) == 1


@pytest.mark.parametrize("field,limit", [("name", 20), ("summary", 500), ("details", 3000)])
def test_text_limits(cc, client, auth, field, limit):
    case = new_draft(cc)
    files = photos(cc)
    auth.login_as(cc.implementer)
    too_long = "字" * (limit + 1)
    r = submit(client, case, full_form(case, files, **{field: too_long}))
    assert r.status_code == 422
    html = r.get_data(as_text=True)
    assert f"不能超过{limit}个字（当前{limit + 1}个字）" in error_next_to(html, field)
    assert too_long in html  # the value is kept
    assert reload(case.id).status == "draft"
    assert getattr(reload(case.id), field).startswith("字" * min(limit, 100))  # draft saved
    case = reload(case.id)
    r = submit(client, case, full_form(case, files, **{field: "字" * limit}))
    assert r.status_code in (302, 303)
    assert reload(case.id).status == "submitted"


def test_newlines_count_once(cc, client, auth):
    case = new_draft(cc)
    auth.login_as(cc.implementer)
    summary = "\r\n".join(["字" * 99] * 5)  # 495 characters + 4 newlines = 499
    r = submit(client, case, full_form(case, photos(cc), summary=summary))
    assert r.status_code in (302, 303)
    assert reload(case.id).summary == summary.replace("\r\n", "\n")


def test_required_fields_and_photos(cc, client, auth):
    case = new_draft(cc, name="", impl_unit="", email="", summary="", details="")
    auth.login_as(cc.implementer)
    r = submit(client, case, full_form(case, name="", impl_unit="", email="", summary="",
                                       details="", category="", subtype=""))
    assert r.status_code == 422
    html = r.get_data(as_text=True)
    assert error_next_to(html, "name") == "请填写案例名称"
    assert error_next_to(html, "impl_unit") == "请填写实施单位"
    assert error_next_to(html, "summary") == "请填写简要概述"
    assert error_next_to(html, "details") == "请填写详细材料"
    assert "请选择所属类别" in html
    assert "请上传横版照片" in html and "请上传竖版照片" in html
    assert 'aria-invalid="true"' in html


def test_phone_and_email(cc, client, auth):
    case = new_draft(cc)
    files = photos(cc)
    auth.login_as(cc.implementer)
    r = submit(client, case, full_form(case, files, contact_phone="12345", email="not-an-email"))
    assert r.status_code == 422
    html = r.get_data(as_text=True)
    assert "请输入正确的联系电话" in error_next_to(html, "contact_phone")
    assert error_next_to(html, "email") == "请输入正确的电子邮箱"
    case = reload(case.id)
    r = submit(client, case, full_form(case, files, contact_phone="010-68526368"))
    assert r.status_code in (302, 303)


@pytest.mark.parametrize("phone,ok", [
    ("13912340000", True), ("+86 139 1234 0000", True), ("010-68526368", True),
    ("(0571)87654321", True), ("0571-8765432-123", True), ("400-123-4567", True),
    ("68526368", True), ("12345", False), ("1391234000", False), ("abc", False),
])
def test_phone_rule(phone, ok):
    from kepu.cases.operations.entry import valid_phone

    assert valid_phone(phone) is ok


def test_category_rules(cc, client, auth):
    case = new_draft(cc)
    files = photos(cc)
    auth.login_as(cc.implementer)
    # a category without a subtype
    r = submit(client, case, full_form(case, files, category="venue", subtype=""))
    assert r.status_code == 422 and "请选择“科普阵地建设”下的具体类型" in r.get_data(as_text=True)
    # a subtype of the other category (possible without JavaScript)
    case = reload(case.id)
    r = submit(client, case, full_form(case, files, category="venue", subtype="activity:科普讲座"))
    assert r.status_code == 422 and "所选类型不属于“科普阵地建设”" in r.get_data(as_text=True)
    # 其他 needs its text, within the limit
    case = reload(case.id)
    r = submit(client, case, full_form(case, files, category="venue", subtype="venue:其他"))
    assert r.status_code == 422
    assert error_next_to(r.get_data(as_text=True), "subtype_other") == "选择“其他”时请填写具体类型"
    case = reload(case.id)
    r = submit(client, case, full_form(case, files, category="venue", subtype="venue:其他",
                                       subtype_other="长" * 21))
    assert "不能超过20个字" in error_next_to(r.get_data(as_text=True), "subtype_other")
    case = reload(case.id)
    r = submit(client, case, full_form(case, files, category="", subtype="venue:其他",
                                       subtype_other="科普大篷车"))
    assert r.status_code in (302, 303)  # the category follows from the subtype
    case = reload(case.id)
    assert (case.category, case.subtype, case.subtype_other) == ("venue", "其他", "科普大篷车")


def test_media_reports_limit_and_urls(cc, client, auth):
    case = new_draft(cc)
    files = photos(cc)
    auth.login_as(cc.implementer)
    four = full_form(case, files, media_title=["报道一", "报道二", "报道三", "报道四"],
                     media_url=["https://a.example.cn/1", "https://a.example.cn/2",
                                "http://a.example.cn/3", "https://a.example.cn/4"])
    r = submit(client, case, four)
    assert r.status_code == 422
    html = r.get_data(as_text=True)
    assert "媒体报道最多填写3篇（当前4篇）" in html
    assert "报道四" in html  # nothing typed is lost
    assert len(reload(case.id).media_reports) == 4
    case = reload(case.id)
    r = submit(client, case, full_form(case, files, media_title=["报道一", "", ""],
                                       media_url=["javascript:alert(1)", "", ""]))
    assert r.status_code == 422
    assert "第1篇：链接须为以 http:// 或 https:// 开头的完整网址" in r.get_data(as_text=True)
    case = reload(case.id)
    r = submit(client, case, full_form(case, files, media_title=["", "", ""],
                                       media_url=["https://a.example.cn/1", "", ""]))
    assert "第1篇：请填写报道标题" in r.get_data(as_text=True)
    case = reload(case.id)
    r = submit(client, case, full_form(case, files, media_title=["报道一", "报道二", "报道三"],
                                       media_url=["https://a.example.cn/1", "http://b.example.cn/x?y=1",
                                                  "https://c.example.com/"]))
    assert r.status_code in (302, 303)
    assert [m["title"] for m in reload(case.id).media_reports] == ["报道一", "报道二", "报道三"]


def test_awards_need_proof(cc, client, auth):
    case = new_draft(cc)
    files = photos(cc)
    auth.login_as(cc.implementer)
    r = submit(client, case, full_form(case, files, awards="2025年获省科普工作先进集体"))
    assert r.status_code == 422
    assert "填写获奖情况时，请上传获奖证明材料" in r.get_data(as_text=True)
    proof = cc.upload(cc.implementer, F_AWARD_PROOF, b"%PDF-1.4\n%test\n", "证书.pdf")
    case = reload(case.id)
    r = submit(client, case, full_form(case, files, awards="2025年获省科普工作先进集体",
                                       award_proof=str(proof.id)))
    assert r.status_code in (302, 303)
    case = reload(case.id)
    assert case.status == "submitted"
    from kepu.cases.operations.entry import case_files

    assert [f.id for f in case_files(case)["award_proof"]] == [proof.id]
    # awards longer than the limit
    case2 = new_draft(cc)
    r = submit(client, case2, full_form(case2, photos(cc), awards="奖" * 501,
                                        award_proof=str(proof.id)))
    assert "获奖情况不能超过500个字" in r.get_data(as_text=True)


# --- photos (no-JavaScript upload path through the form) ----------------------------------

def test_portrait_photo_in_landscape_slot_refused_next_to_widget(cc, client, auth):
    case = new_draft(cc)
    auth.login_as(cc.implementer)
    data = full_form(case)
    data["photo_landscape__upload"] = (io.BytesIO(jpeg(50, 80)), "竖的.jpg")
    r = client.post(f"/cases/{case.id}/edit", data=dict(data, action="save"),
                    content_type="multipart/form-data")
    assert r.status_code == 422
    html = r.get_data(as_text=True)
    widget = html[html.index('id="upload-photo_landscape"'):html.index('id="upload-photo_portrait"')]
    assert "请上传横版照片（宽度大于高度）" in widget
    from kepu.cases.operations.entry import case_files

    assert case_files(reload(case.id))["photo_landscape"] == []
    assert reload(case.id).name == "流动科技馆进乡村"  # the typed text was still saved


def test_photo_over_1mb_refused(cc, client, auth):
    case = new_draft(cc)
    auth.login_as(cc.implementer)
    data = full_form(case)
    data["photo_landscape__upload"] = (io.BytesIO(noise_jpeg()), "大图.jpg")
    r = client.post(f"/cases/{case.id}/edit", data=dict(data, action="save"),
                    content_type="multipart/form-data")
    assert r.status_code == 422
    html = r.get_data(as_text=True)
    widget = html[html.index('id="upload-photo_landscape"'):html.index('id="upload-photo_portrait"')]
    assert "文件大小不能超过1MB" in widget


def test_photos_uploaded_without_js_are_attached_and_replace_old(cc, client, auth):
    from kepu.cases.operations.entry import case_files

    case = new_draft(cc)
    auth.login_as(cc.implementer)
    data = full_form(case)
    data["photo_landscape__upload"] = (io.BytesIO(jpeg(120, 60)), "横1.jpg")
    data["photo_portrait__upload"] = (io.BytesIO(jpeg(60, 120)), "竖1.jpg")
    r = client.post(f"/cases/{case.id}/edit", data=dict(data, action="save"),
                    content_type="multipart/form-data")
    assert r.status_code in (302, 303)
    files = case_files(reload(case.id))
    first = files["photo_landscape"][0]
    assert first.original_name == "横1.jpg" and files["photo_portrait"][0].original_name == "竖1.jpg"
    # a new landscape photo replaces the old one (the old id is still in the form)
    case = reload(case.id)
    data = full_form(case, {"photo_landscape": str(first.id),
                            "photo_portrait": str(files["photo_portrait"][0].id)})
    data["photo_landscape__upload"] = (io.BytesIO(jpeg(200, 100)), "横2.jpg")
    r = client.post(f"/cases/{case.id}/edit", data=dict(data, action="save"),
                    content_type="multipart/form-data")
    assert r.status_code in (302, 303)
    files = case_files(reload(case.id))
    assert [f.original_name for f in files["photo_landscape"]] == ["横2.jpg"]
    assert len(files["photo_portrait"]) == 1


def test_someone_elses_upload_id_is_ignored(cc, client, auth):
    from kepu.cases.operations.entry import case_files

    case = new_draft(cc)
    theirs = photos(cc, owner=cc.other_user)
    auth.login_as(cc.implementer)
    r = submit(client, case, full_form(case, theirs))
    assert r.status_code == 422
    assert case_files(reload(case.id))["photo_landscape"] == []


def test_draft_keeps_invalid_values(cc, client, auth):
    case = new_draft(cc)
    auth.login_as(cc.implementer)
    data = full_form(case, name="名" * 25, email="bad", contact_phone="1",
                     media_title=["只有标题", "", ""], media_url=["ftp://x", "", ""])
    r = client.post(f"/cases/{case.id}/edit", data=dict(data, action="save"))
    assert r.status_code in (302, 303)
    case = reload(case.id)
    assert case.name == "名" * 25 and case.email == "bad" and case.contact_phone == "1"
    assert case.media_reports == [{"title": "只有标题", "url": "ftp://x"}]
    assert case.status == "draft" and case.version == 2
    html = client.get(f"/cases/{case.id}/edit").get_data(as_text=True)
    assert "名" * 25 in html and "ftp://x" in html


# --- autosave ------------------------------------------------------------------------------

def test_autosave_saves_and_bumps_version(cc, client, auth):
    case = new_draft(cc)
    auth.login_as(cc.implementer)
    r = client.post(f"/cases/{case.id}/autosave", data=full_form(case, name="自动保存的名称"),
                    headers=HX)
    assert r.status_code == 200
    html = r.get_data(as_text=True)
    assert "已保存" in html and 'id="autosave-status"' in html
    assert 'id="draft-version" name="version" value="2" hx-swap-oob="true"' in html
    assert "<html" not in html
    case = reload(case.id)
    assert case.name == "自动保存的名称" and case.version == 2


def test_autosave_two_tabs_conflict(cc, client, auth):
    case = new_draft(cc)
    auth.login_as(cc.implementer)
    tab_a = full_form(case, name="甲窗口")
    tab_b = full_form(case, name="乙窗口")  # both loaded version 1
    assert client.post(f"/cases/{case.id}/autosave", data=tab_a, headers=HX).status_code == 200
    r = client.post(f"/cases/{case.id}/autosave", data=tab_b, headers=HX)
    assert r.status_code == 409
    assert "已在其他窗口或设备上修改" in r.get_data(as_text=True)
    case = reload(case.id)
    assert case.name == "甲窗口" and case.version == 2
    # the plain form post with the stale version is refused too, values kept
    r = client.post(f"/cases/{case.id}/edit", data=dict(tab_b, action="save"))
    assert r.status_code == 409
    html = r.get_data(as_text=True)
    assert "乙窗口" in html and "已在其他窗口或设备上修改" in html
    assert reload(case.id).name == "甲窗口"


def test_autosave_warns_about_2025_duplicate(cc, client, auth):
    from kepu.cases.models import PastCase

    db.session.add(PastCase(campaign_id=cc.campaign.id, year=2025, name="流动科技馆进乡村",
                            unit_name="某县科技馆", norm_name="流动科技馆进乡村",
                            norm_unit="某县科技馆"))
    db.session.commit()
    case = new_draft(cc)
    auth.login_as(cc.implementer)
    r = client.post(f"/cases/{case.id}/autosave", data=full_form(case), headers=HX)
    assert r.status_code == 200
    html = r.get_data(as_text=True)
    assert 'id="name-dup-warning"' in html and "hx-swap-oob" in html
    assert "该案例已于2025年入选“典赞·科普中国”" in html


# --- who may edit, and when ----------------------------------------------------------------

@pytest.mark.parametrize("path,method", [("/edit", "get"), ("/edit", "post"),
                                         ("/autosave", "post"), ("/delete", "post"), ("", "get")])
def test_other_users_get_404(cc, client, auth, path, method):
    case = new_draft(cc)
    auth.login_as(cc.other_user)
    r = getattr(client, method)(f"/cases/{case.id}{path}", data=full_form(case) if method == "post" else None)
    assert r.status_code == 404
    assert reload(case.id).name == "流动科技馆进乡村"


def test_unit_admin_sees_draft_as_404(cc, client, auth):
    case = new_draft(cc)
    auth.login_as(cc.case_admin)
    assert client.get(f"/cases/{case.id}").status_code == 404


@pytest.mark.parametrize("status", ["submitted", "recommended", "finalised"])
def test_edit_refused_in_locked_states(cc, client, auth, status):
    case = cc.make_case(status=status)
    auth.login_as(cc.implementer)
    r = client.get(f"/cases/{case.id}/edit")
    assert r.status_code == 200
    html = r.get_data(as_text=True)
    assert "不能修改" in html and 'name="action"' not in html
    r = client.post(f"/cases/{case.id}/edit", data=dict(full_form(case, name="改名"), action="save"))
    assert r.status_code == 409 and "不能修改" in r.get_data(as_text=True)
    r = client.post(f"/cases/{case.id}/autosave", data=full_form(case, name="改名"), headers=HX)
    assert r.status_code == 409
    assert reload(case.id).name == "流动科技馆进乡村" and reload(case.id).status == status


def test_returned_case_can_be_edited_and_resubmitted(cc, client, auth):
    case = cc.make_case(status="returned", return_comment="请补充量化数据")
    auth.login_as(cc.implementer)
    html = client.get(f"/cases/{case.id}/edit").get_data(as_text=True)
    assert "请补充量化数据" in html
    from kepu.cases.operations.entry import case_files

    files = {k: str(v[0].id) for k, v in case_files(case).items() if v}
    r = submit(client, case, full_form(case, files, summary="补充：覆盖1.2万人次"))
    assert r.status_code in (302, 303)
    case = reload(case.id)
    assert case.status == "submitted" and case.summary == "补充：覆盖1.2万人次"


@pytest.mark.parametrize("action", ["save", "submit", "autosave"])
def test_window_closed_refuses_edit_and_submit(cc, client, auth, action):
    case = new_draft(cc)
    files = photos(cc)
    cc.campaign.settings = dict(cc.campaign.settings, window_close="2021-01-01 00:00")
    db.session.commit()
    auth.login_as(cc.implementer)
    html = client.get(f"/cases/{case.id}/edit").get_data(as_text=True)
    assert "截止" in html and "disabled" in html
    data = full_form(case, files, name="截止后修改")
    if action == "autosave":
        r = client.post(f"/cases/{case.id}/autosave", data=data, headers=HX)
    else:
        r = client.post(f"/cases/{case.id}/edit", data=dict(data, action=action))
    assert r.status_code == 422
    assert "已于 2021-01-01 00:00 截止" in r.get_data(as_text=True)
    case = reload(case.id)
    assert case.name == "流动科技馆进乡村" and case.status == "draft"


# --- my cases, view, delete ----------------------------------------------------------------

def test_my_cases_lists_status_and_return_comment(cc, client, auth):
    cc.make_case(name="退回的案例", status="returned", return_comment="请补充照片说明")
    cc.make_case(name="草稿案例", status="draft")
    cc.make_case(name="别人的案例", owner=cc.other_user)
    auth.login_as(cc.implementer)
    html = client.get("/cases/mine").get_data(as_text=True)
    assert "退回的案例" in html and "草稿案例" in html and "别人的案例" not in html
    assert "退回修改" in html and "请补充照片说明" in html and "草稿" in html
    assert "继续填写" in html and "删除" in html


def test_my_cases_links_unit_list_for_bound_admins(cc, client, auth):
    auth.login_as(cc.case_admin)
    html = client.get("/cases/mine").get_data(as_text=True)
    assert "/cases/unit/" in html
    auth.login_as(cc.implementer)
    assert "/cases/unit/" not in client.get("/cases/mine").get_data(as_text=True)


def test_view_shows_sheet_and_history(cc, client, auth):
    case = new_draft(cc)
    auth.login_as(cc.implementer)
    assert submit(client, case, full_form(case, photos(cc))).status_code in (302, 303)
    html = client.get(f"/cases/{case.id}").get_data(as_text=True)
    assert "流动科技馆进乡村" in html and "某县科技馆" in html and "☑" in html
    assert "处理记录" in html and "提交" in html and "草稿 → 待推荐" in html
    # the unit's case admin may view it (now submitted); national-only users not bound may not
    auth.login_as(cc.case_admin)
    assert client.get(f"/cases/{case.id}").status_code == 200
    auth.login_as(cc.other_case_admin)
    assert client.get(f"/cases/{case.id}").status_code == 404


def test_delete_draft_only(cc, client, auth):
    draft_id = new_draft(cc).id
    sent = cc.make_case(status="submitted")
    auth.login_as(cc.implementer)
    r = client.post(f"/cases/{draft_id}/delete")
    assert r.status_code in (302, 303)
    db.session.expire_all()
    assert db.session.get(Case, draft_id) is None
    r = client.post(f"/cases/{sent.id}/delete", follow_redirects=True)
    assert "只能删除草稿" in r.get_data(as_text=True)
    assert reload(sent.id) is not None


def test_autosave_attaches_uploaded_photos_and_drops_removed_ones(cc, client, auth):
    from kepu.cases.operations.entry import case_files
    from kepu.files.models import StoredFile

    case = new_draft(cc)
    files = photos(cc)
    auth.login_as(cc.implementer)
    r = client.post(f"/cases/{case.id}/autosave", data=full_form(case, files), headers=HX)
    assert r.status_code == 200
    attached = case_files(reload(case.id))
    assert [str(f.id) for f in attached["photo_landscape"]] == [files["photo_landscape"]]
    assert [str(f.id) for f in attached["photo_portrait"]] == [files["photo_portrait"]]
    # the user deleted the portrait photo in the widget: the next autosave no longer lists it
    case = reload(case.id)
    r = client.post(f"/cases/{case.id}/autosave",
                    data=full_form(case, {"photo_landscape": files["photo_landscape"]}), headers=HX)
    assert r.status_code == 200
    attached = case_files(reload(case.id))
    assert attached["photo_portrait"] == []
    assert db.session.get(StoredFile, int(files["photo_portrait"])) is None
    assert len(attached["photo_landscape"]) == 1


def test_award_proofs_capped_at_spec_max(cc, client, auth):
    from kepu.cases.operations.entry import case_files

    case = new_draft(cc)
    proofs = [cc.upload(cc.implementer, F_AWARD_PROOF, b"%PDF-1.4\n%x\n", f"证书{i}.pdf")
              for i in range(6)]
    auth.login_as(cc.implementer)
    r = client.post(f"/cases/{case.id}/autosave",
                    data=full_form(case, award_proof=[str(p.id) for p in proofs]), headers=HX)
    assert r.status_code == 200
    assert "最多上传5个文件" in r.get_data(as_text=True)
    assert len(case_files(reload(case.id))["award_proof"]) == 5
