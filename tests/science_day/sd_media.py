"""Tiny real media files for the 补充活动信息 tests: ffmpeg is not installed, so a
minimal MP4 / MOV is built by hand — an ``ftyp`` box and a ``moov`` box holding an
``mvhd`` (timescale and duration), which is what mutagen reads the length from."""
from __future__ import annotations

import io
import struct

from PIL import Image


def _box(kind: bytes, payload: bytes) -> bytes:
    return struct.pack(">I", 8 + len(payload)) + kind + payload


def mp4_bytes(seconds: float, *, quicktime: bool = False, timescale: int = 600,
              pad: int = 0) -> bytes:
    brand = b"qt  " if quicktime else b"isom"
    ftyp = _box(b"ftyp", brand + struct.pack(">I", 512) + brand + b"mp41")
    mvhd = _box(b"mvhd", b"\0\0\0\0"                      # version 0, flags
                + struct.pack(">IIII", 0, 0, timescale, int(round(seconds * timescale)))
                + struct.pack(">IH", 0x00010000, 0x0100) + b"\0" * 10
                + struct.pack(">9I", 0x00010000, 0, 0, 0, 0x00010000, 0, 0, 0, 0x40000000)
                + b"\0" * 24 + struct.pack(">I", 2))
    out = ftyp + _box(b"moov", mvhd)
    if pad:
        out += _box(b"free", b"\0" * pad)
    return out


def broken_mp4_bytes() -> bytes:
    """Starts like an MP4 (passes the type check) but has no readable movie header."""
    return _box(b"ftyp", b"isom" + struct.pack(">I", 512) + b"isommp41") + b"\0" * 64


def png_bytes(size=(64, 48), color=(30, 120, 200)) -> bytes:
    buf = io.BytesIO()
    Image.new("RGB", size, color).save(buf, "PNG")
    return buf.getvalue()


def xlsx_bytes(rows, header=("姓名", "手机号", "单位", "职务/职称")) -> bytes:
    from openpyxl import Workbook

    wb = Workbook()
    ws = wb.active
    if header:
        ws.append(list(header))
    for r in rows:
        ws.append(list(r))
    buf = io.BytesIO()
    wb.save(buf)
    return buf.getvalue()
