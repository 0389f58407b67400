"""Forms of the works-call edition administration (platform admins).

Every rule of an edition's settings is checked here on the server; errors are Chinese
and belong to one field (or, for the rubric as a whole, to ``form.rubric_error``).
Invalid input is re-rendered as typed (raw values), so nothing is lost.
"""
from __future__ import annotations

import re

from flask import current_app
from flask_wtf import FlaskForm
from wtforms import (BooleanField, FieldList, Form, FormField, HiddenField, StringField,
                     TextAreaField)
from wtforms.validators import DataRequired, Length, StopValidation
from wtforms.widgets import TextArea

from ..files.specs import MB
from ..form_fields import IntField, LinesField, LocalDateTimeField
from .operations.editions import TITLE_MAX, YEAR_MAX, YEAR_MIN, settings_digest

DECLARATION_CLAUSE_MAX = 500
RUBRIC_SPARE_ROWS = 3
EXT_RE = re.compile(r"^[a-z0-9]{1,5}$")
RUBRIC_KEY_RE = re.compile(r"^[a-z_]{1,30}$")
# "（一）" / "(1)" / "1." at the start of a declaration clause: the page numbers them

#: limits of the 字数限制 fieldset: key -> (label, max, unit)
TEXT_LIMITS = {
    "title": ("作品名称", 200, "字"),      # Work.title is String(200)
    "intro": ("作品简介", 20000, "字"),
    "highlights": ("亮点总结", 20000, "字"),
    "media": ("相关媒体报道（合计）", 5000, "字"),
    "media_items": ("相关媒体报道篇数", 20, "篇"),
    "awards": ("获奖情况", 10000, "字"),
}
#: limits of the 文件限制 fieldset (max None: the server's upload ceiling)
FILE_LIMITS = {
    "work_file_mb": ("作品文件单个大小", None, "MB"),
    "work_files_max": ("作品文件个数上限", 50, "个"),
    "cover_mb": ("封面图片大小", 50, "MB"),
    "award_file_mb": ("获奖附件单个大小", None, "MB"),
}


