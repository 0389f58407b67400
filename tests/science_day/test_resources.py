"""下载资源 (issue 12; seed 001 三.1): admins add / edit / reorder / delete resources of an
edition (title ≤ 200, a file or an http(s) link — exactly one, file types and size from
the edition's settings, 海报背景 jpg/png of at least A4 at 150 dpi); the public page lists
them by section and their files download without login."""
from __future__ import annotations

import io
import re

import pytest
from PIL import Image
from sqlalchemy import select

from kepu.admin.models import Campaign
from kepu.extensions import db
from kepu.files.models import StoredFile
from kepu.science_day.after_models import Resource
from kepu.science_day.resources import backgrounds

OPEN = {"windows": {"filing": {"open": "2020-01-01 00:00", "close": "2099-12-31 23:59"}}}
PDF = b"%PDF-1.4\n1 0 obj<<>>endobj\ntrailer<<>>\n%%EOF\n"


def png_bytes(w=60, h=40) -> bytes:
    buf = io.BytesIO()
    Image.new("RGB", (w, h), (200, 30, 30)).save(buf, "PNG")
    return buf.getvalue()


@pytest.fixture
def rs(app, make_user):
    old = Campaign(kind="science_day", year=2025, title="2025年全国科普日", settings=dict(OPEN))
    campaign = Campaign(kind="science_day", year=2026, title="2026年全国科普日",
                        settings=dict(OPEN))
    db.session.add_all([old, campaign])
    db.session.commit()
    return dict(campaign=campaign, old=old,
                national=make_user("13900000801", roles=["national_admin"]),
                platform=make_user("13900000802", roles=["platform_admin"]),
                province=make_user("13900000803",
                                   roles=[("provincial_admin", {"region_code": "11"})]))


def add(client, **over):
    data = {"title": "2025年优秀活动案例集", "description": "往年优秀活动汇编", "kind": "example",
            "url": ""}
    data.update(over)
    return client.post("/science-day/admin/resources", data=data,
                       content_type="multipart/form-data")


def upload(client, campaign, content, name) -> int:
    resp = client.post("/files/upload", data={
        "field": f"sd_res:{campaign.id}:file", "target": "resource_file",
        "resource_file__upload": (io.BytesIO(content), name)},
        content_type="multipart/form-data", headers={"HX-Request": "true"})
    assert resp.status_code == 200, resp.get_data(as_text=True)[:300]
    return int(re.search(r'name="resource_file" value="(\d+)"',
                         resp.get_data(as_text=True)).group(1))


def stamp_of(page) -> str:
    return re.search(r'name="stamp" value="([^"]*)"', page.get_data(as_text=True)).group(1)


def rows(campaign_id=None):
    db.session.expire_all()
    q = select(Resource).order_by(Resource.kind, Resource.position)
    if campaign_id:
        q = q.where(Resource.campaign_id == campaign_id)
    return db.session.scalars(q).all()


def test_add_a_link_and_a_file_and_the_public_page_lists_them(client, auth, rs):
    auth.login_as(rs["national"])
    resp = add(client, url="https://www.kepu.gov.cn/2025/cases")
    assert resp.status_code == 303, resp.get_data(as_text=True)[:500]
    fid = upload(client, rs["campaign"], PDF, "操作指南.pdf")
    resp = add(client, title="平台操作指南", kind="guide", resource_file=str(fid))
    assert resp.status_code == 303, resp.get_data(as_text=True)[:500]
    link, guide = rows()
    assert link.url.startswith("https://") and link.file_id is None
    assert guide.file_id == fid and guide.url == ""
    stored = db.session.get(StoredFile, fid)
    assert (stored.entity_type, stored.entity_id) == ("sd_resource", guide.id)

    auth.logout()
    page = client.get("/science-day/resources")
    html = page.get_data(as_text=True)
    assert page.status_code == 200
    assert "往年优秀活动" in html and "操作指南" in html and "平台操作指南" in html
    assert 'href="https://www.kepu.gov.cn/2025/cases"' in html
    assert "海报背景" not in html  # empty sections are left out
    # the file downloads without login
    dl = client.get(f"/science-day/resources/{guide.id}/file")
    assert dl.status_code == 200 and dl.data == PDF
    assert "attachment" in dl.headers["Content-Disposition"]
    # the public home links the page
    assert "/science-day/resources" in client.get("/science-day/").get_data(as_text=True)


