"""Events: webhook management (versions for If-Match, pausing).

Revision ID: core_0008
Revises: core_0007
Create Date: 2026-11-22
"""

import sqlalchemy as sa
from alembic import op

revision = "core_0008"
down_revision = "core_0007"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("core_webhooks") as batch:
        batch.add_column(sa.Column("version", sa.Integer(), nullable=False, server_default="1"))
        batch.add_column(sa.Column("paused", sa.Boolean(), nullable=False, server_default=sa.false()))


def downgrade() -> None:
    with op.batch_alter_table("core_webhooks") as batch:
        batch.drop_column("paused")
        batch.drop_column("version")
