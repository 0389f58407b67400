"""science day public site: keyword search over the public rows, their list indexes and
per-(province, type, mode) tallies of listed rows

- ``activity_public.search_text``: name, hosts, organisers and place as character
  pairs (bigrams); SQLite indexes it with an external-content FTS5 table
  ``activity_public_fts`` kept by triggers, PostgreSQL with a GIN index on
  ``to_tsvector('simple', search_text)``.
- ``activity_public_tally``: listed rows per (campaign, province, type, mode), kept by
  triggers on both dialects (the public home and list counts).
- the public list's indexes: one per filter column, each ending in ``start_at``.
- the review lists' default tab (all states by submitted time): an index each for the
  provincial and the national list, so a page is read in order, not sorted.

Revision ID: b3d9f2a61c70
Revises: a7c3e1f09b42
Create Date: 2026-12-02 02:10:00
"""
import re
import unicodedata

import sqlalchemy as sa
from alembic import op

revision = "b3d9f2a61c70"
down_revision = "a7c3e1f09b42"
branch_labels = None
depends_on = None

NEW_INDEXES = {
    "ix_activity_public_prov_type": ["campaign_id", "listed", "province_code", "activity_type",
                                     "start_at"],
    "ix_activity_public_city": ["campaign_id", "listed", "city_code", "start_at"],
    "ix_activity_public_county": ["campaign_id", "listed", "county_code", "start_at"],
    "ix_activity_public_type": ["campaign_id", "listed", "activity_type", "start_at"],
    "ix_activity_public_mode": ["campaign_id", "listed", "mode", "start_at"],
}

# the review lists' default tab (every state, newest submitted first) read in index order
REVIEW_INDEXES = {
    "ix_activity_queue_province_time": ["campaign_id", "route_province", "submitted_at",
                                        "status"],
    "ix_activity_queue_time": ["campaign_id", "submitted_at", "status"],
}

# frozen copy of kepu.science_day.operations.search (tokens and DDL)
_CJK = r"\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff"
_RUN = re.compile(rf"[{_CJK}]+|[0-9a-z]+")


def bigrams(*values):
    out = []
    for value in values:
        for run in _RUN.findall(unicodedata.normalize("NFKC", value or "").lower()):
            if run[0].isascii():
                out.append(run)
            else:
                out.extend(run[i:i + 2] for i in range(len(run) - 1))
                out.append(run[-1])
    return " ".join(out)


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

SQLITE_DROP = [
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

PG_DROP = [
    "DROP TRIGGER IF EXISTS activity_public_tally_insert ON activity_public",
    "DROP TRIGGER IF EXISTS activity_public_tally_delete ON activity_public",
    "DROP TRIGGER IF EXISTS activity_public_tally_update ON activity_public",
    "DROP FUNCTION IF EXISTS activity_public_tally_sync()",
    "DROP INDEX IF EXISTS ix_activity_public_search",
]


def upgrade():
    op.add_column("activity_public", sa.Column("search_text", sa.Text(), nullable=False,
                                               server_default=""))
    op.create_table(
        "activity_public_tally",
        sa.Column("campaign_id", sa.Integer(), nullable=False),
        sa.Column("province_code", sa.String(length=12), nullable=False),
        sa.Column("activity_type", sa.String(length=50), nullable=False),
        sa.Column("mode", sa.String(length=10), nullable=False),
        sa.Column("n", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(["campaign_id"], ["campaign.id"], ondelete="CASCADE",
                                name=op.f("fk_activity_public_tally_campaign_id_campaign")),
        sa.PrimaryKeyConstraint("campaign_id", "province_code", "activity_type", "mode",
                                name=op.f("pk_activity_public_tally")),
    )
    for name, columns in NEW_INDEXES.items():
        op.create_index(name, "activity_public", columns, unique=False)
    for name, columns in REVIEW_INDEXES.items():
        op.create_index(name, "activity", columns, unique=False)
    bind = op.get_bind()
    # existing public rows: their search text (place = the stored region name)
    rows = bind.execute(sa.text("SELECT activity_id, name, host_names, data "
                                "FROM activity_public")).all()
    import json

    for activity_id, name, hosts, data in rows:
        data = json.loads(data) if isinstance(data, str) else (data or {})
        organisers = " ".join(o.get("name", "") for o in data.get("organisers") or [])
        bind.execute(sa.text("UPDATE activity_public SET search_text = :t "
                             "WHERE activity_id = :i"),
                     {"t": bigrams(name, hosts, organisers, data.get("place") or ""),
                      "i": activity_id})
    for sql in (PG_OBJECTS if bind.dialect.name == "postgresql" else SQLITE_OBJECTS):
        bind.exec_driver_sql(sql)
    if bind.dialect.name != "postgresql":
        bind.exec_driver_sql("INSERT INTO activity_public_fts (activity_public_fts) "
                             "VALUES ('rebuild')")
    bind.exec_driver_sql(
        "INSERT INTO activity_public_tally (campaign_id, province_code, activity_type, mode, n) "
        "SELECT campaign_id, coalesce(province_code, ''), coalesce(activity_type, ''), "
        "coalesce(mode, ''), count(*) FROM activity_public WHERE listed "
        "GROUP BY campaign_id, coalesce(province_code, ''), coalesce(activity_type, ''), "
        "coalesce(mode, '')")


def downgrade():
    bind = op.get_bind()
    for sql in (PG_DROP if bind.dialect.name == "postgresql" else SQLITE_DROP):
        bind.exec_driver_sql(sql)
    for name in NEW_INDEXES:
        op.drop_index(name, table_name="activity_public")
    for name in REVIEW_INDEXES:
        op.drop_index(name, table_name="activity")
    op.drop_table("activity_public_tally")
    with op.batch_alter_table("activity_public", schema=None) as batch_op:
        batch_op.drop_column("search_text")
