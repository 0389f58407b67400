"""Per-dimension counts of approved (已通过) activities, kept exact by database triggers,
for the statistics page (kepu.science_day.stats).

Counting a million activities per table per request took seconds (bench/science_day.py:
~7 s for the national page); the statistics read these rows instead. A row (edition,
dimension, first-review province, 所在地区, 归口 org, value) → n says how many approved
activities have that value there, and the numbers stay exact: the triggers add an
activity's rows (n + 1, an upsert on the primary key) when it becomes (or is inserted
as) 已通过, add them with n − 1 when it leaves that state or is deleted, and both when a
counted column of an approved activity changes.

Two kinds of dimension:

- **full-key** (``all``, ``food``, ``overturn``): the row carries the activity's route,
  region and org, because the page groups them by one key within another scope (a
  province's regions, a region's 归口 orgs, food safety per route) — at most one row
  per (route, region, org): ~11,000 at a million activities;
- **by value** (everything else): the row is written four times, each time with one key
  only, the dimension suffixed ``/n`` (the country: no key), ``/r`` (route), ``/g``
  (region), ``/o`` (org). A scope reads only its own rows: the country's start days are
  46 rows, not the 313,000 (route, region, org, day) combinations.

Dimensions (``value`` is "" where the dimension has none):

- ``all``         every approved activity (region table, 归口 org tables, totals)
- ``day``         start date, Beijing time (YYYY-MM-DD; "" when no start)
- ``category``    归口 category
- ``mode``        活动方式
- ``type``        活动类型
- ``food``        名称含“食品安全”
- ``joint`` / ``special`` / ``youth``          the three yes/no flags
- ``joint_item`` / ``special_item``            each distinct item of a flagged activity
- ``host``        each distinct 主办单位: ``id:<org id>`` when picked, else ``name:<name>``

and, for the review figures (any state):

- ``span``        whole minutes from the last submission to the last decision of every
  decided activity (by value: the median is read from the scope's histogram); kept by
  the ``activity_span_*`` triggers;
- ``overturn``: national decisions (value: the audit action, national_approve /
  _unapprove / _reject / _unreject) on provincial-route activities, kept by a trigger
  on ``audit_log`` (with the activity's route, region and 归口 org when it was logged).

Migration a6c2e8f4b1d7 creates the table, its triggers (with its own frozen copy of this
SQL) and fills it; this module creates the triggers whenever the schema is built with
``create_all`` (tests, benchmark databases).
"""
from __future__ import annotations

from sqlalchemy import ForeignKey, Index, String, Text, event
from sqlalchemy.orm import Mapped, mapped_column

from ..extensions import db

APPROVED = "approved"

#: Columns of ``activity`` a row of this table depends on (the update trigger's list).
COUNTED_COLUMNS = ("status", "campaign_id", "route_province", "region_code",
                   "supervisor_org_id", "supervisor_category", "mode", "activity_type",
                   "start_at", "food_safety", "joint_action", "joint_action_items",
                   "special_action", "special_action_items", "youth_festival", "hosts")

KEY = "campaign_id, dim, route_key, region_code, org_id, value"


class ActivityStat(db.Model):
    """See the module docstring."""

    __tablename__ = "activity_stat"
    __table_args__ = (
        # One covering index per way a scope narrows the rows (the primary key serves
        # the upsert of the triggers): route (national, a province), region prefix
        # (city / county admins, the drill-down), 归口 org (society / ministry admins).
        # Each holds every key column, so a table grouped by another key (a region's
        # 归口 orgs, an org's regions, food safety per route) reads only the index.
        Index("ix_activity_stat_route", "campaign_id", "dim", "route_key", "value",
              "region_code", "org_id", "n"),
        Index("ix_activity_stat_region", "campaign_id", "dim", "region_code", "value",
              "route_key", "org_id", "n"),
        Index("ix_activity_stat_org", "campaign_id", "dim", "org_id", "value", "route_key",
              "region_code", "n"),
    )

    campaign_id: Mapped[int] = mapped_column(ForeignKey("campaign.id", ondelete="CASCADE"),
                                             primary_key=True)
    dim: Mapped[str] = mapped_column(String(16), primary_key=True)
    route_key: Mapped[str] = mapped_column(String(12), primary_key=True)    # "" = national
    region_code: Mapped[str] = mapped_column(String(12), primary_key=True)  # "" = unknown
    org_id: Mapped[int] = mapped_column(primary_key=True)                    # 0 = none
    value: Mapped[str] = mapped_column(Text, primary_key=True)
    n: Mapped[int] = mapped_column(default=0)