def test_editions_are_separate(client, auth, rs):
    auth.login_as(rs["platform"])
    assert client.post("/science-day/admin/resources?year=2025",
                       data={"title": "旧资源", "kind": "other", "url": "http://a.example/x"},
                       content_type="multipart/form-data").status_code == 303
    assert [r.campaign_id for r in rows()] == [rs["old"].id]
    client.get("/science-day/admin/resources?year=2025")  # (shows the flash)
    assert "旧资源" not in client.get("/science-day/resources").get_data(as_text=True)
    assert "旧资源" in client.get("/science-day/resources?year=2025").get_data(as_text=True)
    assert client.get("/science-day/resources?year=1999").status_code == 404
    assert client.get("/science-day/resources?year=abc").status_code == 404


@pytest.mark.parametrize("over,field,message", [
    ({"title": ""}, "title", "请填写资源标题"),
    ({"title": "长" * 201}, "title", "资源标题不能超过200字"),
    ({"description": "说" * 1001}, "description", "资源说明不能超过1000字"),
    ({"kind": "weird"}, "kind", "请选择资源类别"),
    ({"url": ""}, "file", "请上传文件或填写链接（二选一）"),
    ({"url": "javascript:alert(1)"}, "url", "http:// 或 https://"),
    ({"url": "ftp://files.example/x.pdf"}, "url", "http:// 或 https://"),
    ({"url": "https://"}, "url", "http:// 或 https://"),
    ({"url": "https://a.example/" + "x" * 500}, "url", "链接不能超过500个字符"),
    ({"kind": "background", "url": "https://a.example/bg.png"}, "file", "不能是链接"),
])
def test_rules_are_enforced_with_the_input_kept(client, auth, rs, over, field, message):
    auth.login_as(rs["national"])
    data = {"url": "https://a.example/ok", **over}
    resp = add(client, **data)
    html = resp.get_data(as_text=True)
    assert resp.status_code == 422
    slot = "upload-resource_file-error" if field == "file" else f"{field}-error"
    assert f'id="{slot}"' in html and message in html
    if data.get("title"):
        assert data["title"][:50] in html  # what was typed is kept
    assert rows() == []


def test_exactly_one_of_file_and_link(client, auth, rs):
    auth.login_as(rs["national"])
    fid = upload(client, rs["campaign"], PDF, "a.pdf")
    resp = add(client, url="https://a.example/x", resource_file=str(fid))
    assert resp.status_code == 422
    assert "文件和链接只能二选一" in resp.get_data(as_text=True)
    assert "https://a.example/x" in resp.get_data(as_text=True)
    fid2 = upload(client, rs["campaign"], PDF, "b.pdf")
    resp = add(client, resource_file=[str(fid), str(fid2)])
    assert resp.status_code == 422 and "只能上传一个文件" in resp.get_data(as_text=True)
    assert rows() == []


def test_file_types_and_size_follow_the_settings(client, auth, rs):
    auth.login_as(rs["national"])
    campaign = rs["campaign"]
    bad = client.post("/files/upload", data={
        "field": f"sd_res:{campaign.id}:file", "target": "resource_file",
        "resource_file__upload": (io.BytesIO(b"MZ\x90\x00"), "tool.exe")},
        content_type="multipart/form-data", headers={"HX-Request": "true"})
    assert bad.status_code == 422 and "不支持的文件格式" in bad.get_data(as_text=True)
    # without JavaScript: the file posted with the form
    resp = client.post("/science-day/admin/resources", data={
        "title": "说明", "kind": "other",
        "resource_file__upload": (io.BytesIO(b"hello"), "readme.txt")},
        content_type="multipart/form-data")
    assert resp.status_code == 422 and "不支持的文件格式" in resp.get_data(as_text=True)
    assert "说明" in resp.get_data(as_text=True)
    # the limit is a setting: 1 MB refuses a 1.5 MB file
    campaign.settings = {**campaign.settings, "resources": {"file_mb": 1}}
    db.session.commit()
    big = b"%PDF-1.4\n" + b"0" * (1536 * 1024)
    resp = client.post("/science-day/admin/resources", data={
        "title": "大文件", "kind": "other",
        "resource_file__upload": (io.BytesIO(big), "big.pdf")},
        content_type="multipart/form-data")
    assert resp.status_code == 422 and "文件大小不能超过1MB" in resp.get_data(as_text=True)
    # and a file without JavaScript works
    resp = client.post("/science-day/admin/resources", data={
        "title": "小文件", "kind": "guide",
        "resource_file__upload": (io.BytesIO(PDF), "small.pdf")},
        content_type="multipart/form-data")
    assert resp.status_code == 303
    assert rows()[0].file.original_name == "small.pdf"


def test_unreadable_resource_settings_never_take_a_page_down(client, auth, rs):
    rs["campaign"].settings = {**rs["campaign"].settings,
                               "resources": {"file_mb": "lots", "background_min_width": None}}
    db.session.commit()
    auth.login_as(rs["national"])
    resp = client.get("/science-day/admin/resources")
    assert resp.status_code == 200 and "1240×1754" in resp.get_data(as_text=True)


