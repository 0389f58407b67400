"""Forms of the cases-call edition administration (platform admins).

Every rule of an edition's settings is checked here on the server; errors are Chinese
and belong to one field (the showcase targets' sum to ``form.targets_error``, shown
next to the targets). Invalid input is re-rendered as typed, so nothing is lost.

The generic fields (whole numbers, one item per line, Beijing datetime-local) are the
works call's (``kepu.works.admin_forms``).
"""
from __future__ import annotations

from datetime import date, datetime

from flask_wtf import FlaskForm
from wtforms import DateField, HiddenField, StringField, TextAreaField
from wtforms.validators import DataRequired, Length, StopValidation, ValidationError

from ..orgs.forms import MultiCheckboxField
from ..orgs.models import ORG_KINDS
from ..form_fields import IntField, LinesField, LocalDateTimeField, StoredDateMixin
from .common import DEFAULT_UNIT_KINDS
from .operations.editions import TITLE_MAX, YEAR_MAX, YEAR_MIN

#: "其他" among a category's subtypes lets the applicant type their own (subtype_other)
OTHER = "其他"
SUBTYPE_MAX = 20          # Case.subtype is String(30)
LABEL_MAX = 20
OUTLINE_ITEM_MAX = 30
RULE_MAX = 200
CONTACT_MAX = 300
#: Excel refuses these in sheet names; the category labels name the export's sheets
SHEET_BAD_CHARS = set('[]:*?/\\')

#: the two categories the seed collects (key -> form field prefix); "works" (科普作品传播)
#: comes from the works call and only has a label here
CATEGORY_KEYS = ("activity", "venue")

#: 字数与数量限制: key -> (label, max, unit). The maxima follow the columns / storage
#: (Case.name String(100), subtype_other String(100), at most 10 media reports kept).
LIMITS = {
    "name": ("案例名称", 100, "字"),
    "summary": ("简要概述", 5000, "字"),
    "details": ("详细材料", 20000, "字"),
    "awards": ("获奖情况", 5000, "字"),
    "media_items": ("媒体报道篇数", 10, "篇"),
    "other_text": ("“其他”类型说明", 100, "字"),
}
QUOTA_PER_CATEGORY_MAX = 50
QUOTA_TOTAL_MAX = 100
SHOWCASE_MAX = 1000

#: the page's setting groups: (fieldset anchor, legend), in page order
SETTING_GROUPS = (("fs-basic", "基本"), ("fs-window", "征集时间"),
                  ("fs-categories", "案例类别"), ("fs-limits", "字数与数量限制"),
                  ("fs-quota", "推荐名额"), ("fs-showcase", "精选展示"),
                  ("fs-units", "推荐单位"), ("fs-texts", "说明与联系方式"))
_GROUP_OF_KEY = {
    "title": "fs-basic", "window_open": "fs-window", "window_close": "fs-window",
    "work_since": "fs-window", "categories": "fs-categories", "limits": "fs-limits",
    "quota_per_category": "fs-quota", "quota_total": "fs-quota",
    "showcase_total": "fs-showcase", "showcase_targets": "fs-showcase",
    "works_category_label": "fs-showcase", "unit_kinds": "fs-units",
    "detail_outline": "fs-texts", "past_years_rule": "fs-texts", "contacts": "fs-texts",
}


def setting_groups(keys) -> list[tuple[str, str]]:
    """[(anchor, legend)] of the groups holding ``keys``, in page order."""
    anchors = {_GROUP_OF_KEY[k] for k in keys if k in _GROUP_OF_KEY}
    return [g for g in SETTING_GROUPS if g[0] in anchors]


class _Required:
    """Mixin for date inputs: empty is "请填写…" (not "invalid date")."""

    required_message = "请填写"

    def pre_validate(self, form):
        if not self.raw_data or not str(self.raw_data[0]).strip():
            self.errors[:] = []
            raise StopValidation(self.required_message)


class RequiredDateTimeField(_Required, LocalDateTimeField):
    def __init__(self, label=None, validators=None, required_message="请填写", **kwargs):
        super().__init__(label, validators, **kwargs)
        self.required_message = required_message
        self.flags.required = True


class RequiredDateField(_Required, StoredDateMixin, DateField):
    patterns = ("%Y-%m-%d",)
    date_only = True

    def __init__(self, label=None, validators=None, required_message="请填写", **kwargs):
        kwargs.setdefault("invalid_value_message", "请输入有效的日期，如 2025-01-01")
        super().__init__(label, validators, **kwargs)
        self.required_message = required_message
        self.flags.required = True


class SubtypesField(LinesField):
    """A category's subtypes: one per line, no duplicates, "其他" kept."""

    def pre_validate(self, form):
        super().pre_validate(form)
        if OTHER not in self.items:
            raise StopValidation(f"请保留“{OTHER}”一行：申报者选择“{OTHER}”时可填写具体类型")


