"""Custom fields: per-tenant typed field definitions; parties carry their values.

Revision ID: core_0005
Revises: core_0004
Create Date: 2026-11-22
"""

import sqlalchemy as sa
from alembic import op

revision = "core_0005"
down_revision = "core_0004"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "core_custom_fields",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("tenant_id", sa.Integer(), nullable=False),
        sa.Column("entity", sa.String(100), nullable=False),
        sa.Column("code", sa.String(63), nullable=False),
        sa.Column("label", sa.String(200), nullable=False),
        sa.Column("type", sa.String(20), nullable=False),
        sa.Column("required", sa.Boolean(), nullable=False),
        sa.Column("choices", sa.JSON(), nullable=False),
        sa.Column("validation", sa.JSON(), nullable=False),
        sa.Column("position", sa.Integer(), nullable=False),
        sa.Column("active", sa.Boolean(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(["tenant_id"], ["core_tenants.id"], name=op.f("fk_core_custom_fields_tenant_id_core_tenants"),
                                ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_core_custom_fields")),
        sa.UniqueConstraint("tenant_id", "entity", "code", name=op.f("uq_core_custom_fields_tenant_id_entity_code")),
    )
    op.create_index(op.f("ix_core_custom_fields_tenant_id"), "core_custom_fields", ["tenant_id"])
    # The server default fills existing parties, and rows inserted without the ORM (imports).
    with op.batch_alter_table("core_parties") as batch:
        batch.add_column(sa.Column("custom", sa.JSON(), nullable=False, server_default=sa.text("'{}'")))


def downgrade() -> None:
    with op.batch_alter_table("core_parties") as batch:
        batch.drop_column("custom")
    op.drop_index(op.f("ix_core_custom_fields_tenant_id"), table_name="core_custom_fields")
    op.drop_table("core_custom_fields")
