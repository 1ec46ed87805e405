"""Platform operators and the support access tenants grant them.

Revision ID: core_0015
Revises: core_0014
Create Date: 2026-11-22
"""

import sqlalchemy as sa
from alembic import op

revision = "core_0015"
down_revision = "core_0014"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "core_operators",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("email", sa.String(254), nullable=False),
        sa.Column("display_name", sa.String(200), nullable=False),
        sa.Column("token_hash", sa.String(64), nullable=False),
        sa.Column("active", sa.Boolean(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("last_used_at", sa.DateTime(timezone=True), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_core_operators")),
        sa.UniqueConstraint("email", name=op.f("uq_core_operators_email")),
        sa.UniqueConstraint("token_hash", name=op.f("uq_core_operators_token_hash")),
    )
    op.create_table(
        "core_support_grants",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("tenant_id", sa.Integer(), nullable=False),
        sa.Column("operator_id", sa.Integer(), nullable=False),
        sa.Column("granted_by_user_id", sa.Integer(), nullable=True),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("revoked_at", sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(["tenant_id"], ["core_tenants.id"],
                                name=op.f("fk_core_support_grants_tenant_id_core_tenants"), ondelete="CASCADE"),
        sa.ForeignKeyConstraint(["operator_id"], ["core_operators.id"],
                                name=op.f("fk_core_support_grants_operator_id_core_operators"), ondelete="CASCADE"),
        sa.ForeignKeyConstraint(["granted_by_user_id"], ["core_users.id"],
                                name=op.f("fk_core_support_grants_granted_by_user_id_core_users"), ondelete="SET NULL"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_core_support_grants")),
    )
    op.create_index(op.f("ix_core_support_grants_tenant_id"), "core_support_grants", ["tenant_id"])
    op.create_index(op.f("ix_core_support_grants_operator_id"), "core_support_grants", ["operator_id"])


def downgrade() -> None:
    op.drop_table("core_support_grants")
    op.drop_table("core_operators")
