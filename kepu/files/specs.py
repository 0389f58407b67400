"""Upload field specs: which extensions, how large, how many, image rules.

A spec is data. Campaigns register their own at import time::

    from kepu.files.specs import FieldSpec, register_field
    register_field(FieldSpec("case_photo_landscape", "横版照片", {"jpg", "jpeg", "png"},
                             1 * MB, image=True, orientation="landscape"))

or derive one from a built-in (``register_field(get_field("attachment").replace(
name="works_award", label="获奖情况附件"))``).

Per-edition limits that admins edit at runtime (stored on a ``Campaign`` row) go
through a resolver: ``register_field_resolver("works", fn)`` makes
``get_field("works:12:work_file")`` call ``fn("12:work_file")``, which builds the
spec from the database on every request (so every worker sees the same limits).
"""
from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from typing import Callable, Iterable

KB = 1024
MB = 1024 * 1024

# Display order of extensions in hints and messages (others follow alphabetically).
_EXT_ORDER = [
    "jpg", "jpeg", "png", "gif", "webp", "bmp", "pdf", "doc", "docx", "wps", "ppt",
    "pptx", "xls", "xlsx", "et", "csv", "txt", "zip", "rar", "7z", "mp4", "mov", "avi",
    "mp3", "wav",
]

ORIENTATIONS = {
    "landscape": ("横版", "请上传横版照片（宽度大于高度）"),
    "portrait": ("竖版", "请上传竖版照片（高度大于宽度）"),
}


def _norm_ext(ext: str) -> str:
    return ext.strip().lower().lstrip(".")


def _ordered(exts: Iterable[str]) -> tuple[str, ...]:
    unique = {_norm_ext(e) for e in exts if _norm_ext(e)}
    rank = {e: i for i, e in enumerate(_EXT_ORDER)}
    return tuple(sorted(unique, key=lambda e: (rank.get(e, len(rank)), e)))


def format_size(n: int) -> str:
    """100 * MB -> '100MB', 1536 * KB -> '1.5MB', 500 * KB -> '500KB'."""
    if n >= MB:
        value = n / MB
        return f"{value:g}MB" if value == int(value) else f"{value:.1f}MB"
    if n >= KB:
        value = n / KB
        return f"{value:g}KB" if value == int(value) else f"{value:.1f}KB"
    return f"{n}B"


@dataclass(frozen=True)
class FieldSpec:
    """What one upload field accepts."""

    name: str
    label: str
    extensions: tuple[str, ...] | frozenset | set | list
    max_bytes: int
    multiple: bool = False
    image: bool = False
    orientation: str | None = None  # None | "landscape" | "portrait"
    max_files: int | None = None
    # Largest accepted image in pixels (width * height); refuses decompression bombs.
    max_pixels: int = 40_000_000
    help: str | None = None  # replaces the generated hint when set

    def __post_init__(self) -> None:
        object.__setattr__(self, "extensions", _ordered(self.extensions))
        if self.orientation not in (None, *ORIENTATIONS):
            raise ValueError(f"orientation must be landscape/portrait, not {self.orientation!r}")
        if self.max_bytes <= 0:
            raise ValueError("max_bytes must be positive")
        if not self.extensions:
            raise ValueError("a field needs at least one extension")
        if not self.multiple and self.max_files is None:
            object.__setattr__(self, "max_files", 1)

    # --- derived texts -----------------------------------------------------
    @property
    def size_text(self) -> str:
        return format_size(self.max_bytes)

    @property
    def formats_text(self) -> str:
        return "、".join("." + e for e in self.extensions)

    @property
    def accept(self) -> str:
        """Value for ``<input type=file accept=...>``."""
        return ",".join("." + e for e in self.extensions)

    @property
    def limits_text(self) -> str:
        """The hint without the formats (the upload widget shows those as tags)."""
        if self.help:
            return self.help
        if self.multiple:
            text = f"支持多个文件，单个最大{self.size_text}"
            if self.max_files:
                text += f"，最多{self.max_files}个"
        else:
            text = f"单个文件，最大{self.size_text}"
        if self.orientation:
            text += f"；需为{ORIENTATIONS[self.orientation][0]}照片"
        return text

    @property
    def hint(self) -> str:
        if self.help:
            return self.help
        if self.multiple:
            parts = [f"支持多个文件，单个最大{self.size_text}"]
            if self.max_files:
                parts[0] += f"，最多{self.max_files}个"
        else:
            parts = [f"单个文件，最大{self.size_text}"]
        if self.orientation:
            parts.append(f"需为{ORIENTATIONS[self.orientation][0]}照片")
        parts.append(f"支持格式：{self.formats_text}")
        return "；".join(parts)

    @property
    def extension_message(self) -> str:
        return f"不支持的文件格式，仅支持：{self.formats_text}"

    @property
    def size_message(self) -> str:
        return f"文件大小不能超过{self.size_text}"

    @property
    def orientation_message(self) -> str | None:
        return ORIENTATIONS[self.orientation][1] if self.orientation else None

    def allows(self, ext: str) -> bool:
        return _norm_ext(ext) in self.extensions

    def replace(self, **changes) -> "FieldSpec":
        """A copy with some settings changed (e.g. a campaign's own size limit)."""
        return dataclasses.replace(self, **changes)


