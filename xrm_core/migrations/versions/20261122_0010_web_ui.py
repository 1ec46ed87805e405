"""Web UI: user preferences (interface language) and saved list views.

Revision ID: core_0010
Revises: core_0009
Create Date: 2026-11-22
"""

import sqlalchemy as sa
from alembic import op

revision = "core_0010"
down_revision = "core_0009"
branch_labels = None
depends_on = None


def _tenant_column(table: str) -> sa.Column:
    return sa.Column("tenant_id", sa.Integer(), sa.ForeignKey(
        "core_tenants.id", ondelete="CASCADE", name=op.f(f"fk_{table}_tenant_id_core_tenants")), nullable=False)


def upgrade() -> None:
    op.create_table(
        "core_user_preferences",
        sa.Column("id", sa.Integer(), nullable=False),
        _tenant_column("core_user_preferences"),
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.Column("locale", sa.String(10), nullable=True),
        sa.ForeignKeyConstraint(["user_id"], ["core_users.id"],
                                name=op.f("fk_core_user_preferences_user_id_core_users"), ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_core_user_preferences")),
        sa.UniqueConstraint("user_id", name=op.f("uq_core_user_preferences_user_id")),
    )
    op.create_index(op.f("ix_core_user_preferences_tenant_id"), "core_user_preferences", ["tenant_id"])
    op.create_table(
        "core_saved_views",
        sa.Column("id", sa.Integer(), nullable=False),
        _tenant_column("core_saved_views"),
        sa.Column("resource", sa.String(63), nullable=False),
        sa.Column("name", sa.String(100), nullable=False),
        sa.Column("query", sa.Text(), nullable=False),
        sa.Column("scope", sa.Enum("me", "department", "tenant", name="viewscope", native_enum=False, length=20),
                  nullable=False),
        sa.Column("owner_user_id", sa.Integer(), nullable=False),
        sa.Column("department_id", sa.Integer(), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["owner_user_id"], ["core_users.id"],
                                name=op.f("fk_core_saved_views_owner_user_id_core_users"), ondelete="CASCADE"),
        sa.ForeignKeyConstraint(["department_id"], ["core_departments.id"],
                                name=op.f("fk_core_saved_views_department_id_core_departments"), ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_core_saved_views")),
        sa.UniqueConstraint("tenant_id", "resource", "owner_user_id", "name",
                            name=op.f("uq_core_saved_views_tenant_id_resource_owner_user_id_name")),
    )
    for column in ("tenant_id", "owner_user_id", "department_id"):
        op.create_index(op.f(f"ix_core_saved_views_{column}"), "core_saved_views", [column])


def downgrade() -> None:
    op.drop_table("core_saved_views")
    op.drop_table("core_user_preferences")
