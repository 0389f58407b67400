"""Statistics of approved (已通过) activities, by the viewer's scope (seed 001 一.2, 三.3–三.5;
002 三(三).2, 四(四).2).

Scopes (``scopes_of(user)``), one picker when a user holds several:

- ``national``          national / platform admins: the whole country;
- ``p:<route key>``     a provincial admin: the activities their province reviews first
                        (``route_province``, 659 = the 兵团);
- ``r:<region code>``   city / county admins: ``region_code`` under their region (read-only);
- ``o:<org id>``        society / ministry admins: the activities 归口 to their org.

Every table is a sum over ``activity_stat`` (kepu.science_day.stats_tally: counts of the
approved activities per scope key and value, kept exact by triggers), on the covering
index of the scope: ``ix_activity_stat_route`` (the country, a province),
``_region`` (a region, the drill-down), ``_org`` (a 归口 org) — tens of thousands of
rows at most, where counting the activities took ~10 s a page at a million
(bench/science_day.py).
Only 已通过 activities count, except the review figures (pending per stage, time to
decision, overturn rate), which are about the review itself.
"""
from __future__ import annotations

from dataclasses import dataclass, field

from sqlalchemy import String, cast, func, select, text
from sqlalchemy.dialects.sqlite import dialect as sqlite_dialect

from ..accounts import roles as R
from ..extensions import db
from ..orgs import regions
from ..orgs.models import Org
from .models import (BINGTUAN_ROUTE, NATIONAL_PENDING,
                     PROVINCE_PENDING, Activity, is_national, provinces_of)
from .routing import route_label
from .stats_tally import FULL_KEY_DIMS, SUFFIX, ActivityStat
from .tally import tallies

#: 归口 orgs shown one by one; the rest are summed in one row.
TOP_ORGS = 20
UNKNOWN_REGION = "（地区未填或无法识别）"
#: Org.certifications tags (kepu.orgs.certify) of the 归口 units counted per unit (三.5).
SUPERVISOR_CERTS = ("全国科普示范县（市、区）", "示范县创建单位")
#: … and of the 主办单位 counted per unit (三.3).
HOST_CERTS = ("全国科普教育基地", "免费开放科技馆")


@dataclass(frozen=True)
class Scope:
    key: str        # "national" | "p:44" | "r:4401" | "o:12"
    kind: str       # national | province | region | org
    value: str
    label: str

    @property
    def region_root(self) -> str | None:
        """The region code the region table starts from (None: the country)."""
        if self.kind == "province":
            return self.value
        if self.kind == "region":
            return self.value
        return None


def scopes_of(user) -> list[Scope]:
    out: list[Scope] = []
    if is_national(user):
        out.append(Scope("national", "national", "", "全国"))
    for key in sorted(provinces_of(user)):
        out.append(Scope(f"p:{key}", "province", key, route_label(key)))
    regs = sorted({g.region_code for g in user.grants
                   if g.role in (R.CITY_ADMIN, R.COUNTY_ADMIN) and g.region_code})
    for code in regs:
        out.append(Scope(f"r:{code}", "region", code, regions.full_name(code) or code))
    orgs = {g.org.id: g.org for g in user.grants
            if g.role in (R.SOCIETY_ADMIN, R.MINISTRY_ADMIN) and g.org is not None}
    for org in sorted(orgs.values(), key=lambda o: o.name):
        out.append(Scope(f"o:{org.id}", "org", str(org.id), org.name))
    return out


def under_region(code: str):
    """``region_code`` under ``code`` as a range (an index range scan, unlike LIKE)."""
    return _region_range(Activity.region_code, code)


def scope_where(campaign_id: int, scope: Scope) -> list:
    """The scope's clauses (every state; callers add the status)."""
    where = [Activity.campaign_id == campaign_id]
    if scope.kind == "province":
        where.append(Activity.route_province == scope.value)
    elif scope.kind == "region":
        where.append(under_region(scope.value))
    elif scope.kind == "org":
        where.append(Activity.supervisor_org_id == int(scope.value))
    return where