# --------------------------------------------------------------------------- the SQL

#: The scope kind → the suffix of the by-value rows it reads.
SUFFIX = {"national": "/n", "province": "/r", "region": "/g", "org": "/o"}
FULL_KEY_DIMS = ("all", "food", "overturn")


def _json_array(dialect: str, expr: str) -> str:
    """``expr`` when it holds a JSON array, else an empty one (a bad value never breaks
    the write that carries it)."""
    if dialect == "postgresql":
        return f"CASE WHEN json_typeof({expr}) = 'array' THEN {expr} ELSE '[]'::json END"
    return (f"CASE WHEN json_valid({expr}) THEN CASE WHEN json_type({expr}) = 'array' "
            f"THEN {expr} ELSE '[]' END ELSE '[]' END")


def value_parts(dialect: str, ref: str) -> list[str]:
    """SELECTs of the by-value (dim, value) pairs of one approved activity (``ref``: NEW,
    OLD or the alias ``a`` of activity); those with a FROM read a JSON array of it."""
    pg = dialect == "postgresql"
    if pg:
        day = f"to_char({ref}.start_at + interval '8 hours', 'YYYY-MM-DD')"
    else:
        day = f"date({ref}.start_at, '+8 hours')"
    parts = [
        f"SELECT 'day' AS dim, coalesce({day}, '') AS value",
        f"SELECT 'category', coalesce({ref}.supervisor_category, '')",
        f"SELECT 'mode', coalesce({ref}.mode, '')",
        f"SELECT 'type', coalesce({ref}.activity_type, '')",
    ]
    for dim, flag in (("joint", "joint_action"), ("special", "special_action"),
                      ("youth", "youth_festival")):
        parts.append(f"SELECT '{dim}', '' WHERE {ref}.{flag}")
    for dim, flag, col in (("joint_item", "joint_action", "joint_action_items"),
                           ("special_item", "special_action", "special_action_items")):
        arr = _json_array(dialect, f"{ref}.{col}")
        if pg:
            parts.append(
                f"SELECT DISTINCT '{dim}', btrim(e #>> '{{}}') FROM json_array_elements({arr}) e "
                f"WHERE {ref}.{flag} AND json_typeof(e) IN ('string', 'number') "
                f"AND btrim(e #>> '{{}}') <> ''")
        else:
            parts.append(
                f"SELECT DISTINCT '{dim}', trim(e.value) FROM json_each({arr}) e "
                f"WHERE {ref}.{flag} AND e.type IN ('text', 'integer') "
                f"AND trim(e.value) <> ''")
    arr = _json_array(dialect, f"{ref}.hosts")
    if pg:
        parts.append(
            "SELECT DISTINCT 'host', CASE WHEN coalesce(h ->> 'id', '') <> '' "
            "THEN 'id:' || (h ->> 'id') ELSE 'name:' || btrim(coalesce(h ->> 'name', '')) END "
            f"FROM json_array_elements({arr}) h WHERE json_typeof(h) = 'object'")
    else:
        hid = "json_extract(h.value, '$.id')"
        parts.append(
            f"SELECT DISTINCT 'host', CASE WHEN {hid} IS NOT NULL AND {hid} <> '' "
            f"THEN 'id:' || {hid} ELSE 'name:' || "
            "trim(coalesce(json_extract(h.value, '$.name'), '')) END "
            f"FROM json_each({arr}) h WHERE h.type = 'object'")
    return parts


