"""NUL bytes, other control characters and bidi overrides are stripped from every
request value once, on input (issue 11 §9): nothing stores them, PostgreSQL never sees
a NUL, and line breaks and tabs in text areas survive."""
from __future__ import annotations

import pytest

from kepu.extensions import db

DIRTY = "张\x00三\u202e\u2066\u2069\x07"


def test_clean_text():
    from kepu.inputs import clean_text

    assert clean_text(DIRTY) == "张三"
    assert clean_text("第一行\r\n第二行\t缩进") == "第一行\r\n第二行\t缩进"
    assert clean_text("a\u202ab\u202bc\u202cd\u202de\u202ef\u2067g\u2068h") == "abcdefgh"
    assert clean_text("עברית and العربية") == "עברית and العربية"  # RTL text itself stays


def test_profile_name_is_stored_clean(client, auth, make_user):
    from kepu.accounts.models import User

    user = make_user()
    auth.login_as(user)
    r = client.post("/account/", data={"name": DIRTY, "unit_name": "单位\x00", "job_title": "",
                                       "email": ""})
    assert r.status_code == 303
    db.session.expire_all()
    u = db.session.get(User, user.id)
    assert u.name == "张三" and u.unit_name == "单位"


def test_work_title_and_org_name_are_stored_clean(client, auth, hw):
    from kepu.orgs.models import Org
    from kepu.works.models import Work

    auth.login_as(hw.users["owner"])
    r = client.post("/works/new")
    assert r.status_code in (302, 303)
    work = db.session.scalar(db.select(Work).order_by(Work.id.desc()))
    r = client.post(f"/works/{work.id}/autosave", data={
        "version": str(work.version), "step": "1", "title": "量子\x00科技\u202e",
        "intro": "第一段\n第二段"}, headers={"HX-Request": "true"})
    assert r.status_code == 200, r.get_data(as_text=True)[:300]
    db.session.expire_all()
    work = db.session.get(Work, work.id)
    assert work.title == "量子科技" and work.intro == "第一段\n第二段"
    r = client.post("/orgs/add", query_string={"field": "org_id"},
                    data={"add_name": "某\x00科普\u2066单位"})
    assert r.status_code in (302, 303)
    assert db.session.scalar(db.select(Org).where(Org.name == "某科普单位")) is not None


@pytest.mark.parametrize("url", ["/orgs/autocomplete?q=%00%E5%8C%97", "/orgs/channels?q=%00",
                                 "/works/admin/?q=a%00b", "/orgs/admin/?q=%00",
                                 "/cases/admin/codes?q=%00", "/works/?q=%00"])
def test_nul_in_a_query_never_reaches_the_database(client, auth, hw, url):
    auth.login_as(hw.users["platform_admin"])
    assert client.get(url).status_code < 500


def test_uploaded_file_name_is_clean(client, auth, hw):
    import io

    from PIL import Image

    from kepu.files.models import StoredFile

    buf = io.BytesIO()
    Image.new("RGB", (4, 2), "white").save(buf, "PNG")
    auth.login_as(hw.users["owner"])
    r = client.post("/files/upload?field=image", data={
        "field": "image", "target": "image",
        "file": (io.BytesIO(buf.getvalue()), "照\u202egnp.片\x00.png")},
        content_type="multipart/form-data")
    assert r.status_code == 303
    names = {f.original_name for f in db.session.scalars(db.select(StoredFile))}
    assert "照gnp.片.png" in names


def test_imported_org_names_are_clean(client, auth, hw):
    import io

    from kepu.orgs.models import Org

    auth.login_as(hw.users["platform_admin"])
    csv = "单位名称,单位类别\n导入\x00科普\u202e单位,其他\n".encode()
    r = client.post("/orgs/admin/import", data={"file": (io.BytesIO(csv), "orgs.csv")},
                    content_type="multipart/form-data")
    assert r.status_code == 200, r.get_data(as_text=True)[:300]
    assert db.session.scalar(db.select(Org).where(Org.name == "导入科普单位")) is not None
