"""年度工作总结 (issue 12; seed 001 二.2(1)): provincial 科协 and 全国学会 admins file their
annual summary (text ≤ the edition's limit, doc/docx/pdf attachments ≤ N of ≤ M MB) within
the ``annual_report`` window; autosave with the version check (stale → 409); one report
per scope; a province admin never sees another province's report; national admins see
every expected filer and download all filed reports as a zip (a file job)."""
from __future__ import annotations

import io
import re
import zipfile

import pytest
from sqlalchemy import select

from kepu.admin.models import Campaign
from kepu.extensions import db
from kepu.files.models import StoredFile
from kepu.jobs import Job
from kepu.orgs.models import Org
from kepu.science_day.after_models import AnnualReport

OPEN = {"windows": {"filing": {"open": "2020-01-01 00:00", "close": "2099-12-31 23:59"},
                    "annual_report": {"open": "2020-01-01 00:00",
                                      "close": "2099-12-31 23:59"}}}
CLOSED = {"windows": {"annual_report": {"open": "2020-01-01 00:00",
                                        "close": "2021-10-14 23:59:59"}}}
PDF = b"%PDF-1.4\n1 0 obj<<>>endobj\ntrailer<<>>\n%%EOF\n"


@pytest.fixture
def an(app, make_user):
    campaign = Campaign(kind="science_day", year=2026, title="2026年全国科普日",
                        settings=dict(OPEN))
    society = Org(name="中国科普作家协会", kind="全国学会")
    other_society = Org(name="中国天文学会", kind="全国学会")
    db.session.add_all([campaign, society, other_society])
    db.session.commit()
    return dict(
        campaign=campaign, society=society, other_society=other_society,
        bj=make_user("13900000901", roles=[("provincial_admin", {"region_code": "11"})]),
        gd=make_user("13900000902", roles=[("provincial_admin", {"region_code": "44"})]),
        soc=make_user("13900000903", roles=[("society_admin", {"org_id": society.id})]),
        both=make_user("13900000904", roles=[("provincial_admin", {"region_code": "65"}),
                                             ("society_admin", {"org_id": other_society.id})]),
        bingtuan=make_user("13900000905",
                           roles=[("provincial_admin", {"region_code": "659"})]),
        national=make_user("13900000906", roles=["national_admin"]),
        officer=make_user("13900000907", roles=["info_officer"]),
    )


def version(html: str) -> str:
    return re.search(r'id="draft-version" name="version" value="(\d+)"', html).group(1)


def report(scope_key):
    db.session.expire_all()
    return db.session.scalar(select(AnnualReport).where(AnnualReport.scope_key == scope_key))


def upload(client, campaign, content=PDF, name="总结.pdf"):
    return client.post("/files/upload", data={
        "field": f"sd_annual:{campaign.id}:attachment", "target": "attachments",
        "attachments__upload": (io.BytesIO(content), name)},
        content_type="multipart/form-data", headers={"HX-Request": "true"})


def upload_id(client, campaign, **kw) -> int:
    resp = upload(client, campaign, **kw)
    assert resp.status_code == 200, resp.get_data(as_text=True)[:300]
    return int(re.search(r'name="attachments" value="(\d+)"',
                         resp.get_data(as_text=True)).group(1))


def test_province_files_with_attachment_and_national_sees_it(client, auth, an):
    auth.login_as(an["bj"])
    page = client.get("/science-day/annual")
    html = page.get_data(as_text=True)
    assert page.status_code == 200 and "北京市科协" in html and "未提交" in html
    assert version(html) == "0"
    fid = upload_id(client, an["campaign"])
    resp = client.post("/science-day/annual", data={
        "version": "0", "text": "本年度共组织活动 300 场。", "attachments": str(fid),
        "action": "file"})
    assert resp.status_code == 303, resp.get_data(as_text=True)[:500]
    r = report("province:11")
    assert r.filed_at and r.filed_by_id == an["bj"].id and r.version == 1
    assert r.region_code == "11" and r.scope_name == "北京市科协"
    assert db.session.get(StoredFile, fid).entity_id == r.id
    assert "已提交" in client.get("/science-day/annual").get_data(as_text=True)

    auth.login_as(an["national"])
    lst = client.get("/science-day/admin/annual").get_data(as_text=True)
    row = lst[lst.index('id="row-province-11"'):]
    row = row[:row.index("</tr>")]
    assert "已提交" in row and "总结.pdf" in row
    gd_row = lst[lst.index('id="row-province-44"'):]
    assert "未提交" in gd_row[:gd_row.index("</tr>")]
    assert "新疆生产建设兵团" in lst and "中国科普作家协会" in lst
    assert "中国天文学会" in lst  # has an admin (the user with both grants)
    assert "香港特别行政区科协" not in lst and "台湾省科协" not in lst
    view = client.get(f"/science-day/admin/annual/{r.id}")
    assert view.status_code == 200 and "本年度共组织活动 300 场。" in view.get_data(as_text=True)
    assert client.get(f"/files/{fid}").status_code == 200
    missing = client.get("/science-day/admin/annual?show=missing").get_data(as_text=True)
    assert 'id="row-province-11"' not in missing and 'id="row-province-44"' in missing


