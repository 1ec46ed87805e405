"""Ledger entries with amounts as text."""

import sqlalchemy as sa
from alembic import op

revision = "ledger_0001"
down_revision = None
branch_labels = ("ledger",)
depends_on = "core_0001"


def upgrade():
    op.create_table(
        "ledger_entries",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("tenant_id", sa.Integer(), sa.ForeignKey("core_tenants.id", ondelete="CASCADE"), nullable=False),
        sa.Column("amount", sa.String(20), nullable=False),
    )


def downgrade():
    op.drop_table("ledger_entries")