# --------------------------------------------------------------------------- tables

@dataclass
class Table:
    """One statistics table: rows of (label, count, link or None)."""

    key: str
    title: str
    head: str
    rows: list[tuple[str, int, str | None]] = field(default_factory=list)
    note: str = ""
    total_label: str = "合计"
    extra_head: tuple[str, ...] = ()   # more numeric columns (rows carry them in extra)
    extra: list[tuple] = field(default_factory=list)
    codes: list[str] = field(default_factory=list)   # the region table: each row's code

    @property
    def total(self) -> int:
        return sum(r[1] for r in self.rows)

    @property
    def peak(self) -> int:
        return max((r[1] for r in self.rows), default=0)


#: The queue index of a region's / an org's activities: SQLite, with no statistics,
#: would rather walk the edition's whole covering status index than range over this one.
QUEUE_INDEX = {"region": "ix_activity_queue_region", "org": "ix_activity_queue_supervisor"}


def _grouped(column, where, scope: Scope) -> list[tuple]:
    stmt = select(column, func.count()).where(*where).group_by(column)
    index = QUEUE_INDEX.get(scope.kind)
    if not index or db.engine.dialect.name != "sqlite":
        return list(db.session.execute(stmt))
    # SQLAlchemy renders no table hints for SQLite: name the index in the SQL text
    compiled = stmt.compile(dialect=sqlite_dialect(paramstyle="named"))
    sql = str(compiled).replace("\nFROM activity", f"\nFROM activity INDEXED BY {index}", 1)
    return list(db.session.execute(text(sql), dict(compiled.params)))


def region_children(parent: str | None) -> list[regions.Region]:
    """The next level under ``parent``: provinces, then cities (the 兵团's cities for 659),
    then counties."""
    if parent is None:
        return regions.provinces()
    if parent == BINGTUAN_ROUTE:
        return [r for r in regions.children("65") if r.code.startswith(BINGTUAN_ROUTE)]
    return regions.children(parent)


def valid_drill(scope: Scope, code: str | None) -> str | None:
    """``?region=`` narrowed to the scope: a known region under the scope's root (or the
    root itself); anything else falls back to the root."""
    root = scope.region_root
    if not code:
        return root
    code = str(code).strip()
    if code != BINGTUAN_ROUTE and regions.get(code) is None:
        return root
    if code == BINGTUAN_ROUTE:
        return code if root in (None, BINGTUAN_ROUTE) else root
    code = regions.normalize(code)
    if root is None or code.startswith(root):
        return code
    return root


def stat_where(campaign_id: int, scope: Scope, dim: str) -> list:
    """The scope's clauses on ``activity_stat``: a full-key dimension's rows in the
    scope, or a by-value dimension's rows of the scope's own key (``day/r`` …)."""
    if dim not in FULL_KEY_DIMS:
        dim += SUFFIX[scope.kind]
    where = [ActivityStat.campaign_id == campaign_id, ActivityStat.dim == dim]
    if scope.kind == "province":
        where.append(ActivityStat.route_key == scope.value)
    elif scope.kind == "region":
        where.append(_region_range(ActivityStat.region_code, scope.value))
    elif scope.kind == "org":
        where.append(ActivityStat.org_id == int(scope.value))
    return where


def _region_range(column, code: str):
    if code and code.isdigit() and code.strip("9"):
        return (column >= code) & (column < str(int(code) + 1).zfill(len(code)))
    return column.startswith(code or "", autoescape=True)


def tally(campaign_id: int, scope: Scope, dim: str, column=ActivityStat.value,
          where: tuple = ()) -> list[tuple]:
    """[(group value, approved activities)] of one dimension in the scope (groups that
    have none left out)."""
    total = func.sum(ActivityStat.n)
    stmt = (select(column, total).where(*stat_where(campaign_id, scope, dim), *where)
            .group_by(column).having(total > 0))
    return [(v, int(n)) for v, n in db.session.execute(stmt)]


