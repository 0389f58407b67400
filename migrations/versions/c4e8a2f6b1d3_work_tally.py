"""works: per-(edition, unit, status) tallies kept by triggers

The unit's review list read its status tabs with a grouped count over the unit's works
(25,000 index entries at national scale, a third of the request). ``work_tally``
(campaign, unit org id or 0, status -> n) is kept exact by triggers on ``work`` (INSERT,
UPDATE of status / channel_id / campaign_id, DELETE) on SQLite and PostgreSQL alike, and
filled here from the existing works. The SQL is a frozen copy of kepu/works/tally.py's.
Also an index for a unit's tab sorted by title (待推荐 A→Z read in index order).

Revision ID: c4e8a2f6b1d3
Revises: b3d9f2a61c70
Create Date: 2026-12-02 03:15:00
"""
import sqlalchemy as sa
from alembic import op

revision = "c4e8a2f6b1d3"
down_revision = "b3d9f2a61c70"
branch_labels = None
depends_on = None

SQLITE_TRIGGERS = [
'CREATE TRIGGER work_tally_insert AFTER INSERT ON work BEGIN\n         INSERT INTO work_tally (campaign_id, channel_key, status, n) VALUES (NEW.campaign_id, coalesce(NEW.channel_id, 0), NEW.status, 1)\n         ON CONFLICT (campaign_id, channel_key, status) DO UPDATE SET n = n + 1;\n       END',
'CREATE TRIGGER work_tally_delete AFTER DELETE ON work BEGIN\n         UPDATE work_tally SET n = n - 1 WHERE campaign_id = OLD.campaign_id AND channel_key = coalesce(OLD.channel_id, 0) AND status = OLD.status;\n       END',
'CREATE TRIGGER work_tally_update AFTER UPDATE OF status, channel_id, campaign_id ON work\n       WHEN OLD.status IS NOT NEW.status OR OLD.channel_id IS NOT NEW.channel_id\n            OR OLD.campaign_id IS NOT NEW.campaign_id\n       BEGIN\n         UPDATE work_tally SET n = n - 1 WHERE campaign_id = OLD.campaign_id AND channel_key = coalesce(OLD.channel_id, 0) AND status = OLD.status;\n         INSERT INTO work_tally (campaign_id, channel_key, status, n) VALUES (NEW.campaign_id, coalesce(NEW.channel_id, 0), NEW.status, 1)\n         ON CONFLICT (campaign_id, channel_key, status) DO UPDATE SET n = n + 1;\n       END',
]

PG_FUNCTION = "\nCREATE OR REPLACE FUNCTION work_tally_sync() RETURNS trigger AS $$\nBEGIN\n  IF TG_OP IN ('UPDATE', 'DELETE') THEN\n    UPDATE work_tally SET n = n - 1 WHERE campaign_id = OLD.campaign_id AND channel_key = coalesce(OLD.channel_id, 0) AND status = OLD.status;\n  END IF;\n  IF TG_OP IN ('UPDATE', 'INSERT') THEN\n    INSERT INTO work_tally (campaign_id, channel_key, status, n) VALUES (NEW.campaign_id, coalesce(NEW.channel_id, 0), NEW.status, 1)\n    ON CONFLICT (campaign_id, channel_key, status) DO UPDATE SET n = work_tally.n + 1;\n  END IF;\n  RETURN NULL;\nEND;\n$$ LANGUAGE plpgsql\n"

PG_TRIGGERS = [
'CREATE TRIGGER work_tally_insert AFTER INSERT ON work FOR EACH ROW EXECUTE FUNCTION work_tally_sync()',
'CREATE TRIGGER work_tally_delete AFTER DELETE ON work FOR EACH ROW EXECUTE FUNCTION work_tally_sync()',
'CREATE TRIGGER work_tally_update AFTER UPDATE OF status, channel_id, campaign_id ON work FOR EACH ROW WHEN (OLD.status IS DISTINCT FROM NEW.status OR OLD.channel_id IS DISTINCT FROM NEW.channel_id OR OLD.campaign_id IS DISTINCT FROM NEW.campaign_id) EXECUTE FUNCTION work_tally_sync()',
]

BACKFILL = 'INSERT INTO work_tally (campaign_id, channel_key, status, n) SELECT campaign_id, coalesce(channel_id, 0), status, count(*) FROM work GROUP BY campaign_id, coalesce(channel_id, 0), status'


def upgrade():
    op.create_table(
        "work_tally",
        sa.Column("campaign_id", sa.Integer(), nullable=False),
        sa.Column("channel_key", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("status", sa.String(length=20), nullable=False),
        sa.Column("n", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(["campaign_id"], ["campaign.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("campaign_id", "channel_key", "status"),
    )
    op.create_index("ix_work_queue_unit_title", "work",
                    ["campaign_id", "channel_id", "status", "title"])
    bind = op.get_bind()
    bind.exec_driver_sql(BACKFILL)
    if bind.dialect.name == "postgresql":
        bind.exec_driver_sql(PG_FUNCTION)
        for sql in PG_TRIGGERS:
            bind.exec_driver_sql(sql)
    else:
        for sql in SQLITE_TRIGGERS:
            bind.exec_driver_sql(sql)


def downgrade():
    bind = op.get_bind()
    for name in ("work_tally_insert", "work_tally_delete", "work_tally_update"):
        if bind.dialect.name == "postgresql":
            bind.exec_driver_sql(f"DROP TRIGGER IF EXISTS {name} ON work")
        else:
            bind.exec_driver_sql(f"DROP TRIGGER IF EXISTS {name}")
    if bind.dialect.name == "postgresql":
        bind.exec_driver_sql("DROP FUNCTION IF EXISTS work_tally_sync()")
    op.drop_table("work_tally")
    op.drop_index("ix_work_queue_unit_title", table_name="work")
