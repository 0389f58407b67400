"""科普中国信息员 certification (seed 001 一.1, seed 002 二).

A user becomes an info officer in three steps, all on one page (发布活动 leads there):
real-name certification (the accounts flow, ``certify_real_name``), the officer's unit
(an org from the library, or typed and 添加 — a pending org), and agreement to the
officer's undertaking (the edition's ``help.undertaking`` text). Certifying writes the
``InfoOfficer`` row and the ``info_officer`` grant, which the permission checks use.

Platform admins list officers and revoke them with a reason: revoking ends the grant
(the row keeps who, when and why). A revoked user may certify again.
"""
from __future__ import annotations

from sqlalchemy import func, or_, select
from sqlalchemy.orm import joinedload

from ...accounts import roles as R
from ...accounts.models import Grant, User
from ...extensions import db
from ...orgs.models import Org
from ...timeutil import utcnow
from ...workflow import OperationError, audit
from ..models import InfoOfficer

REASON_MAX = 500
UNIT_MAX = 200


def is_officer(user) -> bool:
    return bool(getattr(user, "is_authenticated", False)) and user.has_role(R.INFO_OFFICER)


def officer_of(user) -> InfoOfficer | None:
    if not getattr(user, "is_authenticated", False):
        return None
    return db.session.scalar(select(InfoOfficer).where(InfoOfficer.user_id == user.id))


def unit_name_of(user) -> str:
    """The officer's unit as the review list shows it (填报单位)."""
    row = officer_of(user)
    if row is None:
        return user.unit_name or ""
    if row.org is not None:
        return row.org.name
    return row.unit_name or ""


def certify(user, org: Org | None, agreed: bool) -> InfoOfficer:
    """Make ``user`` an info officer of ``org`` (real name first, undertaking agreed)."""
    errors = {}
    if user.real_name_verified_at is None:
        errors["real_name"] = "请先完成实名认证"
    if org is None:
        errors["org_id"] = "请选择或添加所在单位"
    if not agreed:
        errors["agree"] = "请阅读并勾选同意《科普中国信息员承诺书》"
    if errors:
        raise OperationError(next(iter(errors.values())), errors=errors, code="invalid")
    row = officer_of(user)
    now = utcnow()
    if row is None:
        row = InfoOfficer(user_id=user.id)
        db.session.add(row)
    row.org_id = org.id
    row.unit_name = org.name[:UNIT_MAX]
    row.agreed_at = now
    row.revoked_at = None
    row.revoked_reason = ""
    if not user.has_role(R.INFO_OFFICER):
        grant = Grant(user_id=user.id, role=R.INFO_OFFICER)
        db.session.add(grant)
        user.grants.append(grant)
    if not user.unit_name:
        user.unit_name = org.name[:100]
    db.session.flush()
    audit("user", user.id, "info_officer_certified", user,
          data={"org_id": org.id, "unit_name": row.unit_name})
    db.session.commit()
    return row


def revoke(row: InfoOfficer, by, reason: str) -> InfoOfficer:
    """End an officer's grant, with the reason (platform admins)."""
    reason = (reason or "").strip()
    if not reason:
        raise OperationError("请填写撤销原因", field="reason", code="comment_required")
    if len(reason) > REASON_MAX:
        raise OperationError(f"撤销原因不能超过{REASON_MAX}字（当前{len(reason)}字）",
                             field="reason", code="too_long")
    if row.revoked_at is not None:
        raise OperationError("该信息员资格已撤销", code="already_revoked")
    for grant in list(db.session.scalars(select(Grant).where(
            Grant.user_id == row.user_id, Grant.role == R.INFO_OFFICER))):
        db.session.delete(grant)
    row.revoked_at = utcnow()
    row.revoked_reason = reason
    audit("user", row.user_id, "info_officer_revoked", by, comment=reason,
          data={"officer_id": row.id})
    db.session.commit()
    return row


def list_officers(q: str = "", state: str = "active", page: int = 1, per_page: int = 50):
    """(rows, total) of officers, newest first; ``state``: active | revoked | all."""
    stmt = select(InfoOfficer).join(User, User.id == InfoOfficer.user_id)
    if state == "active":
        stmt = stmt.where(InfoOfficer.revoked_at.is_(None))
    elif state == "revoked":
        stmt = stmt.where(InfoOfficer.revoked_at.is_not(None))
    q = (q or "").strip()[:50]
    if q:
        like = "%" + q.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%"
        stmt = stmt.where(or_(InfoOfficer.unit_name.like(like, escape="\\"),
                              User.real_name.like(like, escape="\\"),
                              User.phone.like(like, escape="\\")))
    total = db.session.scalar(select(func.count()).select_from(stmt.subquery())) or 0
    rows = list(db.session.scalars(
        stmt.options(joinedload(InfoOfficer.user), joinedload(InfoOfficer.org))
        .order_by(InfoOfficer.created_at.desc(), InfoOfficer.id.desc())
        .limit(per_page).offset((max(page, 1) - 1) * per_page)))
    return rows, total
