"""save_upload and friends: validation, storage on disk, attach/claim/purge."""
from __future__ import annotations

import hashlib
import io
import os
from datetime import timedelta
from pathlib import Path

import pytest
from files_testdata import PDF, docx_bytes, image_bytes
from werkzeug.datastructures import FileStorage

from kepu.extensions import db
from kepu.files.models import StoredFile
from kepu.files.operations import (UploadError, attach, claim_uploads, delete_file,
                                   purge_orphans, save_upload)
from kepu.files.specs import KB, FieldSpec, get_field
from kepu.files.storage import path_for
from kepu.timeutil import utcnow


def fs(data: bytes, name: str) -> FileStorage:
    return FileStorage(io.BytesIO(data), filename=name)


def stored_files(app) -> list[Path]:
    """Every file on disk under UPLOAD_DIR (temp parts included)."""
    root = Path(app.config["UPLOAD_DIR"])
    return [p for p in root.rglob("*") if p.is_file()]


def refused(app, spec, data, name, owner) -> str:
    with pytest.raises(UploadError) as exc:
        save_upload(spec, fs(data, name), owner)
    assert db.session.query(StoredFile).count() == 0
    assert stored_files(app) == []  # nothing kept, not even the temp copy
    return exc.value.message


def test_stores_with_random_name_sha256_and_metadata(app, make_user):
    user = make_user()
    f = save_upload("attachment", fs(PDF, "获奖证书 2025.pdf"), user)
    assert f.id and f.owner_id == user.id and f.field == "attachment"
    assert f.original_name == "获奖证书 2025.pdf" and f.ext == "pdf"
    assert f.content_type == "application/pdf" and f.size == len(PDF)
    assert f.sha256 == hashlib.sha256(PDF).hexdigest()
    assert f.width is None and not f.is_image
    # random stored name, nothing of the user's name in it, sharded under UPLOAD_DIR
    assert "获奖" not in f.stored_name and "pdf" not in f.stored_name
    assert len(f.stored_name) >= 32
    path = path_for(f.stored_name)
    assert path.read_bytes() == PDF
    assert path.parent.parent == Path(app.config["UPLOAD_DIR"])
    g = save_upload("attachment", fs(PDF, "获奖证书 2025.pdf"), user)
    assert g.stored_name != f.stored_name and g.sha256 == f.sha256
    assert not list((Path(app.config["UPLOAD_DIR"]) / "tmp").iterdir())


def test_original_name_is_cleaned_of_paths_and_control_chars(app, make_user):
    f = save_upload("attachment", fs(PDF, "C:\\fakepath\\..\\报告\x00\n.pdf"), make_user())
    assert f.original_name == "报告.pdf"


@pytest.mark.parametrize("name", ["virus.exe", "page.html", "notes.txt", "noext", "archive.rar"])
def test_extension_outside_whitelist_is_refused(app, make_user, name):
    msg = refused(app, "attachment", PDF, name, make_user())
    assert msg == ("不支持的文件格式，仅支持：.jpg、.jpeg、.png、.pdf、.doc、.docx、.wps、.ppt、"
                   ".pptx、.xls、.xlsx、.zip、.mp4")


@pytest.mark.parametrize("data, name", [
    (b"this is plain text pretending to be a pdf", "论文.pdf"),
    (PDF, "fake.docx"),
    (docx_bytes(), "fake.mp4"),
    (image_bytes(10, 10, "PNG"), "photo.jpg"),
])
def test_content_not_matching_extension_is_refused(app, make_user, data, name):
    assert refused(app, "attachment", data, name, make_user()) == "文件内容与扩展名不符"


def test_size_limit_uses_the_field_setting(app, make_user):
    user = make_user()
    small = FieldSpec("t_small", "小附件", {"pdf"}, 2 * KB)
    assert refused(app, small, PDF + b"0" * (2 * KB), "big.pdf", user) == "文件大小不能超过2KB"
    ok = save_upload(small, fs(PDF + b"0" * (2 * KB - len(PDF)), "exact.pdf"), user)
    assert ok.size == 2 * KB
    # the configured 1 MB of the photo fields, with a real JPEG just over it
    big_jpeg = image_bytes(40, 30, "JPEG") + b"\x00" * (1024 * 1024)
    db.session.delete(ok)
    db.session.commit()
    os.unlink(path_for(ok.stored_name))
    assert refused(app, "photo_landscape", big_jpeg, "a.jpg", user) == "文件大小不能超过1MB"


def test_empty_file_is_refused(app, make_user):
    assert refused(app, "attachment", b"", "empty.pdf", make_user()) == "文件为空，请重新选择"