def test_poster_backgrounds_are_large_images(client, auth, rs):
    auth.login_as(rs["national"])
    pdf = upload(client, rs["campaign"], PDF, "bg.pdf")
    resp = add(client, title="背景一", kind="background", resource_file=str(pdf))
    assert resp.status_code == 422 and "须为 jpg 或 png 图片" in resp.get_data(as_text=True)
    small = upload(client, rs["campaign"], png_bytes(800, 1131), "small.png")
    resp = add(client, title="背景一", kind="background", resource_file=str(small))
    html = resp.get_data(as_text=True)
    assert resp.status_code == 422 and "至少需要 1240×1754 像素" in html and "800×1131" in html
    big = upload(client, rs["campaign"], png_bytes(1240, 1754), "bg.png")
    resp = add(client, title="背景一", kind="background", resource_file=str(big))
    assert resp.status_code == 303
    assert [r.title for r in backgrounds(rs["campaign"].id)] == ["背景一"]


def test_edit_reorder_delete(client, auth, rs):
    auth.login_as(rs["national"])
    for t in ("一", "二", "三"):
        assert add(client, title=t, url=f"https://a.example/{t}").status_code == 303
    one, two, three = rows()
    assert [r.position for r in (one, two, three)] == [1, 2, 3]
    assert client.post(f"/science-day/admin/resources/{three.id}/move",
                       data={"direction": "up"}).status_code == 303
    assert [r.title for r in rows()] == ["一", "三", "二"]
    client.post(f"/science-day/admin/resources/{one.id}/move", data={"direction": "up"})
    assert [r.title for r in rows()] == ["一", "三", "二"]  # already first
    assert client.post(f"/science-day/admin/resources/{one.id}/move",
                       data={"direction": "sideways"}).status_code == 400
    html = client.get("/science-day/resources").get_data(as_text=True)
    assert html.index(">一<") < html.index(">三<") < html.index(">二<")

    page = client.get(f"/science-day/admin/resources/{two.id}/edit")
    assert page.status_code == 200 and 'value="二"' in page.get_data(as_text=True)
    opened = stamp_of(page)
    resp = client.post(f"/science-day/admin/resources/{two.id}/edit",
                       data={"title": "", "kind": "guide", "url": "https://b.example",
                             "stamp": opened}, content_type="multipart/form-data")
    assert resp.status_code == 422 and "请填写资源标题" in resp.get_data(as_text=True)
    # link → file
    fid = upload(client, rs["campaign"], PDF, "g.pdf")
    resp = client.post(f"/science-day/admin/resources/{two.id}/edit",
                       data={"title": "二（指南）", "kind": "guide", "url": "",
                             "resource_file": str(fid), "stamp": opened},
                       content_type="multipart/form-data")
    assert resp.status_code == 303
    db.session.expire_all()
    two = db.session.get(Resource, two.id)
    assert (two.title, two.kind, two.url, two.file_id) == ("二（指南）", "guide", "", fid)
    # a second tab opened before that save: refused, its input kept, nothing changed
    resp = client.post(f"/science-day/admin/resources/{two.id}/edit",
                       data={"title": "旧标签页", "kind": "guide", "url": "https://x.example",
                             "stamp": opened}, content_type="multipart/form-data")
    assert resp.status_code == 409 and "已被其他管理员修改" in resp.get_data(as_text=True)
    assert 'value="旧标签页"' in resp.get_data(as_text=True)
    db.session.expire_all()
    assert db.session.get(Resource, two.id).title == "二（指南）"
    # file → link: the old file is no longer served
    page = client.get(f"/science-day/admin/resources/{two.id}/edit")
    resp = client.post(f"/science-day/admin/resources/{two.id}/edit",
                       data={"title": "二", "kind": "guide", "url": "https://c.example",
                             "stamp": stamp_of(page)}, content_type="multipart/form-data")
    assert resp.status_code == 303
    assert client.get(f"/science-day/resources/{two.id}/file").status_code == 404
    assert db.session.get(StoredFile, fid).entity_type is None

    assert client.post(f"/science-day/admin/resources/{two.id}/delete").status_code == 303
    assert [r.title for r in rows()] == ["一", "三"]


def test_public_file_route_serves_only_resource_files(client, auth, rs):
    auth.login_as(rs["national"])
    assert add(client, url="https://a.example").status_code == 303
    link = rows()[0]
    assert client.get(f"/science-day/resources/{link.id}/file").status_code == 404
    assert client.get("/science-day/resources/999999/file").status_code == 404


def test_others_cannot_manage(client, auth, rs):
    auth.login_as(rs["province"])
    assert client.get("/science-day/admin/resources").status_code == 404
    assert add(client, url="https://a.example").status_code == 404
    assert rows() == []
