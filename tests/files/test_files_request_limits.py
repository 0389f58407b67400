"""Request bodies are limited per route before they are read (issue 11 §8).

Only upload routes take file parts, and only from a logged-in user; each upload route's
limit (bytes and files) is known before the body is read. A big anonymous POST is
refused before a byte of it is written anywhere.
"""
from __future__ import annotations

import io

import pytest

from kepu.extensions import db
from kepu.files import storage

MB = 1024 * 1024
BOUNDARY = "kepuboundary"


class MultipartStream(io.RawIOBase):
    """A multipart body of ``size`` bytes of file content, produced lazily; counts reads."""

    def __init__(self, size: int, field: str = "file", filename: str = "big.pdf",
                 fields: dict | None = None):
        head = "".join(f'--{BOUNDARY}\r\nContent-Disposition: form-data; name="{k}"\r\n\r\n'
                       f"{v}\r\n" for k, v in (fields or {}).items())
        head += (f'--{BOUNDARY}\r\nContent-Disposition: form-data; name="{field}"; '
                 f'filename="{filename}"\r\nContent-Type: application/pdf\r\n\r\n')
        self._head = head.encode()
        self._tail = f"\r\n--{BOUNDARY}--\r\n".encode()
        self._size = size
        self.length = len(self._head) + size + len(self._tail)
        self.pos = 0

    def readable(self):
        return True

    def seekable(self):
        return True

    def tell(self):
        return self.pos

    def seek(self, offset, whence=0):
        base = {0: 0, 1: self.pos, 2: self.length}[whence]
        self.pos = base + offset
        return self.pos

    def readinto(self, buf):
        n = min(len(buf), self.length - self.pos)
        if n <= 0:
            return 0
        out = bytearray()
        start = self.pos
        while len(out) < n:
            p = start + len(out)
            if p < len(self._head):
                out += self._head[p:p + n - len(out)]
            elif p < len(self._head) + self._size:
                left = len(self._head) + self._size - p
                out += b"\0" * min(left, n - len(out))
            else:
                q = p - len(self._head) - self._size
                out += self._tail[q:q + n - len(out)]
        buf[:n] = out
        self.pos += n
        return n


def many_files_body(n: int, fields: dict | None = None) -> bytes:
    parts = [f'--{BOUNDARY}\r\nContent-Disposition: form-data; name="{k}"\r\n\r\n{v}\r\n'
             for k, v in (fields or {}).items()]
    for i in range(n):
        parts.append(f'--{BOUNDARY}\r\nContent-Disposition: form-data; name="file"; '
                     f'filename="f{i}.png"\r\nContent-Type: image/png\r\n\r\nx\r\n')
    parts.append(f"--{BOUNDARY}--\r\n")
    return "".join(parts).encode()


@pytest.fixture
def disk_uploads(monkeypatch):
    """Every DiskUpload created during the test (a file part written to disk)."""
    made = []
    original = storage.DiskUpload.__init__

    def spy(self, directory):
        original(self, directory)
        made.append(self)

    monkeypatch.setattr(storage.DiskUpload, "__init__", spy)
    return made


def _post(client, url, stream: MultipartStream, **kw):
    return client.post(url, input_stream=stream, content_length=stream.length,
                       content_type=f"multipart/form-data; boundary={BOUNDARY}", **kw)


@pytest.fixture
def csrf_app(app_factory):
    """CSRF and rate limits on, as in production: the CSRF check itself reads the form."""
    app = app_factory(WTF_CSRF_ENABLED=True, RATELIMIT_ENABLED=True)
    with app.app_context():
        yield app


@pytest.mark.parametrize("url", ["/account/login", "/account/register", "/sms/send",
                                 "/files/upload", "/works/1/step/1", "/cases/unit/scan",
                                 "/orgs/admin/import", "/account/logout"])