def by_region(campaign_id: int, scope: Scope, parent: str | None, link) -> Table:
    """Approved activities per child region of ``parent`` (None: per province)."""
    where = ()
    if parent is not None and parent != scope.region_root:
        where = (_region_range(ActivityStat.region_code, parent),)
    counts = tally(campaign_id, scope, "all", ActivityStat.region_code, where)
    kids = region_children(parent)
    if not kids and regions.get(parent) is not None:
        kids = [regions.get(parent)]       # a county: the last level, itself
    rows, other = [], 0
    sums = {k.code: 0 for k in kids}
    # longest codes first: 659001 (a 兵团 city under 新疆) before 65
    order = sorted(sums, key=len, reverse=True)
    for code, n in counts:
        hit = next((k for k in order if code and code.startswith(k)), None)
        if hit is None:
            other += n
        else:
            sums[hit] += n
    deeper = parent is None or (regions.get(parent) and regions.get(parent).level < 3) \
        or parent == BINGTUAN_ROUTE
    for k in kids:
        n = sums[k.code]
        has_kids = deeper and bool(region_children(k.code))
        rows.append((k.name, n, link(k.code) if (n and has_kids) else None))
    if other:
        rows.append((UNKNOWN_REGION, other, None))
    title = "按地区" + (f"：{region_name(parent)}" if parent else "：各省份")
    t = Table("region", title, "地区", rows)
    t.codes = [k.code for k in kids]
    return t


def region_name(code: str | None) -> str:
    if code is None:
        return "全国"
    if code == BINGTUAN_ROUTE:
        return "新疆生产建设兵团"
    return regions.full_name(code) or code


def by_day(campaign_id: int, scope: Scope) -> Table:
    rows = sorted(tally(campaign_id, scope, "day"), key=lambda r: r[0] or "")
    return Table("day", "按开始日期（北京时间）", "日期",
                 [(d or "（未填开始时间）", n, None) for d, n in rows])


def by_column(campaign_id: int, scope: Scope, dim: str, key: str, title: str, head: str,
              empty: str = "（未填）") -> Table:
    rows = sorted(tally(campaign_id, scope, dim), key=lambda r: (-r[1], str(r[0] or "")))
    return Table(key, title, head, [(str(v) if v not in (None, "") else empty, n, None)
                                    for v, n in rows])


def by_flag_items(campaign_id: int, scope: Scope, flag: str, key: str, title: str,
                  head: str) -> Table:
    """A yes/no flag with its items: how many carry it, then per item."""
    total = sum(n for _, n in tally(campaign_id, scope, flag))
    per = tally(campaign_id, scope, f"{flag}_item")
    rows = [(k, n, None) for k, n in sorted(per, key=lambda kv: (-kv[1], kv[0]))]
    t = Table(key, title, head, rows,
              note=f"纳入的活动共 {total} 项；一项活动可同时纳入多项，各项之和可能大于总数。")
    t.total_label = ""
    t.extra = [total]
    return t


def by_flag(campaign_id: int, scope: Scope, flag: str, key: str, title: str) -> Table:
    return Table(key, title, "", [("纳入", sum(n for _, n in tally(campaign_id, scope, flag)),
                                   None)])


def _org_counts(campaign_id: int, scope: Scope, ids=None) -> list[tuple[int | None, int]]:
    where = (ActivityStat.org_id.in_(ids),) if ids is not None else ()
    return [(i or None, n) for i, n in
            tally(campaign_id, scope, "all", ActivityStat.org_id, where)]


def by_supervisor_org(campaign_id: int, scope: Scope) -> Table:
    counts = sorted(_org_counts(campaign_id, scope), key=lambda r: -r[1])
    top, rest = counts[:TOP_ORGS], counts[TOP_ORGS:]
    names = {i: name for i, name in db.session.execute(select(Org.id, Org.name).where(
        Org.id.in_([i for i, _ in top if i is not None])))} if top else {}
    rows = [(names.get(i, "（未填归口单位）") if i is not None else "（未填归口单位）", n, None)
            for i, n in top]
    if rest:
        rows.append((f"其他 {len(rest)} 个单位", sum(n for _, n in rest), None))
    return Table("supervisor_org", f"按归口单位（前 {TOP_ORGS} 名，其余合计）", "归口单位", rows)


