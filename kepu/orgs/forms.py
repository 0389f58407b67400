"""Forms of the org library and recommender units.

``OrgPickerField`` is the server side of the ``org_picker`` macro: it carries an org id
(hidden input or radio) and validates that the org exists and may be picked.
"""
from __future__ import annotations

from flask_login import current_user
from flask_wtf import FlaskForm
from flask_wtf.file import FileAllowed, FileField, FileRequired
from wtforms import (BooleanField, Field, IntegerField, SelectField, SelectMultipleField,
                     StringField, TextAreaField, ValidationError)
from wtforms.validators import DataRequired, Length, NumberRange, Optional, StopValidation
from wtforms.widgets import CheckboxInput, HiddenInput, ListWidget

from ..extensions import db
from ..inputs import parse_id
from .models import CERTIFICATIONS, ORG_ACTIVE, ORG_KINDS, Org


def check_org_choice(org_id, user=None, kinds=None, require_active: bool = False):
    """(org, error) for a submitted org id; merged orgs resolve to their survivor."""
    from .operations import resolve

    oid = parse_id(org_id)
    if oid is None:
        return None, "请从列表中选择单位"
    org = resolve(db.session.get(Org, oid))
    if org is None:
        return None, "所选单位不存在，请重新选择"
    if require_active and org.status != ORG_ACTIVE:
        return None, "所选单位尚未通过审核，请选择组织库中的正式单位"
    if not org.selectable_by(user if user is not None else current_user):
        return None, "所选单位不可选择，请重新选择"
    if kinds and not org.has_kind(kinds):
        return None, "请选择" + "或".join(kinds)
    return org, None


class OrgPickerField(Field):
    """An org id chosen with the ``org_picker`` macro. After validation ``.org`` is set."""

    widget = HiddenInput()

    def __init__(self, label=None, validators=None, kinds=None, required: bool = False,
                 require_active: bool = False, required_message: str = "请选择单位",
                 **kwargs):
        super().__init__(label, validators, **kwargs)
        self.kinds = list(kinds) if kinds else None
        self.required = required
        self.require_active = require_active
        self.required_message = required_message
        self.org: Org | None = None
        if required:
            self.flags.required = True

    def process_formdata(self, valuelist):
        raw = (valuelist[-1] if valuelist else "") or ""
        raw = raw.strip()
        self.data = parse_id(raw)

    def _value(self):
        return str(self.data) if self.data else ""

    def pre_validate(self, form):
        self.org = None
        if not self.data:
            if self.required:
                raise StopValidation(self.required_message)
            return
        org, error = check_org_choice(self.data, kinds=self.kinds,
                                      require_active=self.require_active)
        if error:
            raise StopValidation(error)
        self.org = org
        self.data = org.id

    @property
    def selected(self) -> Org | None:
        """The org to show as chosen when re-rendering (validated or not)."""
        if self.org is not None:
            return self.org
        if self.data:
            org, error = check_org_choice(self.data, kinds=self.kinds,
                                          require_active=self.require_active)
            return org if error is None else None
        return None


class ApplyUnitForm(FlaskForm):
    org_id = OrgPickerField("申请单位", required=True, require_active=True,
                            required_message="请选择要申请的单位")
    contact_name = StringField("联系人姓名", validators=[
        DataRequired("请填写联系人姓名"), Length(max=50, message="联系人姓名不能超过 50 个字")])
    job_title = StringField("职务/职称", validators=[
        DataRequired("请填写职务/职称"), Length(max=50, message="职务/职称不能超过 50 个字")])
    note = TextAreaField("说明", validators=[
        Optional(), Length(max=500, message="说明不能超过 500 个字")])


class MultiCheckboxField(SelectMultipleField):
    widget = ListWidget(prefix_label=False)
    option_widget = CheckboxInput()


class OrgEditForm(FlaskForm):
    name = StringField("单位名称", validators=[
        DataRequired("请填写单位名称"), Length(max=100, message="单位名称不能超过 100 个字")])
    kind = SelectField("单位类别", choices=list(ORG_KINDS),
                       validators=[DataRequired("请选择单位类别")])
    parent_id = OrgPickerField("上级单位")
    region_province = StringField("省份", validators=[Optional()])
    region_city = StringField("城市", validators=[Optional()])
    region_county = StringField("区县", validators=[Optional()])
    certifications = MultiCheckboxField("认证", choices=list(CERTIFICATIONS),
                                        validate_choice=False)
    also_kinds = MultiCheckboxField("兼属类别", choices=list(ORG_KINDS), validate_choice=False)
    aliases = TextAreaField("别名（每行一个）", validators=[Optional()])

    def validate_also_kinds(self, field):
        if any(k not in ORG_KINDS for k in field.data or []):
            raise ValidationError("请选择有效的兼属类别")

    def validate_certifications(self, field):
        bad = [c for c in field.data or [] if c not in CERTIFICATIONS]
        if bad:
            raise ValidationError("未知的认证类型")

    def validate_aliases(self, field):
        from .operations import split_aliases

        for a in split_aliases(field.data):
            if len(a) > 100:
                raise ValidationError("每个别名不能超过 100 个字")


class RejectForm(FlaskForm):
    comment = TextAreaField("驳回理由", validators=[
        DataRequired("请填写驳回理由"), Length(max=500, message="驳回理由不能超过 500 个字")])


class CertImportForm(FlaskForm):
    """Upload of a certification list (kepu.orgs.certify)."""

    list_key = SelectField("名单类型", validators=[DataRequired("请选择名单类型")])
    batch = StringField("批次", validators=[
        DataRequired("请填写批次，如“2021—2025年度第一批”"),
        Length(max=60, message="批次不能超过 60 个字")])
    year = IntegerField("年度", validators=[
        Optional(), NumberRange(1990, 2100, message="年度应为四位年份")])
    partial = BooleanField("有无法匹配的行时，仍导入其余可匹配的行")
    file = FileField("名单文件", validators=[
        FileRequired("请选择要上传的文件"),
        FileAllowed(["xlsx", "csv"], "仅支持 .xlsx 或 .csv 文件")])

    def __init__(self, *args, **kwargs):
        from .certify import CERT_LISTS

        super().__init__(*args, **kwargs)
        self.list_key.choices = [(k, c.tag) for k, c in CERT_LISTS.items()]