def test_image_orientation_rules(app, make_user):
    user = make_user()
    landscape, portrait = image_bytes(120, 80, "JPEG"), image_bytes(80, 120, "PNG")
    assert refused(app, "photo_landscape", portrait, "p.png", user) == \
        "请上传横版照片（宽度大于高度）"
    assert refused(app, "photo_portrait", landscape, "l.jpg", user) == \
        "请上传竖版照片（高度大于宽度）"
    assert refused(app, "photo_portrait", image_bytes(90, 90, "PNG"), "sq.png", user) == \
        "请上传竖版照片（高度大于宽度）"
    a = save_upload("photo_landscape", fs(landscape, "横.jpg"), user)
    b = save_upload("photo_portrait", fs(portrait, "竖.png"), user)
    assert (a.width, a.height, a.is_image) == (120, 80, True)
    assert (b.width, b.height) == (80, 120)


def test_exif_rotation_decides_the_displayed_orientation(app, make_user):
    # stored 120x80 but EXIF says "rotate 90°": shown as portrait 80x120
    rotated = image_bytes(120, 80, "JPEG", exif_orientation=6)
    f = save_upload("photo_portrait", fs(rotated, "phone.jpg"), make_user())
    assert (f.width, f.height) == (80, 120)


def test_broken_image_is_refused(app, make_user):
    png = image_bytes(50, 40, "PNG")
    broken = png[:40] + b"\x00" * 200  # valid signature, garbage after the header
    assert refused(app, "image", broken, "x.png", make_user()) == "图片文件已损坏或无法识别"
    truncated_jpeg = b"\xff\xd8\xff\xe0" + b"garbage" * 20
    assert refused(app, "image", truncated_jpeg, "x.jpg", make_user()) == \
        "图片文件已损坏或无法识别"


def test_images_in_non_image_fields_are_decoded_too(app, make_user):
    f = save_upload("attachment", fs(image_bytes(64, 48, "PNG"), "scan.png"), make_user())
    assert (f.width, f.height) == (64, 48)
    with pytest.raises(UploadError, match="图片文件已损坏或无法识别"):
        save_upload("attachment", fs(image_bytes(8, 8, "PNG")[:30], "bad.png"), make_user())
    assert db.session.query(StoredFile).count() == 1


def test_decompression_bomb_is_refused(app, make_user):
    tiny_limit = get_field("image").replace(name="t_tiny_pixels", max_pixels=100)
    msg = refused(app, tiny_limit, image_bytes(20, 20, "PNG"), "bomb.png", make_user())
    assert msg.startswith("图片像素尺寸过大")


def test_claim_uploads_only_returns_own_files_of_that_field(app, make_user):
    alice, bob = make_user(), make_user()
    a1 = save_upload("attachment", fs(PDF, "a1.pdf"), alice)
    a2 = save_upload("work_file", fs(PDF, "a2.pdf"), alice)
    b1 = save_upload("attachment", fs(PDF, "b1.pdf"), bob)
    got = claim_uploads([str(b1.id), "junk", str(a2.id), str(a1.id), str(a1.id)], alice,
                        "attachment")
    assert got == [a1]
    attach(a1, "work", 5)
    assert claim_uploads([a1.id], alice, "attachment") == []  # attached elsewhere
    assert claim_uploads([a1.id], alice, "attachment", "work", 5) == [a1]
    p1 = save_upload("photo_landscape", fs(image_bytes(30, 20, "PNG"), "1.png"), alice)
    p2 = save_upload("photo_landscape", fs(image_bytes(30, 20, "PNG"), "2.png"), alice)
    with pytest.raises(UploadError, match="只能上传一个文件"):
        claim_uploads([p1.id, p2.id], alice, "photo_landscape")


def test_delete_file_removes_row_and_bytes(app, make_user):
    f = save_upload("attachment", fs(PDF, "x.pdf"), make_user())
    path = path_for(f.stored_name)
    delete_file(f)
    assert not path.exists() and db.session.query(StoredFile).count() == 0


def test_purge_orphans_deletes_only_old_unattached_files(app, make_user):
    user = make_user()
    old = save_upload("attachment", fs(PDF, "old.pdf"), user)
    kept_attached = save_upload("attachment", fs(PDF, "att.pdf"), user)
    fresh = save_upload("attachment", fs(PDF, "new.pdf"), user)
    attach(kept_attached, "work", 1)
    for f in (old, kept_attached):
        f.created_at = utcnow() - timedelta(days=2)
    db.session.commit()
    old_path = path_for(old.stored_name)
    stale_tmp = Path(app.config["UPLOAD_DIR"]) / "tmp" / "up-stale"
    stale_tmp.write_bytes(b"x")
    os.utime(stale_tmp, (0, 0))
    assert purge_orphans(timedelta(days=1)) == (1, 1)
    assert not old_path.exists() and not stale_tmp.exists()
    remaining = {f.original_name for f in db.session.query(StoredFile)}
    assert remaining == {"att.pdf", "new.pdf"}
    assert path_for(fresh.stored_name).exists()