def food_safety(campaign_id: int, scope: Scope) -> Table:
    """名称含“食品安全” per province (the route key; national-only route counted by 所在地区)."""
    rows = tally(campaign_id, scope, "food", ActivityStat.route_key)
    per: dict[str, int] = {}
    national_only = 0
    for key, n in rows:
        if key:
            per[key] = per.get(key, 0) + n
        else:
            national_only += n
    out = [(route_label(k), n, None) for k, n in sorted(per.items())]
    if national_only:
        out.append(("全国直审（部委、全国学会归口）", national_only, None))
    return Table("food_safety", "食品安全主题活动（名称含“食品安全”），按审核省份", "省份", out)


def certified_supervisors(campaign_id: int, scope: Scope) -> Table:
    """Per 归口 unit that is a 全国科普示范县 or 创建单位 科协 (Org.certifications)."""
    certified = _certified(SUPERVISOR_CERTS)
    rows = []
    if certified:
        counts = dict(_org_counts(campaign_id, scope, [o.id for o in certified]))
        for o in sorted(certified, key=lambda o: (-counts.get(o.id, 0), o.name)):
            if counts.get(o.id):
                tag = "示范县" if SUPERVISOR_CERTS[0] in o.certifications else "创建单位"
                rows.append((f"{o.name}（{tag}）", counts[o.id], None))
    return Table("certified_supervisor", "归口为全国科普示范县或创建单位科协的活动，按单位",
                 "归口单位", rows)


@dataclass(frozen=True)
class Certified:
    id: int
    name: str
    certifications: tuple


def _certified(tags) -> list[Certified]:
    """The orgs holding any of ``tags`` (id, name and tags only: the org library holds
    thousands of orgs, most with no certification, which never leave the database)."""
    text_of = cast(Org.certifications, String)
    rows = db.session.execute(select(Org.id, Org.name, Org.certifications).where(
        Org.certifications.is_not(None), text_of.not_in(["[]", "null"])))
    return [Certified(i, name, tuple(c)) for i, name, c in rows
            if isinstance(c, list) and any(t in tags for t in c)]


def certified_hosts(campaign_id: int, scope: Scope) -> Table:
    """Per 主办单位 that is a 全国科普教育基地 or 免费开放科技馆: by the host's org id when the
    form picked one, else by its name against the certified orgs' names (an activity
    counts once per host it names)."""
    certified = _certified(HOST_CERTS)
    rows = []
    if certified:
        by_id = {o.id: o for o in certified}
        by_name = {o.name.strip(): o for o in certified}
        per: dict[int, int] = {}
        for value, n in tally(campaign_id, scope, "host"):
            kind, _, rest = (value or "").partition(":")
            org = None
            if kind == "id":
                try:
                    org = by_id.get(int(rest))
                except ValueError:
                    org = None
            elif kind == "name":
                org = by_name.get(rest.strip())
            if org is not None:
                per[org.id] = per.get(org.id, 0) + n
        for oid, n in sorted(per.items(), key=lambda kv: (-kv[1], by_id[kv[0]].name)):
            o = by_id[oid]
            tag = "、".join(t for t in HOST_CERTS if t in o.certifications)
            rows.append((f"{o.name}（{tag}）", n, None))
    return Table("certified_host", "主办单位为全国科普教育基地或免费开放科技馆的活动，按单位",
                 "主办单位", rows)


# --------------------------------------------------------------------------- review

@dataclass
class ReviewStats:
    pending_province: int
    pending_national: int
    decided: int
    median_hours: float | None
    overturn: list[tuple[str, int, int]]    # (province, nationally refused, decided)