def test_anonymous_150mb_post_is_refused_before_it_is_written(csrf_app, disk_uploads, url):
    client = csrf_app.test_client()
    stream = MultipartStream(150 * MB)
    resp = _post(client, url, stream)
    assert resp.status_code in (302, 400, 413), resp.status_code
    if resp.status_code == 302:
        assert "/account/login" in resp.headers["Location"]
    assert stream.pos < 64 * 1024, f"{stream.pos} bytes of the body were read"
    assert disk_uploads == []
    assert list((storage.Path(csrf_app.config["UPLOAD_DIR"]) / "tmp").iterdir()) == []


def test_logged_in_post_with_a_file_to_a_non_upload_route_is_refused(client, auth, make_user,
                                                                     disk_uploads):
    auth.login_as(make_user())
    stream = MultipartStream(100 * 1024, fields={"name": "张三"})
    resp = _post(client, "/account/", stream)
    assert resp.status_code in (400, 413)
    assert disk_uploads == []
    assert "不接受文件" in resp.get_data(as_text=True) or resp.status_code == 413


def test_non_upload_route_limit_is_the_form_limit(client, auth, make_user, app):
    auth.login_as(make_user())
    size = app.config["MAX_FORM_LENGTH"] + 1
    resp = client.post("/account/", data=b"name=" + b"a" * size,
                       content_type="application/x-www-form-urlencoded")
    assert resp.status_code == 413


def test_upload_route_limit_is_known_before_the_body(client, auth, make_user, disk_uploads):
    """files.upload?field=image takes at most the image spec (10 MB) plus the form."""
    auth.login_as(make_user())
    stream = MultipartStream(40 * MB, fields={"field": "image", "target": "image"})
    resp = _post(client, "/files/upload?field=image", stream)
    assert resp.status_code == 413
    assert stream.pos == 0 and disk_uploads == []


def test_upload_route_file_count_is_limited_before_the_parts_are_written(
        client, auth, make_user, disk_uploads, app):
    auth.login_as(make_user())
    body = many_files_body(400, fields={"field": "image", "target": "image"})
    resp = client.post("/files/upload?field=image", data=body,
                       content_type=f"multipart/form-data; boundary={BOUNDARY}")
    assert resp.status_code == 413
    assert "文件过多" in resp.get_data(as_text=True)
    assert len(disk_uploads) <= 1
    assert list((storage.Path(app.config["UPLOAD_DIR"]) / "tmp").iterdir()) == []


def test_org_import_limit(client, auth, make_user, disk_uploads):
    auth.login_as(make_user(roles=["platform_admin"]))
    stream = MultipartStream(30 * MB, filename="orgs.xlsx")
    resp = _post(client, "/orgs/admin/import", stream)
    assert resp.status_code == 413
    assert stream.pos == 0 and disk_uploads == []


def test_upload_within_limits_still_works(client, auth, make_user):
    from PIL import Image

    buf = io.BytesIO()
    Image.new("RGB", (8, 6), "white").save(buf, "PNG")
    auth.login_as(make_user())
    resp = client.post("/files/upload?field=image", data={
        "field": "image", "target": "image", "file": (io.BytesIO(buf.getvalue()), "a.png")},
        content_type="multipart/form-data")
    assert resp.status_code == 303
    from kepu.files.models import StoredFile
    assert db.session.query(StoredFile).count() == 1


def test_too_many_form_fields_on_a_non_upload_route(client, auth, make_user):
    auth.login_as(make_user())
    body = "&".join(f"f{i}=x" for i in range(5000))
    resp = client.post("/account/", data=body,
                       content_type="application/x-www-form-urlencoded")
    assert resp.status_code in (413, 422, 200, 303)
    body = b"".join(f'--{BOUNDARY}\r\nContent-Disposition: form-data; name="f{i}"\r\n\r\nx\r\n'
                    .encode() for i in range(3000)) + f"--{BOUNDARY}--\r\n".encode()
    resp = client.post("/account/", data=body,
                       content_type=f"multipart/form-data; boundary={BOUNDARY}")
    assert resp.status_code == 413
