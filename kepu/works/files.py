"""Upload fields of the works call, resolved per edition from its settings.

Field names are ``works:<campaign_id>:<field>`` so each edition's limits (edited by
admins at runtime) apply on every worker. Attached files belong to the entity
``work``, whose ``can_view`` decides downloads.
"""
from __future__ import annotations

from ..extensions import db
from ..files.models import register_entity
from ..files.specs import MB, FieldSpec, register_field_resolver
from .models import ENTITY, F_AWARD_FILES, F_COVER, F_COVER_SUB, F_WORK_FILES, load_work
from .settings import WorksSettings

IMAGE_EXTS = ("jpg", "jpeg", "png")


def field_name(campaign_id: int, field: str) -> str:
    return f"works:{campaign_id}:{field}"


def spec_for(settings: WorksSettings, field: str) -> FieldSpec | None:
    limits = settings["limits"]
    if field == F_COVER:
        return FieldSpec(F_COVER, "作品封面", IMAGE_EXTS, int(limits["cover_mb"]) * MB, image=True)
    if field == F_COVER_SUB:
        return FieldSpec(F_COVER_SUB, "封面副图", IMAGE_EXTS, int(limits["cover_mb"]) * MB, image=True)
    if field == F_WORK_FILES:
        return FieldSpec(F_WORK_FILES, "作品文件", settings["work_file_extensions"],
                         int(limits["work_file_mb"]) * MB, multiple=True,
                         max_files=int(limits["work_files_max"]))
    if field == F_AWARD_FILES:
        return FieldSpec(F_AWARD_FILES, "获奖情况附件", settings["award_extensions"],
                         int(limits["award_file_mb"]) * MB, multiple=True, max_files=10)
    return None


def _resolve(rest: str) -> FieldSpec | None:
    from ..admin.models import Campaign

    cid, _, field = rest.partition(":")
    if not cid.isdigit():
        return None
    campaign = db.session.get(Campaign, int(cid))
    if campaign is None or campaign.kind != "works":
        return None
    return spec_for(WorksSettings(campaign), field)


def init_files() -> None:
    register_field_resolver("works", _resolve)
    register_entity(ENTITY, load_work)
