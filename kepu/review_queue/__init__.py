"""The review queue (审核队列): every campaign's review list, declared as data.

A campaign declares a list once::

    UNIT_QUEUE = Queue(
        "works.unit", Work,
        states={"pending": "待推荐", "returned": "退回修改", ...},   # the status tabs
        scope=lambda c: [Work.campaign_id == c.campaign_id, Work.channel_id == c.org_id,
                         Work.status != "draft"],                  # who sees what
        search=(Work.title,),                                      # the 搜索 box
        filters=[Filter("category", "作品分类", Work.category, choices=...)],
        sorts=[Sort("submitted", "提交时间", (Work.submitted_at,)), ...],
        actions=[Action("recommend", "推荐", {"pending"}, undo="unrecommend"), ...],
        options=(joinedload(Work.channel),),                       # relations of a row
    )

and a route asks for a page::

    page = UNIT_QUEUE.page(QueueContext(user, campaign, org), request.args)

The module does the rest the same way everywhere:

- **Queries.** The scope, then the filters; ONE grouped count by status serves the
  status tabs and the total; the page's rows are cut by a subquery on the sort columns
  (which covering indexes serve: see the migrations and tests/core/test_queue_plans.py)
  and loaded with their relations in the same statement. A list request therefore costs
  two statements of its own.
- **Arguments.** ``q``, ``status``, each filter's key, ``sort``, ``order``, ``page`` and
  ``per_page`` (20/50/100) are read from the query string; anything unknown or malformed
  is ignored, never an error. ``QueueArgs.query()`` rebuilds the query string from the
  validated values, so a URL the server builds from them can never point elsewhere.
- **Links.** ``page.link(**overrides)`` (the list with other arguments),
  ``page.item_url(id)`` (a row's detail page, carrying the list's arguments for
  上一件 / 下一件), numbered page links with ellipses.
- **Actions.** ``page.actions_for(status)``: the row actions a viewer may take in a
  state, computed once per page (never a state-machine check per row); the operations
  still check everything on the server.
- **Neighbours.** ``queue.neighbours(ctx, args, obj)``: previous and next item within
  the current filter and sort (keyset comparisons on the sort key, so it works after
  the item itself has left the filter, e.g. once recommended), and its position.
- **Bulk.** ``queue.selected_ids(ctx, form)``: the ids a bulk action applies to, either
  ticked (``ids``, across pages) or every item of the current filter (``scope=all``),
  always re-checked against the scope.
"""
from __future__ import annotations

import math
from dataclasses import dataclass, field, replace
from datetime import datetime
from typing import Any, Callable, Iterable, Mapping, Sequence
from functools import lru_cache
from urllib.parse import parse_qsl, quote_plus, urlencode

from sqlalchemy import and_, false, func, or_, select, tuple_
from sqlalchemy.sql import ColumnElement, Select
from werkzeug.datastructures import MultiDict

from ..extensions import db

_quote_plus = lru_cache(maxsize=4096)(quote_plus)

PER_PAGE_CHOICES = (20, 50, 100)
DEFAULT_PER_PAGE = PER_PAGE_CHOICES[0]
#: A bulk action over "every item of the filter" stops here (a confirmation names them).
BULK_MAX = 1000
Q_MAX = 100


# --- declarations -----------------------------------------------------------------------

