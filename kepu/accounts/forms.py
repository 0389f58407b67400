"""Account forms. Labels and placeholders follow seed 000 (注册 / 登录 pages)."""
from __future__ import annotations

from flask_wtf import FlaskForm
from wtforms import EmailField, HiddenField, PasswordField, StringField
from wtforms.validators import DataRequired, EqualTo, Length, Optional

from . import validators as V

PH_PHONE = "请输入手机号"
PH_CODE = "请输入验证码"
PH_PASSWORD_NEW = "请设置密码（6-20位）"
PH_PASSWORD_CONFIRM = "请再次确认密码"
PH_PASSWORD = "请输入密码"


def _phone_field():
    return StringField(
        "手机号",
        validators=[DataRequired("请输入手机号"), V.Phone()],
        render_kw={"placeholder": PH_PHONE, "autocomplete": "tel", "inputmode": "numeric",
                   "maxlength": 20},
    )


def _code_field():
    return StringField(
        "验证码",
        validators=[DataRequired("请输入验证码")],
        render_kw={"placeholder": PH_CODE, "autocomplete": "one-time-code",
                   "inputmode": "numeric", "maxlength": 6},
    )


def _new_password_field(label="密码", placeholder=PH_PASSWORD_NEW):
    return PasswordField(
        label,
        validators=[DataRequired("请设置密码"), V.Password()],
        render_kw={"placeholder": placeholder, "autocomplete": "new-password", "maxlength": 20},
    )


def _confirm_field(target: str, label="确认密码", placeholder=PH_PASSWORD_CONFIRM):
    return PasswordField(
        label,
        validators=[DataRequired("请再次确认密码"), EqualTo(target, V.MSG_PASSWORD_MISMATCH)],
        render_kw={"placeholder": placeholder, "autocomplete": "new-password", "maxlength": 20},
    )


class RegisterForm(FlaskForm):
    phone = _phone_field()
    code = _code_field()
    password = _new_password_field()
    confirm = _confirm_field("password")


class PasswordLoginForm(FlaskForm):
    method = HiddenField(default="password")
    phone = _phone_field()
    password = PasswordField(
        "密码", validators=[DataRequired("请输入密码")],
        render_kw={"placeholder": PH_PASSWORD, "autocomplete": "current-password"},
    )


class SmsLoginForm(FlaskForm):
    method = HiddenField(default="sms")
    phone = _phone_field()
    code = _code_field()


class ResetPasswordForm(FlaskForm):
    phone = _phone_field()
    code = _code_field()
    password = _new_password_field("新密码", "请设置新密码（6-20位）")
    confirm = _confirm_field("password", "确认新密码", "请再次确认新密码")


class ChangePasswordForm(FlaskForm):
    current_password = PasswordField(
        "当前密码", validators=[DataRequired("请输入当前密码")],
        render_kw={"placeholder": "请输入当前密码", "autocomplete": "current-password"},
    )
    new_password = _new_password_field("新密码", "请设置新密码（6-20位）")
    confirm = _confirm_field("new_password", "确认新密码", "请再次确认新密码")


class ProfileForm(FlaskForm):
    name = StringField("姓名", validators=[Optional(), Length(max=50, message="姓名不超过50个字")],
                       render_kw={"placeholder": "请输入姓名", "maxlength": 50,
                                  "autocomplete": "name"})
    unit_name = StringField("工作单位",
                            validators=[Optional(), Length(max=100, message="工作单位不超过100个字")],
                            render_kw={"placeholder": "请输入工作单位", "maxlength": 100,
                                       "autocomplete": "organization"})
    job_title = StringField("职务/职称",
                            validators=[Optional(), Length(max=50, message="职务/职称不超过50个字")],
                            render_kw={"placeholder": "请输入职务/职称", "maxlength": 50})
    email = EmailField("电子邮箱",
                       validators=[Optional(), Length(max=120, message=V.MSG_EMAIL), V.Email()],
                       render_kw={"placeholder": "请输入电子邮箱", "maxlength": 120,
                                  "autocomplete": "email"})


class RealNameForm(FlaskForm):
    real_name = StringField("真实姓名",
                            validators=[DataRequired("请输入真实姓名"), V.RealName()],
                            render_kw={"placeholder": "请填写身份证上的姓名", "maxlength": 30,
                                       "autocomplete": "name"})
    id_number = StringField("身份证号",
                            validators=[DataRequired("请输入身份证号"), V.IdNumber()],
                            render_kw={"placeholder": "请输入18位身份证号码", "maxlength": 18,
                                       "autocomplete": "off"})
