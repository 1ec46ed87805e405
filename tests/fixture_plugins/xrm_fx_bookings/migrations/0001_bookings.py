"""Bookings table."""

import sqlalchemy as sa
from alembic import op

revision = "bookings_0001"
down_revision = None
branch_labels = ("bookings",)
depends_on = "core_0002"


def upgrade():
    op.create_table(
        "bookings_bookings",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("tenant_id", sa.Integer(), sa.ForeignKey("core_tenants.id", ondelete="CASCADE"), nullable=False, index=True),
        sa.Column("party_id", sa.Integer(), sa.ForeignKey("core_parties.id", ondelete="CASCADE"), nullable=False, index=True),
        sa.Column("label", sa.String(100), nullable=False),
    )


def downgrade():
    op.drop_table("bookings_bookings")
