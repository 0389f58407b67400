"""生成活动海报 (seed 001 三.7, 003 二): the rendering.

A poster is an A4 portrait JPEG at 300 dpi (2480 × 3508 px, ``SIZE``): print
resolution for the usual A4 print-out, and small enough (about 1–2 MB) to be the
activity's 宣传图 (the edition's ``poster_mb`` limit). It shows, from top to bottom:

- “{year}年全国科普日” and the edition's theme (settings ``theme``) on a dark band;
- the activity's name, large;
- 活动时间 (Beijing time), 活动地点 (the region's full name, 线上 noted) and 主办单位;
- a QR code to the activity's public page, with a caption.

Every text is fitted into its box (``fit_text``): wrapped by measured width (CJK
breaks anywhere, Latin words and numbers stay whole when they fit), shrunk step by
step down to the box's minimum size; at the minimum size more lines are used, and
only when even those do not fit is the last line cut with “…”. ``render_poster``
returns the image and the ``LayoutBox`` of everything it drew, so tests can check
that every box stays inside ``SAFE`` (a 5 % margin: what a printer may trim).

Backgrounds: the edition's ``Resource`` rows of kind ``background`` with an image file
(scaled and cropped to fill the page), or one of ``BUILTIN`` drawn here with Pillow
(gradients and shapes, no downloaded assets). Text sits on translucent bands, so it
stays readable on any background.

Chinese is drawn with the CJK font the PDF code embeds (``kepu.fonts.cjk_font``:
Noto Sans CJK SC, the Simplified Chinese face of the collection).
"""
from __future__ import annotations

import io
import math
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path

from PIL import Image, ImageDraw, ImageFilter, ImageFont, ImageOps

from ..timeutil import to_local

#: A4 portrait at 300 dpi
DPI = 300
SIZE = (2480, 3508)
MARGIN = 124                     # 5 % of the width (about 10.5 mm)
SAFE = (MARGIN, MARGIN, SIZE[0] - MARGIN, SIZE[1] - MARGIN)
JPEG_QUALITY = 88
ELLIPSIS = "…"

#: built-in backgrounds: key -> label (drawn by ``_builtin``)
BUILTIN = {
    "sky": "星空蓝",
    "dawn": "朝霞橙",
    "leaf": "青绿",
}
#: bumped when the drawing of a built-in background changes (cached thumbnails)
BUILTIN_VERSION = 2


class PosterError(Exception):
    def __init__(self, message: str):
        super().__init__(message)
        self.message = message


@dataclass(frozen=True)
class LayoutBox:
    """What was drawn where: ``label`` (e.g. "name"), the text lines, the font size and
    the bounding box of the ink (x0, y0, x1, y1) in poster pixels."""

    label: str
    box: tuple[int, int, int, int]
    lines: tuple[str, ...] = ()
    size: int = 0
    truncated: bool = False


@dataclass
class PosterData:
    year: int
    theme: str
    name: str
    time_text: str
    place: str
    hosts: list[str]
    url: str


@dataclass
class Rendered:
    image: Image.Image
    boxes: list[LayoutBox] = field(default_factory=list)
    qr_payload: str = ""

    def box(self, label: str) -> LayoutBox:
        return next(b for b in self.boxes if b.label == label)

    def jpeg(self) -> bytes:
        buf = io.BytesIO()
        self.image.convert("RGB").save(buf, "JPEG", quality=JPEG_QUALITY, optimize=True,
                                       dpi=(DPI, DPI))
        return buf.getvalue()


# --------------------------------------------------------------------------- fonts

_font_cache: dict[tuple[str, int], ImageFont.FreeTypeFont] = {}


def font_paths() -> tuple[Path, Path]:
    """(regular, bold) CJK font files: the lookup of the PDF code (config PDF_CJK_FONT,
    Noto Sans CJK paths, fc-match). Raises ``PosterError`` without one."""
    from ..fonts import PdfFontError, cjk_font

    try:
        fonts = cjk_font()
    except PdfFontError as e:
        raise PosterError("服务器缺少中文字体，暂不能生成海报，请联系平台管理员") from e
    return fonts.regular, fonts.bold or fonts.regular


