"""下载资源 (seed 001 三.1, 003 二): an edition's resources that platform and national
admins manage — a file or an http(s) link each, with a title and a description, in four
sections (``RESOURCE_KINDS``). 海报背景 rows must be jpg/png images of at least the
edition's minimum size (A4 at 150 dpi by default): the poster renderer reads them.

Files are ``StoredFile`` rows of the field ``sd_res:<campaign id>:file`` attached to the
entity ``sd_resource``; everyone may download them (the public page's own route).
"""
from __future__ import annotations

from dataclasses import dataclass, field
from urllib.parse import urlparse

from sqlalchemy import func, select

from ..admin.models import Campaign
from ..extensions import db
from ..files.models import StoredFile, register_entity
from ..files.operations import UploadError, attach, claim_uploads
from ..files.specs import MB, FieldSpec, register_field_resolver
from ..timeutil import utcnow
from .after_models import RESOURCE_ENTITY, RESOURCE_KINDS, Resource
from .models import is_national
from .files import edition_settings
from .settings import ScienceDaySettings

FIELD_PREFIX = "sd_res"
FILE_EXTS = ("pdf", "doc", "docx", "xls", "xlsx", "ppt", "pptx", "zip", "jpg", "jpeg", "png")
IMAGE_EXTS = ("jpg", "jpeg", "png")
KIND_LABELS = dict(RESOURCE_KINDS)
TITLE_MAX = 200
DESCRIPTION_MAX = 1000
URL_MAX = 500


def can_manage(user) -> bool:
    """Platform and national admins manage the resources."""
    return is_national(user)


def config(settings: ScienceDaySettings, key: str) -> int:
    return settings.section_number("resources", key)


def field_name(campaign_id: int) -> str:
    return f"{FIELD_PREFIX}:{campaign_id}:file"


def spec_for(settings: ScienceDaySettings) -> FieldSpec:
    return FieldSpec("resource_file", "资源文件", FILE_EXTS, config(settings, "file_mb") * MB,
                     max_pixels=120_000_000)


def _resolve(rest: str) -> FieldSpec | None:
    cid, _, name = rest.partition(":")
    settings = edition_settings(cid) if name == "file" else None
    return spec_for(settings) if settings else None


class _Entity:
    """What the files area asks of a resource: anyone may view; admins may remove."""

    def __init__(self, resource: Resource):
        self.resource = resource

    def can_view(self, user) -> bool:
        return True

    def can_edit(self, user) -> bool:
        return can_manage(user)


def _load(resource_id: int):
    row = db.session.get(Resource, resource_id)
    return _Entity(row) if row is not None else None


def init() -> None:
    register_field_resolver(FIELD_PREFIX, _resolve)
    register_entity(RESOURCE_ENTITY, _load)


# --------------------------------------------------------------------------- reading

def sections(campaign_id: int) -> list[tuple[str, str, list[Resource]]]:
    """(kind, label, rows) in the seed's order, each by position (ix_sd_resource_list)."""
    rows = db.session.scalars(
        select(Resource).where(Resource.campaign_id == campaign_id)
        .order_by(Resource.kind, Resource.position, Resource.id)).all()
    by_kind: dict[str, list[Resource]] = {}
    for r in rows:
        by_kind.setdefault(r.kind if r.kind in KIND_LABELS else "other", []).append(r)
    return [(k, label, by_kind.get(k, [])) for k, label in RESOURCE_KINDS]


def backgrounds(campaign_id: int) -> list[Resource]:
    """The edition's poster backgrounds that have a file (for the poster renderer)."""
    return list(db.session.scalars(
        select(Resource).where(Resource.campaign_id == campaign_id,
                               Resource.kind == "background", Resource.file_id.is_not(None))
        .order_by(Resource.position, Resource.id)))


# --------------------------------------------------------------------------- writing

@dataclass
class ResourceForm:
    title: str = ""
    description: str = ""
    kind: str = "other"
    url: str = ""
    file_ids: list = field(default_factory=list)

    @classmethod
    def read(cls, form) -> "ResourceForm":
        return cls(title=(form.get("title") or "").strip(),
                   description=(form.get("description") or "").strip(),
                   kind=(form.get("kind") or "").strip(),
                   url=(form.get("url") or "").strip(),
                   file_ids=[v for v in form.getlist("resource_file") if v])

    @classmethod
    def of(cls, r: Resource) -> "ResourceForm":
        return cls(title=r.title, description=r.description, kind=r.kind, url=r.url,
                   file_ids=[str(r.file_id)] if r.file_id else [])


class InvalidResource(Exception):
    def __init__(self, errors: dict[str, str]):
        super().__init__("；".join(errors.values()))
        self.errors = errors


def stamp(resource: Resource) -> str:
    """The edit form's version: the last save's time (a stale form is refused)."""
    return resource.updated_at.isoformat() if resource.updated_at else ""


def valid_link(url: str) -> bool:
    try:
        parts = urlparse(url)
    except ValueError:
        return False
    return parts.scheme in ("http", "https") and bool(parts.netloc) and " " not in url


