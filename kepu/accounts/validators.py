"""Validation rules for accounts, usable as plain functions and as WTForms validators.

Every rule raises ``ValueError`` (plain functions) or ``wtforms.ValidationError``
(validator classes) with the Chinese message shown next to the field.
"""
from __future__ import annotations

import re
from datetime import date

from wtforms.validators import ValidationError

MSG_PHONE = "请输入正确的手机号"
MSG_PASSWORD_LENGTH = "密码长度须为6-20位"
MSG_PASSWORD_MISMATCH = "两次输入的密码不一致"
MSG_ID_FORMAT = "身份证号码格式不正确"
MSG_ID_CHECK = "身份证号码校验位不正确"
MSG_EMAIL = "请输入正确的电子邮箱"
MSG_REAL_NAME = "请输入正确的真实姓名"

PASSWORD_MIN = 6
PASSWORD_MAX = 20

_PHONE_RE = re.compile(r"^1[3-9]\d{9}$")
_SEPARATORS_RE = re.compile(r"[\s\-()]")
_ID_RE = re.compile(r"^\d{17}[\dX]$")
_ID_WEIGHTS = (7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2)
_ID_CHECK_CHARS = "10X98765432"
# First two digits of a resident ID: province-level division codes (incl. 71/81/82 and
# 83, used for residence permits of Hong Kong / Macao / Taiwan residents since 2018).
_ID_PROVINCES = {
    "11", "12", "13", "14", "15", "21", "22", "23", "31", "32", "33", "34", "35", "36", "37",
    "41", "42", "43", "44", "45", "46", "50", "51", "52", "53", "54", "61", "62", "63", "64",
    "65", "71", "81", "82", "83",
}
_REAL_NAME_RE = re.compile(r"^[\u4e00-\u9fff\u3400-\u4dbf·•A-Za-z ]{2,30}$")


# --- phone -------------------------------------------------------------------

def normalize_phone(value: str | None) -> str:
    """Strip spaces/dashes and a +86 / 0086 prefix: ``+86 138-0000-0001`` → ``13800000001``."""
    s = _SEPARATORS_RE.sub("", (value or "").strip())
    for prefix in ("+86", "0086"):
        if s.startswith(prefix):
            s = s[len(prefix):]
            break
    else:
        if len(s) == 13 and s.startswith("86"):
            s = s[2:]
    return s


def is_valid_phone(value: str | None) -> bool:
    return bool(_PHONE_RE.match(normalize_phone(value)))


def validate_phone(value: str | None) -> str:
    """Return the normalised mainland mobile number or raise ValueError."""
    phone = normalize_phone(value)
    if not _PHONE_RE.match(phone):
        raise ValueError(MSG_PHONE)
    return phone


# --- password ----------------------------------------------------------------

def validate_password(value: str | None) -> str:
    value = value or ""
    if not PASSWORD_MIN <= len(value) <= PASSWORD_MAX:
        raise ValueError(MSG_PASSWORD_LENGTH)
    return value


# --- resident ID (GB 11643-1999) --------------------------------------------

def id_check_char(first17: str) -> str:
    """The GB 11643 check character for the first 17 digits."""
    total = sum(int(d) * w for d, w in zip(first17, _ID_WEIGHTS))
    return _ID_CHECK_CHARS[total % 11]


def normalize_id_number(value: str | None) -> str:
    return re.sub(r"\s", "", value or "").upper()


def validate_id_number(value: str | None, today: date | None = None) -> str:
    """Return the normalised 18-digit ID number or raise ValueError.

    Checks the format, the province code, a plausible birth date and the check digit.
    """
    number = normalize_id_number(value)
    if not _ID_RE.match(number) or number[:2] not in _ID_PROVINCES:
        raise ValueError(MSG_ID_FORMAT)
    try:
        birth = date(int(number[6:10]), int(number[10:12]), int(number[12:14]))
    except ValueError:
        raise ValueError(MSG_ID_FORMAT) from None
    today = today or date.today()
    if birth.year < 1900 or birth > today:
        raise ValueError(MSG_ID_FORMAT)
    if id_check_char(number[:17]) != number[17]:
        raise ValueError(MSG_ID_CHECK)
    return number


def mask_id_number(number: str) -> str:
    """``110105194912310021`` → ``1101**********0021`` (first 4, last 4)."""
    return number[:4] + "*" * (len(number) - 8) + number[-4:]


def validate_real_name(value: str | None) -> str:
    name = re.sub(r"\s+", " ", (value or "").strip())
    if not _REAL_NAME_RE.match(name):
        raise ValueError(MSG_REAL_NAME)
    return name


# --- email ---------------------------------------------------------------------

def validate_email_address(value: str | None) -> str:
    from email_validator import EmailNotValidError, validate_email

    try:
        info = validate_email((value or "").strip(), check_deliverability=False)
    except EmailNotValidError:
        raise ValueError(MSG_EMAIL) from None
    return info.normalized


# --- WTForms adapters -----------------------------------------------------------

class _Adapter:
    func = staticmethod(lambda v: v)
    #: write the normalised value back into the field
    normalize = True

    def __call__(self, form, field):
        if field.data in (None, ""):
            return  # DataRequired / Optional decide about empty values
        try:
            value = type(self).func(field.data)
        except ValueError as e:
            raise ValidationError(str(e)) from None
        if self.normalize:
            field.data = value


class Phone(_Adapter):
    func = staticmethod(validate_phone)


class Password(_Adapter):
    func = staticmethod(validate_password)
    normalize = False


class IdNumber(_Adapter):
    func = staticmethod(validate_id_number)


class RealName(_Adapter):
    func = staticmethod(validate_real_name)


class Email(_Adapter):
    func = staticmethod(validate_email_address)
