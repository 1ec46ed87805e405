"""Complaints."""

import sqlalchemy as sa
from alembic import op

revision = "board_0001"
down_revision = None
branch_labels = ("board",)
depends_on = "core_0004"


def upgrade():
    op.create_table(
        "board_complaints",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("tenant_id", sa.Integer(), sa.ForeignKey("core_tenants.id", ondelete="CASCADE"), nullable=False, index=True),
        sa.Column("owner_user_id", sa.Integer(), sa.ForeignKey("core_users.id", ondelete="SET NULL"), nullable=True, index=True),
        sa.Column("owner_team_id", sa.Integer(), sa.ForeignKey("core_teams.id", ondelete="SET NULL"), nullable=True, index=True),
        sa.Column("department_id", sa.Integer(), sa.ForeignKey("core_departments.id", ondelete="SET NULL"), nullable=True, index=True),
        sa.Column("title", sa.String(100), nullable=False),
        sa.Column("stage", sa.String(20), nullable=False),
        sa.Column("resolution", sa.String(200), nullable=True),
    )


def downgrade():
    op.drop_table("board_complaints")
