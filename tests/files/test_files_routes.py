"""HTTP side of the files area: upload endpoint, widget, downloads, deletes, streaming."""
from __future__ import annotations

import io
import re
from pathlib import Path
from urllib.parse import quote

import pytest
from files_testdata import PDF, docx_bytes, image_bytes
from flask import g, request

from kepu.extensions import db
from kepu.files.models import StoredFile, register_entity
from kepu.files.operations import attach
from kepu.files.specs import KB, FieldSpec, register_field
from kepu.files.storage import DiskUpload, path_for

HX = {"HX-Request": "true"}


@pytest.fixture
def auth(auth):
    """conftest's ``auth``, but switching users also forgets Flask-Login's cached user.

    The ``app`` fixture keeps one app context pushed for the whole test, so ``g`` (where
    Flask-Login caches the loaded user) survives from one test-client request to the next.
    """
    login_as, logout = auth.login_as, auth.logout

    def switch(user):
        login_as(user)
        g.pop("_login_user", None)

    def log_out():
        resp = logout()
        with auth._client.session_transaction() as s:
            s.clear()
        g.pop("_login_user", None)
        return resp

    auth.login_as, auth.logout = switch, log_out
    return auth


def upload(client, field="attachment", files=(("x.pdf", PDF),), target=None, headers=HX,
           key="file"):
    data = {"field": field, key: [(io.BytesIO(b), n) for n, b in files]}
    if target:
        data["target"] = target
    return client.post("/files/upload", data=data, headers=headers,
                       content_type="multipart/form-data")


def only_file() -> StoredFile:
    rows = db.session.query(StoredFile).all()
    assert len(rows) == 1
    return rows[0]


# --- upload endpoint -------------------------------------------------------------

def test_upload_requires_login(client):
    resp = upload(client, headers={})
    assert resp.status_code == 302 and "/account/login" in resp.headers["Location"]
    assert db.session.query(StoredFile).count() == 0


def test_htmx_upload_returns_list_items_with_hidden_ids(client, auth, make_user):
    auth.login_as(make_user())
    resp = upload(client, field="work_file", target="work_files",
                  files=[("生成式人工智能科普写作能力评估.pdf", PDF), ("讲稿.docx", docx_bytes())])
    assert resp.status_code == 200
    html = resp.get_data(as_text=True)
    rows = db.session.query(StoredFile).order_by(StoredFile.id).all()
    assert [r.original_name for r in rows] == ["生成式人工智能科普写作能力评估.pdf", "讲稿.docx"]
    for r in rows:
        assert f'<input type="hidden" name="work_files" value="{r.id}">' in html
        assert f'hx-post="/files/{r.id}/delete"' in html
    assert html.count("<li") == 2 and "生成式人工智能科普写作能力评估.pdf" in html
    assert 'hx-swap-oob="true"' in html  # clears the widget's old error
    assert resp.headers["HX-Trigger"] == "files-changed"


def test_htmx_upload_error_is_422_fragment_next_to_the_widget(client, auth, make_user):
    auth.login_as(make_user())
    resp = upload(client, field="photo_landscape", target="photo_h",
                  files=[("竖.png", image_bytes(40, 80, "PNG"))])
    assert resp.status_code == 422
    html = resp.get_data(as_text=True)
    assert 'id="upload-photo_h-error"' in html and 'hx-swap-oob="true"' in html
    assert "请上传横版照片（宽度大于高度）" in html
    assert resp.headers["HX-Reswap"] == "none"  # the list keeps its files
    assert db.session.query(StoredFile).count() == 0


def test_single_file_field_refuses_several_files(client, auth, make_user):
    auth.login_as(make_user())
    png = image_bytes(80, 40, "PNG")
    resp = upload(client, field="photo_landscape", files=[("a.png", png), ("b.png", png)])
    assert resp.status_code == 422 and "只能上传一个文件" in resp.get_data(as_text=True)


def test_partial_success_keeps_good_files_and_names_the_bad_one(client, auth, make_user):
    auth.login_as(make_user())
    resp = upload(client, files=[("好.pdf", PDF), ("坏.exe", b"MZ")])
    html = resp.get_data(as_text=True)
    assert resp.status_code == 200 and only_file().original_name == "好.pdf"
    assert "坏.exe：不支持的文件格式" in html


def test_upload_size_limit_through_http(client, auth, make_user):
    register_field(FieldSpec("t_http_small", "测试", {"pdf"}, 1 * KB))
    auth.login_as(make_user())
    resp = upload(client, field="t_http_small", files=[("big.pdf", PDF + b"x" * KB)])
    assert resp.status_code == 422 and "文件大小不能超过1KB" in resp.get_data(as_text=True)


