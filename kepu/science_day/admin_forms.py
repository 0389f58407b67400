"""Forms of 全国科普日 edition administration (platform admins): creating an edition and
editing every setting of one (windows, edit cap, notice days, taxonomies, limits, texts).
Invalid input is re-rendered as typed; every rule is checked on the server."""
from __future__ import annotations

from flask_wtf import FlaskForm
from wtforms import HiddenField, StringField, TextAreaField
from wtforms.validators import DataRequired, Length, Optional, StopValidation

from ..editions import TITLE_MAX, YEAR_MAX, YEAR_MIN
from ..form_fields import IntField, LinesField, LocalDateTimeField
from .settings import DEFAULTS, WINDOWS

#: (setting key of ``limits``, label, minimum, maximum, unit)
LIMITS = [
    ("name", "活动名称", 10, 200, "字"),
    ("details", "活动详情", 200, 20000, "字"),
    ("audience", "活动对象", 20, 2000, "字"),
    ("scientists", "主要参与科技工作者", 1, 10, "人"),
    ("scientists_note", "科技工作者方向描述", 20, 2000, "字"),
    ("detail_images", "活动详情图片", 0, 30, "张"),
    ("poster_mb", "宣传图大小", 1, 50, "MB"),
    ("image_mb", "详情图片大小", 1, 50, "MB"),
    ("hosts", "主办单位", 1, 50, "个"),
    ("organisers", "承办单位", 0, 50, "个"),
    ("coop_orgs", "合作单位", 1, 50, "个"),
    ("summary_part", "活动总结每部分", 200, 10000, "字"),
    ("photo_mb", "补充信息照片大小", 1, 50, "MB"),
    ("video_mb", "活动短视频大小", 10, 200, "MB"),
]
#: (settings section, key, label, minimum, maximum, unit): the 下载资源 and 年度工作总结
#: numbers (kepu.science_day.resources / annual read them with section_number)
SECTION_LIMITS = [
    ("resources", "file_mb", "下载资源文件大小", 1, 500, "MB"),
    ("resources", "background_min_width", "海报背景最小宽度", 600, 10000, "像素"),
    ("resources", "background_min_height", "海报背景最小高度", 800, 10000, "像素"),
    ("annual_report", "text_max", "年度工作总结正文", 500, 50000, "字"),
    ("annual_report", "files", "年度工作总结附件", 1, 20, "个"),
    ("annual_report", "file_mb", "年度工作总结附件大小", 1, 200, "MB"),
]
SECTIONS = tuple(dict.fromkeys(section for section, *_ in SECTION_LIMITS))
TEXTS = [("help_intro", "intro", "平台说明", 1000), ("help_contacts", "contacts", "咨询电话", 300),
         ("help_undertaking", "undertaking", "科普中国信息员承诺书", 2000)]

SETTING_GROUPS = (("fs-basic", "基本"), ("fs-windows", "时间节点"), ("fs-rules", "修改与提前期"),
                  ("fs-taxonomy", "活动分类"), ("fs-limits", "字数与数量限制"),
                  ("fs-texts", "主题与说明"))
_GROUP_OF_KEY = {"title": "fs-basic", "windows": "fs-windows", "edit_cap": "fs-rules",
                 "notice_days": "fs-rules", "activity_types": "fs-taxonomy",
                 "modes": "fs-taxonomy", "joint_actions": "fs-taxonomy",
                 "special_actions": "fs-taxonomy", "limits": "fs-limits",
                 "resources": "fs-limits", "annual_report": "fs-limits",
                 "theme": "fs-texts", "food_safety_keyword": "fs-texts", "help": "fs-texts"}


def setting_groups(keys) -> list[tuple[str, str]]:
    anchors = {_GROUP_OF_KEY[k] for k in keys if k in _GROUP_OF_KEY}
    return [g for g in SETTING_GROUPS if g[0] in anchors]


class EditionForm(FlaskForm):
    year = IntField("年度", minimum=YEAR_MIN, maximum=YEAR_MAX)
    title = StringField("活动名称", validators=[
        DataRequired("请填写名称"), Length(max=TITLE_MAX, message=f"不能超过 {TITLE_MAX} 字")])


class OptionalIntField(IntField):
    """Empty means "no limit" (e.g. no edit cap)."""

    def pre_validate(self, form):
        if self.process_errors:
            raise StopValidation()
        if self.data is None:
            return
        super().pre_validate(form)