@dataclass(frozen=True)
class Filter:
    """One filter of a list: a select (``choices``), a text search on a column
    (``kind="text"``, substring) or a yes/no flag (``kind="flag"``: only "1" counts).

    ``column``: equality (select), substring (text) or truth (flag) on that column.
    ``apply(stmt_clauses_value)``: a custom clause builder ``(value, ctx) -> clause``
    instead. ``choices``: {value: label} or a callable ``(ctx) -> {value: label}``;
    a value not among the choices is ignored. ``as_int``: the value is an integer id.
    """

    key: str
    label: str
    column: Any = None
    choices: Mapping[str, str] | Callable[..., Mapping] | None = None
    kind: str = "select"            # select | text | flag | date
    apply: Callable[[str, Any], ColumnElement] | None = None
    as_int: bool = False
    all_label: str = "全部"
    placeholder: str = ""
    # instead of membership in ``choices``: validate(value, ctx) -> bool
    validate: Callable[[str, Any], bool] | None = None

    def options(self, ctx, current: str = "") -> Mapping:
        """The select's options; a callable may take the current value too (e.g. a
        region filter that lists the chosen region's children for drilling down)."""
        if callable(self.choices):
            try:
                return self.choices(ctx, current)
            except TypeError:
                return self.choices(ctx)
        return self.choices or {}

    def clean(self, raw: str, ctx) -> str:
        value = (raw or "").strip()[:Q_MAX]
        if not value:
            return ""
        if self.kind == "flag":
            return "1" if value == "1" else ""
        if self.kind == "date":
            from datetime import datetime as _dt

            try:
                _dt.strptime(value, "%Y-%m-%d")
            except ValueError:
                return ""
            return value
        if self.as_int and not value.isdigit():
            return ""
        if self.validate is not None:
            return value if self.validate(value, ctx) else ""
        if self.kind == "select" and self.choices is not None:
            options = self.options(ctx, value)
            if value not in {str(k) for k in options}:
                return ""
        return value

    def clause(self, value: str, ctx) -> ColumnElement:
        if self.apply is not None:
            return self.apply(value, ctx)
        if self.kind == "text":
            return contains(self.column, value)
        if self.kind == "flag":
            return self.column.is_(True)
        return self.column == (int(value) if self.as_int else value)


@dataclass(frozen=True)
class Sort:
    """A sort option: ``columns`` in ascending order (the id is added as tie-breaker)."""

    key: str
    label: str
    columns: tuple
    default_order: str = "desc"


@dataclass(frozen=True)
class Action:
    """A decision offered in the rows and on the detail page.

    ``sources``: the states in which it is offered; ``comment``: a required comment
    (退回: opens the comment box); ``undo``: the action that takes it back (offered right
    after it); ``bulk``: may be applied to a selection; ``style``: button class;
    ``shortcut``: the detail page's keyboard shortcut; ``next_label``: the
    decide-and-next button ("推荐并下一件").
    """

    key: str
    label: str
    sources: frozenset[str] | set[str]
    style: str = "btn-success"
    comment: bool = False
    undo: str | None = None
    bulk: bool = False
    shortcut: str | None = None
    next_label: str | None = None
    confirm: str | None = None
    comment_label: str | None = None     # label of the comment box (default "<label>意见")
    confirm_label: str | None = None     # its submit button (default "确认<label>")
    is_undo: bool = False
    link: bool = False      # a plain link to the action's page (e.g. 分配专家), no decision

    def __post_init__(self):
        object.__setattr__(self, "sources", frozenset(self.sources))


@dataclass
class QueueContext:
    """Who is looking, in which edition and (for a unit's list) which unit. ``extra``
    holds anything a scope or a choices callable needs; ``can_decide`` is False when
    the window has closed or the unit is locked (rows then show no decisions)."""

    user: Any
    campaign: Any = None
    org: Any = None
    can_decide: bool = True
    extra: dict = field(default_factory=dict)

    @property
    def campaign_id(self) -> int:
        return self.campaign.id if self.campaign is not None else -1

    @property
    def org_id(self) -> int:
        return self.org.id if self.org is not None else -1


def contains(column, text: str) -> ColumnElement:
    """Case-insensitive substring match that a covering index can serve: SQLite's LIKE
    already ignores ASCII case (``lower()`` would hide the column from the index), and
    PostgreSQL needs ILIKE."""
    like = "%" + escape_like(text) + "%"
    dialect = db.engine.dialect.name if db.engine is not None else "sqlite"
    if dialect == "postgresql":
        return column.ilike(like, escape="\\")
    return column.like(like, escape="\\")


