"""The public 全国科普日 site (seed 002 三(三), the kepuri.cn front): no login.

URL map (blueprint ``science_day``, prefix /science-day):

  GET  /                                          public_home     the edition's theme, counts,
                                                                  search box (?year= an edition)
  GET  /events/                                   public_list     search and filters, paged
  GET  /events/<id>                               public_detail   one approved, listed activity
  GET  /events/<id>/images/<file_id>              public_image    its poster / detail images
                                                                  (?thumb=1: a small JPEG)

Every page reads ``ActivityPublic`` only (the last approved version); an activity that
is not 已通过, or is 下架, is 404 — its images too. (The officer's own pages are /activities/…, apply_routes.)
"""
from __future__ import annotations

from functools import lru_cache
from pathlib import Path

from flask import abort, current_app, request, send_file, url_for
from sqlalchemy import bindparam, select

from ..admin.models import Campaign
from ..extensions import db
from ..files.models import StoredFile
from ..files.storage import path_for
from ..htmx import render
from ..pagecache import cached_page
from ..orgs import regions
from ..timeutil import utcnow
from . import bp
from .models import ActivityPublic, ActivityPublicVersion
from .operations import search
from .operations.common import current_campaign
from .settings import KIND

search.install()

THUMB_SIZE = (480, 360)

_EDITION_VERSION = select(ActivityPublicVersion.n).where(
    ActivityPublicVersion.campaign_id == bindparam("cid"))
_DETAIL_VERSION = (select(ActivityPublic.campaign_id, ActivityPublicVersion.n)
                   .join(ActivityPublicVersion,
                         ActivityPublicVersion.campaign_id == ActivityPublic.campaign_id)
                   .where(ActivityPublic.activity_id == bindparam("aid")))


def _edition_version():
    """The shown edition and its public version (kepu.pagecache); None: no edition."""
    campaign = _edition(optional=True)
    if campaign is None:
        return None
    return campaign.id, db.session.scalar(_EDITION_VERSION, {"cid": campaign.id}) or 0


def _detail_version():
    """The activity's edition and its version, and the latest edition (the page links
    to another edition with ?year=); None when it has no public row (→ 404, uncached)."""
    aid = request.view_args.get("activity_id") if request.view_args else None
    row = db.session.execute(_DETAIL_VERSION, {"aid": aid}).first() if aid else None
    if row is None:
        return None
    return tuple(row), getattr(current_campaign(), "id", None)


def _edition(optional: bool = False) -> Campaign | None:
    """The edition shown: ?year=, else the latest; 404 when there is none (``optional``:
    None when no edition exists yet)."""
    year = (request.args.get("year") or "").strip()
    if year:
        if not year.isdigit() or len(year) != 4:
            abort(404)
        campaign = db.session.scalar(select(Campaign).where(Campaign.kind == KIND,
                                                            Campaign.year == int(year)))
    else:
        campaign = current_campaign()
    if campaign is None and not (optional and not year):
        abort(404)
    return campaign


def time_status(row: ActivityPublic, now=None) -> str:
    """未开始 / 进行中 / 已结束 (derived, never stored)."""
    now = now or utcnow()
    if row.start_at is None:
        return ""
    if now < row.start_at:
        return "未开始"
    if row.end_at is None or now <= row.end_at:
        return "进行中"
    return "已结束"


STATUS_BADGES = {"未开始": "badge-pending", "进行中": "badge-ok", "已结束": ""}


@lru_cache(maxsize=4096)
def region_name(code: str | None) -> str:
    return regions.full_name(code) if code else ""


def _common(campaign) -> dict:
    settings = search.edition_settings(campaign)
    return dict(campaign=campaign, settings=settings, time_status=time_status,
                status_badges=STATUS_BADGES, region_name=region_name,
                year_arg={"year": campaign.year} if request.args.get("year") else {})


@bp.get("/", endpoint="public_home")
@cached_page(_edition_version)
def public_home():
    campaign = _edition(optional=True)
    if campaign is None:
        return render("science_day/public/home.html", campaign=None)
    counts = search.home_counts(campaign.id)
    return render("science_day/public/home.html", counts=counts,
                  provinces=regions.provinces(), **_common(campaign))


def _region_state(f: search.PublicFilters) -> dict:
    return {"provinces": regions.provinces(),
            "cities": regions.children(f.province) if f.province else [],
            "counties": regions.children(f.city) if f.city else [],
            "direct": regions.is_direct(f.province)}


@bp.get("/events/", endpoint="public_list")
@cached_page(_edition_version)
def public_list():
    campaign = _edition()
    common = _common(campaign)
    f = search.PublicFilters.from_args(request.args, common["settings"])
    page = search.public_page(campaign.id, f)
    base_args = {**common["year_arg"], **f.args()}
    # one URL built per page, the cards' links by concatenation (20 url_for calls less)
    detail_base = url_for("science_day.public_detail", activity_id=0)[:-1]
    return render("science_day/public/list.html", block="results", f=f, page=page,
                  base_args=base_args, region_state=_region_state(f), detail_base=detail_base,
                  statuses=search.STATUSES, **common)


def _visible(activity_id: int) -> ActivityPublic:
    row = db.session.get(ActivityPublic, activity_id)
    if row is None or not row.listed:
        abort(404)
    return row


@bp.get("/events/<int:activity_id>", endpoint="public_detail")
@cached_page(_detail_version)
def public_detail(activity_id: int):
    row = _visible(activity_id)
    campaign = db.session.get(Campaign, row.campaign_id)
    common = _common(campaign)
    common["year_arg"] = {} if campaign.id == getattr(current_campaign(), "id", None) \
        else {"year": campaign.year}
    return render("science_day/public/detail.html", a=row, d=row.data or {}, **common)


def _thumbnail(stored: StoredFile, source: Path) -> Path:
    """A small JPEG of an image, made once and kept beside the instance."""
    from PIL import Image, ImageOps

    folder = Path(current_app.instance_path) / "thumbs"
    target = folder / f"{stored.sha256 or stored.stored_name}-{THUMB_SIZE[0]}.jpg"
    if not target.exists():
        folder.mkdir(parents=True, exist_ok=True)
        with Image.open(source) as im:
            im = ImageOps.exif_transpose(im)
            im.thumbnail(THUMB_SIZE)
            tmp = target.with_suffix(".part")
            im.convert("RGB").save(tmp, "JPEG", quality=82)
            tmp.replace(target)
    return target


@bp.get("/events/<int:activity_id>/images/<int:file_id>", endpoint="public_image")
def public_image(activity_id: int, file_id: int):
    row = _visible(activity_id)
    allowed = {row.poster_file_id, *((row.data or {}).get("image_ids") or [])}
    if file_id not in allowed:
        abort(404)
    stored = db.session.get(StoredFile, file_id)
    if stored is None:
        abort(404)
    path = path_for(stored.stored_name)
    if not path.is_file():
        abort(404)
    mimetype = stored.content_type
    if request.args.get("thumb") == "1":
        try:
            path, mimetype = _thumbnail(stored, path), "image/jpeg"
        except Exception:  # noqa: BLE001 - an unreadable image: the original instead
            current_app.logger.warning("thumbnail of file %s failed", file_id)
    resp = send_file(path, mimetype=mimetype, conditional=True, max_age=3600)
    resp.headers["X-Content-Type-Options"] = "nosniff"
    resp.headers["Content-Disposition"] = "inline"
    return resp
