"""Party merge (aliases of merged parties), the party timeline, and versioned relationships.

Revision ID: core_0006
Revises: core_0005
Create Date: 2026-11-22
"""

import sqlalchemy as sa
from alembic import op

revision = "core_0006"
down_revision = "core_0005"
branch_labels = None
depends_on = None


def _tenant(table: str) -> list:
    return [
        sa.Column("tenant_id", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["tenant_id"], ["core_tenants.id"], name=op.f(f"fk_{table}_tenant_id_core_tenants"), ondelete="CASCADE"
        ),
    ]


def _party(table: str) -> list:
    return [
        sa.Column("party_id", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["party_id"], ["core_parties.id"], name=op.f(f"fk_{table}_party_id_core_parties"), ondelete="CASCADE"
        ),
    ]


def upgrade() -> None:
    # Relationships get a version column: the API's ETags and If-Match on their attributes and notes.
    with op.batch_alter_table("core_relationships") as batch:
        batch.add_column(sa.Column("version", sa.Integer(), server_default=sa.text("1"), nullable=False))

    op.create_table(
        "core_party_aliases",
        sa.Column("id", sa.Integer(), nullable=False),
        *_tenant("core_party_aliases"),
        sa.Column("alias_id", sa.Integer(), nullable=False),
        *_party("core_party_aliases"),
        sa.Column("merged_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("merged_by", sa.String(100), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_core_party_aliases")),
        sa.UniqueConstraint("tenant_id", "alias_id", name=op.f("uq_core_party_aliases_tenant_id_alias_id")),
    )
    op.create_index(op.f("ix_core_party_aliases_tenant_id"), "core_party_aliases", ["tenant_id"])
    op.create_index(op.f("ix_core_party_aliases_party_id"), "core_party_aliases", ["party_id"])

    op.create_table(
        "core_party_timeline",
        sa.Column("id", sa.Integer(), nullable=False),
        *_tenant("core_party_timeline"),
        *_party("core_party_timeline"),
        sa.Column("event_id", sa.String(36), nullable=False),
        sa.Column("event_type", sa.String(150), nullable=False),
        sa.Column("source", sa.String(63), nullable=False),
        sa.Column("actor", sa.String(100), nullable=False),
        sa.Column("subject_type", sa.String(100), nullable=False),
        sa.Column("subject_id", sa.String(100), nullable=False),
        sa.Column("occurred_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("payload", sa.JSON(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_core_party_timeline")),
        sa.UniqueConstraint("tenant_id", "party_id", "event_id",
                            name=op.f("uq_core_party_timeline_tenant_id_party_id_event_id")),
    )
    op.create_index(op.f("ix_core_party_timeline_tenant_id"), "core_party_timeline", ["tenant_id"])
    op.create_index("ix_core_party_timeline_party_id_occurred_at_id", "core_party_timeline",
                    ["party_id", "occurred_at", "id"])


def downgrade() -> None:
    op.drop_table("core_party_timeline")
    op.drop_table("core_party_aliases")
    with op.batch_alter_table("core_relationships") as batch:
        batch.drop_column("version")
