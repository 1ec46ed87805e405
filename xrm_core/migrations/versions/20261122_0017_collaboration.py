"""Collaboration on records: comments (with resolved mentions) and followers.

Revision ID: core_0017
Revises: core_0016
Create Date: 2026-11-22
"""

import sqlalchemy as sa
from alembic import op

revision = "core_0017"
down_revision = "core_0016"
branch_labels = None
depends_on = None


def _tenant_column(table: str) -> sa.Column:
    return sa.Column("tenant_id", sa.Integer(), sa.ForeignKey(
        "core_tenants.id", ondelete="CASCADE", name=op.f(f"fk_{table}_tenant_id_core_tenants")), nullable=False)


def upgrade() -> None:
    op.create_table(
        "core_comments",
        sa.Column("id", sa.Integer(), nullable=False),
        _tenant_column("core_comments"),
        sa.Column("resource", sa.String(100), nullable=False),
        sa.Column("record_id", sa.Integer(), nullable=False),
        sa.Column("author_id", sa.Integer(), nullable=True),
        sa.Column("body", sa.Text(), nullable=False),
        sa.Column("mentions", sa.JSON(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("edited_at", sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(["author_id"], ["core_users.id"],
                                name=op.f("fk_core_comments_author_id_core_users"), ondelete="SET NULL"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_core_comments")),
    )
    op.create_index(op.f("ix_core_comments_tenant_id"), "core_comments", ["tenant_id"])
    op.create_index("ix_core_comments_record", "core_comments", ["tenant_id", "resource", "record_id", "id"])
    op.create_table(
        "core_follows",
        sa.Column("id", sa.Integer(), nullable=False),
        _tenant_column("core_follows"),
        sa.Column("resource", sa.String(100), nullable=False),
        sa.Column("record_id", sa.Integer(), nullable=False),
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["user_id"], ["core_users.id"],
                                name=op.f("fk_core_follows_user_id_core_users"), ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_core_follows")),
        sa.UniqueConstraint("tenant_id", "resource", "record_id", "user_id",
                            name=op.f("uq_core_follows_tenant_id_resource_record_id_user_id")),
    )
    op.create_index(op.f("ix_core_follows_tenant_id"), "core_follows", ["tenant_id"])
    op.create_index(op.f("ix_core_follows_user_id"), "core_follows", ["user_id"])


def downgrade() -> None:
    op.drop_table("core_follows")
    op.drop_table("core_comments")
