"""Tasks table, linked to notes."""

import sqlalchemy as sa
from alembic import op

revision = "tasks_0001"
down_revision = None
branch_labels = ("tasks",)
depends_on = "notes_0001"


def upgrade():
    op.create_table(
        "tasks_tasks",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("tenant_id", sa.Integer(), sa.ForeignKey("core_tenants.id", ondelete="CASCADE"), nullable=False, index=True),
        sa.Column("title", sa.String(200), nullable=False),
        sa.Column("note_id", sa.Integer(), sa.ForeignKey("notes_notes.id", ondelete="SET NULL")),
    )


def downgrade():
    op.drop_table("tasks_tasks")