def _keys(ref: str) -> str:
    """The four key variants of an activity's by-value rows."""
    return (f"SELECT '/n' AS sfx, '' AS route_key, '' AS region_code, 0 AS org_id "
            f"UNION ALL SELECT '/r', coalesce({ref}.route_province, ''), '', 0 "
            f"UNION ALL SELECT '/g', '', coalesce({ref}.region_code, ''), 0 "
            f"UNION ALL SELECT '/o', '', '', coalesce({ref}.supervisor_org_id, 0)")


def _full(ref: str) -> str:
    return (f"coalesce({ref}.route_province, ''), coalesce({ref}.region_code, ''), "
            f"coalesce({ref}.supervisor_org_id, 0)")


def approved_rows(dialect: str, ref: str) -> str:
    """(dim, route_key, region_code, org_id, value) rows of one approved activity."""
    values = "\n        UNION ALL ".join(value_parts(dialect, ref))
    return (f"SELECT d.dim || k.sfx AS dim, k.route_key, k.region_code, k.org_id, d.value "
            f"FROM (\n        {values}) AS d CROSS JOIN ({_keys(ref)}) AS k\n"
            f"      UNION ALL SELECT f.dim, {_full(ref)}, '' FROM (SELECT 'all' AS dim "
            f"UNION ALL SELECT 'food' WHERE {ref}.food_safety) AS f")


def _decided(ref: str) -> str:
    return (f"{ref}.decided_at IS NOT NULL AND {ref}.submitted_at IS NOT NULL "
            f"AND {ref}.decided_at >= {ref}.submitted_at")


def _minutes(dialect: str, ref: str) -> str:
    if dialect == "postgresql":
        return (f"CAST(CAST(round(extract(epoch FROM {ref}.decided_at - {ref}.submitted_at)) "
                f"AS bigint) / 60 AS text)")
    return (f"CAST(CAST(round((julianday({ref}.decided_at) - julianday({ref}.submitted_at)) "
            f"* 86400) AS INTEGER) / 60 AS TEXT)")


def span_rows(dialect: str, ref: str) -> str:
    return (f"SELECT 'span' || k.sfx AS dim, k.route_key, k.region_code, k.org_id, "
            f"{_minutes(dialect, ref)} AS value FROM ({_keys(ref)}) AS k")


def _upsert_n(dialect: str) -> str:
    return "activity_stat.n + excluded.n" if dialect == "postgresql" else "n + excluded.n"


def delta_sql(dialect: str, ref: str, rows: str, cond: str, sign: int) -> str:
    """Add ``sign`` to each row of ``rows`` — an upsert per row on the primary key (a
    removal finds the row its addition made)."""
    return (f"INSERT INTO activity_stat ({KEY}, n)\n    SELECT {ref}.campaign_id, r.dim, "
            f"r.route_key, r.region_code, r.org_id, r.value, {sign} FROM (\n      {rows}) AS r"
            f"\n    WHERE {cond}\n    ON CONFLICT ({KEY}) DO UPDATE SET n = {_upsert_n(dialect)}")


def add_sql(dialect: str, ref: str) -> str:
    return delta_sql(dialect, ref, approved_rows(dialect, ref),
                     f"{ref}.status = '{APPROVED}'", 1)


def remove_sql(dialect: str, ref: str) -> str:
    return delta_sql(dialect, ref, approved_rows(dialect, ref),
                     f"{ref}.status = '{APPROVED}'", -1)


def span_add_sql(dialect: str, ref: str) -> str:
    return delta_sql(dialect, ref, span_rows(dialect, ref), _decided(ref), 1)


def span_remove_sql(dialect: str, ref: str) -> str:
    return delta_sql(dialect, ref, span_rows(dialect, ref), _decided(ref), -1)


