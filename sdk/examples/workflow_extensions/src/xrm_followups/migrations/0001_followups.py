"""The followups_followups table: the first revision of the plugin's own Alembic branch."""

import sqlalchemy as sa
from alembic import op

revision = "followups_0001"
down_revision = None
branch_labels = ("followups",)
depends_on = "core_0004"


def upgrade():
    op.create_table(
        "followups_followups",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("tenant_id", sa.Integer(), nullable=False),
        sa.Column("owner_user_id", sa.Integer(), nullable=True),
        sa.Column("owner_team_id", sa.Integer(), nullable=True),
        sa.Column("department_id", sa.Integer(), nullable=True),
        sa.Column("party_id", sa.Integer(), nullable=False),
        sa.Column("note", sa.String(500), nullable=False),
        sa.Column("due_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("announced", sa.Boolean(), nullable=False),
        sa.ForeignKeyConstraint(["tenant_id"], ["core_tenants.id"],
                                name=op.f("fk_followups_followups_tenant_id_core_tenants"), ondelete="CASCADE"),
        sa.ForeignKeyConstraint(["owner_user_id"], ["core_users.id"],
                                name=op.f("fk_followups_followups_owner_user_id_core_users"), ondelete="SET NULL"),
        sa.ForeignKeyConstraint(["owner_team_id"], ["core_teams.id"],
                                name=op.f("fk_followups_followups_owner_team_id_core_teams"), ondelete="SET NULL"),
        sa.ForeignKeyConstraint(["department_id"], ["core_departments.id"],
                                name=op.f("fk_followups_followups_department_id_core_departments"),
                                ondelete="SET NULL"),
        sa.ForeignKeyConstraint(["party_id"], ["core_parties.id"],
                                name=op.f("fk_followups_followups_party_id_core_parties"), ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_followups_followups")),
    )
    for column in ("tenant_id", "owner_user_id", "owner_team_id", "department_id", "party_id"):
        op.create_index(op.f(f"ix_followups_followups_{column}"), "followups_followups", [column])


def downgrade():
    op.drop_table("followups_followups")