def test_unknown_field_is_400(client, auth, make_user):
    auth.login_as(make_user())
    assert upload(client, field="no_such_field").status_code == 400


def test_plain_form_post_without_js(client, auth, make_user):
    """The 我的文件 form posts the widget's input (<target>__upload) and redirects."""
    auth.login_as(make_user())
    resp = upload(client, target="attachment", key="attachment__upload", headers={},
                  files=[("证书.pdf", PDF)])
    assert resp.status_code == 303 and resp.headers["Location"].endswith("/files/")
    assert only_file().original_name == "证书.pdf"
    page = client.get("/files/").get_data(as_text=True)
    assert "证书.pdf" in page and "已上传 1 个文件" in page


def test_plain_form_post_error_rerenders_page_with_message(client, auth, make_user):
    auth.login_as(make_user())
    resp = upload(client, target="attachment", key="attachment__upload", headers={},
                  files=[("假.pdf", b"hello")])
    assert resp.status_code == 422
    html = resp.get_data(as_text=True)
    assert "文件内容与扩展名不符" in html and 'id="upload-attachment-error"' in html


def test_upload_requires_csrf_token(app_factory, make_user, login_session):
    app = app_factory(WTF_CSRF_ENABLED=True)
    client = app.test_client()
    with app.app_context():
        login_session(client, make_user())
    resp = upload(client)
    assert resp.status_code == 400
    page = client.get("/files/").get_data(as_text=True)
    token = re.search(r'"X-CSRFToken": "([^"]+)"', page).group(1)
    resp = upload(client, headers={**HX, "X-CSRFToken": token})
    assert resp.status_code == 200


def test_request_body_over_max_content_length_is_413_in_chinese(app_factory, make_user,
                                                                 login_session):
    app = app_factory(MAX_CONTENT_LENGTH=4 * KB)
    client = app.test_client()
    with app.app_context():
        login_session(client, make_user())
    resp = upload(client, headers={}, files=[("big.pdf", PDF + b"x" * 8 * KB)])
    assert resp.status_code == 413
    html = resp.get_data(as_text=True)
    assert "文件过大" in html and "上传的文件超过了允许的大小" in html
    assert not [p for p in Path(app.config["UPLOAD_DIR"]).rglob("*") if p.is_file()]


# --- streaming to disk ---------------------------------------------------------------

def test_multipart_parser_streams_file_parts_into_upload_tmp(app_factory, make_user,
                                                              login_session):
    from kepu.files.storage import accepts_uploads

    app = app_factory()
    seen = {}

    @app.post("/_probe")
    @accepts_uploads()
    def probe():
        f = request.files["file"]
        seen["stream_type"] = type(f.stream)
        seen["path"] = Path(f.stream.path)
        seen["on_disk"] = seen["path"].read_bytes()
        seen["tmp_listing"] = sorted(p.name for p in seen["path"].parent.iterdir())
        seen["sha"] = f.stream.sha256.hexdigest()
        return "ok"

    body = b"%PDF-1.4 " + b"0123456789" * 1000
    client = app.test_client()
    with app.app_context():
        login_session(client, make_user())
    resp = client.post("/_probe", data={"file": (io.BytesIO(body), "a.pdf")},
                       content_type="multipart/form-data")
    assert resp.status_code == 200
    assert seen["stream_type"] is DiskUpload  # not SpooledTemporaryFile / BytesIO
    assert seen["path"].parent == Path(app.config["UPLOAD_DIR"]) / "tmp"
    assert seen["on_disk"] == body and seen["path"].name in seen["tmp_listing"]
    import hashlib
    assert seen["sha"] == hashlib.sha256(body).hexdigest()
    # the part was not stored, so it is gone once the request is closed
    assert not seen["path"].exists()
    assert app.request_class.__name__ == "UploadRequest"


def test_upload_endpoint_moves_the_streamed_part_into_place(client, auth, make_user, app):
    auth.login_as(make_user())
    resp = upload(client, files=[("x.pdf", PDF)])
    assert resp.status_code == 200
    f = only_file()
    assert path_for(f.stored_name).read_bytes() == PDF
    assert list((Path(app.config["UPLOAD_DIR"]) / "tmp").iterdir()) == []


# --- downloads -----------------------------------------------------------------------

def _upload_as(client, auth, user, name="科普作品 说明.pdf", data=PDF, field="attachment"):
    auth.login_as(user)
    assert upload(client, field=field, files=[(name, data)]).status_code == 200
    rows = db.session.query(StoredFile).order_by(StoredFile.id.desc()).all()
    return rows[0]


