"""Effects table."""

import sqlalchemy as sa
from alembic import op

revision = "listen_0001"
down_revision = None
branch_labels = ("listen",)
depends_on = "core_0001"


def upgrade():
    op.create_table(
        "listen_effects",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("tenant_id", sa.Integer(), sa.ForeignKey("core_tenants.id", ondelete="CASCADE"), nullable=False, index=True),
        sa.Column("subscriber", sa.String(100), nullable=False),
        sa.Column("event_id", sa.String(36), nullable=False),
        sa.Column("event_type", sa.String(150), nullable=False),
        sa.Column("subject", sa.String(200), nullable=False),
        sa.Column("n", sa.Integer(), nullable=False),
        sa.Column("pid", sa.Integer(), nullable=False),
    )


def downgrade():
    op.drop_table("listen_effects")
