"""The public activity list of 全国科普日: filters, Chinese keyword search, counts.

Everything here reads ``activity_public`` (the approved, public versions) only.

Keyword search (measured in bench/science_day.py, figures in bench/README.md):
Chinese has no spaces, so the text is split into overlapping character pairs before it
is indexed ("科普讲座" → "科普 普讲 讲座 座"); a query is split the same way and must
match those pairs as a phrase, so "普讲" or "讲座" find it and "科讲" does not. A single
character matches as a prefix. Latin letters and digits stay whole words ("5G", "AI").
- SQLite: an external-content FTS5 table ``activity_public_fts`` over
  ``activity_public.search_text``, kept by triggers; a keyword page walks the match list
  newest first (FTS5 rowid order) and looks each candidate up by primary key.
- PostgreSQL: a GIN index on ``to_tsvector('simple', search_text)``; the query is a
  ``tsquery`` of the same pairs joined with ``<->`` (phrase).
The alternative measured, SQLite's trigram tokenizer on the raw text, cannot search
two-character words (most Chinese words) through its index: see the README.

Counts: the listed rows per (province, type, mode) are kept by triggers in
``activity_public_tally``, so the home page and a list filtered by those read a few
tally rows; any other filter or a keyword is counted up to ``COUNT_CAP`` ("10,000+").

``create_objects(bind)`` makes the triggers, the FTS table and the PostgreSQL index; the
migration b3d9f2a61c70 runs its own frozen copy, ``install()`` has ``create_all`` run it
(tests, benchmark databases).
"""
from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone

from sqlalchemy import bindparam, column, event, func, literal_column, select, table, true

from sqlalchemy.ext.compiler import compiles
from sqlalchemy.sql.selectable import Join

from ...extensions import db
from ...orgs import regions
from ...timeutil import BEIJING, utcnow
from ..models import ActivityPublic as AP
from ..models import ActivityPublicTally

PER_PAGE = 20
COUNT_CAP = 10_000
#: A keyword's matches are counted up to here ("1,000+"): each is checked by primary key
#: (edition, 上架, filters), and 10,000 such lookups took 60–160 ms at a million rows.
KEYWORD_COUNT_CAP = 1_000
Q_MAX = 50

STATUSES = {"upcoming": "未开始", "ongoing": "进行中", "ended": "已结束"}

def edition_settings(campaign):
    """The edition's settings, built once per request (the page and the footer's call
    both need them; building merges the defaults into a deep copy)."""
    from ...request_cache import request_cache
    from ..settings import ScienceDaySettings

    cache = request_cache()
    if cache is None:
        return ScienceDaySettings(campaign)
    key = ("science_day_settings", campaign.id)
    if key not in cache:
        cache[key] = ScienceDaySettings(campaign)
    return cache[key]


# --------------------------------------------------------------------------- tokens

_CJK = r"\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff"
_RUN = re.compile(rf"[{_CJK}]+|[0-9a-z]+")


def _runs(value: str) -> list[str]:
    value = unicodedata.normalize("NFKC", value or "").lower()
    return _RUN.findall(value)


def bigrams(*values: str) -> str:
    """The indexed form of some text: each run of Chinese characters as its character
    pairs plus its last character alone, each Latin / digit word whole."""
    out: list[str] = []
    for value in values:
        for run in _runs(value):
            if run[0].isascii():
                out.append(run)
            else:
                out.extend(run[i:i + 2] for i in range(len(run) - 1))
                out.append(run[-1])
    return " ".join(out)


def query_terms(q: str) -> list[tuple[str, list[str]]]:
    """("phrase", [pairs]) / ("prefix", [char]) / ("word", [w]) terms of a query, all
    of which must match."""
    terms = []
    for run in _runs(q):
        if run[0].isascii():
            terms.append(("word", [run]))
        elif len(run) == 1:
            terms.append(("prefix", [run]))
        else:
            terms.append(("phrase", [run[i:i + 2] for i in range(len(run) - 1)]))
    return terms


def fts5_query(terms) -> str:
    parts = []
    for kind, tokens in terms:
        phrase = '"' + " ".join(tokens) + '"'
        parts.append(phrase + "*" if kind == "prefix" else phrase)
    return " AND ".join(parts)


