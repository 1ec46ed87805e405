"""Widgets and their parts."""

import sqlalchemy as sa
from alembic import op

revision = "workshop_0001"
down_revision = None
branch_labels = ("workshop",)
depends_on = "core_0001"


def upgrade():
    op.create_table(
        "workshop_widgets",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("tenant_id", sa.Integer(), sa.ForeignKey("core_tenants.id", ondelete="CASCADE"), nullable=False, index=True),
        sa.Column("name", sa.String(100), nullable=False),
        sa.Column("size", sa.Integer(), nullable=True),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.UniqueConstraint("tenant_id", "name"),
    )
    op.create_table(
        "workshop_parts",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("tenant_id", sa.Integer(), sa.ForeignKey("core_tenants.id", ondelete="CASCADE"), nullable=False, index=True),
        sa.Column("widget_id", sa.Integer(), sa.ForeignKey("workshop_widgets.id", ondelete="CASCADE"), nullable=False),
        sa.Column("code", sa.String(20), nullable=False),
        sa.Column("quantity", sa.Integer(), nullable=False),
        sa.UniqueConstraint("widget_id", "code"),
    )


def downgrade():
    op.drop_table("workshop_parts")
    op.drop_table("workshop_widgets")