def _per_activity(parts: list[str], where: str, parse_from: bool = True) -> str:
    """Set-based: each part as its own SELECT over ``activity a`` (SQLite has no
    LATERAL), with the activity's id and keys: (id, campaign_id, route_key,
    region_code, org_id, dim, value)."""
    selects = []
    for p in parts:
        body = p[len("SELECT "):]
        distinct = body.startswith("DISTINCT ")
        if distinct:
            body = body[len("DISTINCT "):]
        cols, _, rest = body.partition(" FROM ") if parse_from else (body, "", "")
        if rest:
            src, _, cond = rest.partition(" WHERE ")
            joined, cond = f", {src}", f" AND {cond}"
        else:
            cols, _, cond = cols.partition(" WHERE ")
            joined, cond = "", (f" AND {cond}" if cond else "")
        keyed = (f"a.id AS id, a.campaign_id AS campaign_id, "
                 f"coalesce(a.route_province, '') AS route_key, "
                 f"coalesce(a.region_code, '') AS region_code, "
                 f"coalesce(a.supervisor_org_id, 0) AS org_id, {cols}")
        selects.append(f"SELECT {'DISTINCT ' if distinct else ''}{keyed} "
                       f"FROM activity a{joined} WHERE {where}{cond}")
    return "\n    UNION ALL ".join(selects)


def fill_all(dialect: str) -> list[str]:
    """Fill the table from the data (the migration, the benchmark's bulk load, refill)."""
    approved = f"a.status = '{APPROVED}'"
    by_value = _per_activity(value_parts(dialect, "a"), approved)
    span = _per_activity([f"SELECT 'span' AS dim, {_minutes(dialect, 'a')} AS value"],
                         _decided("a"), parse_from=False)
    suffixed = (
        "SELECT r.campaign_id, r.dim || k.sfx, "
        "CASE WHEN k.sfx = '/r' THEN r.route_key ELSE '' END, "
        "CASE WHEN k.sfx = '/g' THEN r.region_code ELSE '' END, "
        "CASE WHEN k.sfx = '/o' THEN r.org_id ELSE 0 END, r.value, count(*)\n"
        "FROM (\n    {rows}) AS r\nCROSS JOIN (SELECT '/n' AS sfx UNION ALL SELECT '/r' "
        "UNION ALL SELECT '/g' UNION ALL SELECT '/o') AS k\nGROUP BY 1, 2, 3, 4, 5, 6")
    full = _per_activity(["SELECT 'all' AS dim, '' AS value",
                          "SELECT 'food', '' WHERE a.food_safety"], approved)
    ins = f"INSERT INTO activity_stat ({KEY}, n)\n"
    return [
        ins + suffixed.format(rows=by_value),
        ins + suffixed.format(rows=span),
        ins + ("SELECT campaign_id, dim, route_key, region_code, org_id, value, count(*) "
               f"FROM (\n    {full}) AS r\nGROUP BY 1, 2, 3, 4, 5, 6"),
        ins + audit_fill_sql(),
    ]


def sqlite_triggers() -> list[str]:
    cols = ", ".join(COUNTED_COLUMNS)
    return [
        f"CREATE TRIGGER activity_stat_insert AFTER INSERT ON activity "
        f"WHEN NEW.status = '{APPROVED}' BEGIN\n    {add_sql('sqlite', 'NEW')};\nEND",
        f"CREATE TRIGGER activity_stat_delete AFTER DELETE ON activity "
        f"WHEN OLD.status = '{APPROVED}' BEGIN\n    {remove_sql('sqlite', 'OLD')};\nEND",
        f"CREATE TRIGGER activity_stat_update AFTER UPDATE OF {cols} ON activity "
        f"WHEN OLD.status = '{APPROVED}' OR NEW.status = '{APPROVED}' BEGIN\n"
        f"    {remove_sql('sqlite', 'OLD')};\n    {add_sql('sqlite', 'NEW')};\nEND",
    ]


def pg_function() -> str:
    return (
        "CREATE OR REPLACE FUNCTION activity_stat_sync() RETURNS trigger AS $$\n"
        "BEGIN\n"
        "  IF TG_OP IN ('UPDATE', 'DELETE') THEN\n"
        f"    IF OLD.status = '{APPROVED}' THEN\n"
        f"    {remove_sql('postgresql', 'OLD')};\n"
        "    END IF;\n"
        "  END IF;\n"
        "  IF TG_OP IN ('UPDATE', 'INSERT') THEN\n"
        f"    IF NEW.status = '{APPROVED}' THEN\n"
        f"    {add_sql('postgresql', 'NEW')};\n"
        "    END IF;\n"
        "  END IF;\n"
        "  RETURN NULL;\n"
        "END;\n"
        "$$ LANGUAGE plpgsql")


