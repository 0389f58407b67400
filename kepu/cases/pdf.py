"""Printable PDFs of the cases call (WeasyPrint): the unit's summary table (to stamp
and scan) and the 案例信息表 of one case, laid out like the seed's 附件.

Chinese text needs a CJK font embedded in the PDF: ``kepu.fonts.cjk_font()`` (shared
with the Science Day posters). Without one rendering fails with ``PdfFontError``
rather than printing empty boxes.

WeasyPrint may only read the font files, the print stylesheet and ``data:`` URIs
(photos are inlined): no network access, nothing the user typed is ever fetched.
"""
from __future__ import annotations

import base64
import logging
from pathlib import Path

from flask import current_app, render_template

from ..files.storage import path_for
from ..timeutil import fmt, utcnow
from ..fonts import FONT_FAMILY, FontSet, PdfFontError, cjk_font  # noqa: F401 (re-exported)

log = logging.getLogger(__name__)


def font_face_css(fonts: FontSet) -> str:
    css = (f'@font-face {{ font-family: "{FONT_FAMILY}"; font-weight: normal; '
           f'src: url("{fonts.regular.as_uri()}"); }}\n')
    if fonts.bold:
        css += (f'@font-face {{ font-family: "{FONT_FAMILY}"; font-weight: bold; '
                f'src: url("{fonts.bold.as_uri()}"); }}\n')
    css += (f'html {{ font-family: "{FONT_FAMILY}", "DejaVu Sans", sans-serif; }}\n')
    return css


def _stylesheet_path() -> Path:
    return Path(current_app.static_folder) / "css" / "print_pdf.css"


def render_pdf(template: str, **context) -> bytes:
    """Render a standalone HTML template to PDF bytes with the embedded CJK font."""
    import weasyprint
    from weasyprint.text.fonts import FontConfiguration
    from weasyprint.urls import URLFetcher

    fonts = cjk_font()
    css_path = _stylesheet_path()
    allowed = {str(p.resolve()) for p in (fonts.regular, fonts.bold, css_path) if p}

    class LocalOnlyFetcher(URLFetcher):
        def fetch(self, url, headers=None):
            if url.startswith("file:"):
                from urllib.request import url2pathname

                local = str(Path(url2pathname(url.split("?")[0][5:])).resolve())
                if local not in allowed:
                    raise ValueError(f"refused: {url}")
            elif not url.startswith("data:"):
                raise ValueError(f"refused: {url}")
            return super().fetch(url, headers)

    fetcher = LocalOnlyFetcher(allowed_protocols={"file", "data"}, timeout=5)
    font_config = FontConfiguration()
    html = render_template(template, generated_at=fmt(utcnow(), "%Y年%m月%d日"), **context)
    stylesheets = [
        weasyprint.CSS(string=font_face_css(fonts), font_config=font_config,
                       url_fetcher=fetcher),
        weasyprint.CSS(filename=str(css_path), font_config=font_config, url_fetcher=fetcher),
    ]
    document = weasyprint.HTML(string=html, base_url=str(css_path.parent),
                               url_fetcher=fetcher)
    return document.write_pdf(stylesheets=stylesheets, font_config=font_config)


def image_data_uri(stored_file) -> str | None:
    """A stored image as a data: URI (None when the bytes are missing)."""
    try:
        data = path_for(stored_file.stored_name).read_bytes()
    except (OSError, ValueError):
        return None
    mime = stored_file.content_type or "image/jpeg"
    if not mime.startswith("image/"):
        return None
    return f"data:{mime};base64,{base64.b64encode(data).decode('ascii')}"


def summary_pdf(campaign, org, cases, settings, submission=None) -> bytes:
    return render_pdf("cases/pdf_summary.html", campaign=campaign, org=org, cases=cases,
                      settings=settings, submission=submission)


def case_pdf(case, settings, photos, **extra) -> bytes:
    """``photos``: [(label, StoredFile | None)] — embedded as images; ``extra`` goes to
    the template (award_files, status_label)."""
    images = []
    for label, f in photos:
        uri = image_data_uri(f) if f is not None else None
        images.append({"label": label, "uri": uri,
                       "landscape": bool(f and f.width and f.height and f.width >= f.height)})
    return render_pdf("cases/pdf_case.html", case=case, settings=settings, images=images,
                      **extra)