def _font(path: Path, size: int) -> ImageFont.FreeTypeFont:
    key = (str(path), size)
    f = _font_cache.get(key)
    if f is None:
        if len(_font_cache) > 256:
            _font_cache.clear()
        f = _font_cache[key] = ImageFont.truetype(str(path), size)
    return f


# --------------------------------------------------------------------------- text fitting

def _tokens(text: str) -> list[str]:
    """Break opportunities: each CJK character alone, runs of Latin letters / digits
    (and what sticks to them) together, spaces as their own token."""
    out: list[str] = []
    run = ""
    for ch in text:
        if ch.isascii() and not ch.isspace():
            run += ch
            continue
        if run:
            out.append(run)
            run = ""
        out.append(ch)
    if run:
        out.append(run)
    return out


NO_LINE_START = set("，。、；：！？）》」』”’…·,.;:!?)]")


def wrap(text: str, font: ImageFont.FreeTypeFont, width: int) -> list[str]:
    """Lines of ``text`` no wider than ``width`` (a token wider than the line is split
    by characters); explicit newlines are kept."""
    lines: list[str] = []
    for para in (text or "").split("\n"):
        line = ""
        for tok in _tokens(para):
            if not line and tok.isspace():
                continue
            cand = line + tok
            if font.getlength(cand) <= width:
                line = cand
                continue
            if tok in NO_LINE_START and line and font.getlength(cand) <= width * 1.04:
                # a closing punctuation mark hangs a little rather than start a line
                line = cand
                continue
            if line:
                lines.append(line.rstrip())
                line = ""
                tok = tok.lstrip()
            while tok and font.getlength(tok) > width:
                cut = len(tok)
                while cut > 1 and font.getlength(tok[:cut]) > width:
                    cut -= 1
                lines.append(tok[:cut])
                tok = tok[cut:]
            line = tok
        lines.append(line.rstrip())
    while len(lines) > 1 and not lines[-1]:
        lines.pop()
    return lines


@dataclass
class Fitted:
    lines: list[str]
    font: ImageFont.FreeTypeFont
    size: int
    line_height: int
    truncated: bool

    @property
    def height(self) -> int:
        return self.line_height * len(self.lines)