def _check(data: ResourceForm, settings: ScienceDaySettings, user, campaign_id: int,
           resource: Resource | None, new_files: list[StoredFile]) -> tuple[dict, StoredFile | None]:
    errors: dict[str, str] = {}
    if not data.title:
        errors["title"] = "请填写资源标题"
    elif len(data.title) > TITLE_MAX:
        errors["title"] = f"资源标题不能超过{TITLE_MAX}字（现为{len(data.title)}字）"
    if len(data.description) > DESCRIPTION_MAX:
        errors["description"] = f"资源说明不能超过{DESCRIPTION_MAX}字（现为{len(data.description)}字）"
    if data.kind not in KIND_LABELS:
        errors["kind"] = "请选择资源类别"
    stored: StoredFile | None = None
    try:
        files = claim_uploads(data.file_ids, user, field_name(campaign_id), RESOURCE_ENTITY,
                              resource.id if resource else None)
    except UploadError as e:
        errors["file"] = e.message
        files = []
    if resource is not None and resource.file_id and str(resource.file_id) in data.file_ids \
            and not any(f.id == resource.file_id for f in files) and resource.file is not None:
        files.insert(0, resource.file)  # uploaded by another admin: keep it
    files = files + [f for f in new_files if f not in files]
    if len(files) > 1:
        errors["file"] = "只能上传一个文件"
    stored = files[0] if files else None
    if data.url and len(data.url) > URL_MAX:
        errors["url"] = f"链接不能超过{URL_MAX}个字符"
    elif data.url and not valid_link(data.url):
        errors["url"] = "请填写以 http:// 或 https:// 开头的完整链接"
    if stored is not None and data.url:
        errors["file"] = "文件和链接只能二选一：请删除文件或清空链接"
    elif stored is None and not data.url and "file" not in errors:
        errors["file"] = "请上传文件或填写链接（二选一）"
    if data.kind == "background" and "file" not in errors:
        if stored is None:
            errors["file"] = "海报背景须上传图片文件（jpg/png），不能是链接"
        elif stored.ext not in IMAGE_EXTS or not stored.width:
            errors["file"] = "海报背景须为 jpg 或 png 图片"
        else:
            w, h = config(settings, "background_min_width"), config(settings,
                                                                    "background_min_height")
            if stored.width < w or stored.height < h:
                errors["file"] = (f"海报背景图片至少需要 {w}×{h} 像素（A4，150 dpi），"
                                  f"当前为 {stored.width}×{stored.height}")
    return errors, stored


def _next_position(campaign_id: int, kind: str) -> int:
    top = db.session.scalar(select(func.max(Resource.position)).where(
        Resource.campaign_id == campaign_id, Resource.kind == kind))
    return (top or 0) + 1


def save(campaign: Campaign, user, data: ResourceForm, resource: Resource | None = None,
         new_files: list[StoredFile] | None = None) -> Resource:
    """Add (``resource`` None) or edit a resource; raises ``InvalidResource``."""
    settings = ScienceDaySettings(campaign)
    errors, stored = _check(data, settings, user, campaign.id, resource, new_files or [])
    if errors:
        raise InvalidResource(errors)
    now = utcnow()
    old_file = None
    if resource is None:
        resource = Resource(campaign_id=campaign.id, kind=data.kind,
                            position=_next_position(campaign.id, data.kind), created_at=now)
        db.session.add(resource)
    elif resource.kind != data.kind:
        resource.position = _next_position(campaign.id, data.kind)
    if resource.file_id and (stored is None or stored.id != resource.file_id):
        old_file = resource.file
    resource.kind = data.kind
    resource.title = data.title
    resource.description = data.description
    resource.url = "" if stored else data.url
    resource.updated_at = now
    db.session.flush()
    resource.file_id = stored.id if stored else None
    if stored is not None:
        attach(stored, RESOURCE_ENTITY, resource.id, commit=False)
    if old_file is not None:
        old_file.entity_type = old_file.entity_id = None  # purged later as an orphan
    db.session.commit()
    return resource


def move(resource: Resource, direction: str) -> bool:
    """Swap with the neighbour above (``up``) or below (``down``) in its section."""
    q = select(Resource).where(Resource.campaign_id == resource.campaign_id,
                               Resource.kind == resource.kind)
    rows = list(db.session.scalars(q.order_by(Resource.position, Resource.id)))
    i = rows.index(resource)
    j = i - 1 if direction == "up" else i + 1 if direction == "down" else -1
    if not 0 <= j < len(rows):
        return False
    rows[i], rows[j] = rows[j], rows[i]
    for n, r in enumerate(rows, start=1):
        r.position = n
    db.session.commit()
    return True


def delete(resource: Resource) -> None:
    stored = resource.file
    if stored is not None:
        stored.entity_type = stored.entity_id = None  # purged later as an orphan
    db.session.delete(resource)
    db.session.commit()