class OutlineField(LinesField):
    """The suggested outline of 详细材料 (the entry page joins the items with "|")."""

    @property
    def items(self) -> list[str]:
        return [x.rstrip("：:").strip() for x in super().items if x.rstrip("：:").strip()]

    def pre_validate(self, form):
        super().pre_validate(form)
        if any("|" in x for x in self.items):
            raise StopValidation("不能包含“|”字符")


def _sheet_name(form, field):
    bad = sorted({ch for ch in field.data or "" if ch in SHEET_BAD_CHARS})
    if bad:
        raise ValidationError("不能包含 " + " ".join(bad) + " 等字符（类别名称用作导出表格的工作表名）")


def _label(name: str):
    return StringField(name, validators=[
        DataRequired(f"请填写{name}"), Length(max=LABEL_MAX, message=f"不能超过 {LABEL_MAX} 字"),
        _sheet_name])


def _text(name: str, maximum: int, required: str):
    return TextAreaField(name, validators=[
        DataRequired(required), Length(max=maximum, message=f"不能超过 {maximum} 字")])


def _limit(key: str):
    label, maximum, unit = LIMITS[key]
    return IntField(label, maximum=maximum, unit=unit)


# --- edition creation ------------------------------------------------------------

class EditionForm(FlaskForm):
    year = IntField("年度", minimum=YEAR_MIN, maximum=YEAR_MAX)
    title = StringField("征集活动名称", validators=[
        DataRequired("请填写征集活动名称"), Length(max=TITLE_MAX, message=f"不能超过 {TITLE_MAX} 字")])


# --- edition settings --------------------------------------------------------------

