"""Audit: request context, field-level changes.

Revision ID: core_0011
Revises: core_0010
Create Date: 2026-11-22
"""

import sqlalchemy as sa
from alembic import op

revision = "core_0011"
down_revision = "core_0010"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("core_audit_log") as batch:
        batch.add_column(sa.Column("ip", sa.String(45), nullable=True))
        batch.add_column(sa.Column("user_agent", sa.String(300), nullable=True))
        batch.add_column(sa.Column("request_id", sa.String(64), nullable=True))
        batch.add_column(sa.Column("changes", sa.JSON(), nullable=True))
        batch.create_index(op.f("ix_core_audit_log_request_id"), ["request_id"])
        batch.create_index(op.f("ix_core_audit_log_target"), ["target"])


def downgrade() -> None:
    with op.batch_alter_table("core_audit_log") as batch:
        batch.drop_index(op.f("ix_core_audit_log_target"))
        batch.drop_index(op.f("ix_core_audit_log_request_id"))
        batch.drop_column("changes")
        batch.drop_column("user_agent")
        batch.drop_column("request_id")
        batch.drop_column("ip")
