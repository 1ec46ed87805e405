"""Party graph: parties, identifiers, roles, relationship types, relationships.

Revision ID: core_0002
Revises: core_0001
Create Date: 2026-11-22
"""

import sqlalchemy as sa
from alembic import op

revision = "core_0002"
down_revision = "core_0001"
branch_labels = None
depends_on = None

ORDERED_PERIOD = "valid_to IS NULL OR valid_from IS NULL OR valid_to >= valid_from"


def _tenant(table: str) -> list:
    return [
        sa.Column("tenant_id", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["tenant_id"], ["core_tenants.id"], name=op.f(f"fk_{table}_tenant_id_core_tenants"), ondelete="CASCADE"
        ),
    ]


def upgrade() -> None:
    op.create_table(
        "core_parties",
        sa.Column("id", sa.Integer(), nullable=False),
        *_tenant("core_parties"),
        sa.Column("kind", sa.String(40), nullable=False),
        sa.Column("display_name", sa.String(200), nullable=False),
        sa.Column("tags", sa.JSON(), nullable=False),
        sa.Column("owner_user_id", sa.Integer(), nullable=True),
        sa.Column("department_id", sa.Integer(), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(["owner_user_id"], ["core_users.id"], name=op.f("fk_core_parties_owner_user_id_core_users"), ondelete="SET NULL"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_core_parties")),
    )
    op.create_index(op.f("ix_core_parties_tenant_id"), "core_parties", ["tenant_id"])
    op.create_index(op.f("ix_core_parties_owner_user_id"), "core_parties", ["owner_user_id"])
    op.create_index("ix_core_parties_tenant_id_display_name", "core_parties", ["tenant_id", "display_name"])

    op.create_table(
        "core_party_identifiers",
        sa.Column("id", sa.Integer(), nullable=False),
        *_tenant("core_party_identifiers"),
        sa.Column("party_id", sa.Integer(), nullable=False),
        sa.Column("source", sa.String(63), nullable=False),
        sa.Column("value", sa.String(200), nullable=False),
        sa.ForeignKeyConstraint(["party_id"], ["core_parties.id"], name=op.f("fk_core_party_identifiers_party_id_core_parties"), ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_core_party_identifiers")),
        sa.UniqueConstraint("tenant_id", "source", "value", name=op.f("uq_core_party_identifiers_tenant_id_source_value")),
    )
    op.create_index(op.f("ix_core_party_identifiers_tenant_id"), "core_party_identifiers", ["tenant_id"])
    op.create_index(op.f("ix_core_party_identifiers_party_id"), "core_party_identifiers", ["party_id"])

    op.create_table(
        "core_party_roles",
        sa.Column("id", sa.Integer(), nullable=False),
        *_tenant("core_party_roles"),
        sa.Column("party_id", sa.Integer(), nullable=False),
        sa.Column("role", sa.String(63), nullable=False),
        sa.Column("valid_from", sa.Date(), nullable=True),
        sa.Column("valid_to", sa.Date(), nullable=True),
        sa.CheckConstraint(ORDERED_PERIOD, name=op.f("ck_core_party_roles_valid_period")),
        sa.ForeignKeyConstraint(["party_id"], ["core_parties.id"], name=op.f("fk_core_party_roles_party_id_core_parties"), ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_core_party_roles")),
    )
    op.create_index(op.f("ix_core_party_roles_tenant_id"), "core_party_roles", ["tenant_id"])
    op.create_index(op.f("ix_core_party_roles_party_id"), "core_party_roles", ["party_id"])

    op.create_table(
        "core_relationship_types",
        sa.Column("id", sa.Integer(), nullable=False),
        *_tenant("core_relationship_types"),
        sa.Column("code", sa.String(63), nullable=False),
        sa.Column("forward_label", sa.String(100), nullable=False),
        sa.Column("inverse_label", sa.String(100), nullable=False),
        sa.Column("symmetric", sa.Boolean(), nullable=False),
        sa.Column("from_kinds", sa.JSON(), nullable=False),
        sa.Column("to_kinds", sa.JSON(), nullable=False),
        sa.Column("from_roles", sa.JSON(), nullable=False),
        sa.Column("to_roles", sa.JSON(), nullable=False),
        sa.Column("source", sa.String(100), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_core_relationship_types")),
        sa.UniqueConstraint("tenant_id", "code", name=op.f("uq_core_relationship_types_tenant_id_code")),
    )
    op.create_index(op.f("ix_core_relationship_types_tenant_id"), "core_relationship_types", ["tenant_id"])

    op.create_table(
        "core_relationships",
        sa.Column("id", sa.Integer(), nullable=False),
        *_tenant("core_relationships"),
        sa.Column("from_party_id", sa.Integer(), nullable=False),
        sa.Column("to_party_id", sa.Integer(), nullable=False),
        sa.Column("type_id", sa.Integer(), nullable=False),
        sa.Column("valid_from", sa.Date(), nullable=True),
        sa.Column("valid_to", sa.Date(), nullable=True),
        sa.Column("attributes", sa.JSON(), nullable=False),
        sa.Column("notes", sa.Text(), nullable=True),
        sa.CheckConstraint(ORDERED_PERIOD, name=op.f("ck_core_relationships_valid_period")),
        sa.CheckConstraint("from_party_id <> to_party_id", name=op.f("ck_core_relationships_distinct_ends")),
        sa.ForeignKeyConstraint(["from_party_id"], ["core_parties.id"], name=op.f("fk_core_relationships_from_party_id_core_parties"), ondelete="CASCADE"),
        sa.ForeignKeyConstraint(["to_party_id"], ["core_parties.id"], name=op.f("fk_core_relationships_to_party_id_core_parties"), ondelete="CASCADE"),
        sa.ForeignKeyConstraint(["type_id"], ["core_relationship_types.id"], name=op.f("fk_core_relationships_type_id_core_relationship_types")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_core_relationships")),
    )
    op.create_index(op.f("ix_core_relationships_tenant_id"), "core_relationships", ["tenant_id"])
    op.create_index("ix_core_relationships_from_party_id_tenant_id", "core_relationships", ["from_party_id", "tenant_id"])
    op.create_index("ix_core_relationships_to_party_id_tenant_id", "core_relationships", ["to_party_id", "tenant_id"])


def downgrade() -> None:
    op.drop_table("core_relationships")
    op.drop_table("core_relationship_types")
    op.drop_table("core_party_roles")
    op.drop_table("core_party_identifiers")
    op.drop_table("core_parties")