def _window_fields(cls):
    for key, (label, _what) in WINDOWS.items():
        setattr(cls, f"w_{key}_open", LocalDateTimeField(f"{label}开始（北京时间）"))
        setattr(cls, f"w_{key}_close", LocalDateTimeField(f"{label}截止（北京时间）"))
    for key, label, lo, hi, unit in LIMITS:
        setattr(cls, f"limit_{key}", IntField(f"{label}（{unit}）", minimum=lo, maximum=hi,
                                              unit=unit))
    for section, key, label, lo, hi, unit in SECTION_LIMITS:
        setattr(cls, f"sec_{section}_{key}", IntField(f"{label}（{unit}）", minimum=lo,
                                                      maximum=hi, unit=unit))
    for name, _key, label, maximum in TEXTS:
        setattr(cls, name, TextAreaField(label, validators=[
            DataRequired(f"请填写{label}"), Length(max=maximum, message=f"不能超过 {maximum} 字")]))
    return cls


@_window_fields
class SettingsForm(FlaskForm):
    settings_digest = HiddenField()
    title = StringField("活动名称", validators=[
        DataRequired("请填写名称"), Length(max=TITLE_MAX, message=f"不能超过 {TITLE_MAX} 字")])
    edit_cap = OptionalIntField("每个活动可修改次数", minimum=1, maximum=50, unit="次")
    notice_days = IntField("建议提前发布天数", minimum=0, maximum=60, unit="天")
    theme = StringField("本届主题", validators=[Optional(), Length(max=100, message="不能超过 100 字")])
    activity_types = LinesField("活动类型（每行一项）", item_name="个活动类型")
    modes = LinesField("活动方式（每行一项）", item_name="种活动方式", max_len=10)
    joint_actions = LinesField("联合行动类别（每行一项）", item_name="个类别", max_len=40)
    special_actions = LinesField("科普专项行动类别（每行一项）", item_name="个类别", max_len=40)
    food_safety_keyword = StringField("食品安全活动关键词", validators=[
        DataRequired("请填写关键词"), Length(max=10, message="不能超过 10 字")])

    conflict: str | None = None

    @classmethod
    def from_settings(cls, campaign, settings, digest: str) -> "SettingsForm":
        data = {"settings_digest": digest, "title": campaign.title,
                "edit_cap": settings.edit_cap, "notice_days": settings.get("notice_days"),
                "theme": settings.get("theme") or "",
                "food_safety_keyword": settings.get("food_safety_keyword")}
        for key in ("activity_types", "modes", "joint_actions", "special_actions"):
            data[key] = settings[key]
        windows = settings.get("windows") or {}
        for key in WINDOWS:
            for part in ("open", "close"):
                data[f"w_{key}_{part}"] = (windows.get(key) or {}).get(part) or ""
        limits = {**DEFAULTS["limits"], **(settings.get("limits") or {})}
        for key, *_ in LIMITS:
            data[f"limit_{key}"] = limits.get(key)
        for section, key, *_ in SECTION_LIMITS:
            data[f"sec_{section}_{key}"] = settings.section_number(section, key)
        help_texts = settings.get("help") or {}
        for name, key, _label, _max in TEXTS:
            data[name] = help_texts.get(key, "")
        return cls(formdata=None, data=data)

    def validate(self, extra_validators=None) -> bool:
        ok = super().validate(extra_validators)
        for key in WINDOWS:
            opens, closes = getattr(self, f"w_{key}_open"), getattr(self, f"w_{key}_close")
            if (opens.data and closes.data and not opens.errors and not closes.errors
                    and closes.data <= opens.data):
                closes.errors.append("截止时间必须晚于开始时间")
                ok = False
        return ok

    def error_count(self) -> int:
        return sum(len(f.errors) for f in self if f.errors)

    def error_groups(self) -> list[tuple[str, str]]:
        keys = set()
        for f in self:
            if not f.errors:
                continue
            name = f.name
            if name.startswith("w_"):
                keys.add("windows")
            elif name.startswith(("limit_", "sec_")):
                keys.add("limits")
            elif name.startswith("help_"):
                keys.add("help")
            else:
                keys.add(name)
        return setting_groups(keys)

    def values(self) -> tuple[str, dict]:
        """(title, settings) from a validated form."""
        windows = {key: {"open": getattr(self, f"w_{key}_open").setting,
                         "close": getattr(self, f"w_{key}_close").setting} for key in WINDOWS}
        return self.title.data.strip(), {
            "windows": windows, "edit_cap": self.edit_cap.data,
            "notice_days": self.notice_days.data, "theme": (self.theme.data or "").strip(),
            "activity_types": self.activity_types.items, "modes": self.modes.items,
            "joint_actions": self.joint_actions.items,
            "special_actions": self.special_actions.items,
            "limits": {key: getattr(self, f"limit_{key}").data for key, *_ in LIMITS},
            **{section: {key: getattr(self, f"sec_{section}_{key}").data
                         for s, key, *_ in SECTION_LIMITS if s == section}
               for section in SECTIONS},
            "food_safety_keyword": self.food_safety_keyword.data.strip(),
            "help": {key: getattr(self, name).data.strip() for name, key, *_ in TEXTS},
        }