def tsquery(terms) -> str:
    parts = []
    for kind, tokens in terms:
        if kind == "prefix":
            parts.append(f"'{tokens[0]}':*")
        else:
            parts.append("(" + " <-> ".join(f"'{t}'" for t in tokens) + ")")
    return " & ".join(parts)


# --------------------------------------------------------------------------- DDL

SQLITE_OBJECTS = [
    # the keyword index: an FTS5 table over activity_public.search_text
    """CREATE VIRTUAL TABLE IF NOT EXISTS activity_public_fts USING fts5(
         search_text, content='activity_public', content_rowid='activity_id',
         columnsize=0)""",
    """CREATE TRIGGER IF NOT EXISTS activity_public_fts_insert AFTER INSERT ON activity_public BEGIN
         INSERT INTO activity_public_fts (rowid, search_text)
         VALUES (NEW.activity_id, NEW.search_text);
       END""",
    """CREATE TRIGGER IF NOT EXISTS activity_public_fts_delete AFTER DELETE ON activity_public BEGIN
         INSERT INTO activity_public_fts (activity_public_fts, rowid, search_text)
         VALUES ('delete', OLD.activity_id, OLD.search_text);
       END""",
    """CREATE TRIGGER IF NOT EXISTS activity_public_fts_update AFTER UPDATE OF search_text
       ON activity_public BEGIN
         INSERT INTO activity_public_fts (activity_public_fts, rowid, search_text)
         VALUES ('delete', OLD.activity_id, OLD.search_text);
         INSERT INTO activity_public_fts (rowid, search_text)
         VALUES (NEW.activity_id, NEW.search_text);
       END""",
    # the counts of listed rows per (province, type, mode)
    """CREATE TRIGGER IF NOT EXISTS activity_public_tally_insert AFTER INSERT ON activity_public
       WHEN NEW.listed BEGIN
         INSERT INTO activity_public_tally (campaign_id, province_code, activity_type, mode, n)
         VALUES (NEW.campaign_id, coalesce(NEW.province_code, ''),
                 coalesce(NEW.activity_type, ''), coalesce(NEW.mode, ''), 1)
         ON CONFLICT (campaign_id, province_code, activity_type, mode) DO UPDATE SET n = n + 1;
       END""",
    """CREATE TRIGGER IF NOT EXISTS activity_public_tally_delete AFTER DELETE ON activity_public
       WHEN OLD.listed BEGIN
         UPDATE activity_public_tally SET n = n - 1
         WHERE campaign_id = OLD.campaign_id AND province_code = coalesce(OLD.province_code, '')
           AND activity_type = coalesce(OLD.activity_type, '') AND mode = coalesce(OLD.mode, '');
       END""",
    """CREATE TRIGGER IF NOT EXISTS activity_public_tally_update
       AFTER UPDATE OF listed, campaign_id, province_code, activity_type, mode ON activity_public
       WHEN OLD.listed IS NOT NEW.listed OR OLD.campaign_id IS NOT NEW.campaign_id
            OR OLD.province_code IS NOT NEW.province_code
            OR OLD.activity_type IS NOT NEW.activity_type OR OLD.mode IS NOT NEW.mode
       BEGIN
         UPDATE activity_public_tally SET n = n - 1
         WHERE OLD.listed AND campaign_id = OLD.campaign_id
           AND province_code = coalesce(OLD.province_code, '')
           AND activity_type = coalesce(OLD.activity_type, '') AND mode = coalesce(OLD.mode, '');
         INSERT INTO activity_public_tally (campaign_id, province_code, activity_type, mode, n)
         SELECT NEW.campaign_id, coalesce(NEW.province_code, ''),
                coalesce(NEW.activity_type, ''), coalesce(NEW.mode, ''), 1
         WHERE NEW.listed
         ON CONFLICT (campaign_id, province_code, activity_type, mode) DO UPDATE SET n = n + 1;
       END""",
]
# the public pages' cache version (kepu.pagecache): any change of a public row or of the
# edition bumps its edition's counter
_BUMP = """INSERT INTO activity_public_version (campaign_id, n) VALUES ({cid}, 1)
         ON CONFLICT (campaign_id) DO UPDATE SET n = activity_public_version.n + 1;"""