def test_filing_needs_text_and_keeps_input(client, auth, an):
    auth.login_as(an["bj"])
    resp = client.post("/science-day/annual", data={"version": "0", "text": "  ",
                                                    "action": "file"})
    assert resp.status_code == 422 and "请填写总结正文" in resp.get_data(as_text=True)
    assert report("province:11") is None
    # a draft may be empty
    assert client.post("/science-day/annual", data={"version": "0", "text": "",
                                                    "action": "draft"}).status_code == 303
    assert report("province:11").filed_at is None


def test_text_length_is_an_edition_setting(client, auth, an):
    an["campaign"].settings = {**OPEN, "annual_report": {"text_max": 10}}
    db.session.commit()
    auth.login_as(an["bj"])
    resp = client.post("/science-day/annual", data={"version": "0", "text": "字" * 11,
                                                    "action": "draft"})
    html = resp.get_data(as_text=True)
    assert resp.status_code == 422 and "总结正文不能超过10字（现为11字）" in html
    assert "字" * 11 in html  # kept
    assert report("province:11") is None
    assert client.post("/science-day/annual/autosave",
                       data={"version": "0", "text": "字" * 11}).status_code == 422
    assert client.post("/science-day/annual/autosave",
                       data={"version": "0", "text": "字" * 10}).status_code == 200
    assert report("province:11").text == "字" * 10


def test_unreadable_settings_fall_back(client, auth, an):
    an["campaign"].settings = {**OPEN, "annual_report": {"text_max": "多", "files": None}}
    db.session.commit()
    auth.login_as(an["bj"])
    resp = client.get("/science-day/annual")
    assert resp.status_code == 200 and "/ 5000" in resp.get_data(as_text=True)


def test_attachment_types_count_and_size(client, auth, an):
    auth.login_as(an["bj"])
    bad = upload(client, an["campaign"], content=b"\x89PNG\r\n\x1a\n", name="a.png")
    assert bad.status_code == 422 and "不支持的文件格式" in bad.get_data(as_text=True)
    an["campaign"].settings = {**OPEN, "annual_report": {"files": 2, "file_mb": 1}}
    db.session.commit()
    big = upload(client, an["campaign"], content=b"%PDF-1.4\n" + b"0" * (1100 * 1024))
    assert big.status_code == 422 and "文件大小不能超过1MB" in big.get_data(as_text=True)
    ids = [str(upload_id(client, an["campaign"], name=f"{i}.pdf")) for i in range(3)]
    resp = client.post("/science-day/annual", data={"version": "0", "text": "正文",
                                                    "attachments": ids, "action": "draft"})
    assert resp.status_code == 422 and "最多上传2个文件" in resp.get_data(as_text=True)
    assert report("province:11") is None
    # without JavaScript: the file posted with the form
    resp = client.post("/science-day/annual", data={
        "version": "0", "text": "正文", "action": "draft",
        "attachments__upload": (io.BytesIO(PDF), "无脚本.pdf")},
        content_type="multipart/form-data")
    assert resp.status_code == 303
    files = db.session.scalars(select(StoredFile).where(
        StoredFile.entity_type == "annual_report")).all()
    assert [f.original_name for f in files] == ["无脚本.pdf"]
    # removing it without JavaScript
    r = report("province:11")
    resp = client.post("/science-day/annual", data={
        "version": str(r.version), "text": "正文", "attachments": str(files[0].id),
        "remove_file": str(files[0].id)})
    assert resp.status_code == 303
    db.session.expire_all()
    assert db.session.get(StoredFile, files[0].id).entity_type is None


