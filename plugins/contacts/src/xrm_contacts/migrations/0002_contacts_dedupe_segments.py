"""The duplicate review queue and segments (dynamic selections and static lists)."""

import sqlalchemy as sa
from alembic import op

revision = "contacts_0002"
down_revision = "contacts_0001"
branch_labels = None
depends_on = None

OWNED_FKS = (("owner_user_id", "core_users"), ("owner_team_id", "core_teams"), ("department_id", "core_departments"))


def upgrade():
    op.create_table(
        "contacts_duplicate_pairs",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("tenant_id", sa.Integer(), nullable=False),
        sa.Column("party_a_id", sa.Integer(), nullable=False),
        sa.Column("party_b_id", sa.Integer(), nullable=False),
        sa.Column("score", sa.Integer(), nullable=False),
        sa.Column("reasons", sa.JSON(), nullable=False),
        sa.Column("status", sa.String(20), nullable=False),
        sa.Column("found_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("decided_by", sa.String(200), nullable=True),
        sa.Column("decided_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("survivor_id", sa.Integer(), nullable=True),
        sa.CheckConstraint("party_a_id < party_b_id", name=op.f("ck_contacts_duplicate_pairs_ordered")),
        sa.ForeignKeyConstraint(["tenant_id"], ["core_tenants.id"],
                                name=op.f("fk_contacts_duplicate_pairs_tenant_id_core_tenants"), ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_contacts_duplicate_pairs")),
        sa.UniqueConstraint("tenant_id", "party_a_id", "party_b_id",
                            name=op.f("uq_contacts_duplicate_pairs_tenant_id_party_a_id_party_b_id")),
    )
    for column in ("tenant_id", "party_a_id", "party_b_id"):
        op.create_index(op.f(f"ix_contacts_duplicate_pairs_{column}"), "contacts_duplicate_pairs", [column])
    op.create_index("ix_contacts_duplicate_pairs_tenant_id_status_score", "contacts_duplicate_pairs",
                    ["tenant_id", "status", "score"])

    op.create_table(
        "contacts_segments",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("tenant_id", sa.Integer(), nullable=False),
        sa.Column("owner_user_id", sa.Integer(), nullable=True),
        sa.Column("owner_team_id", sa.Integer(), nullable=True),
        sa.Column("department_id", sa.Integer(), nullable=True),
        sa.Column("name", sa.String(200), nullable=False),
        sa.Column("kind", sa.String(20), nullable=False),
        sa.Column("description", sa.Text(), nullable=False),
        sa.Column("definition", sa.JSON(), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(["tenant_id"], ["core_tenants.id"],
                                name=op.f("fk_contacts_segments_tenant_id_core_tenants"), ondelete="CASCADE"),
        *(sa.ForeignKeyConstraint([column], [f"{table}.id"], name=op.f(f"fk_contacts_segments_{column}_{table}"),
                                  ondelete="SET NULL") for column, table in OWNED_FKS),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_contacts_segments")),
        sa.UniqueConstraint("tenant_id", "name", name=op.f("uq_contacts_segments_tenant_id_name")),
    )
    for column in ("tenant_id", "owner_user_id", "owner_team_id", "department_id"):
        op.create_index(op.f(f"ix_contacts_segments_{column}"), "contacts_segments", [column])

    op.create_table(
        "contacts_segment_members",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("tenant_id", sa.Integer(), nullable=False),
        sa.Column("segment_id", sa.Integer(), nullable=False),
        sa.Column("party_id", sa.Integer(), nullable=False),
        sa.Column("added_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["tenant_id"], ["core_tenants.id"],
                                name=op.f("fk_contacts_segment_members_tenant_id_core_tenants"), ondelete="CASCADE"),
        sa.ForeignKeyConstraint(["segment_id"], ["contacts_segments.id"],
                                name=op.f("fk_contacts_segment_members_segment_id_contacts_segments"), ondelete="CASCADE"),
        sa.ForeignKeyConstraint(["party_id"], ["core_parties.id"],
                                name=op.f("fk_contacts_segment_members_party_id_core_parties"), ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_contacts_segment_members")),
        sa.UniqueConstraint("segment_id", "party_id", name=op.f("uq_contacts_segment_members_segment_id_party_id")),
    )
    for column in ("tenant_id", "segment_id", "party_id"):
        op.create_index(op.f(f"ix_contacts_segment_members_{column}"), "contacts_segment_members", [column])


def downgrade():
    op.drop_table("contacts_segment_members")
    op.drop_table("contacts_segments")
    op.drop_table("contacts_duplicate_pairs")