def escape_like(s: str) -> str:
    return s.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")


# --- arguments ----------------------------------------------------------------------------

@dataclass
class QueueArgs:
    """The validated list arguments (what the URL says)."""

    q: str = ""
    status: str = ""
    filters: dict[str, str] = field(default_factory=dict)
    sort: str = ""
    order: str = "desc"
    page: int = 1
    per_page: int = DEFAULT_PER_PAGE
    default_sort: str = ""
    sort_orders: dict[str, str] = field(default_factory=dict)  # sort -> its default order

    @property
    def active(self) -> bool:
        """True when a search or a filter (other than the status tab) narrows the list."""
        return bool(self.q or any(self.filters.values()))

    @property
    def filter_count(self) -> int:
        return sum(1 for v in self.filters.values() if v)

    def query(self, **overrides) -> dict[str, str]:
        """The query arguments reproducing these values (defaults left out), with
        ``overrides`` applied (None or "" removes an argument)."""
        data: dict[str, Any] = {"q": self.q, "status": self.status, **self.filters,
                                "sort": self.sort, "order": self.order,
                                "page": self.page, "per_page": self.per_page}
        data.update(overrides)
        out = {}
        for key, value in data.items():
            if value is None or value == "":
                continue
            if key == "page" and int(value) == 1:
                continue
            if key == "per_page" and int(value) == DEFAULT_PER_PAGE:
                continue
            if key == "sort" and value == self.default_sort:
                continue
            if key == "order" and value == self.sort_orders.get(
                    data.get("sort") or self.default_sort, "desc"):
                continue
            out[key] = str(value)
        return out

    def query_string(self, **overrides) -> str:
        """``urlencode(self.query(**overrides))``; a page builds a dozen of them (tabs,
        pager), so the quoting of each key and value is remembered."""
        return "&".join(_quote_plus(k) + "=" + _quote_plus(v)
                        for k, v in self.query(**overrides).items())


# --- results ------------------------------------------------------------------------------