def test_autosave_version_conflict(client, auth, an):
    auth.login_as(an["bj"])
    ok = client.post("/science-day/annual/autosave", data={"version": "0", "text": "第一稿"})
    assert ok.status_code == 200 and 'value="1"' in ok.get_data(as_text=True)
    stale = client.post("/science-day/annual/autosave", data={"version": "0", "text": "旧标签页"})
    assert stale.status_code == 409 and "其他窗口或设备" in stale.get_data(as_text=True)
    assert report("province:11").text == "第一稿"
    resp = client.post("/science-day/annual", data={"version": "0", "text": "旧标签页",
                                                    "action": "file"})
    assert resp.status_code == 409 and "旧标签页" in resp.get_data(as_text=True)
    assert report("province:11").filed_at is None
    assert client.post("/science-day/annual/autosave",
                       data={"version": "x", "text": "无版本"}).status_code == 409


def test_editing_after_filing_while_open(client, auth, an):
    auth.login_as(an["bj"])
    client.post("/science-day/annual", data={"version": "0", "text": "初稿", "action": "file"})
    first = report("province:11").filed_at
    ok = client.post("/science-day/annual/autosave", data={"version": "1", "text": "修改后"})
    assert ok.status_code == 200
    r = report("province:11")
    assert r.text == "修改后" and r.filed_at == first
    empty = client.post("/science-day/annual/autosave", data={"version": "2", "text": ""})
    assert empty.status_code == 422 and "已提交的总结正文不能为空" in empty.get_data(as_text=True)
    assert report("province:11").text == "修改后"


def test_window_closed_refuses_with_its_message(client, auth, an):
    an["campaign"].settings = {**OPEN, **CLOSED}
    db.session.commit()
    auth.login_as(an["bj"])
    page = client.get("/science-day/annual")
    html = page.get_data(as_text=True)
    assert page.status_code == 200 and "年度工作总结填报已于 2021-10-14 23:59 截止" in html
    assert 'id="annual-form"' not in html
    resp = client.post("/science-day/annual", data={"version": "0", "text": "迟到",
                                                    "action": "file"})
    assert resp.status_code == 403 and "已于 2021-10-14 23:59 截止" in resp.get_data(as_text=True)
    assert client.post("/science-day/annual/autosave",
                       data={"version": "0", "text": "迟到"}).status_code == 409
    assert report("province:11") is None
    an["campaign"].settings = {**OPEN, "windows": {"annual_report": {
        "open": "2099-01-01 00:00", "close": "2099-12-31 23:59"}}}
    db.session.commit()
    resp = client.post("/science-day/annual", data={"version": "0", "text": "太早",
                                                    "action": "file"})
    assert resp.status_code == 403 and "将于 2099-01-01 00:00 开始" in resp.get_data(as_text=True)


def test_scopes_are_separate_and_picked(client, auth, an):
    auth.login_as(an["both"])
    page = client.get("/science-day/annual").get_data(as_text=True)
    assert "新疆维吾尔自治区科协" in page and "中国天文学会" in page
    key = f"org:{an['other_society'].id}"
    assert client.post("/science-day/annual", data={
        "scope": key, "version": "0", "text": "学会总结", "action": "file"}).status_code == 303
    assert report(key).org_id == an["other_society"].id and report("province:65") is None
    # a scope the user does not hold: 404, nothing written
    assert client.get("/science-day/annual?scope=province:11").status_code == 404
    assert client.post("/science-day/annual", data={
        "scope": "province:11", "version": "0", "text": "冒充"}).status_code == 404
    assert client.post("/science-day/annual/autosave", data={
        "scope": f"org:{an['society'].id}", "version": "0", "text": "冒充"}).status_code == 404
    assert report("province:11") is None and report(f"org:{an['society'].id}") is None


def test_bingtuan_files_as_its_own_scope(client, auth, an):
    auth.login_as(an["bingtuan"])
    assert "新疆生产建设兵团" in client.get("/science-day/annual").get_data(as_text=True)
    client.post("/science-day/annual", data={"version": "0", "text": "兵团", "action": "file"})
    assert report("province:659").scope_name == "新疆生产建设兵团"


