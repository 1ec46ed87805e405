"""Core tables: tenants, per-tenant plugins, users, audit log.

Revision ID: core_0001
Revises:
Create Date: 2026-11-22
"""

import sqlalchemy as sa
from alembic import op

revision = "core_0001"
down_revision = None
branch_labels = ("core",)
depends_on = None


def upgrade() -> None:
    op.create_table(
        "core_tenants",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("slug", sa.String(63), nullable=False),
        sa.Column("name", sa.String(200), nullable=False),
        sa.Column("status", sa.Enum("active", "suspended", name="tenantstatus", native_enum=False, length=20), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_core_tenants")),
        sa.UniqueConstraint("slug", name=op.f("uq_core_tenants_slug")),
    )
    op.create_table(
        "core_tenant_plugins",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("tenant_id", sa.Integer(), nullable=False),
        sa.Column("plugin", sa.String(63), nullable=False),
        sa.Column("enabled", sa.Boolean(), nullable=False),
        sa.Column("settings", sa.JSON(), nullable=False),
        sa.Column("disabled_reason", sa.String(500), nullable=True),
        sa.Column("changed_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["tenant_id"], ["core_tenants.id"], name=op.f("fk_core_tenant_plugins_tenant_id_core_tenants"), ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_core_tenant_plugins")),
        sa.UniqueConstraint("tenant_id", "plugin", name=op.f("uq_core_tenant_plugins_tenant_id_plugin")),
    )
    op.create_index(op.f("ix_core_tenant_plugins_tenant_id"), "core_tenant_plugins", ["tenant_id"])
    op.create_table(
        "core_users",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("tenant_id", sa.Integer(), nullable=False),
        sa.Column("email", sa.String(254), nullable=False),
        sa.Column("display_name", sa.String(200), nullable=False),
        sa.Column("password_hash", sa.String(300), nullable=False),
        sa.Column("is_admin", sa.Boolean(), nullable=False),
        sa.Column("active", sa.Boolean(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["tenant_id"], ["core_tenants.id"], name=op.f("fk_core_users_tenant_id_core_tenants"), ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_core_users")),
        sa.UniqueConstraint("tenant_id", "email", name=op.f("uq_core_users_tenant_id_email")),
    )
    op.create_index(op.f("ix_core_users_tenant_id"), "core_users", ["tenant_id"])
    op.create_table(
        "core_audit_log",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("tenant_id", sa.Integer(), nullable=False),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("actor", sa.String(100), nullable=False),
        sa.Column("action", sa.String(100), nullable=False),
        sa.Column("target", sa.String(200), nullable=False),
        sa.Column("details", sa.JSON(), nullable=False),
        sa.Column("user_id", sa.Integer(), nullable=True),
        sa.ForeignKeyConstraint(["tenant_id"], ["core_tenants.id"], name=op.f("fk_core_audit_log_tenant_id_core_tenants"), ondelete="CASCADE"),
        sa.ForeignKeyConstraint(["user_id"], ["core_users.id"], name=op.f("fk_core_audit_log_user_id_core_users"), ondelete="SET NULL"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_core_audit_log")),
    )
    op.create_index(op.f("ix_core_audit_log_tenant_id"), "core_audit_log", ["tenant_id"])
    op.create_index(op.f("ix_core_audit_log_at"), "core_audit_log", ["at"])


def downgrade() -> None:
    op.drop_table("core_audit_log")
    op.drop_table("core_users")
    op.drop_table("core_tenant_plugins")
    op.drop_table("core_tenants")
