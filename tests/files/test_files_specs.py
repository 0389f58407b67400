"""Field specs and magic-byte signatures (no app needed)."""
from __future__ import annotations

import pytest
from files_testdata import MP3, MP4, OLE2, PDF, docx_bytes, image_bytes

from kepu.files.specs import (MB, FieldSpec, format_size, get_field, register_field,
                              register_field_resolver)
from kepu.files.validation import content_matches


def test_builtin_fields_carry_the_seed_limits():
    att = get_field("attachment")
    assert att.label == "获奖情况附件"
    assert set(att.extensions) == {"jpg", "jpeg", "png", "pdf", "doc", "docx", "wps", "ppt",
                                   "pptx", "xls", "xlsx", "zip", "mp4"}
    assert att.max_bytes == 100 * MB and att.multiple
    assert att.size_message == "文件大小不能超过100MB"
    assert att.extension_message.startswith("不支持的文件格式，仅支持：.jpg、.jpeg、.png、.pdf、.doc")

    work = get_field("work_file")
    assert work.multiple and work.max_bytes == 100 * MB and work.max_files is None
    assert work.hint.startswith("支持多个文件，单个最大100MB")
    assert {"pdf", "docx", "mp4", "mov", "mp3", "zip"} <= set(work.extensions)
    assert "exe" not in work.extensions and "html" not in work.extensions

    image = get_field("image")
    assert image.image and image.max_bytes == 10 * MB and image.max_files == 1

    land, port = get_field("photo_landscape"), get_field("photo_portrait")
    assert land.max_bytes == port.max_bytes == 1 * MB
    assert land.size_message == "文件大小不能超过1MB"
    assert land.orientation_message == "请上传横版照片（宽度大于高度）"
    assert port.orientation_message == "请上传竖版照片（高度大于宽度）"
    assert land.accept == ".jpg,.jpeg,.png"


def test_format_size():
    assert format_size(100 * MB) == "100MB"
    assert format_size(1536 * 1024) == "1.5MB"
    assert format_size(2048) == "2KB"
    assert format_size(12) == "12B"


def test_spec_is_data_and_can_be_overridden_and_resolved():
    base = get_field("attachment")
    small = register_field(base.replace(name="t_small_attachment", max_bytes=5 * MB))
    assert get_field("t_small_attachment").size_message == "文件大小不能超过5MB"
    assert base.max_bytes == 100 * MB  # the original is untouched

    register_field_resolver("t_edition", lambda rest: small.replace(max_bytes=int(rest) * MB))
    spec = get_field("t_edition:7")
    assert spec.name == "t_edition:7" and spec.max_bytes == 7 * MB
    assert get_field("nope") is None and get_field("unknown_prefix:1") is None

    with pytest.raises(ValueError):
        FieldSpec("bad", "坏", {"jpg"}, MB, orientation="diagonal")
    with pytest.raises(ValueError):
        register_field(FieldSpec("a:b", "坏", {"jpg"}, MB))


@pytest.mark.parametrize("ext, body, ok", [
    ("pdf", PDF, True),
    ("pdf", b"just some text, not a pdf at all", False),
    ("pdf", docx_bytes(), False),
    ("docx", docx_bytes(), True),
    ("xlsx", b"%PDF-1.7 nope", False),
    ("doc", OLE2, True),
    ("doc", b"{\\rtf1\\ansi hello}", True),
    ("wps", OLE2, True),
    ("ppt", docx_bytes(), False),
    ("mp4", MP4, True),
    ("mp4", PDF, False),
    ("mov", MP4, True),
    ("mp3", MP3, True),
    ("mp3", b"\xff\xfb\x90\x00" + b"\x00" * 20, True),
    ("mp3", b"hello world", False),
    ("jpg", image_bytes(4, 3, "JPEG"), True),
    ("jpg", image_bytes(4, 3, "PNG"), False),
    ("png", image_bytes(4, 3, "PNG"), True),
    ("png", image_bytes(4, 3, "JPEG"), False),
    ("zip", docx_bytes(), True),
    ("zip", b"MZ\x90\x00" + b"\x00" * 60, False),
])
def test_content_matches_signature_table(ext, body, ok):
    assert content_matches(ext, body[:8192]) is ok


def test_unknown_extension_falls_back_to_filetype():
    gif = image_bytes(4, 3, "GIF")
    assert content_matches("gif", gif)
    assert content_matches("bmp", image_bytes(4, 3, "BMP"))
    assert not content_matches("bmp", gif)
    assert not content_matches("heic", b"plain text")