@dataclass
class QueuePage:
    queue: "Queue"
    ctx: QueueContext
    args: QueueArgs
    items: list
    counts: dict[str, int] | None  # status -> n over scope + filters (not the status
                                   # tab); None when a capped count left them out
    total: int                   # items matching everything, the status tab included
    capped: bool = False         # the total is a lower bound ("10,000+")
    base_url: str = ""
    item_pattern: str = ""       # detail URL with "{id}"

    @property
    def all_count(self) -> int | None:
        if self.counts is None:
            return None
        return sum(self.counts.get(s, 0) for s in self.queue.states)

    @property
    def total_text(self) -> str:
        return f"{self.total:,}+" if self.capped else f"{self.total:,}"

    @property
    def page(self) -> int:
        return self.args.page

    @property
    def per_page(self) -> int:
        return self.args.per_page

    @property
    def pages(self) -> int:
        return max(math.ceil(self.total / self.per_page), 1)

    @property
    def has_prev(self) -> bool:
        return self.page > 1

    @property
    def has_next(self) -> bool:
        return self.page < self.pages

    @property
    def first_index(self) -> int:
        return (self.page - 1) * self.per_page + 1 if self.total else 0

    @property
    def last_index(self) -> int:
        return min(self.page * self.per_page, self.total)

    def link(self, **overrides) -> str:
        """The list URL with the current arguments and ``overrides`` (changing a filter
        goes back to page 1 unless ``page`` is given)."""
        if "page" not in overrides and set(overrides) - {"per_page"}:
            overrides["page"] = None
        qs = self.args.query_string(**overrides)
        return self.base_url + ("?" + qs if qs else "")

    @property
    def query_string(self) -> str:
        cached = self.__dict__.get("_qs")
        if cached is None:
            cached = self.__dict__["_qs"] = self.args.query_string()
        return cached

    @property
    def qs_arg(self) -> str:
        """"&qs=<the list's query string, encoded>" for links a row builds."""
        from urllib.parse import quote

        qs = self.query_string
        return "&qs=" + quote(qs, safe="") if qs else ""

    @property
    def self_url(self) -> str:
        qs = self.query_string
        return self.base_url + ("?" + qs if qs else "")

    def item_url(self, item_id: int) -> str:
        """A row's detail page, carrying the list's arguments (for 上一件 / 下一件)."""
        suffix = self.__dict__.get("_item_suffix")
        if suffix is None:
            qs = self.args.query_string(page=None)
            suffix = self.__dict__["_item_suffix"] = "?" + qs if qs else ""
        return self.item_pattern.replace("{id}", str(item_id)) + suffix

    def page_numbers(self, around: int = 2) -> list[int | None]:
        """[1, None, 8, 9, 10, 11, 12, None, 500]: None is an ellipsis."""
        last = self.pages
        wanted = {1, last, *range(self.page - around, self.page + around + 1)}
        nums = sorted(n for n in wanted if 1 <= n <= last)
        out: list[int | None] = []
        prev = 0
        for n in nums:
            if n - prev == 2:
                out.append(n - 1)
            elif n - prev > 2:
                out.append(None)
            out.append(n)
            prev = n
        return out

    def actions_for(self, status: str) -> list[Action]:
        return self._actions.get(status, [])

    @property
    def actions_by_status(self) -> dict[str, list[Action]]:
        """{status: actions_for(status)} (a row template's lookup without a call)."""
        return self._actions

    @property
    def bulk_actions(self) -> list[Action]:
        if not self.ctx.can_decide:
            return []
        return [a for a in self.queue.actions if a.bulk]

    def eligible_count(self, action: Action) -> int:
        """How many items of the current filter ``action`` could apply to (its states);
        unknown under a capped count: then the total (a bulk re-checks every item)."""
        if self.args.status:
            return self.total if self.args.status in action.sources else 0
        if self.counts is None:
            return self.total
        return sum(self.counts.get(s, 0) for s in action.sources)

    @property
    def selectable_states(self) -> frozenset[str]:
        cached = self.__dict__.get("_selectable")
        if cached is None:
            out: set[str] = set()
            for a in self.bulk_actions:
                out |= a.sources
            cached = self.__dict__["_selectable"] = frozenset(out)
        return cached

    def __post_init__(self):
        self._actions = {s: self.queue.actions_for(s, self.ctx) for s in self.queue.states}


@dataclass
class Neighbours:
    prev_id: int | None
    next_id: int | None
    position: int | None   # 1-based index of the item in the filtered list (None: not in it)
    total: int


# --- the queue ----------------------------------------------------------------------------

