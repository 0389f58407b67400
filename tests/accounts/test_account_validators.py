"""Every validation rule with its Chinese message (plain functions and via forms)."""
from __future__ import annotations

from datetime import date

import pytest

from kepu.accounts import validators as V


def make_id(first17: str) -> str:
    return first17 + V.id_check_char(first17)


@pytest.mark.parametrize("raw, expected", [
    ("13800000001", "13800000001"),
    ("19912345678", "19912345678"),
    (" 138 0000 0001 ", "13800000001"),
    ("+86 138-0000-0001", "13800000001"),
    ("008613800000001", "13800000001"),
    ("8613800000001", "13800000001"),
])
def test_valid_phones(raw, expected):
    assert V.validate_phone(raw) == expected


@pytest.mark.parametrize("raw", ["", "1380000000", "138000000012", "12800000001",
                                 "23800000001", "1380000000a", "+1 2025550123"])
def test_invalid_phones(raw):
    with pytest.raises(ValueError, match="请输入正确的手机号"):
        V.validate_phone(raw)


@pytest.mark.parametrize("pw", ["a" * 6, "a" * 20, "密码密码密码"])
def test_password_length_ok(pw):
    assert V.validate_password(pw) == pw


@pytest.mark.parametrize("pw", ["", "a" * 5, "a" * 21])
def test_password_length_refused(pw):
    with pytest.raises(ValueError, match="密码长度须为6-20位"):
        V.validate_password(pw)


def test_id_check_digit_known_sample():
    # GB 11643 example: 11010519491231002X
    assert V.id_check_char("11010519491231002") == "X"
    assert V.validate_id_number("11010519491231002x") == "11010519491231002X"


def test_id_computed_samples_are_valid():
    for first17 in ("44030419900101123", "31010120000229456", "65010219850615001"):
        number = make_id(first17)
        assert V.validate_id_number(number) == number


def test_id_wrong_check_digit():
    number = make_id("44030419900101123")
    wrong = number[:17] + ("0" if number[17] != "0" else "1")
    with pytest.raises(ValueError, match="身份证号码校验位不正确"):
        V.validate_id_number(wrong)


@pytest.mark.parametrize("number", [
    "",
    "1101051949123100",            # 16 chars
    "1101051949123100211",         # 19 chars
    "11010519491231002Y",          # bad last char
    make_id("99010519491231002"),  # no such province
    make_id("11010519490231002"),  # 31 Feb: 19490231
    make_id("11010518991231002"),  # born 1899
])
def test_id_format_refused(number):
    with pytest.raises(ValueError, match="身份证号码格式不正确"):
        V.validate_id_number(number)


def test_id_birth_date_in_future_refused():
    number = make_id("11010520300101002")
    with pytest.raises(ValueError, match="身份证号码格式不正确"):
        V.validate_id_number(number, today=date(2026, 1, 1))


def test_id_masking_first4_last4():
    assert V.mask_id_number("11010519491231002X") == "1101**********002X"


@pytest.mark.parametrize("email", ["a@example.com", "zhang.san@kepu.org.cn"])
def test_email_ok(email):
    assert V.validate_email_address(email) == email


@pytest.mark.parametrize("email", ["abc", "a@", "@b.cn", "a b@c.cn", "a@b"])
def test_email_refused(email):
    with pytest.raises(ValueError, match="请输入正确的电子邮箱"):
        V.validate_email_address(email)


@pytest.mark.parametrize("name, ok", [("张三", True), ("阿卜杜·热合曼", True), ("张", False),
                                      ("张三3", False)])
def test_real_name(name, ok):
    if ok:
        assert V.validate_real_name(name) == name
    else:
        with pytest.raises(ValueError, match="请输入正确的真实姓名"):
            V.validate_real_name(name)


def test_form_messages_next_to_fields(app):
    from kepu.accounts.forms import RegisterForm

    with app.test_request_context(method="POST", data={
            "phone": "123", "code": "", "password": "12345", "confirm": "54321"}):
        form = RegisterForm()
        assert not form.validate()
        assert form.phone.errors == ["请输入正确的手机号"]
        assert form.code.errors == ["请输入验证码"]
        assert form.password.errors == ["密码长度须为6-20位"]
        assert form.confirm.errors == ["两次输入的密码不一致"]
