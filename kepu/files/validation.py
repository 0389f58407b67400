"""Content checks for uploaded files: magic bytes and images.

Every check reads the file on disk (never the whole file into memory) and raises
``UploadError`` with the Chinese message shown next to the upload widget.
"""
from __future__ import annotations

import warnings
from typing import Callable

import filetype
from PIL import Image, UnidentifiedImageError

from .specs import FieldSpec


class UploadError(Exception):
    """A refused upload; ``message`` is shown to the user as is."""

    def __init__(self, message: str):
        super().__init__(message)
        self.message = message


MISMATCH_MESSAGE = "文件内容与扩展名不符"
BAD_IMAGE_MESSAGE = "图片文件已损坏或无法识别"
HEAD_BYTES = 8192  # filetype looks at most at the first 8 KiB


# --- signatures ------------------------------------------------------------------

def _pdf(h: bytes) -> bool:
    # The header may follow a little junk (some generators); the spec allows 1 KiB.
    return b"%PDF-" in h[:1024]


def _zip(h: bytes) -> bool:
    return h[:4] == b"PK\x03\x04" or h[:4] == b"PK\x05\x06"  # empty archive


def _ole2(h: bytes) -> bool:
    return h[:8] == b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"


def _rtf(h: bytes) -> bool:
    return h[:5] == b"{\\rtf"


def _ftyp(h: bytes) -> bool:
    return h[4:8] == b"ftyp"


def _quicktime(h: bytes) -> bool:
    return _ftyp(h) or h[4:8] in (b"moov", b"mdat", b"wide", b"free", b"skip", b"pnot")


def _mp3(h: bytes) -> bool:
    return h[:3] == b"ID3" or (len(h) > 1 and h[0] == 0xFF and (h[1] & 0xE0) == 0xE0)


def _jpeg(h: bytes) -> bool:
    return h[:3] == b"\xff\xd8\xff"


def _png(h: bytes) -> bool:
    return h[:8] == b"\x89PNG\r\n\x1a\n"


def _gif(h: bytes) -> bool:
    return h[:6] in (b"GIF87a", b"GIF89a")


def _webp(h: bytes) -> bool:
    return h[:4] == b"RIFF" and h[8:12] == b"WEBP"


def _rar(h: bytes) -> bool:
    return h[:7] == b"Rar!\x1a\x07\x00" or h[:8] == b"Rar!\x1a\x07\x01\x00"


def _7z(h: bytes) -> bool:
    return h[:6] == b"7z\xbc\xaf\x27\x1c"


def _text(h: bytes) -> bool:
    if b"\x00" in h:
        return False
    for enc in ("utf-8", "gb18030"):
        try:
            h.decode(enc)
            return True
        except UnicodeDecodeError as e:
            if e.start >= len(h) - 4:  # a multibyte character cut at the end of the head
                return True
    return False


# Our own table wins where it has an entry. WPS files are OLE2 (older) or OOXML zip
# (newer WPS versions); Word also happily saves RTF under .doc.
SIGNATURES: dict[str, tuple[Callable[[bytes], bool], ...]] = {
    "pdf": (_pdf,),
    "zip": (_zip,),
    "docx": (_zip,), "xlsx": (_zip,), "pptx": (_zip,),
    "doc": (_ole2, _rtf), "xls": (_ole2,), "ppt": (_ole2,), "et": (_ole2, _zip),
    "wps": (_ole2, _zip, _rtf),
    "mp4": (_ftyp,), "m4a": (_ftyp,), "mov": (_quicktime,),
    "mp3": (_mp3,),
    "jpg": (_jpeg,), "jpeg": (_jpeg,), "png": (_png,), "gif": (_gif,), "webp": (_webp,),
    "rar": (_rar,), "7z": (_7z,),
    "txt": (_text,), "csv": (_text,),
}

_EXECUTABLE_MIMES = {"application/x-msdownload", "application/x-executable",
                     "application/x-mach-binary", "application/x-sh"}

# filetype's extension names that are acceptable for one of ours.
_FILETYPE_ALIASES = {"jpeg": {"jpg"}, "jpg": {"jpg"}, "tif": {"tif", "tiff"}, "tiff": {"tif"},
                     "m4v": {"m4v", "mp4"}, "mpeg": {"mpg"}, "mpg": {"mpg"}}


def read_head(path: str, n: int = HEAD_BYTES) -> bytes:
    with open(path, "rb") as f:
        return f.read(n)


def content_matches(ext: str, head: bytes) -> bool:
    """Do the first bytes of a file look like ``ext``?"""
    checks = SIGNATURES.get(ext)
    if checks is not None:
        if not any(check(head) for check in checks):
            return False
        # Refuse polyglots that are really executables (e.g. "MZ..." with %PDF- later).
        kind = filetype.guess(head)
        if kind is not None and kind.mime in _EXECUTABLE_MIMES:
            return False
        return True
    # Unknown to our table: trust filetype when it knows the type.
    kind = filetype.guess(head)
    if kind is None:
        return False
    return ext == kind.extension or ext in _FILETYPE_ALIASES.get(kind.extension, set())


# --- images ------------------------------------------------------------------------

_PIL_FORMATS = {"jpg": {"JPEG", "MPO"}, "jpeg": {"JPEG", "MPO"}, "png": {"PNG"},
                "gif": {"GIF"}, "webp": {"WEBP"}, "bmp": {"BMP"}}
_ROTATED = {5, 6, 7, 8}  # EXIF orientations that swap width and height


def _exif_orientation(path: str) -> int:
    """EXIF orientation tag (1 = as stored); broken EXIF is not a reason to refuse."""
    try:
        with Image.open(path) as im:
            return int(im.getexif().get(0x0112, 1) or 1)
    except Exception:
        return 1


def check_image(spec: FieldSpec, path: str, ext: str) -> tuple[int, int]:
    """Decode headers with Pillow, verify, refuse bombs; returns displayed (w, h)."""
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            with Image.open(path) as im:
                fmt = im.format
                width, height = im.size
                if width * height > spec.max_pixels:
                    raise UploadError(
                        f"图片像素尺寸过大（{width}×{height}），请压缩后上传")
                im.verify()
            orientation = _exif_orientation(path)
    except UploadError:
        raise
    except (Image.DecompressionBombError, Image.DecompressionBombWarning):
        raise UploadError("图片像素尺寸过大，请压缩后上传")
    except (UnidentifiedImageError, OSError, SyntaxError, ValueError, EOFError):
        raise UploadError(BAD_IMAGE_MESSAGE)
    allowed = _PIL_FORMATS.get(ext)
    if allowed is not None and fmt not in allowed:
        raise UploadError(MISMATCH_MESSAGE)
    if width < 1 or height < 1:
        raise UploadError(BAD_IMAGE_MESSAGE)
    if orientation in _ROTATED:
        width, height = height, width
    if spec.orientation == "landscape" and not width > height:
        raise UploadError(spec.orientation_message)
    if spec.orientation == "portrait" and not height > width:
        raise UploadError(spec.orientation_message)
    return width, height
