"""Support cases."""

import sqlalchemy as sa
from alembic import op

revision = "cases_0001"
down_revision = None
branch_labels = ("cases",)
depends_on = "core_0005"


def upgrade():
    op.create_table(
        "cases_cases",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("tenant_id", sa.Integer(), sa.ForeignKey("core_tenants.id", ondelete="CASCADE"), nullable=False, index=True),
        sa.Column("owner_user_id", sa.Integer(), sa.ForeignKey("core_users.id", ondelete="SET NULL"), nullable=True, index=True),
        sa.Column("owner_team_id", sa.Integer(), sa.ForeignKey("core_teams.id", ondelete="SET NULL"), nullable=True, index=True),
        sa.Column("department_id", sa.Integer(), sa.ForeignKey("core_departments.id", ondelete="SET NULL"), nullable=True, index=True),
        sa.Column("title", sa.String(100), nullable=False),
        sa.Column("status", sa.String(20), nullable=False),
        sa.Column("budget", sa.Integer(), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("custom", sa.JSON(), nullable=False, server_default=sa.text("'{}'")),
    )


def downgrade():
    op.drop_table("cases_cases")
