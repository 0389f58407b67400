"""Scoped, filtered, sorted and paginated work lists (unit review, admin list, exports).

Typical use (a route)::

    stmt = scope_stmt(current_user, campaign, org_id=org.id)      # who may see what
    stmt, filters = filter_works(stmt, request.args)               # search / filters / sort
    page = paginate(stmt, filters.page)                            # 20 per page
    url_for("works.unit_list", **filters.args(page=2))             # links keep the filters

- ``scope_stmt(user, campaign, org_id=None)``: a unit admin sees the non-draft works whose
  channel is one of their ``unit_admin`` orgs (``org_id`` narrows to one of them); a
  platform admin sees every non-draft work of the edition. Anyone else sees nothing.
- ``filter_works(stmt, args)`` reads ``q`` (作品名称, substring, case-insensitive),
  ``status``, ``work_type``, ``category``, ``channel`` (org id), ``unit`` (申报单位,
  substring), ``sort`` (updated / submitted / title / status), ``order`` (asc / desc) and
  ``page``; unknown or malformed values are ignored. Returns the statement and a
  ``WorkFilters`` describing what was applied.
- ``paginate(stmt, page, per_page=PER_PAGE)`` -> ``Page`` (items, page, pages, total,
  has_prev, has_next, prev_num, next_num).
- ``status_counts(stmt)`` -> {status: n} for the statement (ignores its ordering).
"""
from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Mapping

from sqlalchemy import case, false, func, select
from sqlalchemy.sql import Select

from ..accounts import roles as R
from ..extensions import db
from ..inputs import parse_id
from .flow import STATE_LABELS
from .models import DRAFT, IN_REVIEW, PENDING, RECOMMENDED, RETURNED, REVIEWED, Work

PER_PAGE = 20

#: States shown in review lists (drafts are private to the applicant), in workflow order.
LIST_STATES = (PENDING, RETURNED, RECOMMENDED, IN_REVIEW, REVIEWED)
STATUS_CHOICES = {s: STATE_LABELS[s] for s in LIST_STATES}

SORTS = {
    "submitted": "提交时间",
    "updated": "更新时间",
    "title": "作品名称",
    "status": "状态",
}
DEFAULT_SORT, DEFAULT_ORDER = "submitted", "desc"

_STATUS_RANK = case({s: i for i, s in enumerate((DRAFT,) + LIST_STATES)},
                    value=Work.status, else_=99)


def escape_like(s: str) -> str:
    return s.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")


@dataclass
class WorkFilters:
    q: str = ""
    status: str = ""
    work_type: str = ""
    category: str = ""
    channel: int | None = None
    unit: str = ""
    sort: str = DEFAULT_SORT
    order: str = DEFAULT_ORDER
    page: int = 1

    def args(self, **overrides) -> dict:
        """Query-string arguments reproducing these filters (empty / default ones left
        out), with ``overrides`` applied; pass the result to ``url_for``."""
        data = asdict(self)
        data.update(overrides)
        out = {}
        for key, value in data.items():
            if value in (None, ""):
                continue
            if key == "page" and value == 1:
                continue
            if key == "sort" and value == DEFAULT_SORT:
                continue
            if key == "order" and value == DEFAULT_ORDER:
                continue
            out[key] = value
        return out

    @property
    def active(self) -> bool:
        """True when any filter or search narrows the list."""
        return bool(self.q or self.status or self.work_type or self.category
                    or self.channel or self.unit)


def scope_stmt(user, campaign, org_id: int | None = None) -> Select:
    """Non-draft works of ``campaign`` that ``user`` may review or administer."""
    stmt = select(Work).where(Work.status != DRAFT)
    stmt = stmt.where(Work.campaign_id == (campaign.id if campaign is not None else -1))
    if not getattr(user, "is_authenticated", False):
        return stmt.where(false())
    unit_orgs = user.org_ids_for(R.UNIT_ADMIN)
    if org_id is not None:
        if org_id not in unit_orgs and not user.is_platform_admin:
            return stmt.where(false())
        return stmt.where(Work.channel_id == org_id)
    if user.is_platform_admin:
        return stmt
    if not unit_orgs:
        return stmt.where(false())
    return stmt.where(Work.channel_id.in_(sorted(unit_orgs)))