SQLITE_OBJECTS += [
    f"""CREATE TRIGGER IF NOT EXISTS activity_public_version_{name} AFTER {event} ON {table}
       BEGIN
         {_BUMP.format(cid=cid)}
       END"""
    for name, event, table, cid in (("insert", "INSERT", "activity_public", "NEW.campaign_id"),
                                    ("update", "UPDATE", "activity_public", "NEW.campaign_id"),
                                    ("delete", "DELETE", "activity_public", "OLD.campaign_id"),
                                    ("campaign", "UPDATE", "campaign", "NEW.id"))
]
SQLITE_DROP = [
    "DROP TRIGGER IF EXISTS activity_public_version_insert",
    "DROP TRIGGER IF EXISTS activity_public_version_update",
    "DROP TRIGGER IF EXISTS activity_public_version_delete",
    "DROP TRIGGER IF EXISTS activity_public_version_campaign",
    "DROP TRIGGER IF EXISTS activity_public_fts_insert",
    "DROP TRIGGER IF EXISTS activity_public_fts_delete",
    "DROP TRIGGER IF EXISTS activity_public_fts_update",
    "DROP TRIGGER IF EXISTS activity_public_tally_insert",
    "DROP TRIGGER IF EXISTS activity_public_tally_delete",
    "DROP TRIGGER IF EXISTS activity_public_tally_update",
    "DROP TABLE IF EXISTS activity_public_fts",
]

PG_OBJECTS = [
    "CREATE INDEX IF NOT EXISTS ix_activity_public_search ON activity_public "
    "USING gin (to_tsvector('simple', search_text))",
    """CREATE OR REPLACE FUNCTION activity_public_tally_sync() RETURNS trigger AS $$
BEGIN
  IF TG_OP IN ('UPDATE', 'DELETE') AND OLD.listed THEN
    UPDATE activity_public_tally SET n = n - 1
    WHERE campaign_id = OLD.campaign_id AND province_code = coalesce(OLD.province_code, '')
      AND activity_type = coalesce(OLD.activity_type, '') AND mode = coalesce(OLD.mode, '');
  END IF;
  IF TG_OP IN ('UPDATE', 'INSERT') AND NEW.listed THEN
    INSERT INTO activity_public_tally (campaign_id, province_code, activity_type, mode, n)
    VALUES (NEW.campaign_id, coalesce(NEW.province_code, ''), coalesce(NEW.activity_type, ''),
            coalesce(NEW.mode, ''), 1)
    ON CONFLICT (campaign_id, province_code, activity_type, mode)
    DO UPDATE SET n = activity_public_tally.n + 1;
  END IF;
  RETURN NULL;
END;
$$ LANGUAGE plpgsql""",
    "CREATE OR REPLACE TRIGGER activity_public_tally_insert AFTER INSERT ON activity_public "
    "FOR EACH ROW EXECUTE FUNCTION activity_public_tally_sync()",
    "CREATE OR REPLACE TRIGGER activity_public_tally_delete AFTER DELETE ON activity_public "
    "FOR EACH ROW EXECUTE FUNCTION activity_public_tally_sync()",
    "CREATE OR REPLACE TRIGGER activity_public_tally_update AFTER UPDATE OF listed, campaign_id, "
    "province_code, activity_type, mode ON activity_public FOR EACH ROW WHEN ("
    "OLD.listed IS DISTINCT FROM NEW.listed OR OLD.campaign_id IS DISTINCT FROM NEW.campaign_id "
    "OR OLD.province_code IS DISTINCT FROM NEW.province_code "
    "OR OLD.activity_type IS DISTINCT FROM NEW.activity_type OR OLD.mode IS DISTINCT FROM NEW.mode) "
    "EXECUTE FUNCTION activity_public_tally_sync()",
]
PG_OBJECTS += [
    """CREATE OR REPLACE FUNCTION activity_public_version_bump() RETURNS trigger AS $$
BEGIN
  INSERT INTO activity_public_version (campaign_id, n)
  SELECT DISTINCT campaign_id, 1 FROM changed_rows
  ON CONFLICT (campaign_id) DO UPDATE SET n = activity_public_version.n + 1;
  RETURN NULL;
END;
$$ LANGUAGE plpgsql""",
    """CREATE OR REPLACE FUNCTION activity_public_version_edition() RETURNS trigger AS $$
BEGIN
  INSERT INTO activity_public_version (campaign_id, n) VALUES (NEW.id, 1)
  ON CONFLICT (campaign_id) DO UPDATE SET n = activity_public_version.n + 1;
  RETURN NULL;
END;
$$ LANGUAGE plpgsql""",
    # statement-level with transition tables: one bump per statement, not per row
    "CREATE OR REPLACE TRIGGER activity_public_version_insert AFTER INSERT ON activity_public "
    "REFERENCING NEW TABLE AS changed_rows FOR EACH STATEMENT "
    "EXECUTE FUNCTION activity_public_version_bump()",
    "CREATE OR REPLACE TRIGGER activity_public_version_update AFTER UPDATE ON activity_public "
    "REFERENCING NEW TABLE AS changed_rows FOR EACH STATEMENT "
    "EXECUTE FUNCTION activity_public_version_bump()",
    "CREATE OR REPLACE TRIGGER activity_public_version_delete AFTER DELETE ON activity_public "
    "REFERENCING OLD TABLE AS changed_rows FOR EACH STATEMENT "
    "EXECUTE FUNCTION activity_public_version_bump()",
    "CREATE OR REPLACE TRIGGER activity_public_version_campaign AFTER UPDATE ON campaign "
    "FOR EACH ROW EXECUTE FUNCTION activity_public_version_edition()",
]
PG_DROP = [
    "DROP TRIGGER IF EXISTS activity_public_version_insert ON activity_public",
    "DROP TRIGGER IF EXISTS activity_public_version_update ON activity_public",
    "DROP TRIGGER IF EXISTS activity_public_version_delete ON activity_public",
    "DROP TRIGGER IF EXISTS activity_public_version_campaign ON campaign",
    "DROP FUNCTION IF EXISTS activity_public_version_bump()",
    "DROP FUNCTION IF EXISTS activity_public_version_edition()",
    "DROP TRIGGER IF EXISTS activity_public_tally_insert ON activity_public",
    "DROP TRIGGER IF EXISTS activity_public_tally_delete ON activity_public",
    "DROP TRIGGER IF EXISTS activity_public_tally_update ON activity_public",
    "DROP FUNCTION IF EXISTS activity_public_tally_sync()",
    "DROP INDEX IF EXISTS ix_activity_public_search",
]