def fit_text(text: str, path: Path, width: int, height: int, max_size: int,
             min_size: int, leading: float = 1.3, max_lines: int | None = None) -> Fitted:
    """The largest size in [min_size, max_size] at which ``text`` wrapped to ``width``
    fits ``height`` (and ``max_lines``); at ``min_size`` the lines that fit, the last
    one cut with “…”."""
    size = max_size
    while True:
        font = _font(path, size)
        lh = math.ceil(size * leading)
        lines = wrap(text, font, width)
        cap = max(1, height // lh)
        if max_lines:
            cap = min(cap, max_lines)
        if len(lines) <= cap:
            return Fitted(lines, font, size, lh, False)
        if size <= min_size:
            break
        size = max(min_size, int(size * 0.92))
    kept = lines[:cap]
    last = kept[-1]
    while last and font.getlength(last + ELLIPSIS) > width:
        last = last[:-1]
    kept[-1] = last.rstrip("，、,;； ") + ELLIPSIS
    return Fitted(kept, font, size, lh, True)


def draw_text(draw: ImageDraw.ImageDraw, fitted: Fitted, x0: int, y0: int, width: int,
              fill, label: str, align: str = "center") -> LayoutBox:
    """Draw the fitted lines from the top of the box; returns the ink's bounding box."""
    xs, ys, xe, ye = [], [], [], []
    for i, line in enumerate(fitted.lines):
        if not line:
            continue
        w = fitted.font.getlength(line)
        x = x0 + (width - w) / 2 if align == "center" else x0
        # top of the line box + half the leading
        y = y0 + i * fitted.line_height + (fitted.line_height - fitted.size) / 2
        draw.text((x, y), line, font=fitted.font, fill=fill, anchor="la")
        bx0, by0, bx1, by1 = draw.textbbox((x, y), line, font=fitted.font, anchor="la")
        xs.append(bx0), ys.append(by0), xe.append(bx1), ye.append(by1)
    if not xs:
        return LayoutBox(label, (x0, y0, x0, y0), tuple(fitted.lines), fitted.size,
                         fitted.truncated)
    return LayoutBox(label, (int(min(xs)), int(min(ys)), int(math.ceil(max(xe))),
                             int(math.ceil(max(ye)))), tuple(fitted.lines), fitted.size,
                     fitted.truncated)


# --------------------------------------------------------------------------- backgrounds

def _gradient(size, top, bottom) -> Image.Image:
    """A vertical gradient from ``top`` to ``bottom`` (RGB tuples)."""
    mask = Image.linear_gradient("L").resize(size)
    return Image.composite(Image.new("RGB", size, bottom), Image.new("RGB", size, top), mask)


def _builtin(key: str, size=SIZE) -> Image.Image:
    w, h = size
    sc = w / SIZE[0]         # shapes scale with the page (thumbnails are drawn small)
    if key == "dawn":
        img = _gradient(size, (255, 147, 64), (196, 38, 62))
        over = Image.new("RGBA", size, (0, 0, 0, 0))
        d = ImageDraw.Draw(over)
        d.ellipse((w * 0.45, -h * 0.08, w * 1.25, h * 0.5), fill=(255, 214, 102, 110))
        for i in range(7):
            y = h * (0.58 + i * 0.06)
            d.polygon([(0, y), (w, y - h * 0.12), (w, y - h * 0.11), (0, y + h * 0.012)],
                      fill=(255, 255, 255, 26))  # light rays
    elif key == "leaf":
        img = _gradient(size, (18, 140, 126), (10, 62, 90))
        over = Image.new("RGBA", size, (0, 0, 0, 0))
        d = ImageDraw.Draw(over)
        for cx, cy, r, a in ((0.1, 0.12, 0.32, 40), (0.92, 0.3, 0.42, 34),
                             (0.2, 0.86, 0.5, 30), (0.85, 0.95, 0.3, 44)):
            d.ellipse((w * (cx - r), h * cy - w * r, w * (cx + r), h * cy + w * r),
                      fill=(160, 235, 170, a))
        # a hexagon lattice (molecules)
        r = w * 0.045
        for row in range(-1, int(h / (r * 1.5)) + 2):
            for col in range(-1, int(w / (r * 1.8)) + 2):
                cx = col * r * 1.75 + (r * 0.87 if row % 2 else 0)
                cy = row * r * 1.5
                pts = [(cx + r * math.cos(math.radians(60 * k + 30)),
                        cy + r * math.sin(math.radians(60 * k + 30))) for k in range(7)]
                d.line(pts, fill=(255, 255, 255, 18), width=max(1, round(3 * sc)))
    else:  # "sky" and anything unknown
        img = _gradient(size, (14, 42, 110), (40, 120, 210))
        over = Image.new("RGBA", size, (0, 0, 0, 0))
        d = ImageDraw.Draw(over)
        # orbits and stars, placed deterministically
        cx, cy = w * 0.8, h * 0.22
        for k, r in enumerate((0.25, 0.38, 0.52)):
            d.ellipse((cx - w * r, cy - w * r * 0.55, cx + w * r, cy + w * r * 0.55),
                      outline=(255, 255, 255, 40), width=max(1, round(6 * sc)))
            a = math.radians(40 + 95 * k)
            px, py = cx + w * r * math.cos(a), cy + w * r * 0.55 * math.sin(a)
            r_dot = 22 * sc
            d.ellipse((px - r_dot, py - r_dot, px + r_dot, py + r_dot), fill=(255, 255, 255, 150))
        seed = 7
        for _ in range(220):
            seed = (seed * 1103515245 + 12345) % (2 ** 31)
            x = seed % w
            seed = (seed * 1103515245 + 12345) % (2 ** 31)
            y = seed % h
            s = max(0.6, (2 + seed % 5) * sc)
            d.ellipse((x - s, y - s, x + s, y + s), fill=(255, 255, 255, 60 + seed % 120))
    img = img.convert("RGBA")
    img.alpha_composite(over)
    return img.convert("RGB")


def builtin_background(key: str, size=SIZE) -> Image.Image:
    return _builtin(key, size)


def file_background(path: Path, size=SIZE) -> Image.Image:
    """An uploaded background, scaled and cropped to fill the page. Raises
    ``PosterError`` when the file cannot be read as an image."""
    try:
        with Image.open(path) as im:
            im = ImageOps.exif_transpose(im)
            im.draft("RGB", size)
            return ImageOps.fit(im.convert("RGB"), size, Image.Resampling.LANCZOS)
    except (OSError, ValueError, Image.DecompressionBombError) as e:
        raise PosterError("所选背景图片无法读取，请选择其他背景") from e


# --------------------------------------------------------------------------- data

def time_text(start: datetime | None, end: datetime | None) -> str:
    """“2026年9月20日 09:00 – 12:00”, or with the end's date when it is another day
    (Beijing time)."""
    s, e = to_local(start), to_local(end)
    if s is None:
        return "时间待定"
    head = f"{s.year}年{s.month}月{s.day}日 {s:%H:%M}"
    if e is None:
        return head
    if (e.year, e.month, e.day) == (s.year, s.month, s.day):
        return f"{head} – {e:%H:%M}"
    if e.year == s.year:
        return f"{head} – {e.month}月{e.day}日 {e:%H:%M}"
    return f"{head} – {e.year}年{e.month}月{e.day}日 {e:%H:%M}"


# --------------------------------------------------------------------------- rendering

def _qr(url: str, side: int) -> Image.Image:
    import segno

    qr = segno.make(url, error="m", micro=False)
    buf = io.BytesIO()
    # scale so that the symbol (with a 2-module quiet zone) is about ``side`` px
    modules = qr.symbol_size(scale=1, border=2)[0]
    qr.save(buf, kind="png", scale=max(1, side // modules), border=2, dark="#111111",
            light="#ffffff")
    buf.seek(0)
    img = Image.open(buf).convert("RGB")
    return img.resize((side, side), Image.Resampling.NEAREST)


def _band(canvas: Image.Image, box, fill, radius: int = 0, blur: bool = False) -> None:
    over = Image.new("RGBA", canvas.size, (0, 0, 0, 0))
    ImageDraw.Draw(over).rounded_rectangle(box, radius=radius, fill=fill)
    if blur:
        over = over.filter(ImageFilter.GaussianBlur(2))
    canvas.alpha_composite(over)


def _row(draw, label: str, value: str, key: str, left: int, top: int, width: int,
         height: int, bold: Path, regular: Path, boxes: list, min_size: int = 44,
         indent: int | None = None) -> int:
    """One info row: the bold label, then the value wrapped beside it. Returns the
    bottom of the row."""
    size = 64
    f_label = _font(bold, size)
    label_text = f"{label}："
    draw.text((left, top + (size * 0.35 - 8)), label_text, font=f_label, fill=(232, 90, 48),
              anchor="la")
    lb = draw.textbbox((left, top + (size * 0.35 - 8)), label_text, font=f_label, anchor="la")
    boxes.append(LayoutBox(f"{key}_label", tuple(int(v) for v in lb), (label_text,), size))
    if indent is None:
        indent = int(f_label.getlength(label_text)) + 12
    fitted = fit_text(value or "—", regular, width - indent, height, 72, min_size,
                      leading=1.35)
    boxes.append(draw_text(draw, fitted, left + indent, top, width - indent, (30, 30, 30),
                           key, align="left"))
    return top + max(fitted.height, int(size * 1.35))


def render_poster(data: PosterData, background: Image.Image) -> Rendered:
    """Draw the poster on ``background`` (scaled to ``SIZE`` when it is not)."""
    regular, bold = font_paths()
    W, H = SIZE
    x0, y0, x1, y1 = SAFE
    inner = x1 - x0
    canvas = background.convert("RGBA")
    if canvas.size != SIZE:
        canvas = ImageOps.fit(canvas, SIZE)
    boxes: list[LayoutBox] = []
    pad = 90

    # --- header band: 全国科普日 and the theme
    header_bottom = 780
    _band(canvas, (0, 0, W, header_bottom), (8, 20, 48, 150))
    draw = ImageDraw.Draw(canvas)
    title = fit_text(f"{data.year}年全国科普日", bold, inner - 2 * pad, 260, 190, 120,
                     leading=1.25, max_lines=1)
    boxes.append(draw_text(draw, title, x0 + pad, y0 + 30, inner - 2 * pad,
                           (255, 255, 255), "title"))
    theme = (data.theme or "").strip()
    if theme:
        if not theme.startswith(("“", "\"", "「")):
            theme = f"“{theme}”"
        top = boxes[-1].box[3] + 50
        t = fit_text(theme, regular, inner - 2 * pad, header_bottom - 50 - top, 104, 60,
                     leading=1.3)
        boxes.append(draw_text(draw, t, x0 + pad, top, inner - 2 * pad, (255, 226, 140),
                               "theme"))

    # --- the card: name, time, place, hosts; the QR code at its foot
    card = (x0, header_bottom + 70, x1, y1)
    _band(canvas, card, (255, 255, 255, 235), radius=56)
    draw = ImageDraw.Draw(canvas)
    cx0, cy0, cx1, cy1 = card
    cw = cx1 - cx0 - 2 * pad
    left = cx0 + pad

    qr_side = 500
    qr_top = cy1 - pad - qr_side
    name = fit_text(data.name or "", bold, cw, 700, 170, 96, leading=1.28)
    hosts = "、".join(h for h in data.hosts if h) or "—"

    def body(draw, top: int) -> int:
        """Name, rule, time, place, hosts from ``top``; returns the bottom. With
        ``draw`` None only measures."""
        d = draw or ImageDraw.Draw(Image.new("RGB", (8, 8)))
        sink: list[LayoutBox] = boxes if draw else []
        drawn = draw_text(d, name, left, top, cw, (16, 38, 92), "name")
        sink.append(drawn)
        rule_y = max(top + name.height, drawn.box[3]) + 60
        rule = ((cx0 + cx1) // 2 - 110, rule_y, (cx0 + cx1) // 2 + 110, rule_y + 16)
        d.rounded_rectangle(rule, radius=8, fill=(232, 90, 48))
        sink.append(LayoutBox("rule", rule))
        # time and place: at most 2 lines each; the hosts get what is left
        y = rule_y + 16 + 70
        # the values line up after the widest label
        indent = int(_font(bold, 64).getlength("主办单位：")) + 12
        y = _row(d, "时间", data.time_text, "time", left, y, cw, 2 * 98, bold, regular,
                 sink, indent=indent) + 36
        y = _row(d, "地点", data.place, "place", left, y, cw, 2 * 98, bold, regular,
                 sink, indent=indent) + 36
        return _row(d, "主办单位", hosts, "hosts", left, y, cw, max(qr_top - 60 - y, 60),
                    bold, regular, sink, min_size=40, indent=indent)

    # the body sits in the middle of the space above the QR code when there is room
    first = cy0 + pad
    spare = (qr_top - 60) - body(None, first)
    body(draw, first + max(0, spare // 2))

    # QR code (right) and its caption (left) at the foot of the card
    qr_left = cx1 - pad - qr_side
    canvas.paste(_qr(data.url, qr_side), (qr_left, qr_top))
    boxes.append(LayoutBox("qr", (qr_left, qr_top, qr_left + qr_side, qr_top + qr_side)))
    draw = ImageDraw.Draw(canvas)
    cap_w = qr_left - 60 - left
    cap = fit_text("扫码查看活动详情", bold, cap_w, 110, 84, 48, max_lines=1)
    cap_top = qr_top + qr_side // 2 - cap.height
    boxes.append(draw_text(draw, cap, left, cap_top, cap_w, (16, 38, 92), "caption",
                           align="left"))
    sub = fit_text(f"{data.year}年全国科普日 · 活动报名与详情", regular, cap_w, 80, 54, 36,
                   max_lines=1)
    boxes.append(draw_text(draw, sub, left, cap_top + cap.height + 16, cap_w, (90, 90, 90),
                           "caption_sub", align="left"))
    return Rendered(canvas.convert("RGB"), boxes, data.url)