class Queue:
    def __init__(self, key: str, model, *, states: Mapping[str, str],
                 scope: Callable[[QueueContext], Sequence[ColumnElement]],
                 search: Sequence = (), filters: Sequence[Filter] = (),
                 sorts: Sequence[Sort] = (), default_sort: str | None = None,
                 actions: Sequence[Action] = (), options: Sequence = (),
                 status_attr: str = "status", search_label: str = "搜索",
                 search_placeholder: str = "", noun: str = "件", item_label: str = "条目",
                 list_endpoint: str = "", detail_endpoint: str = "",
                 detail_id_arg: str = "id",
                 tallies: Callable[[QueueContext], Mapping[str, int]] | None = None,
                 count_cap: int | None = None,
                 scope_params: Sequence[str] | None = None):
        self.key = key
        self.model = model
        self.states = dict(states)
        self.scope = scope
        self.search = tuple(search)
        self.filters = list(filters)
        self.sorts = {s.key: s for s in sorts}
        if not self.sorts:
            raise ValueError(f"{key}: a queue needs at least one sort")
        self.default_sort = default_sort or next(iter(self.sorts))
        self.actions = list(actions)
        # loader options, or a callable giving them (evaluated at query time, so that
        # declaring a queue does not configure the mappers at import)
        self.options = options
        self.status_col = getattr(model, status_attr)
        self.search_label = search_label
        self.search_placeholder = search_placeholder
        self.noun = noun
        self.item_label = item_label
        self.list_endpoint = list_endpoint
        self.detail_endpoint = detail_endpoint
        self.detail_id_arg = detail_id_arg
        # At national scale (a million activities) counting a whole scope per request is
        # too slow: ``tallies(ctx)`` gives the unfiltered counts by status from counters
        # kept by the database, and a search or filter is counted up to ``count_cap``
        # ("10,000+"), its tab counts left out.
        self.tallies = tallies
        self.count_cap = count_cap
        # ``scope_params``: the QueueContext attributes the scope reads ("campaign_id",
        # "org_id", "user_id"), when it reads nothing else and has no Python branches.
        # Then a page without search or filters is read with a statement built once per
        # (sort, order, status tab) with bind parameters, as every request of a busy
        # list would otherwise build the same select, its loader options and subquery.
        unknown = set(scope_params or ()) - set(_ScopeParams.NAMES)
        if unknown:
            raise ValueError(f"{key}: unknown scope_params {sorted(unknown)}")
        self.scope_params = tuple(scope_params) if scope_params is not None else None
        self._prebuilt: dict = {}
        keys = [f.key for f in self.filters]
        reserved = {"q", "status", "sort", "order", "page", "per_page"}
        if len(set(keys)) != len(keys) or reserved & set(keys):
            raise ValueError(f"{key}: filter keys must be unique and not {sorted(reserved)}")
        names = [a.key for a in self.actions]
        if len(set(names)) != len(names):
            raise ValueError(f"{key}: duplicate action")
        for a in self.actions:
            if a.undo and a.undo not in names:
                raise ValueError(f"{key}: {a.key} is undone by unknown action {a.undo}")

    def action(self, key: str) -> Action | None:
        return next((a for a in self.actions if a.key == key), None)

    def actions_for(self, status: str, ctx: QueueContext) -> list[Action]:
        """Decisions offered in ``status`` (undo actions are only offered right after
        their decision, never as a standing button)."""
        if not ctx.can_decide:
            return []
        return [a for a in self.actions if status in a.sources and not a.is_undo]

    # -- arguments ---------------------------------------------------------------------------
    def parse(self, values: Mapping | str | None, ctx: QueueContext) -> QueueArgs:
        """Validated arguments from a query string or a mapping (e.g. request.args)."""
        if isinstance(values, str):
            values = MultiDict(parse_qsl(values.lstrip("?"), keep_blank_values=True))
        values = values or {}

        def get(key: str) -> str:
            raw = values.get(key)
            return str(raw) if raw is not None else ""

        args = QueueArgs(default_sort=self.default_sort,
                         sort_orders={k: s.default_order for k, s in self.sorts.items()})
        args.q = " ".join(get("q").split())[:Q_MAX]
        status = get("status").strip()
        args.status = status if status in self.states else ""
        for f in self.filters:
            args.filters[f.key] = f.clean(get(f.key), ctx)
        sort = get("sort").strip()
        args.sort = sort if sort in self.sorts else self.default_sort
        order = get("order").strip()
        args.order = order if order in ("asc", "desc") else self.sorts[args.sort].default_order
        page = get("page").strip()
        args.page = int(page) if page.isdigit() and 0 < len(page) < 7 and int(page) > 0 else 1
        per_page = get("per_page").strip()
        args.per_page = int(per_page) if per_page.isdigit() and int(per_page) in \
            PER_PAGE_CHOICES else DEFAULT_PER_PAGE
        return args

    # -- clauses -------------------------------------------------------------------------------
    def where(self, ctx: QueueContext, args: QueueArgs, *, status: bool = True) -> list:
        clauses = list(self.scope(ctx))
        if args.q and self.search:
            terms = [contains(col, args.q) for col in self.search]
            clauses.append(terms[0] if len(terms) == 1 else or_(*terms))
        for f in self.filters:
            value = args.filters.get(f.key)
            if value:
                clauses.append(f.clause(value, ctx))
        if status and args.status:
            clauses.append(self.status_col == args.status)
        return clauses

    def order_by(self, args: QueueArgs, reverse: bool = False) -> list:
        desc = (args.order == "desc") != reverse
        cols = list(self.sorts[args.sort].columns) + [self.model.id]
        return [c.desc() if desc else c.asc() for c in cols]

    # -- reading ---------------------------------------------------------------------------------
    def counts(self, ctx: QueueContext, args: QueueArgs) -> dict[str, int]:
        """{status: n} over the scope and the filters, the status tab excepted (one
        grouped count). Statuses outside ``states`` are not listed."""
        rows = db.session.execute(
            select(self.status_col, func.count()).where(*self.where(ctx, args, status=False))
            .group_by(self.status_col))
        counts = {s: 0 for s in self.states}
        for status, n in rows:
            if status in counts:
                counts[status] = n
        return counts

    def count_all(self, ctx: QueueContext, args: QueueArgs) -> tuple[dict | None, int, bool]:
        """(counts by status or None, total, capped) for a page: see ``tallies`` and
        ``count_cap`` (otherwise one exact grouped count)."""
        if self.tallies is not None and not args.active:
            tallied = self.tallies(ctx)
            counts = {s: int(tallied.get(s, 0)) for s in self.states}
        elif self.count_cap is not None and args.active:
            inner = (select(self.model.id).where(*self.where(ctx, args))
                     .limit(self.count_cap + 1).subquery())
            n = db.session.scalar(select(func.count()).select_from(inner)) or 0
            return None, min(n, self.count_cap), n > self.count_cap
        else:
            counts = self.counts(ctx, args)
        total = counts.get(args.status, 0) if args.status else sum(counts.values())
        return counts, total, False

    def page(self, ctx: QueueContext, values, *, base_url: str = "",
             item_pattern: str = "") -> QueuePage:
        """One page of the list, with the status counts, for ``values`` (request.args)."""
        args = values if isinstance(values, QueueArgs) else self.parse(values, ctx)
        counts, total, capped = self.count_all(ctx, args)
        pages = max(math.ceil(total / args.per_page), 1)
        args.page = min(max(args.page, 1), pages)
        items = self.rows(ctx, args) if total else []
        page = QueuePage(self, ctx, args, items, counts, total,
                         base_url=base_url or self._list_url(ctx),
                         item_pattern=item_pattern or self._item_pattern())
        page.capped = capped
        return page

    def rows(self, ctx: QueueContext, args: QueueArgs) -> list:
        """The page's items in order, relations loaded, in one statement."""
        m = self.model
        prebuilt = self._rows_statement(args)
        if prebuilt is not None:
            params = _ScopeParams.values(self.scope_params, ctx)
            params.update(q_limit=args.per_page, q_offset=(args.page - 1) * args.per_page)
            if args.status:
                params["q_status"] = args.status
            return list(db.session.scalars(prebuilt, params).unique())
        ids = (select(m.id).where(*self.where(ctx, args)).order_by(*self.order_by(args))
               .limit(args.per_page).offset((args.page - 1) * args.per_page))
        stmt = (select(m).where(m.id.in_(ids.scalar_subquery()))
                .order_by(*self.order_by(args)))
        options = self.options() if callable(self.options) else self.options
        if options:
            stmt = stmt.options(*options)
        return list(db.session.scalars(stmt).unique())

    def _rows_statement(self, args: QueueArgs):
        """The page statement of ``rows`` built once, with bind parameters (see
        ``scope_params``), or None when this list or these arguments need their own."""
        if self.scope_params is None or args.q or any(args.filters.values()):
            return None
        key = (args.sort, args.order, bool(args.status))
        stmt = self._prebuilt.get(key)
        if stmt is None:
            from sqlalchemy import bindparam

            m = self.model
            clauses = list(self.scope(_ScopeParams(self.scope_params)))
            if args.status:
                clauses.append(self.status_col == bindparam("q_status"))
            ids = (select(m.id).where(*clauses).order_by(*self.order_by(args))
                   .limit(bindparam("q_limit")).offset(bindparam("q_offset")))
            stmt = (select(m).where(m.id.in_(ids.scalar_subquery()))
                    .order_by(*self.order_by(args)))
            options = self.options() if callable(self.options) else self.options
            if options:
                stmt = stmt.options(*options)
            self._prebuilt[key] = stmt
        return stmt

    def ids(self, ctx: QueueContext, args: QueueArgs, limit: int = BULK_MAX + 1) -> list[int]:
        """Ids of the items matching ``args`` (in list order, at most ``limit``)."""
        stmt = (select(self.model.id).where(*self.where(ctx, args))
                .order_by(*self.order_by(args)).limit(limit))
        return list(db.session.scalars(stmt))

    def contains_id(self, ctx: QueueContext, item_id: int) -> bool:
        """Is ``item_id`` in the viewer's scope (filters ignored)?"""
        stmt = select(self.model.id).where(*self.scope(ctx), self.model.id == item_id)
        return db.session.scalar(stmt) is not None

    def sort_key(self, args: QueueArgs, obj) -> tuple:
        """The values ``obj`` sorts by (read from the database row, not from a
        possibly changed object)."""
        cols = list(self.sorts[args.sort].columns) + [self.model.id]
        row = db.session.execute(select(*cols).where(self.model.id == obj.id)).first()
        return tuple(row) if row is not None else ()

    def neighbours(self, ctx: QueueContext, values, obj, *, key: tuple | None = None,
                   with_position: bool = True) -> Neighbours:
        """The previous and next items around ``obj`` in the filtered, sorted list.

        ``key``: the sort key to compare with (taken before a decision changed the
        item, so 推荐并下一件 moves on from where the item *was*); by default read now.
        """
        args = values if isinstance(values, QueueArgs) else self.parse(values, ctx)
        key = key if key is not None else self.sort_key(args, obj)
        if not key:
            return Neighbours(None, None, None, 0)
        cols = list(self.sorts[args.sort].columns) + [self.model.id]
        base = self.where(ctx, args)
        desc = args.order == "desc"
        after = _keyset(cols, key, forward=True, desc=desc)
        before = _keyset(cols, key, forward=False, desc=desc)
        next_id = db.session.scalar(select(self.model.id).where(*base, after)
                                    .order_by(*self.order_by(args)).limit(1))
        prev_id = db.session.scalar(select(self.model.id).where(*base, before)
                                    .order_by(*self.order_by(args, reverse=True)).limit(1))
        position = total = None
        if with_position:
            row = db.session.execute(select(
                func.count(),
                func.coalesce(func.sum(_case_when(before)), 0),
                func.coalesce(func.sum(_case_when(self.model.id == obj.id)), 0),
            ).select_from(self.model).where(*base)).one()
            total = row[0]
            position = int(row[1]) + 1 if row[2] else None
        return Neighbours(prev_id, next_id, position, total or 0)

    def selected_ids(self, ctx: QueueContext, form: Mapping, args: QueueArgs,
                     action: Action | None = None) -> tuple[list[int], bool]:
        """The ids a bulk action applies to: the ticked ``ids`` (any page) or, with
        ``scope=all``, every item matching ``args``; always intersected with the scope
        (and with ``action``'s source states). Returns (ids, truncated)."""
        states = sorted(action.sources) if action else None
        if form.get("scope") == "all":
            found = self.ids(ctx, args)
        else:
            raw = form.getlist("ids") if hasattr(form, "getlist") else form.get("ids", [])
            wanted = []
            for r in raw:
                r = str(r).strip()
                if r.isdigit() and len(r) < 19 and int(r) not in wanted:
                    wanted.append(int(r))
            if not wanted:
                return [], False
            stmt = select(self.model.id).where(*self.scope(ctx),
                                               self.model.id.in_(wanted[:BULK_MAX + 1]))
            found_set = set(db.session.scalars(stmt))
            found = [i for i in wanted if i in found_set]
        if states is not None and found:
            ok = set(db.session.scalars(select(self.model.id).where(
                self.model.id.in_(found[:BULK_MAX + 1]), self.status_col.in_(states))))
            found = [i for i in found if i in ok]
        return found[:BULK_MAX], len(found) > BULK_MAX

    # -- URLs ------------------------------------------------------------------------------------
    def _list_url(self, ctx: QueueContext) -> str:
        from flask import url_for

        if not self.list_endpoint:
            return ""
        return url_for(self.list_endpoint, **ctx.extra.get("list_url_args", {}))

    def _item_pattern(self) -> str:
        from flask import url_for

        if not self.detail_endpoint:
            return ""
        marker = 987654321
        url = url_for(self.detail_endpoint, **{self.detail_id_arg: marker})
        return url.replace(str(marker), "{id}")