def create_objects(bind) -> None:
    for sql in (PG_OBJECTS if bind.dialect.name == "postgresql" else SQLITE_OBJECTS):
        bind.exec_driver_sql(sql)


def drop_objects(bind) -> None:
    for sql in (PG_DROP if bind.dialect.name == "postgresql" else SQLITE_DROP):
        bind.exec_driver_sql(sql)


def _after_create(target, connection, **kw) -> None:
    create_objects(connection)


def _before_drop(target, connection, **kw) -> None:
    drop_objects(connection)


def install() -> None:
    """Have ``create_all`` add the triggers and the search index once every table exists
    (the triggers write the tally table), and ``drop_all`` remove them first."""
    if not event.contains(db.metadata, "after_create", _after_create):
        event.listen(db.metadata, "after_create", _after_create)
        event.listen(db.metadata, "before_drop", _before_drop)


# --------------------------------------------------------------------------- filters

def _day(value: str) -> datetime | None:
    """A Beijing calendar day (YYYY-MM-DD) as its first instant in naive UTC."""
    try:
        day = datetime.strptime(value, "%Y-%m-%d")
    except ValueError:
        return None
    return day.replace(tzinfo=BEIJING).astimezone(timezone.utc).replace(tzinfo=None)


@dataclass
class PublicFilters:
    """The public list's query arguments, validated; ``errors`` are shown next to the
    field (a filter that makes no sense is dropped, never a server error)."""

    q: str = ""
    province: str = ""
    city: str = ""
    county: str = ""
    mode: str = ""
    type: str = ""
    date_from: str = ""
    date_to: str = ""
    status: str = ""
    page: int = 1
    errors: dict = field(default_factory=dict)

    @classmethod
    def from_args(cls, args, settings) -> "PublicFilters":
        def get(key, limit=20):
            return (args.get(key) or "").strip()[:limit]

        f = cls(errors={})
        q = (args.get("q") or "").strip()
        if len(q) > Q_MAX:
            f.errors["q"] = f"关键词不能超过{Q_MAX}字"
            q = q[:Q_MAX]
        f.q = q
        if f.q and not query_terms(f.q):
            f.errors["q"] = "请输入汉字、字母或数字"
        # most specific valid region: county → city → province (a stale child is ignored)
        code = regions.from_parts(get("province"), get("city"), get("county"))
        f.province, f.city, f.county = (c or "" for c in regions.split(code))
        mode, kind = get("mode"), get("type", 50)
        f.mode = mode if mode in (settings["modes"] or []) else ""
        f.type = kind if kind in (settings["activity_types"] or []) else ""
        for key in ("date_from", "date_to"):
            value = get(key)
            if value and _day(value) is None:
                f.errors[key] = "请按“年-月-日”填写日期，如 2026-09-16"
            elif value:
                setattr(f, key, value)
        if f.date_from and f.date_to and f.date_from > f.date_to:
            f.errors["date_to"] = "结束日期不能早于开始日期"
            f.date_to = ""
        status = get("status")
        f.status = status if status in STATUSES else ""
        raw = get("page", 9)
        f.page = int(raw) if raw.isdigit() and 0 < int(raw) < 10**8 else 1
        return f

    def args(self, page: int | None = None) -> dict:
        """The non-empty query arguments (the URL kept in sync with the form)."""
        out = {k: getattr(self, k) for k in ("q", "province", "city", "county", "mode",
                                             "type", "date_from", "date_to", "status")
               if getattr(self, k)}
        if page and page > 1:
            out["page"] = page
        return out

    @property
    def region_code(self) -> str:
        return self.county or self.city or self.province

    @property
    def tally_only(self) -> bool:
        """Counted from the tallies: nothing filtered but province, type and mode."""
        return not (self.q or self.city or self.county or self.date_from or self.date_to
                    or self.status)

    @property
    def active(self) -> bool:
        return bool(self.args())