def _text(args: Mapping, key: str, limit: int = 100) -> str:
    value = args.get(key) or ""
    return str(value).strip()[:limit]


def _int(args: Mapping, key: str) -> int | None:
    return parse_id(_text(args, key, 12))


def filter_works(stmt: Select, args: Mapping) -> tuple[Select, WorkFilters]:
    """Apply search, filters and sort from ``args`` (e.g. ``request.args``)."""
    f = WorkFilters()
    f.q = _text(args, "q")
    if f.q:
        like = "%" + escape_like(f.q.lower()) + "%"
        stmt = stmt.where(func.lower(Work.title).like(like, escape="\\"))
    status = _text(args, "status", 20)
    if status in STATUS_CHOICES:
        f.status = status
        stmt = stmt.where(Work.status == status)
    f.work_type = _text(args, "work_type", 50)
    if f.work_type:
        stmt = stmt.where(Work.work_type == f.work_type)
    f.category = _text(args, "category", 50)
    if f.category:
        stmt = stmt.where(Work.category == f.category)
    f.channel = _int(args, "channel")
    if f.channel:
        stmt = stmt.where(Work.channel_id == f.channel)
    else:
        f.channel = None
    f.unit = _text(args, "unit")
    if f.unit:
        like = "%" + escape_like(f.unit.lower()) + "%"
        stmt = stmt.where(func.lower(Work.applicant_unit).like(like, escape="\\"))

    sort = _text(args, "sort", 20)
    f.sort = sort if sort in SORTS else DEFAULT_SORT
    order = _text(args, "order", 4)
    f.order = order if order in ("asc", "desc") else DEFAULT_ORDER
    column = {"submitted": Work.submitted_at, "updated": Work.updated_at,
              "title": Work.title, "status": _STATUS_RANK}[f.sort]
    key = column.asc() if f.order == "asc" else column.desc()
    tie = Work.id.asc() if f.order == "asc" else Work.id.desc()
    stmt = stmt.order_by(key, tie)

    page = _int(args, "page")
    f.page = page if page and page > 0 else 1
    return stmt, f


@dataclass
class Page:
    items: list
    page: int
    per_page: int
    total: int

    @property
    def pages(self) -> int:
        return max((self.total + self.per_page - 1) // self.per_page, 1)

    @property
    def has_prev(self) -> bool:
        return self.page > 1

    @property
    def has_next(self) -> bool:
        return self.page < self.pages

    @property
    def prev_num(self) -> int:
        return self.page - 1

    @property
    def next_num(self) -> int:
        return self.page + 1


# The statements here select whole works (long texts included) from one table. Counting
# and sorting only the columns they need keeps the database from carrying every
# column of thousands of rows through a sort (measured: bench/review_lists.py).

def count(stmt: Select) -> int:
    return db.session.scalar(stmt.with_only_columns(func.count(Work.id)).order_by(None)) or 0


def paginate(stmt: Select, page: int = 1, per_page: int = PER_PAGE) -> Page:
    """One page of ``stmt``; a page past the end shows the last page. The page's ids are
    sorted and cut first; then only those works are loaded."""
    total = count(stmt)
    pages = max((total + per_page - 1) // per_page, 1)
    page = min(max(page, 1), pages)
    ids = list(db.session.scalars(
        stmt.with_only_columns(Work.id).limit(per_page).offset((page - 1) * per_page)))
    loaded = {w.id: w for w in db.session.scalars(
        stmt.order_by(None).where(Work.id.in_(ids)))} if ids else {}
    return Page([loaded[i] for i in ids if i in loaded], page, per_page, total)


def status_counts(stmt: Select) -> dict[str, int]:
    """{status: number of works} over ``stmt`` (every list state present, 0 if none)."""
    rows = db.session.execute(
        stmt.with_only_columns(Work.status, func.count(Work.id)).order_by(None)
        .group_by(Work.status))
    counts = {s: 0 for s in LIST_STATES}
    for status, n in rows:
        if status in counts:
            counts[status] = n
    return counts
