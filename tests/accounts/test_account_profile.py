"""Personal center: basic info, roles, real-name certification."""
from __future__ import annotations

from flask import g
from sqlalchemy import select, text

from kepu.accounts import roles as R
from kepu.accounts.models import User
from kepu.accounts.validators import id_check_char
from kepu.extensions import db
from kepu.orgs.models import Org

PHONE = "13912345678"
ID_1 = "11010519491231002X"


def make_id(first17: str) -> str:
    return first17 + id_check_char(first17)


def test_profile_shows_masked_phone_roles_and_links(client, make_user, auth):
    org = Org(name="北京市科学技术协会", kind="省级科协")
    db.session.add(org)
    db.session.commit()
    user = make_user(phone=PHONE, roles=[(R.UNIT_ADMIN, {"org_id": org.id}),
                                         (R.PROVINCIAL_ADMIN, {"region_code": "11"})])
    auth.login_as(user)
    html = client.get("/account/").get_data(as_text=True)
    assert "139****5678" in html and PHONE not in html
    assert "推荐单位管理员（北京市科学技术协会）" in html
    assert "省级科协管理员（北京市）" in html
    assert "未认证" in html
    for text in ("修改密码", "实名认证", "申请成为推荐单位管理员", "我的推荐单位",
                 "姓名", "工作单位", "职务/职称", "电子邮箱"):
        assert text in html, text


def test_profile_save_basic_info(client, make_user, auth):
    user = make_user(phone=PHONE)
    auth.login_as(user)
    data = {"name": "张三", "unit_name": "中国科普研究所", "job_title": "研究员",
            "email": "zhangsan@example.com"}
    r = client.post("/account/", data=data)
    assert r.status_code == 303
    assert "已保存" in client.get("/account/").get_data(as_text=True)
    db.session.refresh(user)
    assert (user.name, user.unit_name, user.job_title, user.email) == tuple(data.values())


def test_profile_save_htmx_returns_block(client, make_user, auth):
    auth.login_as(make_user(phone=PHONE))
    r = client.post("/account/", data={"name": "李四", "email": ""},
                    headers={"HX-Request": "true"})
    html = r.get_data(as_text=True)
    assert r.status_code == 200
    assert "已保存" in html and 'id="basic-info"' in html and "<html" not in html


def test_profile_bad_email_kept_and_reported(client, make_user, auth):
    user = make_user(phone=PHONE)
    auth.login_as(user)
    r = client.post("/account/", data={"name": "王五", "email": "not-an-email"})
    html = r.get_data(as_text=True)
    assert r.status_code == 422
    assert "请输入正确的电子邮箱" in html
    assert 'value="王五"' in html and 'value="not-an-email"' in html
    db.session.refresh(user)
    assert user.name == ""


# --- real name ------------------------------------------------------------------------------

def test_realname_certify_and_mask(client, make_user, auth):
    user = make_user(phone=PHONE)
    auth.login_as(user)
    html = client.get("/account/realname").get_data(as_text=True)
    assert "真实姓名" in html and "身份证号" in html
    r = client.post("/account/realname", data={"real_name": "张三", "id_number": ID_1.lower()})
    assert r.status_code == 303
    html = client.get("/account/realname").get_data(as_text=True)
    assert "已认证" in html and "1101**********002X" in html and ID_1 not in html
    db.session.refresh(user)
    assert user.real_name == "张三"
    assert user.id_number_masked == "1101**********002X"
    assert len(user.id_number_hash) == 64 and ID_1 not in user.id_number_hash
    # the full number is stored nowhere in the user row
    row = db.session.execute(text('SELECT * FROM "user" WHERE id = :id'), {"id": user.id}).one()
    assert all(ID_1 not in str(v) and ID_1.lower() not in str(v) for v in row)
    # the profile shows 已认证 too
    assert "已认证" in client.get("/account/").get_data(as_text=True)


def test_realname_check_digit_refused(client, make_user, auth):
    auth.login_as(make_user(phone=PHONE))
    r = client.post("/account/realname", data={"real_name": "张三", "id_number": ID_1[:17] + "1"})
    assert r.status_code == 422
    html = r.get_data(as_text=True)
    assert "身份证号码校验位不正确" in html and 'value="张三"' in html


def test_realname_format_refused(client, make_user, auth):
    auth.login_as(make_user(phone=PHONE))
    r = client.post("/account/realname", data={"real_name": "张三", "id_number": "12345"})
    assert "身份证号码格式不正确" in r.get_data(as_text=True)


def test_realname_one_number_per_account(client, make_user, auth):
    make_user(phone="13800000001")
    first = User.by_phone("13800000001")
    auth.login_as(first)
    client.post("/account/realname", data={"real_name": "张三", "id_number": ID_1})
    second = make_user(phone="13800000002")
    auth.login_as(second)
    g.pop("_login_user", None)  # the test app context keeps Flask-Login's cached user
    r = client.post("/account/realname", data={"real_name": "张三", "id_number": ID_1})
    assert r.status_code == 422
    assert "该身份证号已被其他账号认证" in r.get_data(as_text=True)
    db.session.refresh(second)
    assert second.real_name_verified_at is None
    # another valid number works for the second account
    r = client.post("/account/realname",
                    data={"real_name": "李四", "id_number": make_id("44030419900101123")})
    assert r.status_code == 303


def test_realname_cannot_be_changed_once_certified(client, make_user, auth):
    user = make_user(phone=PHONE)
    auth.login_as(user)
    client.post("/account/realname", data={"real_name": "张三", "id_number": ID_1})
    r = client.post("/account/realname",
                    data={"real_name": "李四", "id_number": make_id("44030419900101123")})
    assert r.status_code == 200
    db.session.refresh(user)
    assert user.real_name == "张三"
    assert db.session.scalar(select(User.id_number_masked).where(User.id == user.id)) \
        == "1101**********002X"