def pg_triggers() -> list[str]:
    cols = ", ".join(COUNTED_COLUMNS)
    return [
        "CREATE TRIGGER activity_stat_insert AFTER INSERT ON activity FOR EACH ROW "
        "EXECUTE FUNCTION activity_stat_sync()",
        "CREATE TRIGGER activity_stat_delete AFTER DELETE ON activity FOR EACH ROW "
        "EXECUTE FUNCTION activity_stat_sync()",
        f"CREATE TRIGGER activity_stat_update AFTER UPDATE OF {cols} ON activity "
        f"FOR EACH ROW WHEN (OLD.status = '{APPROVED}' OR NEW.status = '{APPROVED}') "
        "EXECUTE FUNCTION activity_stat_sync()",
    ]


# --------------------------------------------------------------------------- review figures

SPAN_COLUMNS = ("decided_at", "submitted_at", "campaign_id", "route_province", "region_code",
                "supervisor_org_id")
#: The review's overturn rate counts these (kepu.science_day.stats.review_stats).
NATIONAL_ACTIONS = ("national_approve", "national_unapprove", "national_reject",
                    "national_unreject")


def _actions() -> str:
    return ", ".join(f"'{a}'" for a in NATIONAL_ACTIONS)


def audit_add_sql(dialect: str) -> str:
    return (f"INSERT INTO activity_stat ({KEY}, n)\n    SELECT a.campaign_id, 'overturn', "
            f"a.route_province, coalesce(a.region_code, ''), coalesce(a.supervisor_org_id, 0), "
            f"NEW.action, 1 FROM activity a\n    WHERE a.id = NEW.entity_id AND "
            f"a.route_province IS NOT NULL\n    ON CONFLICT ({KEY}) DO UPDATE SET n = "
            f"{_upsert_n(dialect)}")


def audit_fill_sql() -> str:
    return ("SELECT a.campaign_id, 'overturn', a.route_province, coalesce(a.region_code, ''), "
            "coalesce(a.supervisor_org_id, 0), l.action, count(*)\n"
            "FROM audit_log l JOIN activity a ON a.id = l.entity_id\n"
            f"WHERE l.entity_type = 'activity' AND l.action IN ({_actions()}) "
            "AND a.route_province IS NOT NULL\nGROUP BY 1, 2, 3, 4, 5, 6")


def sqlite_review_triggers() -> list[str]:
    cols = ", ".join(SPAN_COLUMNS)
    return [
        f"CREATE TRIGGER activity_span_insert AFTER INSERT ON activity "
        f"WHEN {_decided('NEW')} BEGIN\n    {span_add_sql('sqlite', 'NEW')};\nEND",
        f"CREATE TRIGGER activity_span_delete AFTER DELETE ON activity "
        f"WHEN {_decided('OLD')} BEGIN\n    {span_remove_sql('sqlite', 'OLD')};\nEND",
        f"CREATE TRIGGER activity_span_update AFTER UPDATE OF {cols} ON activity "
        f"WHEN ({_decided('OLD')}) OR ({_decided('NEW')}) BEGIN\n"
        f"    {span_remove_sql('sqlite', 'OLD')};\n    {span_add_sql('sqlite', 'NEW')};\nEND",
        f"CREATE TRIGGER activity_stat_audit AFTER INSERT ON audit_log "
        f"WHEN NEW.entity_type = 'activity' AND NEW.action IN ({_actions()}) BEGIN\n"
        f"    {audit_add_sql('sqlite')};\nEND",
    ]