# --- registry ------------------------------------------------------------------

_REGISTRY: dict[str, FieldSpec] = {}
_RESOLVERS: dict[str, Callable[[str], FieldSpec | None]] = {}


def register_field(spec: FieldSpec) -> FieldSpec:
    """Register (or replace) a field spec by its name; returns it."""
    if ":" in spec.name:
        raise ValueError("':' is reserved for resolver names (prefix:rest)")
    _REGISTRY[spec.name] = spec
    return spec


def register_field_resolver(prefix: str, resolver: Callable[[str], FieldSpec | None]) -> None:
    """Resolve names ``"<prefix>:<rest>"`` at request time with ``resolver(rest)``."""
    _RESOLVERS[prefix] = resolver


def get_field(name: str) -> FieldSpec | None:
    """The spec called ``name``, or None when unknown."""
    if not name:
        return None
    spec = _REGISTRY.get(name)
    if spec is not None:
        return spec
    prefix, sep, rest = name.partition(":")
    if sep and prefix in _RESOLVERS:
        spec = _RESOLVERS[prefix](rest)
        if spec is not None and spec.name != name:
            spec = spec.replace(name=name)
        return spec
    return None


def field_label(name: str) -> str:
    spec = get_field(name)
    return spec.label if spec else name


def registered_fields() -> dict[str, FieldSpec]:
    return dict(_REGISTRY)


# --- built-in fields -------------------------------------------------------------

IMAGE_EXTS = ("jpg", "jpeg", "png")

ATTACHMENT = register_field(FieldSpec(
    "attachment", "获奖情况附件",
    {"jpg", "jpeg", "png", "pdf", "doc", "docx", "wps", "ppt", "pptx", "xls", "xlsx",
     "zip", "mp4"},
    100 * MB, multiple=True,
))

WORK_FILE = register_field(FieldSpec(
    "work_file", "作品文件",
    {"pdf", "doc", "docx", "wps", "ppt", "pptx", "mp4", "mov", "mp3", "jpg", "jpeg",
     "png", "zip"},
    100 * MB, multiple=True,
))

IMAGE = register_field(FieldSpec("image", "图片", IMAGE_EXTS, 10 * MB, image=True))

PHOTO_LANDSCAPE = register_field(FieldSpec(
    "photo_landscape", "横版照片", IMAGE_EXTS, 1 * MB, image=True, orientation="landscape",
))

PHOTO_PORTRAIT = register_field(FieldSpec(
    "photo_portrait", "竖版照片", IMAGE_EXTS, 1 * MB, image=True, orientation="portrait",
))
