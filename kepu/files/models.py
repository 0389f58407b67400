from __future__ import annotations

from datetime import datetime
from typing import Any, Callable

from sqlalchemy import ForeignKey, Index, String
from sqlalchemy.orm import Mapped, mapped_column

from ..extensions import db
from ..timeutil import utcnow


# entity_type -> loader(entity_id) returning an object with ``can_view(user)`` (and,
# optionally, ``can_edit(user)`` deciding whether its owner may remove attached files).
_ENTITY_LOADERS: dict[str, Callable[[int], Any]] = {}


def register_entity(entity_type: str, loader: Callable[[int], Any]) -> None:
    """Campaigns call this at import time, e.g. ``register_entity("work", load_work)``."""
    _ENTITY_LOADERS[entity_type] = loader


def load_entity(entity_type: str | None, entity_id: int | None):
    if entity_type is None or entity_id is None:
        return None
    loader = _ENTITY_LOADERS.get(entity_type)
    return loader(entity_id) if loader else None


class StoredFile(db.Model):
    """An uploaded file on disk under UPLOAD_DIR/<stored_name>.

    ``field`` names the upload field spec it was validated against; ``entity_type`` /
    ``entity_id`` attach it to the object whose ``can_view`` decides downloads.
    """

    __tablename__ = "stored_file"
    __table_args__ = (Index("ix_stored_file_entity", "entity_type", "entity_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    owner_id: Mapped[int] = mapped_column(ForeignKey("user.id"), index=True)
    field: Mapped[str] = mapped_column(String(40))
    original_name: Mapped[str] = mapped_column(String(255))
    stored_name: Mapped[str] = mapped_column(String(80), unique=True)
    ext: Mapped[str] = mapped_column(String(10))
    content_type: Mapped[str] = mapped_column(String(100))
    size: Mapped[int]
    sha256: Mapped[str] = mapped_column(String(64))
    width: Mapped[int | None]
    height: Mapped[int | None]
    entity_type: Mapped[str | None] = mapped_column(String(30))
    entity_id: Mapped[int | None]
    created_at: Mapped[datetime] = mapped_column(default=utcnow)

    @property
    def is_image(self) -> bool:
        return self.width is not None

    @property
    def human_size(self) -> str:
        size = float(self.size)
        for unit in ("B", "KB", "MB", "GB"):
            if size < 1024 or unit == "GB":
                return f"{size:.0f} {unit}" if unit == "B" else f"{size:.1f} {unit}"
            size /= 1024
        return ""

    @property
    def is_attached(self) -> bool:
        return self.entity_type is not None

    @property
    def inline_ok(self) -> bool:
        from .storage import INLINE_EXTS

        return self.ext in INLINE_EXTS

    @property
    def field_label(self) -> str:
        from .specs import field_label

        return field_label(self.field)

    # --- permission predicates (routes and templates share these) -------------
    def can_view(self, user) -> bool:
        """Owner, platform admin, or whoever may view the attached entity."""
        if user is not None and getattr(user, "is_authenticated", False):
            if user.id == self.owner_id or user.is_platform_admin:
                return True
        entity = load_entity(self.entity_type, self.entity_id)
        if entity is None:
            return False
        check = getattr(entity, "can_view", None)
        return bool(check and check(user))

    def can_delete(self, user) -> bool:
        """Only the owner; attached files only while the entity is editable by them."""
        if user is None or not getattr(user, "is_authenticated", False):
            return False
        if user.id != self.owner_id:
            return False
        if not self.is_attached:
            return True
        entity = load_entity(self.entity_type, self.entity_id)
        check = getattr(entity, "can_edit", None)
        return bool(entity is not None and check and check(user))