def clauses(f: PublicFilters, now: datetime | None = None) -> list:
    now = now or utcnow()
    out = []
    if f.county:
        out.append(AP.county_code == f.county)
    elif f.city:
        out.append(AP.city_code == f.city)
    elif f.province:
        out.append(AP.province_code == f.province)
    if f.type:
        out.append(AP.activity_type == f.type)
    if f.mode:
        out.append(AP.mode == f.mode)
    if f.date_from:
        out.append(AP.start_at >= _day(f.date_from))
    if f.date_to:
        out.append(AP.start_at < _day(f.date_to) + timedelta(days=1))
    if f.status == "upcoming":
        out.append(AP.start_at > now)
    elif f.status == "ongoing":
        out += [AP.start_at <= now, AP.end_at >= now]
    elif f.status == "ended":
        out += [AP.start_at <= now, AP.end_at < now]
    return out


# --------------------------------------------------------------------------- queries

FTS = table("activity_public_fts", column("rowid"), column("activity_public_fts"))


class CrossJoin(Join):
    """SQLite's ``CROSS JOIN``: the left table stays the outer loop. The keyword index
    must drive (a match list, then each candidate by primary key); left to itself the
    planner may walk a million index entries of ``activity_public`` instead and run
    the match for each."""

    inherit_cache = True


@compiles(CrossJoin)
def _cross_join(element, compiler, **kw):
    kw.pop("asfrom", None)
    return (element.left._compiler_dispatch(compiler, asfrom=True, **kw) + " CROSS JOIN "
            + element.right._compiler_dispatch(compiler, asfrom=True, **kw) + " ON "
            + compiler.process(element.onclause, **kw))


def _base(campaign_id: int, f: PublicFilters, now=None):
    """(statement selecting activity_public.activity_id, its order) for the filters."""
    where = [AP.campaign_id == campaign_id, AP.listed == true(), *clauses(f, now)]
    terms = query_terms(f.q) if f.q else []
    if terms and db.engine.dialect.name == "sqlite":
        # the FTS table drives, newest first (its rowid order, no sort); each candidate
        # is then checked by primary key
        stmt = (select(AP.activity_id)
                .select_from(CrossJoin(FTS, AP.__table__, AP.activity_id == FTS.c.rowid))
                .where(FTS.c.activity_public_fts.op("MATCH")(fts5_query(terms)), *where))
        return stmt, (FTS.c.rowid.desc(),)
    if terms:
        stmt = select(AP.activity_id).where(
            func.to_tsvector(literal_column("'simple'"), AP.search_text).op("@@")(
                func.to_tsquery(literal_column("'simple'"), tsquery(terms))), *where)
        return stmt, (AP.activity_id.desc(),)
    if f.status == "upcoming":      # the soonest first
        return select(AP.activity_id).where(*where), (AP.start_at.asc(), AP.activity_id.asc())
    return select(AP.activity_id).where(*where), (AP.start_at.desc(), AP.activity_id.desc())


