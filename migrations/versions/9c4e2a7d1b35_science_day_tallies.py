"""science day: 填报单位 on activities, and per-state tallies kept by triggers

The review lists of a million activities read their status tabs from
``activity_tally`` (campaign, first-review province or "" for the national-only route,
status → n). Triggers on ``activity`` keep it exact on INSERT, UPDATE of status /
route_province / campaign_id, and DELETE, on SQLite and PostgreSQL alike.

Revision ID: 9c4e2a7d1b35
Revises: 7a3c9e1f2b64
Create Date: 2026-12-02 00:30:00
"""
import sqlalchemy as sa
from alembic import op

revision = "9c4e2a7d1b35"
down_revision = "7a3c9e1f2b64"
branch_labels = None
depends_on = None

SQLITE_TRIGGERS = [
    """CREATE TRIGGER activity_tally_insert AFTER INSERT ON activity BEGIN
         INSERT INTO activity_tally (campaign_id, route_key, status, n)
         VALUES (NEW.campaign_id, coalesce(NEW.route_province, ''), NEW.status, 1)
         ON CONFLICT (campaign_id, route_key, status) DO UPDATE SET n = n + 1;
       END""",
    """CREATE TRIGGER activity_tally_delete AFTER DELETE ON activity BEGIN
         UPDATE activity_tally SET n = n - 1
         WHERE campaign_id = OLD.campaign_id AND route_key = coalesce(OLD.route_province, '')
           AND status = OLD.status;
       END""",
    """CREATE TRIGGER activity_tally_update AFTER UPDATE OF status, route_province, campaign_id
       ON activity
       WHEN OLD.status IS NOT NEW.status OR OLD.route_province IS NOT NEW.route_province
            OR OLD.campaign_id IS NOT NEW.campaign_id
       BEGIN
         UPDATE activity_tally SET n = n - 1
         WHERE campaign_id = OLD.campaign_id AND route_key = coalesce(OLD.route_province, '')
           AND status = OLD.status;
         INSERT INTO activity_tally (campaign_id, route_key, status, n)
         VALUES (NEW.campaign_id, coalesce(NEW.route_province, ''), NEW.status, 1)
         ON CONFLICT (campaign_id, route_key, status) DO UPDATE SET n = n + 1;
       END""",
]

PG_FUNCTION = """
CREATE OR REPLACE FUNCTION activity_tally_sync() RETURNS trigger AS $$
BEGIN
  IF TG_OP IN ('UPDATE', 'DELETE') THEN
    UPDATE activity_tally SET n = n - 1
    WHERE campaign_id = OLD.campaign_id AND route_key = coalesce(OLD.route_province, '')
      AND status = OLD.status;
  END IF;
  IF TG_OP IN ('UPDATE', 'INSERT') THEN
    INSERT INTO activity_tally (campaign_id, route_key, status, n)
    VALUES (NEW.campaign_id, coalesce(NEW.route_province, ''), NEW.status, 1)
    ON CONFLICT (campaign_id, route_key, status) DO UPDATE SET n = activity_tally.n + 1;
  END IF;
  RETURN NULL;
END;
$$ LANGUAGE plpgsql
"""
PG_TRIGGERS = [
    "CREATE TRIGGER activity_tally_insert AFTER INSERT ON activity "
    "FOR EACH ROW EXECUTE FUNCTION activity_tally_sync()",
    "CREATE TRIGGER activity_tally_delete AFTER DELETE ON activity "
    "FOR EACH ROW EXECUTE FUNCTION activity_tally_sync()",
    "CREATE TRIGGER activity_tally_update AFTER UPDATE OF status, route_province, campaign_id "
    "ON activity FOR EACH ROW WHEN (OLD.status IS DISTINCT FROM NEW.status "
    "OR OLD.route_province IS DISTINCT FROM NEW.route_province "
    "OR OLD.campaign_id IS DISTINCT FROM NEW.campaign_id) "
    "EXECUTE FUNCTION activity_tally_sync()",
]


def create_triggers(bind) -> None:
    """Also used by the tests' schema (db.create_all has no triggers)."""
    if bind.dialect.name == "postgresql":
        bind.exec_driver_sql(PG_FUNCTION)
        for sql in PG_TRIGGERS:
            bind.exec_driver_sql(sql)
    else:
        for sql in SQLITE_TRIGGERS:
            bind.exec_driver_sql(sql)


def drop_triggers(bind) -> None:
    for name in ("activity_tally_insert", "activity_tally_delete", "activity_tally_update"):
        if bind.dialect.name == "postgresql":
            bind.exec_driver_sql(f"DROP TRIGGER IF EXISTS {name} ON activity")
        else:
            bind.exec_driver_sql(f"DROP TRIGGER IF EXISTS {name}")
    if bind.dialect.name == "postgresql":
        bind.exec_driver_sql("DROP FUNCTION IF EXISTS activity_tally_sync()")


def upgrade():
    with op.batch_alter_table("activity", schema=None) as batch_op:
        batch_op.add_column(sa.Column("filer_unit", sa.String(length=200), nullable=False,
                                      server_default=""))
    op.create_table(
        "activity_tally",
        sa.Column("campaign_id", sa.Integer(), nullable=False),
        sa.Column("route_key", sa.String(length=12), nullable=False),
        sa.Column("status", sa.String(length=20), nullable=False),
        sa.Column("n", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(["campaign_id"], ["campaign.id"], ondelete="CASCADE",
                                name=op.f("fk_activity_tally_campaign_id_campaign")),
        sa.PrimaryKeyConstraint("campaign_id", "route_key", "status",
                                name=op.f("pk_activity_tally")),
    )
    bind = op.get_bind()
    create_triggers(bind)
    # existing rows (none before this release; kept for completeness)
    bind.exec_driver_sql(
        "INSERT INTO activity_tally (campaign_id, route_key, status, n) "
        "SELECT campaign_id, coalesce(route_province, ''), status, count(*) FROM activity "
        "GROUP BY campaign_id, coalesce(route_province, ''), status")


def downgrade():
    drop_triggers(op.get_bind())
    op.drop_table("activity_tally")
    with op.batch_alter_table("activity", schema=None) as batch_op:
        batch_op.drop_column("filer_unit")
