"""Upload fields of 全国科普日, resolved per edition: ``science_day:<campaign_id>:<field>``
(poster and up to N detail images). Attached files belong to the entity ``activity``,
whose ``can_view`` decides downloads; files of an approved, listed activity are public
through the public site's own routes."""
from __future__ import annotations

from ..extensions import db
from ..files.models import register_entity
from ..files.specs import MB, FieldSpec, register_field_resolver
from .models import ENTITY, F_DETAIL_IMAGE, F_POSTER, Activity
from .settings import KIND, ScienceDaySettings

IMAGE_EXTS = ("jpg", "jpeg", "png")


def field_name(campaign_id: int, field: str) -> str:
    return f"{KIND}:{campaign_id}:{field}"


def spec_for(settings: ScienceDaySettings, field: str) -> FieldSpec | None:
    if field == F_POSTER:
        return FieldSpec(F_POSTER, "活动宣传图", IMAGE_EXTS, settings.limit("poster_mb") * MB,
                         image=True)
    if field == F_DETAIL_IMAGE:
        return FieldSpec(F_DETAIL_IMAGE, "活动详情图片", IMAGE_EXTS,
                         settings.limit("image_mb") * MB, image=True, multiple=True,
                         max_files=settings.limit("detail_images"))
    return _after_spec(settings, field)


# 补充活动信息 (issue 12): photos of the effect (3–10 for 推优), 1–3 short videos,
# participant evidence photos.
VIDEO_EXTS = ("mp4", "mov")
EFFECT_PHOTOS_MAX, EFFECT_VIDEOS_MAX, PARTICIPANT_PHOTOS_MAX = 10, 3, 5


def _mb(settings: ScienceDaySettings, key: str) -> int:
    """A size limit in MB; an unreadable stored value falls back to the default."""
    from .settings import DEFAULTS

    try:
        value = settings.limit(key)
    except (TypeError, ValueError, KeyError):
        value = 0
    return value if value > 0 else DEFAULTS["limits"][key]


def _after_spec(settings: ScienceDaySettings, field: str) -> FieldSpec | None:
    from .after_models import F_EFFECT_PHOTO, F_EFFECT_VIDEO, F_PARTICIPANT_PHOTO

    if field == F_EFFECT_PHOTO:
        return FieldSpec(F_EFFECT_PHOTO, "活动成效照片", IMAGE_EXTS,
                         _mb(settings, "photo_mb") * MB, image=True, multiple=True,
                         max_files=EFFECT_PHOTOS_MAX)
    if field == F_EFFECT_VIDEO:
        return FieldSpec(F_EFFECT_VIDEO, "活动短视频", VIDEO_EXTS,
                         _mb(settings, "video_mb") * MB, multiple=True,
                         max_files=EFFECT_VIDEOS_MAX)
    if field == F_PARTICIPANT_PHOTO:
        return FieldSpec(F_PARTICIPANT_PHOTO, "参与人数佐证照片", IMAGE_EXTS,
                         _mb(settings, "photo_mb") * MB, image=True, multiple=True,
                         max_files=PARTICIPANT_PHOTOS_MAX)
    return None


def edition_settings(cid: str) -> ScienceDaySettings | None:
    """The settings of the Science Day edition a field name's campaign id names (the
    ``<campaign_id>`` of ``<prefix>:<campaign_id>:<field>``), or None."""
    from ..admin.models import Campaign

    if not cid.isdigit() or len(cid) > 12:
        return None
    campaign = db.session.get(Campaign, int(cid))
    if campaign is None or campaign.kind != KIND:
        return None
    return ScienceDaySettings(campaign)


def _resolve(rest: str) -> FieldSpec | None:
    cid, _, field = rest.partition(":")
    settings = edition_settings(cid)
    return spec_for(settings, field) if settings else None


def _load(activity_id: int):
    return db.session.get(Activity, activity_id)


def init_files() -> None:
    register_field_resolver(KIND, _resolve)
    register_entity(ENTITY, _load)