def test_province_admin_never_sees_another_provinces_report(client, auth, an):
    auth.login_as(an["bj"])
    fid = upload_id(client, an["campaign"])
    client.post("/science-day/annual", data={"version": "0", "text": "北京", "action": "file",
                                             "attachments": str(fid)})
    r = report("province:11")
    auth.login_as(an["gd"])
    page = client.get("/science-day/annual").get_data(as_text=True)
    assert "北京" not in page.replace("北京时间", "")
    assert client.get(f"/science-day/admin/annual/{r.id}").status_code == 404
    assert client.get("/science-day/admin/annual").status_code == 404
    assert client.get(f"/files/{fid}").status_code == 404
    # and cannot claim the other's attachment into its own report
    client.post("/science-day/annual", data={"version": "0", "text": "广东", "action": "file",
                                             "attachments": str(fid)})
    db.session.expire_all()
    assert db.session.get(StoredFile, fid).entity_id == r.id


def test_zip_of_all_filed_reports(client, auth, an, app):
    auth.login_as(an["bj"])
    fid = upload_id(client, an["campaign"], name="北京附件.pdf")
    client.post("/science-day/annual", data={"version": "0", "text": "北京总结",
                                             "attachments": str(fid), "action": "file"})
    auth.login_as(an["gd"])
    client.post("/science-day/annual", data={"version": "0", "text": "广东草稿"})  # not filed
    auth.login_as(an["national"])
    resp = client.post("/science-day/admin/annual/export.zip")
    assert resp.status_code == 303
    job = db.session.scalars(select(Job).order_by(Job.id.desc())).first()
    db.session.refresh(job)
    assert job.status == "done", job.error if hasattr(job, "error") else job.status
    with zipfile.ZipFile(job.path()) as z:
        names = z.namelist()
        assert "北京市科协/年度工作总结.txt" in names and "北京市科协/北京附件.pdf" in names
        assert "北京总结" in z.read("北京市科协/年度工作总结.txt").decode("utf-8")
        assert not any(n.startswith("广东") for n in names)
    # only national admins may start it
    auth.login_as(an["bj"])
    assert client.post("/science-day/admin/annual/export.zip").status_code == 404


def test_workbench_cards(client, auth, an):
    auth.login_as(an["bj"])
    html = client.get("/workbench").get_data(as_text=True)
    assert "年度工作总结" in html and "未提交" in html and "填报年度工作总结" in html
    client.post("/science-day/annual", data={"version": "0", "text": "北京", "action": "file"})
    from kepu.science_day.annual_routes import annual_cards

    with app_ctx(client):
        cards = annual_cards(an["bj"])
    assert [c.counts[0].label for c in cards] == ["已提交"]
    auth.login_as(an["national"])
    with app_ctx(client):
        cards = annual_cards(an["national"])
    national = [c for c in cards if c.key == "science_day.annual.national"][0]
    assert national.counts[0].value == 1 and national.counts[1].value == 31 + 1 + 2 - 1
    auth.login_as(an["officer"])
    with app_ctx(client):
        assert annual_cards(an["officer"]) == []


def app_ctx(client):
    return client.application.test_request_context("/")


def test_after_the_window_the_report_is_read_only_and_the_card_says_so(client, auth, an):
    auth.login_as(an["bj"])
    fid = upload_id(client, an["campaign"], name="附件一.pdf")
    client.post("/science-day/annual", data={"version": "0", "text": "北京总结正文",
                                             "attachments": str(fid), "action": "file"})
    an["campaign"].settings = {**OPEN, **CLOSED}
    db.session.commit()
    html = client.get("/science-day/annual").get_data(as_text=True)
    assert "北京总结正文" in html and "附件一.pdf" in html and 'id="annual-form"' not in html
    # its attachment can no longer be removed
    resp = client.post(f"/files/{fid}/delete", headers={"HX-Request": "true"})
    assert resp.status_code == 422
    db.session.expire_all()
    assert db.session.get(StoredFile, fid).entity_type == "annual_report"
    from kepu.science_day.annual_routes import annual_cards

    with app_ctx(client):
        card = annual_cards(an["bj"])[0]
    assert card.counts[0].label == "已提交" and "截止" in card.note
    assert card.action.label == "查看年度工作总结"