def test_owner_downloads_with_disposition_nosniff_and_type(client, auth, make_user):
    f = _upload_as(client, auth, make_user())
    resp = client.get(f"/files/{f.id}/{quote(f.original_name)}")
    assert resp.status_code == 200 and resp.data == PDF
    assert resp.mimetype == "application/pdf"
    assert resp.headers["X-Content-Type-Options"] == "nosniff"
    cd = resp.headers["Content-Disposition"]
    assert cd.startswith("attachment;")
    assert "filename*=UTF-8''" + quote("科普作品 说明.pdf", safe="") in cd
    assert 'filename="file.pdf"' in cd or 'filename="' in cd
    assert "script-src" not in resp.headers["Content-Security-Policy"]
    assert client.get(f"/files/{f.id}").status_code == 200  # name is optional


def test_download_404_for_other_user_and_anonymous(client, auth, make_user):
    f = _upload_as(client, auth, make_user())
    auth.login_as(make_user())
    assert client.get(f"/files/{f.id}/x.pdf").status_code == 404
    auth.logout()
    assert client.get(f"/files/{f.id}/x.pdf").status_code == 404
    assert client.get("/files/999999").status_code == 404


def test_platform_admin_downloads_anything(client, auth, make_user):
    f = _upload_as(client, auth, make_user())
    auth.login_as(make_user(roles=["platform_admin"]))
    assert client.get(f"/files/{f.id}").status_code == 200


class FakeEntity:
    def __init__(self, viewers, editors=()):
        self.viewers, self.editors = set(viewers), set(editors)

    def can_view(self, user):
        return getattr(user, "id", None) in self.viewers

    def can_edit(self, user):
        return getattr(user, "id", None) in self.editors


def test_download_through_registered_entity_loader(client, auth, make_user):
    owner, reviewer, stranger = make_user(), make_user(), make_user()
    entities = {7: FakeEntity(viewers={reviewer.id})}
    register_entity("t_thing", entities.get)
    f = _upload_as(client, auth, owner)
    auth.login_as(reviewer)
    assert client.get(f"/files/{f.id}").status_code == 404  # not attached yet
    attach(f, "t_thing", 7)
    assert client.get(f"/files/{f.id}").status_code == 200
    auth.login_as(stranger)
    assert client.get(f"/files/{f.id}").status_code == 404
    attach(f, "t_thing", 8)  # loader returns None
    auth.login_as(reviewer)
    assert client.get(f"/files/{f.id}").status_code == 404


def test_inline_only_for_images_and_pdf(client, auth, make_user):
    user = make_user()
    img = _upload_as(client, auth, user, "封面.png", image_bytes(30, 20, "PNG"), field="image")
    doc = _upload_as(client, auth, user, "a.docx", docx_bytes())
    resp = client.get(f"/files/{img.id}?inline=1")
    assert resp.headers["Content-Disposition"].startswith("inline;")
    assert resp.mimetype == "image/png"
    resp = client.get(f"/files/{doc.id}?inline=1")
    assert resp.headers["Content-Disposition"].startswith("attachment;")
    assert resp.headers["Content-Disposition"] == 'attachment; filename="a.docx"'


def test_range_and_conditional_requests(client, auth, make_user):
    f = _upload_as(client, auth, make_user())
    resp = client.get(f"/files/{f.id}", headers={"Range": "bytes=0-3"})
    assert resp.status_code == 206 and resp.data == b"%PDF"
    etag = client.get(f"/files/{f.id}").headers["ETag"]
    assert client.get(f"/files/{f.id}", headers={"If-None-Match": etag}).status_code == 304


# --- deletes -----------------------------------------------------------------------

def test_only_the_owner_deletes(client, auth, make_user):
    owner = make_user()
    f = _upload_as(client, auth, owner)
    path = path_for(f.stored_name)
    auth.login_as(make_user())
    assert client.post(f"/files/{f.id}/delete", headers=HX).status_code == 404
    auth.login_as(make_user(roles=["platform_admin"]))
    assert client.post(f"/files/{f.id}/delete", headers=HX).status_code == 404
    assert path.exists() and db.session.get(StoredFile, f.id) is not None
    auth.login_as(owner)
    resp = client.post(f"/files/{f.id}/delete", headers=HX)
    assert resp.status_code == 200 and resp.data == b""
    assert resp.headers["HX-Trigger"] == "files-changed"
    assert not path.exists()
    db.session.expire_all()
    assert db.session.get(StoredFile, f.id) is None


