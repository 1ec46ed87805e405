"""Notifications, and department homes: pinned saved views and the dashboard widgets shown.

Revision ID: core_0014
Revises: core_0013
Create Date: 2026-11-22
"""

import sqlalchemy as sa
from alembic import op

revision = "core_0014"
down_revision = "core_0013"
branch_labels = None
depends_on = None


def _tenant_column(table: str) -> sa.Column:
    return sa.Column("tenant_id", sa.Integer(), sa.ForeignKey(
        "core_tenants.id", ondelete="CASCADE", name=op.f(f"fk_{table}_tenant_id_core_tenants")), nullable=False)


def _department_fk(table: str) -> sa.ForeignKeyConstraint:
    return sa.ForeignKeyConstraint(["department_id"], ["core_departments.id"],
                                   name=op.f(f"fk_{table}_department_id_core_departments"), ondelete="CASCADE")


def upgrade() -> None:
    op.create_table(
        "core_notifications",
        sa.Column("id", sa.Integer(), nullable=False),
        _tenant_column("core_notifications"),
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.Column("title", sa.String(200), nullable=False),
        sa.Column("body", sa.Text(), nullable=False),
        sa.Column("url", sa.String(500), nullable=True),
        sa.Column("kind", sa.String(63), nullable=False),
        sa.Column("subject_type", sa.String(100), nullable=True),
        sa.Column("subject_id", sa.String(100), nullable=True),
        sa.Column("actor", sa.String(100), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("read_at", sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(["user_id"], ["core_users.id"],
                                name=op.f("fk_core_notifications_user_id_core_users"), ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_core_notifications")),
    )
    op.create_index(op.f("ix_core_notifications_tenant_id"), "core_notifications", ["tenant_id"])
    op.create_index(op.f("ix_core_notifications_created_at"), "core_notifications", ["created_at"])
    op.create_index("ix_core_notifications_user_unread", "core_notifications", ["user_id", "read_at"])
    op.create_table(
        "core_department_pins",
        sa.Column("id", sa.Integer(), nullable=False),
        _tenant_column("core_department_pins"),
        sa.Column("department_id", sa.Integer(), nullable=False),
        sa.Column("saved_view_id", sa.Integer(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        _department_fk("core_department_pins"),
        sa.ForeignKeyConstraint(["saved_view_id"], ["core_saved_views.id"],
                                name=op.f("fk_core_department_pins_saved_view_id_core_saved_views"), ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_core_department_pins")),
        sa.UniqueConstraint("department_id", "saved_view_id",
                            name=op.f("uq_core_department_pins_department_id_saved_view_id")),
    )
    for column in ("tenant_id", "department_id", "saved_view_id"):
        op.create_index(op.f(f"ix_core_department_pins_{column}"), "core_department_pins", [column])
    op.create_table(
        "core_department_dashboards",
        sa.Column("id", sa.Integer(), nullable=False),
        _tenant_column("core_department_dashboards"),
        sa.Column("department_id", sa.Integer(), nullable=False),
        sa.Column("widgets", sa.JSON(), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        _department_fk("core_department_dashboards"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_core_department_dashboards")),
        sa.UniqueConstraint("department_id", name=op.f("uq_core_department_dashboards_department_id")),
    )
    op.create_index(op.f("ix_core_department_dashboards_tenant_id"), "core_department_dashboards", ["tenant_id"])


def downgrade() -> None:
    op.drop_table("core_department_dashboards")
    op.drop_table("core_department_pins")
    op.drop_table("core_notifications")