def upload_cap_mb() -> int:
    """Largest per-file size (MB) the server accepts: the request-body ceiling
    (MAX_CONTENT_LENGTH) minus room for the form, at most 2048 MB."""
    ceiling = current_app.config.get("MAX_CONTENT_LENGTH")
    if not ceiling:
        return 2048
    return max(1, min(2048, (int(ceiling) - MB) // MB))


def parse_extensions(text: str | None) -> list[str]:
    out: list[str] = []
    for part in re.split(r"[\s,，、;；]+", text or ""):
        ext = part.strip().lstrip(".").lower()
        if ext and ext not in out:
            out.append(ext)
    return out


class ExtensionsField(StringField):
    """File extensions separated by commas or spaces, e.g. "pdf, docx, mp4"."""

    widget = TextArea()

    def __init__(self, label=None, validators=None, **kwargs):
        super().__init__(label, validators, **kwargs)
        self.flags.required = True

    def process_data(self, value):
        self.data = ", ".join(value) if isinstance(value, (list, tuple)) else value

    @property
    def items(self) -> list[str]:
        return parse_extensions(self.data)

    def pre_validate(self, form):
        items = self.items
        if not items:
            raise StopValidation("请至少填写一种文件格式")
        bad = [e for e in items if not EXT_RE.match(e)]
        if bad:
            raise StopValidation(f"“{bad[0]}”不是有效的扩展名：只能是 1–5 位小写字母或数字，"
                                 "多个格式用逗号或空格分隔")


# --- edition creation ------------------------------------------------------------

class EditionForm(FlaskForm):
    year = IntField("年度", minimum=YEAR_MIN, maximum=YEAR_MAX)
    title = StringField("征集活动名称", validators=[
        DataRequired("请填写征集活动名称"), Length(max=TITLE_MAX, message=f"不能超过 {TITLE_MAX} 字")])


# --- edition settings --------------------------------------------------------------

class RubricRowForm(Form):
    """One row of the expert rubric. A blank row (or one marked 删除) is dropped."""

    key = StringField("标识")
    label = StringField("评分项")
    weight = StringField("权重（%）", render_kw={"inputmode": "numeric"})
    max = StringField("满分", render_kw={"inputmode": "numeric"})
    hint = StringField("评分说明")
    remove = BooleanField("删除此项")

    def is_blank(self) -> bool:
        return not any((getattr(self, n).data or "").strip()
                       for n in ("key", "label", "weight", "max", "hint"))

    def has_errors(self) -> bool:
        return any(getattr(self, n).errors
                   for n in ("key", "label", "weight", "max", "hint", "remove"))


def _int_or_none(text: str | None) -> int | None:
    text = str(text if text is not None else "").strip()
    return int(text) if re.fullmatch(r"[+-]?\d+", text) else None


#: the page's setting groups: (fieldset anchor, legend), in page order
SETTING_GROUPS = (("fs-basic", "基本"), ("fs-window", "征集时间"),
                  ("fs-taxonomy", "作品类型与分类"), ("fs-text", "字数限制"),
                  ("fs-files", "文件限制"), ("fs-declaration", "申报声明"),
                  ("rubric-fieldset", "专家评审"), ("fs-sms", "短信通知"), ("fs-help", "帮助信息"))
_GROUP_OF_KEY = {
    "title": "fs-basic", "window_open": "fs-window", "window_close": "fs-window",
    "review_close": "fs-window",
    "work_types": "fs-taxonomy", "categories": "fs-taxonomy",
    "work_file_extensions": "fs-files", "award_extensions": "fs-files",
    "declaration": "fs-declaration", "rubric": "rubric-fieldset",
    "experts_per_work": "rubric-fieldset", "sms_notify": "fs-sms", "help": "fs-help",
}


def setting_groups(keys, typed: dict | None = None, stored: dict | None = None) -> list[tuple]:
    """[(anchor, legend)] of the groups holding ``keys`` (page order). ``limits`` is
    split into 字数限制 / 文件限制 by the sub-keys that differ between ``typed`` and
    ``stored`` (both groups when they are not given)."""
    anchors = set()
    for key in keys:
        if key == "limits":
            a, b = (typed or {}).get("limits") or {}, (stored or {}).get("limits") or {}
            diff = {k for k in set(a) | set(b) if a.get(k) != b.get(k)} if typed else None
            if diff is None or diff & set(TEXT_LIMITS):
                anchors.add("fs-text")
            if diff is None or diff & set(FILE_LIMITS):
                anchors.add("fs-files")
        elif key in _GROUP_OF_KEY:
            anchors.add(_GROUP_OF_KEY[key])
    return [g for g in SETTING_GROUPS if g[0] in anchors]


class SettingsForm(FlaskForm):
    #: the stored settings' fingerprint when the form was rendered (version check)
    settings_digest = HiddenField()

    title = StringField("征集活动名称", validators=[
        DataRequired("请填写征集活动名称"), Length(max=TITLE_MAX, message=f"不能超过 {TITLE_MAX} 字")])

    window_open = LocalDateTimeField("开始时间（北京时间）")
    window_close = LocalDateTimeField("截止时间（北京时间）")
    review_close = LocalDateTimeField("推荐截止时间（北京时间，选填）")

    work_types = LinesField("作品类型", item_name="种作品类型")
    categories = LinesField("作品分类", item_name="个作品分类")

    limit_title = IntField("作品名称", maximum=TEXT_LIMITS["title"][1], unit="字")
    limit_intro = IntField("作品简介", maximum=TEXT_LIMITS["intro"][1], unit="字")
    limit_highlights = IntField("亮点总结", maximum=TEXT_LIMITS["highlights"][1], unit="字")
    limit_media = IntField("相关媒体报道（合计）", maximum=TEXT_LIMITS["media"][1], unit="字")
    limit_media_items = IntField("相关媒体报道篇数", maximum=TEXT_LIMITS["media_items"][1],
                                 unit="篇")
    limit_awards = IntField("获奖情况", maximum=TEXT_LIMITS["awards"][1], unit="字")

    limit_work_file_mb = IntField("作品文件单个大小", maximum=upload_cap_mb, unit="MB")
    limit_work_files_max = IntField("作品文件个数上限", maximum=FILE_LIMITS["work_files_max"][1],
                                    unit="个")
    limit_cover_mb = IntField("封面图片大小", maximum=FILE_LIMITS["cover_mb"][1], unit="MB")
    limit_award_file_mb = IntField("获奖附件单个大小", maximum=upload_cap_mb, unit="MB")
    work_file_extensions = ExtensionsField("作品文件格式")
    award_extensions = ExtensionsField("获奖情况附件格式")

    declaration = LinesField("申报声明", max_len=DECLARATION_CLAUSE_MAX, item_name="条声明",
                             strip_numbering=True)

    rubric = FieldList(FormField(RubricRowForm))
    experts_per_work = IntField("每件作品分配专家数", minimum=1, maximum=9, unit="位")
    sms_notify = BooleanField("作品被退回或完成推荐时，短信通知申报者")

    help_audience = TextAreaField("面向对象", validators=[
        DataRequired("请填写面向对象"), Length(max=1000, message="不能超过 1000 字")])
    help_business_contact = TextAreaField("业务咨询", validators=[
        DataRequired("请填写业务咨询联系方式"), Length(max=300, message="不能超过 300 字")])
    help_tech_contact = TextAreaField("技术支持", validators=[
        DataRequired("请填写技术支持联系方式"), Length(max=300, message="不能超过 300 字")])
    help_notes = TextAreaField("其他说明（选填）", validators=[
        Length(max=2000, message="不能超过 2000 字")])

    rubric_error: str | None = None
    #: set when another admin saved meanwhile (kepu.editions.SETTINGS_CONFLICT)
    conflict: str | None = None

    # -- building ----------------------------------------------------------------
    @classmethod
    def from_settings(cls, campaign, settings) -> "SettingsForm":
        data = {
            "settings_digest": settings_digest(campaign),
            "title": campaign.title,
            "window_open": settings.get("window_open") or "",
            "window_close": settings.get("window_close") or "",
            "review_close": settings.get("review_close") or "",
            "work_types": settings["work_types"],
            "categories": settings["categories"],
            "work_file_extensions": settings["work_file_extensions"],
            "award_extensions": settings["award_extensions"],
            "declaration": settings["declaration"],
            "rubric": [{k: "" if r.get(k) is None else str(r[k]) for k in ("key", "label", "weight", "max", "hint")}
                       for r in settings["rubric"]],
            "experts_per_work": settings["experts_per_work"],
            "sms_notify": bool(settings.get("sms_notify")),
        }
        for key, value in settings["limits"].items():
            data[f"limit_{key}"] = value
        for key, value in settings["help"].items():
            data[f"help_{key}"] = value or ""
        form = cls(formdata=None, data=data)
        form.add_spare_rows()
        return form

    def add_spare_rows(self, n: int = RUBRIC_SPARE_ROWS) -> None:
        for _ in range(n):
            self.rubric.append_entry()

    def limit_fields(self, keys) -> list:
        return [getattr(self, f"limit_{k}") for k in keys]

    # -- validation ----------------------------------------------------------------
    def validate(self, extra_validators=None) -> bool:
        ok = super().validate(extra_validators)
        self.rubric_error = None
        if (self.window_open.data and self.window_close.data
                and not self.window_open.errors and not self.window_close.errors
                and self.window_close.data <= self.window_open.data):
            self.window_close.errors.append("截止时间必须晚于开始时间")
            ok = False
        if (self.review_close.data and self.window_open.data
                and not self.review_close.errors and not self.window_open.errors
                and self.review_close.data <= self.window_open.data):
            self.review_close.errors.append("推荐截止时间必须晚于征集开始时间")
            ok = False
        if not self._validate_rubric():
            ok = False
        return ok

    def _validate_rubric(self) -> bool:
        ok = True
        keys: set[str] = set()
        total, rows = 0, 0
        for entry in self.rubric.entries:
            row: RubricRowForm = entry.form
            if row.remove.data or row.is_blank():
                continue
            rows += 1
            key = (row.key.data or "").strip()
            if not key:
                row.key.errors.append("请填写标识")
            elif not RUBRIC_KEY_RE.match(key):
                row.key.errors.append("标识只能由小写字母和下划线组成，如 scientific")
            elif key in keys:
                row.key.errors.append(f"标识“{key}”重复")
            keys.add(key)
            label = (row.label.data or "").strip()
            if not label:
                row.label.errors.append("请填写评分项名称")
            elif len(label) > 20:
                row.label.errors.append("不能超过 20 字")
            weight = _int_or_none(row.weight.data)
            if weight is None:
                row.weight.errors.append("请输入整数")
            elif weight <= 0:
                row.weight.errors.append("权重应大于 0")
            else:
                total += weight
            maximum = _int_or_none(row.max.data)
            if maximum is None:
                row.max.errors.append("请输入整数")
            elif not 0 < maximum <= 1000:
                row.max.errors.append("满分应为 1–1000 之间的整数")
            if len((row.hint.data or "").strip()) > 200:
                row.hint.errors.append("不能超过 200 字")
            if row.has_errors():
                ok = False
        if rows == 0:
            self.rubric_error = "请至少保留一个评分项"
            return False
        if ok and total != 100:
            self.rubric_error = f"各评分项权重之和应为 100，当前为 {total}"
            return False
        return ok

    def add_operation_errors(self, error) -> None:
        """Put an OperationError from saving next to its fields: ``rubric.<key>.<field>``
        on that rubric row's field, "rubric" in ``rubric_error``, a form field's name
        on that field (a row no longer on the form: the message goes to
        ``rubric_error`` unless that already holds one)."""
        rows: dict = {}
        for entry in self.rubric.entries:  # kept rows win over rows marked 删除
            row = entry.form
            if not row.is_blank():
                key = (row.key.data or "").strip()
                if key not in rows or not row.remove.data:
                    rows[key] = row
        for name, message in (error.errors or {"rubric": error.message}).items():
            parts = name.split(".")
            if len(parts) == 3 and parts[0] == "rubric" and parts[1] in rows:
                getattr(rows[parts[1]], parts[2]).errors.append(message)
            elif name in self._fields and name != "rubric":
                self._fields[name].errors.append(message)
            elif name == "rubric" or not self.rubric_error:
                self.rubric_error = message

    def weight_total(self) -> int:
        """Sum of the valid weights of the kept rows (shown while editing)."""
        total = 0
        for entry in self.rubric.entries:
            row = entry.form
            if row.remove.data or row.is_blank():
                continue
            total += max(0, _int_or_none(row.weight.data) or 0)
        return total

    def error_count(self) -> int:
        n = sum(1 for name, f in self._fields.items()
                if name != "rubric" and f.errors)
        n += sum(1 for e in self.rubric.entries if e.form.has_errors())
        return n + (1 if self.rubric_error else 0)

    # -- result ----------------------------------------------------------------------
    def rubric_rows(self) -> list[dict]:
        rows = []
        for entry in self.rubric.entries:
            row: RubricRowForm = entry.form
            if row.remove.data or row.is_blank():
                continue
            rows.append({"key": row.key.data.strip(), "label": row.label.data.strip(),
                         "weight": int(row.weight.data.strip()),
                         "max": int(row.max.data.strip()),
                         "hint": (row.hint.data or "").strip()})
        return rows

    def values(self) -> tuple[str, dict]:
        """(title, settings) from a validated form."""
        limits = {k: getattr(self, f"limit_{k}").data for k in (*TEXT_LIMITS, *FILE_LIMITS)}
        return self.title.data.strip(), {
            "window_open": self.window_open.setting,
            "window_close": self.window_close.setting,
            "review_close": self.review_close.setting,
            "work_types": self.work_types.items,
            "categories": self.categories.items,
            "limits": limits,
            "work_file_extensions": self.work_file_extensions.items,
            "award_extensions": self.award_extensions.items,
            "declaration": self.declaration.items,
            "rubric": self.rubric_rows(),
            "experts_per_work": self.experts_per_work.data,
            "sms_notify": bool(self.sms_notify.data),
            "help": {
                "audience": self.help_audience.data.strip(),
                "business_contact": self.help_business_contact.data.strip(),
                "tech_contact": self.help_tech_contact.data.strip(),
                "notes": (self.help_notes.data or "").strip(),
            },
        }
