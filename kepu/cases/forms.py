"""Forms of the cases call (implementing units and 推荐码).

The WTForms fields render the inputs (labels, ids, required marks) and carry CSRF;
the rules themselves live in ``operations.entry.validate`` so that drafts, autosave
and submit share them and limits come from the edition's settings.
"""
from __future__ import annotations

from flask_wtf import FlaskForm
from wtforms import FileField, HiddenField, StringField, TextAreaField
from wtforms.validators import DataRequired

PH_CODE = "请输入推荐码，如 ABCDE-FGHJK"


def _code_field():
    return StringField("推荐码", validators=[DataRequired("请输入推荐码")],
                       render_kw={"placeholder": PH_CODE, "autocomplete": "off",
                                  "autocapitalize": "characters", "spellcheck": "false",
                                  "maxlength": 30})


class BindForm(FlaskForm):
    code = _code_field()


class StartForm(FlaskForm):
    code = _code_field()
    confirm = HiddenField()


class PastImportForm(FlaskForm):
    file = FileField("导入文件", validators=[DataRequired("请选择要导入的文件")],
                     render_kw={"accept": ".xlsx,.csv"})


def _required(label: str):
    return [DataRequired(f"请填写{label}")]


class CaseForm(FlaskForm):
    """The 附件 table's text fields (category, media and uploads render separately)."""

    name = StringField("案例名称", validators=_required("案例名称"),
                       render_kw={"maxlength": 100, "autocomplete": "off",
                                  "placeholder": "20字以内"})
    impl_unit = StringField("实施单位", validators=_required("实施单位"),
                            render_kw={"maxlength": 200, "autocomplete": "organization"})
    unit_address = StringField("单位地址", validators=_required("单位地址"),
                               render_kw={"maxlength": 200, "autocomplete": "street-address"})
    contact_name = StringField("联系人", validators=_required("联系人"),
                               render_kw={"maxlength": 50, "autocomplete": "name"})
    job_title = StringField("职务/职称", validators=_required("职务/职称"),
                            render_kw={"maxlength": 100, "autocomplete": "organization-title"})
    contact_phone = StringField("联系电话", validators=_required("联系电话"),
                                render_kw={"maxlength": 30, "autocomplete": "tel",
                                           "inputmode": "tel", "type": "tel",
                                           "placeholder": "手机号或带区号的固定电话"})
    email = StringField("电子邮箱", validators=_required("电子邮箱"),
                        render_kw={"maxlength": 120, "autocomplete": "email",
                                   "inputmode": "email", "type": "email"})
    subtype_other = StringField("其他类型（选择“其他”时填写）",
                                render_kw={"maxlength": 100, "autocomplete": "off"})
    summary = TextAreaField("简要概述", validators=_required("简要概述"),
                            render_kw={"rows": 6})
    awards = TextAreaField("获奖情况", render_kw={
        "rows": 3, "placeholder": "如：2025年获××奖（授奖单位）。填写获奖情况时需上传证明材料"})
    details = TextAreaField("详细材料", validators=_required("详细材料"),
                            render_kw={"rows": 16})

    def set_errors(self, errors: dict[str, str]) -> None:
        for name, message in errors.items():
            f = getattr(self, name, None)
            if f is not None and hasattr(f, "errors") and name != "csrf_token":
                f.errors = [message]