class SettingsForm(FlaskForm):
    #: the stored settings' fingerprint when the form was rendered (version check)
    settings_digest = HiddenField()

    title = StringField("征集活动名称", validators=[
        DataRequired("请填写征集活动名称"), Length(max=TITLE_MAX, message=f"不能超过 {TITLE_MAX} 字")])

    window_open = RequiredDateTimeField("开始时间（北京时间）", required_message="请填写开始时间")
    window_close = RequiredDateTimeField("截止时间（北京时间）", required_message="请填写截止时间")
    work_since = RequiredDateField("案例工作起始日期", required_message="请填写案例工作起始日期")

    activity_label = _label("科普活动服务类名称")
    activity_subtypes = SubtypesField("科普活动服务类的具体类型", max_len=SUBTYPE_MAX,
                                      item_name="个具体类型")
    venue_label = _label("科普阵地建设类名称")
    venue_subtypes = SubtypesField("科普阵地建设类的具体类型", max_len=SUBTYPE_MAX,
                                   item_name="个具体类型")

    limit_name = _limit("name")
    limit_summary = _limit("summary")
    limit_details = _limit("details")
    limit_awards = _limit("awards")
    limit_media_items = _limit("media_items")
    limit_other_text = _limit("other_text")

    quota_per_category = IntField("每类案例推荐上限", maximum=QUOTA_PER_CATEGORY_MAX, unit="个")
    quota_total = IntField("两类合计推荐上限", maximum=QUOTA_TOTAL_MAX, unit="个")

    showcase_total = IntField("精选展示总数上限", maximum=SHOWCASE_MAX, unit="个")
    works_category_label = _label("科普作品传播类名称")
    target_works = IntField("科普作品传播类", minimum=0, maximum=SHOWCASE_MAX, unit="个")
    target_activity = IntField("科普活动服务类", minimum=0, maximum=SHOWCASE_MAX, unit="个")
    target_venue = IntField("科普阵地建设类", minimum=0, maximum=SHOWCASE_MAX, unit="个")

    unit_kinds = MultiCheckboxField("推荐单位类型", choices=list(ORG_KINDS),
                                    validate_choice=False)

    detail_outline = OutlineField("详细材料建议框架", max_len=OUTLINE_ITEM_MAX, item_name="项")
    past_years_rule = _text("往届案例规则", RULE_MAX, "请填写往届案例规则")
    contact_business = _text("业务咨询", CONTACT_MAX, "请填写业务咨询联系方式")
    contact_tech = _text("系统咨询", CONTACT_MAX, "请填写系统咨询联系方式")

    #: the showcase targets' sum exceeds the total (shown next to the targets)
    targets_error: str | None = None
    #: set when another admin saved meanwhile (kepu.editions.SETTINGS_CONFLICT)
    conflict: str | None = None

    TARGET_FIELDS = (("works", "target_works"), ("activity", "target_activity"),
                     ("venue", "target_venue"))

    # -- building ----------------------------------------------------------------
    @classmethod
    def from_settings(cls, campaign, settings, digest: str) -> "SettingsForm":
        cats = settings["categories"]
        data = {
            "settings_digest": digest,
            "title": campaign.title,
            "window_open": settings.get("window_open") or "",
            "window_close": settings.get("window_close") or "",
            "work_since": settings.get("work_since") or "",
            "quota_per_category": settings["quota_per_category"],
            "quota_total": settings["quota_total"],
            "showcase_total": settings["showcase_total"],
            "works_category_label": settings["works_category_label"],
            "unit_kinds": list(settings.get("unit_kinds") or DEFAULT_UNIT_KINDS),
            "detail_outline": settings["detail_outline"],
            "past_years_rule": settings["past_years_rule"],
            "contact_business": (settings["contacts"] or {}).get("business", ""),
            "contact_tech": (settings["contacts"] or {}).get("tech", ""),
        }
        for key in CATEGORY_KEYS:
            spec = cats.get(key) or {}
            data[f"{key}_label"] = spec.get("label", "")
            data[f"{key}_subtypes"] = list(spec.get("subtypes") or [])
        for key, name in cls.TARGET_FIELDS:
            data[name] = int((settings["showcase_targets"] or {}).get(key, 0) or 0)
        for key in LIMITS:
            data[f"limit_{key}"] = settings["limits"].get(key)
        return cls(formdata=None, data=data)

    def limit_fields(self) -> list:
        return [getattr(self, f"limit_{k}") for k in LIMITS]

    def target_fields(self) -> list:
        return [getattr(self, name) for _, name in self.TARGET_FIELDS]

    # -- validation ----------------------------------------------------------------
    def validate_unit_kinds(self, field):
        kinds = field.data or []
        if not kinds:
            raise ValidationError("请至少选择一类推荐单位")
        if any(k not in ORG_KINDS for k in kinds):
            raise ValidationError("未知的单位类型")

    def validate(self, extra_validators=None) -> bool:
        ok = super().validate(extra_validators)
        self.targets_error = None
        opens, closes = self.window_open, self.window_close
        if (opens.data and closes.data and not opens.errors and not closes.errors
                and closes.data <= opens.data):
            closes.errors.append("截止时间必须晚于开始时间")
            ok = False
        since = self.work_since
        if (since.data and closes.data and not since.errors and not closes.errors
                and since.data >= closes.data.date()):
            since.errors.append("应早于征集截止日期（案例为此日期以来开展的工作）")
            ok = False
        labels = [("activity_label", self.activity_label), ("venue_label", self.venue_label),
                  ("works_category_label", self.works_category_label)]
        seen: dict[str, str] = {}
        for name, field in labels:
            value = (field.data or "").strip()
            if value and not field.errors:
                if value in seen:
                    field.errors.append(f"与“{seen[value]}”重名，三类案例的名称不能相同")
                    ok = False
                else:
                    seen[value] = field.label.text.removesuffix("名称")
        total = self.showcase_total
        targets = self.target_fields()
        if total.data is not None and not total.errors \
                and all(f.data is not None and not f.errors for f in targets):
            s = sum(f.data for f in targets)
            if s > total.data:
                self.targets_error = (f"三类目标数之和（{s} 个）超过精选展示总数上限"
                                      f"（{total.data} 个），请调低目标数或提高总数")
                ok = False
        return ok

    def error_count(self) -> int:
        n = sum(1 for name, f in self._fields.items() if f.errors)
        return n + (1 if self.targets_error else 0)

    def error_groups(self) -> list[tuple[str, str]]:
        """The setting groups holding an error (to link from the summary)."""
        keys = []
        for name, f in self._fields.items():
            if f.errors:
                keys.append(_KEY_OF_FIELD.get(name, name))
        if self.targets_error:
            keys.append("showcase_targets")
        return setting_groups(keys)

    # -- result ----------------------------------------------------------------------
    def values(self) -> tuple[str, dict]:
        """(title, settings) from a validated form."""
        close: datetime = self.window_close.data
        since: date = self.work_since.data
        kinds = [k for k in ORG_KINDS if k in (self.unit_kinds.data or [])]
        return self.title.data.strip(), {
            "window_open": self.window_open.data.strftime("%Y-%m-%d %H:%M"),
            # a close time HH:MM includes that whole minute (window() compares seconds)
            "window_close": close.strftime("%Y-%m-%d %H:%M:59"),
            "work_since": since.strftime("%Y-%m-%d"),
            "categories": {
                key: {"label": getattr(self, f"{key}_label").data.strip(),
                      "subtypes": getattr(self, f"{key}_subtypes").items}
                for key in CATEGORY_KEYS},
            "limits": {k: getattr(self, f"limit_{k}").data for k in LIMITS},
            "quota_per_category": self.quota_per_category.data,
            "quota_total": self.quota_total.data,
            "showcase_total": self.showcase_total.data,
            "showcase_targets": {key: getattr(self, name).data
                                 for key, name in self.TARGET_FIELDS},
            "works_category_label": self.works_category_label.data.strip(),
            "unit_kinds": kinds,
            "detail_outline": self.detail_outline.items,
            "past_years_rule": self.past_years_rule.data.strip(),
            "contacts": {"business": self.contact_business.data.strip(),
                         "tech": self.contact_tech.data.strip()},
        }


#: form field -> setting key (for error_groups)
_KEY_OF_FIELD = {
    **{f"{k}_{p}": "categories" for k in CATEGORY_KEYS for p in ("label", "subtypes")},
    **{f"limit_{k}": "limits" for k in LIMITS},
    **{name: "showcase_targets" for _, name in SettingsForm.TARGET_FIELDS},
    "contact_business": "contacts", "contact_tech": "contacts",
}