def test_attached_file_is_deletable_only_while_entity_is_editable(client, auth, make_user):
    owner = make_user()
    things = {1: FakeEntity(viewers={owner.id}, editors={owner.id}),
              2: FakeEntity(viewers={owner.id})}
    register_entity("t_draft", things.get)
    a = _upload_as(client, auth, owner, "a.pdf")
    b = _upload_as(client, auth, owner, "b.pdf")
    attach(a, "t_draft", 1)
    attach(b, "t_draft", 2)
    resp = client.post(f"/files/{b.id}/delete", headers=HX)
    assert resp.status_code == 422 and "不能删除" in resp.get_data(as_text=True)
    assert path_for(b.stored_name).exists()
    assert client.post(f"/files/{a.id}/delete", headers=HX).status_code == 200
    assert not path_for(a.stored_name).exists()


def test_delete_without_js_redirects_back(client, auth, make_user):
    f = _upload_as(client, auth, make_user())
    resp = client.post(f"/files/{f.id}/delete", headers={"Referer": "http://localhost/works/1/edit"})
    assert resp.status_code == 303 and resp.headers["Location"] == "/works/1/edit"
    g = _upload_as(client, auth, make_user())
    resp = client.post(f"/files/{g.id}/delete", headers={"Referer": "http://evil.example/x"})
    assert resp.headers["Location"].endswith("/files/")


# --- pages -----------------------------------------------------------------------------

def test_my_files_page_lists_files_and_shows_the_widget(client, auth, make_user):
    user = make_user()
    assert client.get("/files/").status_code == 302  # login required
    g.pop("_login_user", None)
    _upload_as(client, auth, user, "奖状.pdf")
    _upload_as(client, auth, make_user(), "别人的.pdf")
    auth.login_as(user)
    html = client.get("/files/").get_data(as_text=True)
    assert "我的文件" in html and "奖状.pdf" in html and "别人的.pdf" not in html
    assert "获奖情况附件" in html and "点击上传" in html and "或将文件拖到此处" in html
    assert "支持多个文件，单个最大100MB" in html
    assert 'type="file"' in html and 'name="attachment__upload"' in html
    assert 'hx-encoding="multipart/form-data"' in html and "<progress" in html
    assert 'for="upload-attachment-input"' in html and 'id="upload-attachment-input"' in html
    # the table block alone for htmx refreshes
    frag = client.get("/files/", headers=HX).get_data(as_text=True)
    assert frag.lstrip().startswith('<section class="card" id="my-files"')
    assert "奖状.pdf" in frag and "<html" not in frag


def test_widget_macro_renders_existing_files_with_thumbnails(app, client, auth, make_user):
    user = make_user()
    img = _upload_as(client, auth, user, "横版.jpg", image_bytes(60, 40, "JPEG"),
                     field="photo_landscape")
    with app.test_request_context():
        tpl = app.jinja_env.from_string(
            '{% from "_macros/upload.html" import upload_widget %}'
            '{{ upload_widget("photo_landscape", "photo_h", "横版照片", files=files, '
            'required=True, error="请上传横版照片（宽度大于高度）") }}')
        html = tpl.render(files=[img])
    assert f'src="/files/{img.id}/' in html and "inline=1" in html
    assert f'<input type="hidden" name="photo_h" value="{img.id}">' in html
    assert 'accept=".jpg,.jpeg,.png"' in html and " multiple" not in html
    assert 'hx-swap="innerHTML"' in html and "请上传横版照片（宽度大于高度）" in html
    assert '<span class="req" aria-hidden="true">*</span>' in html
    assert "60×40" in html


@pytest.mark.parametrize("path", ["/files/", "/files/upload"])
def test_file_pages_need_login(client, path):
    resp = client.get(path) if path == "/files/" else client.post(path)
    assert resp.status_code == 302


def test_truncated_multipart_body_leaves_no_temp_file(client, auth, make_user, app):
    auth.login_as(make_user())
    body = (b"--xyz\r\nContent-Disposition: form-data; name=\"field\"\r\n\r\nattachment\r\n"
            b"--xyz\r\nContent-Disposition: form-data; name=\"file\"; filename=\"a.pdf\"\r\n"
            b"Content-Type: application/pdf\r\n\r\n%PDF-1.4 " + b"x" * 200_000)
    resp = client.post("/files/upload", data=body, headers=HX,
                       content_type="multipart/form-data; boundary=xyz")
    assert resp.status_code in (400, 422)
    assert db.session.query(StoredFile).count() == 0
    assert list((Path(app.config["UPLOAD_DIR"]) / "tmp").iterdir()) == []