class _ScopeParams:
    """Stands for a QueueContext while a scope is built once (``Queue.scope_params``):
    each declared attribute is a bind parameter, given its value at each execution."""

    NAMES = ("campaign_id", "org_id", "user_id")

    def __init__(self, names: Sequence[str]):
        from types import SimpleNamespace

        from sqlalchemy import bindparam

        for name in names:
            if name == "user_id":
                self.user = SimpleNamespace(id=bindparam("ctx_user_id"))
            else:
                setattr(self, name, bindparam("ctx_" + name))

    @staticmethod
    def values(names: Sequence[str], ctx: QueueContext) -> dict:
        return {"ctx_" + n: (ctx.user.id if n == "user_id" else getattr(ctx, n))
                for n in names}


def _case_when(cond):
    from sqlalchemy import case

    return case((cond, 1), else_=0)


def _keyset(cols: list, key: tuple, *, forward: bool, desc: bool) -> ColumnElement:
    """Rows strictly after (``forward``) or before ``key`` in the list order.

    NULLs sort first ascending on SQLite and last on PostgreSQL; sort columns of a queue
    are therefore declared NOT NULL or wrapped in ``coalesce`` by the campaign."""
    greater = forward != desc
    if all(v is not None for v in key):
        left, right = tuple_(*cols), tuple_(*[_lit(v) for v in key])
        return left > right if greater else left < right
    # Fallback for NULL values: expand the lexicographic comparison by hand.
    terms = []
    for i, col in enumerate(cols):
        eqs = [cols[j] == key[j] if key[j] is not None else cols[j].is_(None) for j in range(i)]
        value = key[i]
        if value is None:
            cmp = col.is_not(None) if greater else false()
        else:
            cmp = col > value if greater else col < value
        terms.append(and_(*eqs, cmp))
    return or_(*terms)


def _lit(value):
    from sqlalchemy import literal

    if isinstance(value, datetime):
        return literal(value)
    return literal(value)


@dataclass
class Deadline:
    """A deadline as the banner shows it (Beijing time, whole days left)."""

    label: str
    at: datetime            # naive UTC
    note: str = ""

    @property
    def at_text(self) -> str:
        from ..timeutil import fmt as _fmt

        return _fmt(self.at)

    @property
    def closed(self) -> bool:
        from ..timeutil import utcnow

        return utcnow() > self.at

    @property
    def days_left(self) -> int:
        from ..timeutil import to_local, utcnow

        return max((to_local(self.at).date() - to_local(utcnow()).date()).days, 0)

    @property
    def level(self) -> str:
        if self.closed:
            return "closed"
        return "soon" if self.days_left <= 3 else "ok"


def query_of(form: Mapping) -> str:
    """The list query string a row or bulk form carries (field ``qs``)."""
    raw = form.get("qs") or ""
    return str(raw)[:2000]
