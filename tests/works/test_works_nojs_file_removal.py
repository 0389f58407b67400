"""Without JavaScript a file's 删除 submits the whole form (remove_file=<id>): the
entry saves everything typed and removes only that file — works and cases alike."""
from __future__ import annotations

import io

from kepu.extensions import db
from kepu.files.models import StoredFile
from kepu.files.operations import files_for
from kepu.works.files import field_name


def test_works_step_removes_the_file_and_keeps_the_typed_text(client, auth, wc):
    work = wc.make_work(status="draft")
    cover = files_for("work", work.id, field_name(wc.campaign.id, "cover"))[0]
    work_file = files_for("work", work.id, field_name(wc.campaign.id, "work_file"))[0]
    auth.login_as(wc.applicant)
    page = client.get(f"/works/{work.id}/step/1").get_data(as_text=True)
    assert f'name="remove_file" value="{work_file.id}"' in page
    resp = client.post(f"/works/{work.id}/step/1", data={
        "version": str(work.version), "step": "1", "title": "刚刚输入的新标题",
        "work_type": "科普视频", "category": "前沿科技", "intro": "新简介",
        "cover": str(cover.id), "work_files": str(work_file.id),
        "remove_file": str(work_file.id)})
    assert resp.status_code == 303
    db.session.expire_all()
    assert db.session.get(StoredFile, work_file.id) is None
    assert db.session.get(StoredFile, cover.id) is not None
    saved = db.session.get(type(work), work.id)
    assert saved.title == "刚刚输入的新标题" and saved.intro == "新简介"


def test_works_step_ignores_someone_elses_file(client, auth, wc):
    work = wc.make_work(status="draft")
    other = wc.make_work(owner=wc.other_applicant, status="draft")
    theirs = files_for("work", other.id)[0]
    auth.login_as(wc.applicant)
    client.post(f"/works/{work.id}/step/1", data={
        "version": str(work.version), "step": "1", "title": "x", "remove_file": str(theirs.id)})
    assert db.session.get(StoredFile, theirs.id) is not None


def test_case_form_removes_the_photo_and_keeps_the_typed_text(client, auth, wc):
    from PIL import Image
    from werkzeug.datastructures import FileStorage

    from kepu.admin.models import Campaign
    from kepu.cases.models import F_PHOTO_LANDSCAPE, F_PHOTO_PORTRAIT, Case
    from kepu.files.operations import attach, save_upload

    cases = Campaign(kind="cases", year=2026, title="典赞",
                     settings={"window_open": "2020-01-01 00:00",
                               "window_close": "2099-01-01 00:00"})
    db.session.add(cases)
    db.session.flush()
    case = Case(campaign_id=cases.id, org_id=wc.unit.id, owner_id=wc.applicant.id,
                status="draft", name="旧名称")
    db.session.add(case)
    db.session.flush()

    def photo(field, size):
        buf = io.BytesIO()
        Image.new("RGB", size, "white").save(buf, "JPEG")
        stored = save_upload(field, FileStorage(io.BytesIO(buf.getvalue()), "p.jpg"),
                             wc.applicant)
        attach(stored, "case", case.id)
        return stored

    land = photo(F_PHOTO_LANDSCAPE, (80, 50))
    port = photo(F_PHOTO_PORTRAIT, (50, 80))
    auth.login_as(wc.applicant)
    page = client.get(f"/cases/{case.id}/edit").get_data(as_text=True)
    assert f'name="remove_file" value="{land.id}"' in page
    resp = client.post(f"/cases/{case.id}/edit", data={
        "version": str(case.version), "name": "刚输入的名称",
        "photo_landscape": str(land.id), "photo_portrait": str(port.id),
        "remove_file": str(land.id), "action": "submit"})
    assert resp.status_code == 303
    db.session.expire_all()
    assert db.session.get(StoredFile, land.id) is None
    assert db.session.get(StoredFile, port.id) is not None
    saved = db.session.get(Case, case.id)
    assert saved.name == "刚输入的名称" and saved.status == "draft"  # not submitted
