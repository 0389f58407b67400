"""推荐码 (seed 004 三(二): 一单位一码，随通知获取).

Every recommender unit (an active org whose kind is in the edition's ``unit_kinds``)
gets one unguessable code per edition: 10 characters from an alphabet without the
look-alikes 0/O/1/I/L, drawn with ``secrets``, shown as ``ABCDE-FGHJK``. Input is
accepted in any case, with or without the dash and spaces.

- ``ensure_codes(campaign, by)``   one code for each unit that has none (idempotent)
- ``regenerate(code, by)``         a new code; the old one stops working (audited)
- ``find_code(raw, campaign)``     the active unit's code for what a user typed
- ``bind(user, raw, campaign)``    make the user a case admin (``case_unit``) of the unit
"""
from __future__ import annotations

import secrets
import unicodedata
from dataclasses import dataclass

from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError

from ...accounts import roles as R
from ...accounts.models import Grant
from ...extensions import db
from ...orgs.models import ORG_ACTIVE, Org
from ...timeutil import utcnow
from ...workflow import OperationError, audit
from ..common import require_open_window, settings_of, unit_kinds
from ..models import DRAFT, Case, RecommendCode

ALPHABET = "ABCDEFGHJKMNPQRSTUVWXYZ23456789"  # no 0/O, 1/I/L
CODE_LENGTH = 10
MAX_ATTEMPTS = 50

INVALID_CODE = "推荐码无效，请核对后重新输入（推荐码由推荐单位随通知提供）"
EMPTY_CODE = "请输入推荐码"


def new_code() -> str:
    return "".join(secrets.choice(ALPHABET) for _ in range(CODE_LENGTH))


def format_code(code: str | None) -> str:
    """``ABCDEFGHJK`` → ``ABCDE-FGHJK`` (other lengths unchanged)."""
    code = code or ""
    if len(code) == CODE_LENGTH:
        return f"{code[:5]}-{code[5:]}"
    return code


def clean_code(raw: str | None) -> str:
    """What the user typed → the stored form: NFKC, upper case, no spaces or dashes."""
    value = unicodedata.normalize("NFKC", raw or "").upper()
    return "".join(ch for ch in value if ch.isalnum())


def _code_taken(code: str) -> bool:
    return db.session.scalar(select(RecommendCode.id).where(RecommendCode.code == code)) is not None


def _unique_code(reserved: set[str]) -> str:
    for _ in range(MAX_ATTEMPTS):
        code = new_code()
        if code not in reserved and not _code_taken(code):
            reserved.add(code)
            return code
    raise RuntimeError("could not draw a unique recommend code")  # pragma: no cover


def units_query(campaign):
    """Active orgs that recommend cases in ``campaign`` (kinds from its settings)."""
    kinds = unit_kinds(settings_of(campaign))
    return select(Org).where(Org.kind.in_(kinds), Org.status == ORG_ACTIVE)


def missing_count(campaign) -> int:
    """Recommender units of ``campaign`` that have no code yet."""
    have = select(RecommendCode.org_id).where(RecommendCode.campaign_id == campaign.id)
    sub = units_query(campaign).where(Org.id.not_in(have)).subquery()
    return db.session.scalar(select(func.count()).select_from(sub)) or 0


def ensure_codes(campaign, by=None) -> int:
    """Give every recommender unit of ``campaign`` a code; returns how many were created."""
    if campaign is None:
        raise OperationError("尚未创建案例征集活动", code="no_campaign")
    for attempt in range(3):
        have = set(db.session.scalars(select(RecommendCode.org_id)
                                      .where(RecommendCode.campaign_id == campaign.id)))
        orgs = [o for o in db.session.scalars(units_query(campaign).order_by(Org.id))
                if o.id not in have]
        reserved: set[str] = set()
        for org in orgs:
            db.session.add(RecommendCode(campaign_id=campaign.id, org_id=org.id,
                                         code=_unique_code(reserved)))
        if orgs:
            audit("campaign", campaign.id, "recommend_codes_generate", by,
                  data={"created": len(orgs)})
        try:
            db.session.commit()
            return len(orgs)
        except IntegrityError:  # a concurrent run (or code collision): start over
            db.session.rollback()
            if attempt == 2:
                raise
    return 0  # pragma: no cover


def regenerate(code: RecommendCode, by=None) -> RecommendCode:
    """Issue a new code for the unit; the old one stops working at once."""
    for attempt in range(3):
        code.code = _unique_code(set())
        code.regenerated_at = utcnow()
        audit("recommend_code", code.id, "regenerate", by,
              data={"org_id": code.org_id, "campaign_id": code.campaign_id})
        try:
            db.session.commit()
            return code
        except IntegrityError:
            db.session.rollback()
            if attempt == 2:
                raise
    return code  # pragma: no cover


