"""The CJK font the PDFs embed and the posters draw with (shared by the campaigns).

``cjk_font()`` finds one (config ``PDF_CJK_FONT``, the usual Debian/Fedora paths of Noto
Sans CJK, then ``fc-match``); from a font collection (.ttc) the Simplified Chinese face
is extracted once into a cache directory, because a ``@font-face`` pointing at a .ttc
uses its first face (Japanese glyph shapes). Without a CJK font it raises
``PdfFontError`` rather than printing empty boxes.
"""
from __future__ import annotations

import logging
import os
import shutil
import subprocess
import tempfile
import threading
from dataclasses import dataclass
from pathlib import Path

from flask import current_app

log = logging.getLogger(__name__)

FONT_FAMILY = "KepuCJK"
TTC_SC_FAMILY_HINTS = ("SC", "CN", "Hans", "GB")

REGULAR_CANDIDATES = [
    "/usr/share/fonts/opentype/noto/NotoSansCJK-Regular.ttc",
    "/usr/share/fonts/noto-cjk/NotoSansCJK-Regular.ttc",
    "/usr/share/fonts/google-noto-cjk/NotoSansCJK-Regular.ttc",
    "/usr/share/fonts/opentype/noto/NotoSansCJKsc-Regular.otf",
    "/usr/share/fonts/noto-cjk/NotoSansSC-Regular.otf",
    "/usr/share/fonts/truetype/wqy/wqy-microhei.ttc",
    "/usr/share/fonts/truetype/wqy/wqy-zenhei.ttc",
]
BOLD_CANDIDATES = [
    "/usr/share/fonts/opentype/noto/NotoSansCJK-Bold.ttc",
    "/usr/share/fonts/noto-cjk/NotoSansCJK-Bold.ttc",
    "/usr/share/fonts/google-noto-cjk/NotoSansCJK-Bold.ttc",
    "/usr/share/fonts/opentype/noto/NotoSansCJKsc-Bold.otf",
]
TEST_CHARS = "中国科普案例"


class PdfFontError(RuntimeError):
    """No font with Chinese glyphs was found: the PDF would show empty boxes."""


@dataclass(frozen=True)
class FontSet:
    regular: Path
    bold: Path | None


_lock = threading.Lock()
_cache: dict[str, FontSet] = {}


def _covers_chinese(font) -> bool:
    cmap = font.getBestCmap() or {}
    return all(ord(ch) in cmap for ch in TEST_CHARS)


def _fc_match(pattern: str) -> tuple[str, int] | None:
    exe = shutil.which("fc-match")
    if not exe:
        return None
    try:
        out = subprocess.run([exe, "-f", "%{file}\n%{index}", pattern], capture_output=True,
                             text=True, timeout=10, check=False).stdout
    except (OSError, subprocess.SubprocessError):
        return None
    parts = out.strip().split("\n")
    if not parts or not parts[0]:
        return None
    try:
        index = int(parts[1]) if len(parts) > 1 else 0
    except ValueError:
        index = 0
    return parts[0], index


def _cache_dir() -> Path:
    configured = current_app.config.get("PDF_FONT_CACHE_DIR")
    path = Path(configured) if configured else Path(tempfile.gettempdir()) / "kepu-fonts"
    path.mkdir(parents=True, exist_ok=True)
    return path


def _usable(path: str | Path, index: int | None = None) -> Path | None:
    """A single-face font file with Chinese glyphs for ``path`` (extracting the
    Simplified Chinese face of a collection), or None."""
    from fontTools.ttLib import TTCollection, TTFont, TTLibError

    path = Path(path)
    if not path.is_file():
        return None
    try:
        if path.suffix.lower() not in (".ttc", ".otc"):
            with TTFont(str(path), lazy=True) as font:
                return path if _covers_chinese(font) else None
        stat = path.stat()
        coll = TTCollection(str(path), lazy=True)
        faces = coll.fonts
        order = list(range(len(faces)))
        names = {i: (faces[i]["name"].getDebugName(1) or "") for i in order}
        preferred = [i for i in order
                     if set(names[i].replace("-", " ").split()) & set(TTC_SC_FAMILY_HINTS)]
        if index is not None and 0 <= index < len(faces):
            preferred.insert(0, index)
        for i in preferred + order:
            if not _covers_chinese(faces[i]):
                continue
            target = _cache_dir() / f"{path.stem}-{i}-{int(stat.st_mtime)}-{stat.st_size}.otf"
            if not target.exists():
                fd, tmp = tempfile.mkstemp(dir=target.parent, suffix=".part")
                os.close(fd)
                try:
                    # A fresh lazy copy of the face: its tables are copied as raw bytes
                    # (0.5 s). Saving ``faces[i]`` would recompile the cmap just read by
                    # _covers_chinese, which takes about 20 s per CJK face.
                    with TTFont(str(path), fontNumber=i, lazy=True) as face:
                        face.save(tmp)
                    os.replace(tmp, target)
                finally:
                    if os.path.exists(tmp):
                        os.unlink(tmp)
            return target
    except (OSError, TTLibError, KeyError, ValueError) as exc:
        log.warning("font %s unusable: %s", path, exc)
    return None


def cjk_font() -> FontSet:
    """The regular (and, if found, bold) CJK font files to embed; cached per process."""
    key = str(current_app.config.get("PDF_CJK_FONT") or "")
    with _lock:
        if key in _cache:
            return _cache[key]
        regular = None
        tried: list[str] = []
        candidates = ([key] if key else []) + REGULAR_CANDIDATES
        for cand in candidates:
            tried.append(cand)
            regular = _usable(cand, 2 if cand.endswith("NotoSansCJK-Regular.ttc") else None)
            if regular:
                break
        if regular is None:
            for pattern in ("Noto Sans CJK SC:lang=zh-cn", "sans-serif:lang=zh-cn"):
                found = _fc_match(pattern)
                if found:
                    tried.append(found[0])
                    regular = _usable(found[0], found[1])
                    if regular:
                        break
        if regular is None:
            raise PdfFontError(
                "未找到可嵌入PDF的中文字体（已尝试：" + "、".join(tried) + "）。"
                "请安装 fonts-noto-cjk，或在配置 PDF_CJK_FONT 中指定字体文件路径。")
        bold = None
        if not key:
            for cand in BOLD_CANDIDATES:
                bold = _usable(cand, 2 if cand.endswith("NotoSansCJK-Bold.ttc") else None)
                if bold:
                    break
        fonts = FontSet(regular, bold)
        _cache[key] = fonts
        return fonts
