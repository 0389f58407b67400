"""science day public pages: a version counter per edition, kept by triggers, that the
per-process page cache checks (kepu/pagecache.py; ActivityPublicVersion).

Revision ID: c8e4a0b6d2f9
Revises: a6c2e8f4b1d7
Create Date: 2026-12-02 10:40:00

The trigger SQL is frozen here (kepu/science_day/operations/search.py creates the same
objects for create_all).
"""
from alembic import op
import sqlalchemy as sa


revision = 'c8e4a0b6d2f9'
down_revision = 'a6c2e8f4b1d7'
branch_labels = None
depends_on = None

BUMP = """INSERT INTO activity_public_version (campaign_id, n) VALUES ({cid}, 1)
         ON CONFLICT (campaign_id) DO UPDATE SET n = activity_public_version.n + 1;"""
SQLITE = [
    f"""CREATE TRIGGER IF NOT EXISTS activity_public_version_{name} AFTER {event} ON {table}
       BEGIN
         {BUMP.format(cid=cid)}
       END"""
    for name, event, table, cid in (("insert", "INSERT", "activity_public", "NEW.campaign_id"),
                                    ("update", "UPDATE", "activity_public", "NEW.campaign_id"),
                                    ("delete", "DELETE", "activity_public", "OLD.campaign_id"),
                                    ("campaign", "UPDATE", "campaign", "NEW.id"))
]
PG = [
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


def upgrade():
    op.create_table('activity_public_version',
    sa.Column('campaign_id', sa.Integer(), nullable=False),
    sa.Column('n', sa.Integer(), nullable=False),
    sa.ForeignKeyConstraint(['campaign_id'], ['campaign.id'], name=op.f('fk_activity_public_version_campaign_id_campaign'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('campaign_id', name=op.f('pk_activity_public_version'))
    )
    bind = op.get_bind()
    for sql in (PG if bind.dialect.name == "postgresql" else SQLITE):
        op.execute(sql)
    # editions that already have public rows start at 1
    op.execute("INSERT INTO activity_public_version (campaign_id, n) "
               "SELECT DISTINCT campaign_id, 1 FROM activity_public")


def downgrade():
    bind = op.get_bind()
    pg = bind.dialect.name == "postgresql"
    for name, table in (("insert", "activity_public"), ("update", "activity_public"),
                        ("delete", "activity_public"), ("campaign", "campaign")):
        op.execute(f"DROP TRIGGER IF EXISTS activity_public_version_{name}"
                   + (f" ON {table}" if pg else ""))
    if pg:
        op.execute("DROP FUNCTION IF EXISTS activity_public_version_bump()")
        op.execute("DROP FUNCTION IF EXISTS activity_public_version_edition()")
    op.drop_table('activity_public_version')
