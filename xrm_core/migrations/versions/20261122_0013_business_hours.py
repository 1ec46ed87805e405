"""Business hours: working-hours calendars per tenant, with department overrides.

Revision ID: core_0013
Revises: core_0012
Create Date: 2026-11-22
"""

import sqlalchemy as sa
from alembic import op

revision = "core_0013"
down_revision = "core_0012"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "core_business_calendars",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("tenant_id", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(200), nullable=False),
        sa.Column("department_id", sa.Integer(), nullable=True),
        sa.Column("time_zone", sa.String(63), nullable=False),
        sa.Column("weekly_hours", sa.JSON(), nullable=False),
        sa.Column("holidays", sa.JSON(), nullable=False),
        sa.Column("country", sa.String(10), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(["tenant_id"], ["core_tenants.id"],
                                name=op.f("fk_core_business_calendars_tenant_id_core_tenants"), ondelete="CASCADE"),
        sa.ForeignKeyConstraint(["department_id"], ["core_departments.id"],
                                name=op.f("fk_core_business_calendars_department_id_core_departments"),
                                ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_core_business_calendars")),
        sa.UniqueConstraint("tenant_id", "department_id",
                            name=op.f("uq_core_business_calendars_tenant_id_department_id")),
    )
    op.create_index(op.f("ix_core_business_calendars_tenant_id"), "core_business_calendars", ["tenant_id"])


def downgrade() -> None:
    op.drop_index(op.f("ix_core_business_calendars_tenant_id"), table_name="core_business_calendars")
    op.drop_table("core_business_calendars")