def page_statement(campaign_id: int, f: PublicFilters, page: int, now=None):
    stmt, order = _base(campaign_id, f, now)
    return stmt.order_by(*order).limit(PER_PAGE).offset((page - 1) * PER_PAGE)


def count_cap(f: PublicFilters) -> int:
    return KEYWORD_COUNT_CAP if f.q else COUNT_CAP


def count_statement(campaign_id: int, f: PublicFilters, now=None):
    stmt, _ = _base(campaign_id, f, now)
    return select(func.count()).select_from(stmt.limit(count_cap(f) + 1).subquery())


_TALLY_STATEMENTS: dict = {}


def tally_statement(campaign_id: int, f: PublicFilters):
    """The listed rows' count from the tallies, as (statement, parameters): the statement
    of each filter combination is built once (every public list page runs one)."""
    key = (bool(f.province), bool(f.type), bool(f.mode))
    stmt = _TALLY_STATEMENTS.get(key)
    if stmt is None:
        T = ActivityPublicTally
        stmt = select(func.coalesce(func.sum(T.n), 0)).where(
            T.campaign_id == bindparam("campaign_id"))
        if f.province:
            stmt = stmt.where(T.province_code == bindparam("province"))
        if f.type:
            stmt = stmt.where(T.activity_type == bindparam("type"))
        if f.mode:
            stmt = stmt.where(T.mode == bindparam("mode"))
        _TALLY_STATEMENTS[key] = stmt
    return stmt, {"campaign_id": campaign_id, "province": f.province, "type": f.type,
                  "mode": f.mode}


CARD_COLUMNS = (AP.activity_id, AP.name, AP.mode, AP.activity_type, AP.start_at, AP.end_at,
                AP.province_code, AP.city_code, AP.county_code, AP.host_names,
                AP.poster_file_id)
_CARDS = select(*CARD_COLUMNS).where(AP.activity_id.in_(bindparam("ids", expanding=True)))


@dataclass
class PublicPage:
    rows: list
    total: int
    capped: bool
    page: int
    pages: int
    cap: int = COUNT_CAP

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

    @property
    def total_text(self) -> str:
        return f"{self.cap:,}+" if self.capped else f"{self.total:,}"


def public_page(campaign_id: int, f: PublicFilters, now=None) -> PublicPage:
    """One page of the public list: a count (tallies, or capped), the page's ids in
    index order, then those rows by primary key (three statements)."""
    now = now or utcnow()
    cap = count_cap(f)
    if f.tally_only:
        total, capped = int(db.session.scalar(*tally_statement(campaign_id, f)) or 0), False
    else:
        total = int(db.session.scalar(count_statement(campaign_id, f, now)) or 0)
        capped = total > cap
        total = min(total, cap)
    pages = max((total + PER_PAGE - 1) // PER_PAGE, 1)
    if capped:
        pages = max(pages, f.page + 1)   # beyond a capped count: go on while rows come
    page = min(f.page, pages)
    ids = list(db.session.scalars(page_statement(campaign_id, f, page, now)))
    rows = []
    if ids:
        # the columns a card shows, as plain rows (no snapshot JSON, no ORM objects)
        found = {r.activity_id: r for r in db.session.execute(_CARDS, {"ids": ids})}
        rows = [found[i] for i in ids if i in found]
    if capped and len(ids) < PER_PAGE:
        pages = page
    return PublicPage(rows, total, capped, page, pages, cap)


def home_counts(campaign_id: int) -> dict:
    """The edition's home figures, from the tallies: listed activities in all, by mode,
    by type, and how many provinces have one."""
    T = ActivityPublicTally
    rows = db.session.execute(select(T.province_code, T.activity_type, T.mode, T.n).where(
        T.campaign_id == campaign_id, T.n > 0)).all()
    by_mode: dict[str, int] = {}
    by_type: dict[str, int] = {}
    by_province: dict[str, int] = {}
    for province, kind, mode, n in rows:
        by_mode[mode] = by_mode.get(mode, 0) + n
        by_type[kind] = by_type.get(kind, 0) + n
        if province:
            by_province[province] = by_province.get(province, 0) + n
    return {"total": sum(r[3] for r in rows), "by_mode": by_mode,
            "by_type": sorted(by_type.items(), key=lambda kv: -kv[1]),
            "by_province": by_province, "provinces": len(by_province)}
