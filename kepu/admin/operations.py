"""Platform administration: dashboard figures, user search, grants, activation.

Grant writes are delegated to ``kepu.accounts.operations`` (validation of the role's
scope, audit row, commit), so the CLI and these pages share one rule set.
"""
from __future__ import annotations

from sqlalchemy import func, or_, select

from ..accounts import operations as account_ops
from ..accounts.models import Grant, User
from ..extensions import db
from ..orgs.models import ORG_ACTIVE, ORG_PENDING, Org, UnitApplication
from .models import Campaign

AccountError = account_ops.AccountError


def dashboard_counts() -> dict[str, int]:
    return {
        "users": db.session.scalar(select(func.count(User.id))) or 0,
        "pending_orgs": db.session.scalar(
            select(func.count(Org.id)).where(Org.status == ORG_PENDING)) or 0,
        "pending_applications": db.session.scalar(
            select(func.count(UnitApplication.id)).where(UnitApplication.status == "pending"))
        or 0,
    }


def user_search_query(q: str | None):
    stmt = select(User)
    q = (q or "").strip()
    if q:
        like = f"%{q.lower()}%"
        stmt = stmt.where(or_(
            User.phone.contains(q),
            func.lower(User.name).like(like),
            func.lower(User.real_name).like(like),
            func.lower(User.unit_name).like(like),
        ))
    return stmt.order_by(User.id.desc())


def search_users(q: str | None, page: int = 1, per_page: int = 20):
    return db.paginate(user_search_query(q), page=page, per_page=per_page, error_out=False)


def org_options(q: str | None, selected_id: int | None = None, limit: int = 50) -> list[Org]:
    stmt = select(Org).where(Org.status == ORG_ACTIVE)
    q = (q or "").strip()
    if q:
        stmt = stmt.where(func.lower(Org.name).like(f"%{q.lower()}%"))
    orgs = list(db.session.scalars(stmt.order_by(Org.name, Org.id).limit(limit)))
    if selected_id and all(o.id != selected_id for o in orgs):
        chosen = db.session.get(Org, selected_id)
        if chosen is not None and chosen.status == ORG_ACTIVE:
            orgs.insert(0, chosen)
    return orgs


def campaign_options() -> list[Campaign]:
    return list(db.session.scalars(select(Campaign).order_by(Campaign.year.desc(),
                                                              Campaign.kind)))


def add_grant(user: User, role: str, org_id: int | None, province: str | None,
              subregion: str | None, campaign_id: int | None, by: User) -> Grant:
    region_code = (subregion or "").strip() or (province or "").strip() or None
    if subregion and province and not subregion.startswith(province):
        raise AccountError("所选市/区县不属于该省份", "subregion")
    return account_ops.grant_role(user, role, org_id=org_id, region_code=region_code,
                                  campaign_id=campaign_id, by=by)


def remove_grant(grant: Grant, by: User) -> None:
    account_ops.revoke_grant(grant, by=by)


def toggle_active(user: User, by: User) -> None:
    account_ops.set_active(user, not user.active, by=by)
