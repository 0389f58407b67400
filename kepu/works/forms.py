"""Forms of the applicant steps.

The WTForms classes render the fields (labels, ids, ``*`` marks, kept values); the
rules themselves are checked on the stored work by
``kepu.works.operations.apply.validate_step`` (a draft stores whatever was typed).
``read_step`` turns a post into the ``StepInput`` the operations store.
"""
from __future__ import annotations

from flask_wtf import FlaskForm
from wtforms import EmailField, SelectField, StringField, TelField, TextAreaField

from ..inputs import parse_int
from .operations.apply import FILE_TARGETS, STEP_FILES, STEP_TEXT, StepInput
from .settings import WorksSettings


class Required:
    """Marks a field as required (the ``*`` and ``required``/aria); checks nothing here."""

    field_flags = {"required": True}

    def __call__(self, form, field):  # pragma: no cover - never used to validate
        return None


def normalize_text(value: str | None, multiline: bool = False) -> str:
    """Browsers post textarea line breaks as CRLF; count and store them as one char."""
    value = (value or "").replace("\r\n", "\n").replace("\r", "\n")
    return value if multiline else value.strip()


def _choices(options, current, prompt: str) -> list[tuple[str, str]]:
    out = [("", prompt)] + [(o, o) for o in options]
    if current and current not in options:  # e.g. an option the admin has since removed
        out.append((current, f"{current}（已停用，请重新选择）"))
    return out


class _StepForm(FlaskForm):
    class Meta:
        csrf = False  # CSRFProtect checks every POST; the template adds the token

    def __init__(self, settings: WorksSettings, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.settings = settings


class Step1Form(_StepForm):
    title = StringField("作品名称", [Required()])
    work_type = SelectField("作品类型", [Required()], choices=[], validate_choice=False)
    category = SelectField("作品分类", [Required()], choices=[], validate_choice=False)
    intro = TextAreaField("作品简介", [Required()])

    def __init__(self, settings: WorksSettings, *args, **kwargs):
        super().__init__(settings, *args, **kwargs)
        self.work_type.choices = _choices(settings["work_types"], self.work_type.data,
                                          "请选择作品类型")
        self.category.choices = _choices(settings["categories"], self.category.data,
                                         "请选择作品分类")


class Step2Form(_StepForm):
    author_name = StringField("作者姓名", [Required()])
    applicant_unit = StringField("申报单位", [Required()])
    unit_address = StringField("单位地址", [Required()])
    contact_name = StringField("联系人")
    contact_phone = TelField("联系电话", [Required()])
    email = EmailField("电子邮箱")
    job_title = StringField("职务/职称")
    highlights = TextAreaField("亮点总结", [Required()])
    awards = TextAreaField("获奖情况")


FORMS = {1: Step1Form, 2: Step2Form}

#: Textareas keep their line breaks and spaces; single-line fields are trimmed.
MULTI_LINE = {"intro", "highlights", "awards"}


def _int_or_none(value):
    return parse_int(value)


def media_rows(form) -> list[dict]:
    """The 相关媒体报道 rows posted as repeated ``media_title`` / ``media_url`` inputs
    (empty rows dropped, order kept)."""
    titles, urls = form.getlist("media_title"), form.getlist("media_url")
    rows = []
    for i in range(max(len(titles), len(urls))):
        title = normalize_text(titles[i] if i < len(titles) else "")
        url = normalize_text(urls[i] if i < len(urls) else "")
        if title or url:
            rows.append({"title": title, "url": url})
    return rows


def read_step(step: int, form, files=None, *, uploads: bool = True) -> StepInput:
    """The post of one step: only the fields present are stored (a partial post never
    blanks the others). ``uploads=False`` ignores files posted without JavaScript."""
    values = {}
    for name in STEP_TEXT.get(step, ()):
        if name in form:
            values[name] = normalize_text(form.get(name), multiline=name in MULTI_LINE)
    if step == 2:
        if "channel_id" in form:
            values["channel_id"] = _int_or_none(form.get("channel_id"))
        if "media_title" in form or "media_url" in form:
            values["media_reports"] = media_rows(form)
    file_ids, posted = {}, {}
    for key in STEP_FILES.get(step, ()):
        target = FILE_TARGETS[key]
        file_ids[key] = form.getlist(target)
        if uploads and files is not None:
            posted[key] = [f for f in files.getlist(f"{target}__upload") if f and f.filename]
    return StepInput(step=step, values=values, file_ids=file_ids, uploads=posted,
                     version=_int_or_none(form.get("version")))


def media_display_rows(items, minimum: int) -> list[dict]:
    """Rows for the 相关媒体报道 inputs: every stored/posted row, padded to ``minimum``."""
    rows = [{"title": m.get("title", ""), "url": m.get("url", "")} for m in items or []]
    while len(rows) < minimum:
        rows.append({"title": "", "url": ""})
    return rows