def review_stats(campaign_id: int, scope: Scope) -> ReviewStats:
    """Pending per stage (the trigger-kept ``activity_tally`` for the country and a
    province, an index count for a region or an org), the median time from the last
    submission to the last decision (whole minutes, from the ``span`` histograms of
    ``activity_stat``) and each province's overturn rate (``overturn`` rows)."""
    if scope.kind == "national":
        states = tallies(campaign_id)
    elif scope.kind == "province":
        states = tallies(campaign_id, scope.value)
    else:
        states = {k: n for k, n in _grouped(Activity.status,
                                            scope_where(campaign_id, scope), scope)}
    spans = sorted((int(v), n) for v, n in
                   tally(campaign_id, scope, "span") if str(v).isdigit())
    decided = sum(n for _, n in spans)
    median = None
    if decided:
        wanted, found, seen = ((decided - 1) // 2, decided // 2), [], 0
        for minutes, n in spans:
            while len(found) < 2 and wanted[len(found)] < seen + n:
                found.append(minutes)
            seen += n
            if len(found) == 2:
                break
        median = (found[0] + found[1]) / 2 / 60
    # National decisions on provincial-route activities are always on a version the
    # province approved (national_pending is reached only through province_approve).
    net = {"national_approve": 1, "national_unapprove": -1,
           "national_reject": 1, "national_unreject": -1}
    per: dict[str, list[int]] = {}
    for (key, action), n in _pairs(campaign_id, scope, "overturn"):
        if action not in net:
            continue
        acc = per.setdefault(key, [0, 0])
        if action.endswith("reject"):
            acc[0] += net[action] * n
        acc[1] += net[action] * n
    overturn = [(route_label(k), max(r, 0), max(d, 0)) for k, (r, d) in sorted(per.items())
                if d > 0]
    return ReviewStats(states.get(PROVINCE_PENDING, 0), states.get(NATIONAL_PENDING, 0),
                       decided, median, overturn)


def _pairs(campaign_id: int, scope: Scope, dim: str) -> list[tuple[tuple, int]]:
    total = func.sum(ActivityStat.n)
    stmt = (select(ActivityStat.route_key, ActivityStat.value, total)
            .where(*stat_where(campaign_id, scope, dim))
            .group_by(ActivityStat.route_key, ActivityStat.value).having(total > 0))
    return [((k, v), int(n)) for k, v, n in db.session.execute(stmt)]


TABLE_KEYS = ("region", "day", "category", "supervisor_org", "mode", "type", "joint",
              "special", "youth", "food_safety", "certified_supervisor", "certified_host")


def build(campaign_id: int, scope: Scope, drill: str | None, link,
          only: str | None = None) -> list[Table]:
    """The page's tables (``only``: just that one, for its xlsx)."""
    makers = {
        "region": lambda: by_region(campaign_id, scope, drill, link),
        "day": lambda: by_day(campaign_id, scope),
        "category": lambda: by_column(campaign_id, scope, "category", "category",
                                      "按归口类别", "归口类别"),
        "supervisor_org": lambda: by_supervisor_org(campaign_id, scope),
        "mode": lambda: by_column(campaign_id, scope, "mode", "mode", "按活动方式", "活动方式"),
        "type": lambda: by_column(campaign_id, scope, "type", "type", "按活动类型", "活动类型"),
        "joint": lambda: by_flag_items(campaign_id, scope, "joint", "joint", "联合行动",
                                       "联合行动"),
        "special": lambda: by_flag_items(campaign_id, scope, "special", "special",
                                         "科普专项行动", "专项行动"),
        "youth": lambda: by_flag(campaign_id, scope, "youth", "youth", "青少年科学节"),
        "food_safety": lambda: food_safety(campaign_id, scope),
        "certified_supervisor": lambda: certified_supervisors(campaign_id, scope),
        "certified_host": lambda: certified_hosts(campaign_id, scope),
    }
    keys = [only] if only else list(TABLE_KEYS)
    return [makers[k]() for k in keys]
