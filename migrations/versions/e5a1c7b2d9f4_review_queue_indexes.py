"""review queue: covering indexes for the works and cases review lists

The lists count by status and page in submitted order within a unit (or an edition);
these indexes hold every column those statements read (status, the sort columns and
the filtered / searched columns), so SQLite and PostgreSQL answer from the index
without touching the wide rows (long 简介 / 亮点总结 texts). tests/core/test_queue_plans.py
asserts the plans.

Revision ID: e5a1c7b2d9f4
Revises: d702db3d8d6b
Create Date: 2026-12-01 23:00:00
"""
from alembic import op

revision = "e5a1c7b2d9f4"
down_revision = "d702db3d8d6b"
branch_labels = None
depends_on = None

WORK_COLS = ["title", "work_type", "category", "applicant_unit", "updated_at"]
CASE_COLS = ["category", "subtype", "name", "updated_at"]


def upgrade():
    with op.batch_alter_table("work", schema=None) as batch_op:
        batch_op.drop_index("ix_work_campaign_channel")
        batch_op.drop_index("ix_work_campaign_status")
        batch_op.create_index("ix_work_queue_status",
                              ["campaign_id", "status", "submitted_at", *WORK_COLS, "channel_id"])
        batch_op.create_index("ix_work_queue_unit_status",
                              ["campaign_id", "channel_id", "status", "submitted_at", *WORK_COLS])
        batch_op.create_index("ix_work_queue_unit_time",
                              ["campaign_id", "channel_id", "submitted_at", "status", *WORK_COLS])
        batch_op.create_index("ix_work_queue_time",
                              ["campaign_id", "submitted_at", "status", *WORK_COLS, "channel_id"])
    with op.batch_alter_table("case", schema=None) as batch_op:
        batch_op.drop_index("ix_case_campaign_org_status")
        batch_op.create_index("ix_case_queue_org",
                              ["campaign_id", "org_id", "status", "submitted_at", *CASE_COLS])
        batch_op.create_index("ix_case_queue_category",
                              ["campaign_id", "category", "status", "org_id", "recommended_at",
                               "submitted_at", "subtype", "name", "updated_at"])


def downgrade():
    with op.batch_alter_table("case", schema=None) as batch_op:
        batch_op.drop_index("ix_case_queue_category")
        batch_op.drop_index("ix_case_queue_org")
        batch_op.create_index("ix_case_campaign_org_status", ["campaign_id", "org_id", "status"])
    with op.batch_alter_table("work", schema=None) as batch_op:
        batch_op.drop_index("ix_work_queue_time")
        batch_op.drop_index("ix_work_queue_unit_time")
        batch_op.drop_index("ix_work_queue_unit_status")
        batch_op.drop_index("ix_work_queue_status")
        batch_op.create_index("ix_work_campaign_status", ["campaign_id", "status"])
        batch_op.create_index("ix_work_campaign_channel", ["campaign_id", "channel_id"])