def pg_review_functions() -> list[str]:
    return [
        "CREATE OR REPLACE FUNCTION activity_span_sync() RETURNS trigger AS $$\n"
        "BEGIN\n"
        "  IF TG_OP IN ('UPDATE', 'DELETE') THEN\n"
        f"    {span_remove_sql('postgresql', 'OLD')};\n"
        "  END IF;\n"
        "  IF TG_OP IN ('UPDATE', 'INSERT') THEN\n"
        f"    {span_add_sql('postgresql', 'NEW')};\n"
        "  END IF;\n"
        "  RETURN NULL;\n"
        "END;\n"
        "$$ LANGUAGE plpgsql",
        "CREATE OR REPLACE FUNCTION activity_stat_audit() RETURNS trigger AS $$\n"
        "BEGIN\n"
        f"    {audit_add_sql('postgresql')};\n"
        "  RETURN NULL;\n"
        "END;\n"
        "$$ LANGUAGE plpgsql",
    ]


def pg_review_triggers() -> list[str]:
    cols = ", ".join(SPAN_COLUMNS)
    return [
        "CREATE TRIGGER activity_span_insert AFTER INSERT ON activity FOR EACH ROW "
        f"WHEN ({_decided('NEW')}) EXECUTE FUNCTION activity_span_sync()",
        "CREATE TRIGGER activity_span_delete AFTER DELETE ON activity FOR EACH ROW "
        f"WHEN ({_decided('OLD')}) EXECUTE FUNCTION activity_span_sync()",
        f"CREATE TRIGGER activity_span_update AFTER UPDATE OF {cols} ON activity "
        f"FOR EACH ROW WHEN (({_decided('OLD')}) OR ({_decided('NEW')})) "
        "EXECUTE FUNCTION activity_span_sync()",
        "CREATE TRIGGER activity_stat_audit AFTER INSERT ON audit_log FOR EACH ROW "
        f"WHEN (NEW.entity_type = 'activity' AND NEW.action IN ({_actions()})) "
        "EXECUTE FUNCTION activity_stat_audit()",
    ]


TRIGGER_NAMES = ("activity_stat_insert", "activity_stat_delete", "activity_stat_update",
                 "activity_span_insert", "activity_span_delete", "activity_span_update")


def create_triggers(bind) -> None:
    if bind.dialect.name == "postgresql":
        for sql in [pg_function(), *pg_review_functions(), *pg_triggers(),
                    *pg_review_triggers()]:
            bind.exec_driver_sql(sql)
    else:
        for sql in [*sqlite_triggers(), *sqlite_review_triggers()]:
            bind.exec_driver_sql(sql)


def drop_triggers(bind) -> None:
    for name in TRIGGER_NAMES:
        if bind.dialect.name == "postgresql":
            bind.exec_driver_sql(f"DROP TRIGGER IF EXISTS {name} ON activity")
        else:
            bind.exec_driver_sql(f"DROP TRIGGER IF EXISTS {name}")
    if bind.dialect.name == "postgresql":
        bind.exec_driver_sql("DROP TRIGGER IF EXISTS activity_stat_audit ON audit_log")
        for fn in ("activity_stat_sync", "activity_span_sync", "activity_stat_audit"):
            bind.exec_driver_sql(f"DROP FUNCTION IF EXISTS {fn}()")
    else:
        bind.exec_driver_sql("DROP TRIGGER IF EXISTS activity_stat_audit")


def refill(bind) -> None:
    """Recount the whole table from the activities (a repair; the benchmark's bulk load)."""
    bind.exec_driver_sql("DELETE FROM activity_stat")
    for sql in fill_all(bind.dialect.name):
        bind.exec_driver_sql(sql)


def _after_create(target, connection, **kw) -> None:
    if {"activity", "activity_stat", "audit_log"} <= {
            t.name for t in kw.get("tables") or target.sorted_tables}:
        create_triggers(connection)


def install() -> None:
    """Have ``create_all`` add the triggers once every table exists (``activity_stat``
    has no foreign key to ``activity``: either may be created first)."""
    if not event.contains(db.metadata, "after_create", _after_create):
        event.listen(db.metadata, "after_create", _after_create)


install()
