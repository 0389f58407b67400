"""An attached file can be removed by its owner only while the entry is editable:
state and submission window (works and cases alike, through ``can_edit``)."""
from __future__ import annotations

from kepu.extensions import db
from kepu.files.models import StoredFile
from kepu.files.operations import files_for

HX = {"HX-Request": "true"}


def _first_file(work):
    return files_for("work", work.id)[0]


def test_owner_removes_a_file_of_a_draft_while_open(client, auth, wc):
    work = wc.make_work(status="draft")
    stored = _first_file(work)
    auth.login_as(wc.applicant)
    assert client.post(f"/files/{stored.id}/delete", headers=HX).status_code == 200
    assert db.session.get(StoredFile, stored.id) is None


def test_no_removal_after_the_window_closed(client, auth, wc):
    work = wc.make_work(status="draft")
    stored = _first_file(work)
    wc.campaign.settings = {**wc.campaign.settings, "window_close": "2021-01-01 00:00"}
    db.session.commit()
    auth.login_as(wc.applicant)
    resp = client.post(f"/files/{stored.id}/delete", headers=HX)
    assert resp.status_code == 422
    assert "不能删除" in resp.get_data(as_text=True)
    assert db.session.get(StoredFile, stored.id) is not None


def test_no_removal_once_recommended(client, auth, wc):
    work = wc.make_work(status="recommended")
    stored = _first_file(work)
    auth.login_as(wc.applicant)
    assert client.post(f"/files/{stored.id}/delete", headers=HX).status_code == 422
    assert db.session.get(StoredFile, stored.id) is not None


def test_no_removal_of_a_case_photo_after_the_deadline(client, auth, wc):
    import io

    from PIL import Image
    from werkzeug.datastructures import FileStorage

    from kepu.admin.models import Campaign
    from kepu.cases.models import F_PHOTO_LANDSCAPE, Case
    from kepu.files.operations import attach, save_upload

    cases = Campaign(kind="cases", year=2026, title="典赞",
                     settings={"window_open": "2020-01-01 00:00",
                               "window_close": "2021-01-01 00:00"})
    db.session.add(cases)
    db.session.flush()
    case = Case(campaign_id=cases.id, org_id=wc.unit.id, owner_id=wc.applicant.id,
                status="draft", name="草稿案例")
    db.session.add(case)
    db.session.flush()
    buf = io.BytesIO()
    Image.new("RGB", (80, 50), "white").save(buf, "JPEG")
    photo = save_upload(F_PHOTO_LANDSCAPE, FileStorage(io.BytesIO(buf.getvalue()), "横.jpg"),
                        wc.applicant)
    attach(photo, "case", case.id)
    auth.login_as(wc.applicant)
    assert client.post(f"/files/{photo.id}/delete", headers=HX).status_code == 422
    assert db.session.get(StoredFile, photo.id) is not None