def find_code(raw: str | None, campaign) -> RecommendCode | None:
    """The code typed by a user, for an active unit of ``campaign``; None when unknown."""
    value = clean_code(raw)
    if not value or campaign is None or len(value) > 16:
        return None
    code = db.session.scalar(select(RecommendCode).where(
        RecommendCode.code == value, RecommendCode.campaign_id == campaign.id))
    if code is None or code.org is None or code.org.status != ORG_ACTIVE:
        return None
    return code


def lookup(raw: str | None, campaign) -> RecommendCode:
    """Like ``find_code`` but raises the field error shown next to the code input."""
    if not clean_code(raw):
        raise OperationError(EMPTY_CODE, field="code", code="empty")
    code = find_code(raw, campaign)
    if code is None:
        raise OperationError(INVALID_CODE, field="code", code="invalid_code")
    return code


@dataclass
class BindResult:
    code: RecommendCode
    already: bool


def bind(user, raw: str | None, campaign) -> BindResult:
    """Bind ``user`` as a case admin of the unit whose code they entered."""
    from ...accounts.operations import AccountError, grant_role

    require_open_window(campaign)
    code = lookup(raw, campaign)
    if user.has_role(R.CASE_UNIT, org_id=code.org_id):
        return BindResult(code, True)
    try:
        grant_role(user, R.CASE_UNIT, org_id=code.org_id, by=user)
    except AccountError as e:  # e.g. the org was just merged away
        raise OperationError(e.message, field="code") from e
    audit("recommend_code", code.id, "bind", user, data={"org_id": code.org_id})
    db.session.commit()
    return BindResult(code, False)


@dataclass
class UnitRow:
    org: Org
    code: RecommendCode | None
    admins: int
    cases: int


def unit_rows(campaign, q: str = "", kind: str = "", page: int = 1, per_page: int = 20):
    """Paginated recommender units with their code and counts (for the admin list)."""
    stmt = (select(Org, RecommendCode)
            .outerjoin(RecommendCode, (RecommendCode.org_id == Org.id)
                       & (RecommendCode.campaign_id == campaign.id))
            .where(Org.kind.in_(unit_kinds(settings_of(campaign))), Org.status == ORG_ACTIVE))
    if kind:
        stmt = stmt.where(Org.kind == kind)
    if q:
        like = f"%{q.strip()}%"
        stmt = stmt.where(Org.name.ilike(like) | Org.pinyin.ilike(like)
                          | Org.initials.ilike(like))
    total = db.session.scalar(select(func.count()).select_from(stmt.subquery())) or 0
    pages = max(1, (total + per_page - 1) // per_page)
    page = min(max(1, page), pages)
    rows = db.session.execute(stmt.order_by(Org.kind, Org.region_code, Org.pinyin, Org.id)
                              .offset((page - 1) * per_page).limit(per_page)).all()
    return Page([_row(campaign, org, code) for org, code in rows], page, pages, total)


def unit_row(campaign, code: RecommendCode) -> UnitRow:
    return _row(campaign, code.org, code)


def _row(campaign, org: Org, code: RecommendCode | None) -> UnitRow:
    admins = db.session.scalar(select(func.count(Grant.id)).where(
        Grant.org_id == org.id, Grant.role == R.CASE_UNIT)) or 0
    cases = db.session.scalar(select(func.count(Case.id)).where(
        Case.org_id == org.id, Case.campaign_id == campaign.id, Case.status != DRAFT)) or 0
    return UnitRow(org, code, admins, cases)


@dataclass
class Page:
    items: list
    page: int
    pages: int
    total: int

    @property
    def has_prev(self) -> bool:
        return self.page > 1

    @property
    def has_next(self) -> bool:
        return self.page < self.pages


def export_rows(campaign) -> list[list[str]]:
    """(单位名称, 类别, 地区, 推荐码) for every unit that has a code."""
    stmt = (select(Org, RecommendCode).join(RecommendCode, RecommendCode.org_id == Org.id)
            .where(RecommendCode.campaign_id == campaign.id, Org.status == ORG_ACTIVE)
            .order_by(Org.kind, Org.region_code, Org.pinyin, Org.id))
    return [[org.name, org.kind, org.region_name if org.region_code else "",
             format_code(code.code)] for org, code in db.session.execute(stmt)]
