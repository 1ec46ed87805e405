"""Notes table."""

import sqlalchemy as sa
from alembic import op

revision = "notes_0001"
down_revision = None
branch_labels = ("notes",)
depends_on = "core_0001"


def upgrade():
    op.create_table(
        "notes_notes",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("tenant_id", sa.Integer(), sa.ForeignKey("core_tenants.id", ondelete="CASCADE"), nullable=False, index=True),
        sa.Column("text", sa.String(500), nullable=False),
    )


def downgrade():
    op.drop_table("notes_notes")
