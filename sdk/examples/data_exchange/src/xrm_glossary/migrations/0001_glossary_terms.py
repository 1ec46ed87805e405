"""The glossary_terms table: the first revision of the plugin's own Alembic branch."""

import sqlalchemy as sa
from alembic import op

revision = "glossary_0001"
down_revision = None
branch_labels = ("glossary",)
depends_on = "core_0004"


def upgrade():
    op.create_table(
        "glossary_terms",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("tenant_id", sa.Integer(), nullable=False),
        sa.Column("owner_user_id", sa.Integer(), nullable=True),
        sa.Column("owner_team_id", sa.Integer(), nullable=True),
        sa.Column("department_id", sa.Integer(), nullable=True),
        sa.Column("term", sa.String(100), nullable=False),
        sa.Column("definition", sa.Text(), nullable=False),
        sa.ForeignKeyConstraint(["tenant_id"], ["core_tenants.id"],
                                name=op.f("fk_glossary_terms_tenant_id_core_tenants"), ondelete="CASCADE"),
        sa.ForeignKeyConstraint(["owner_user_id"], ["core_users.id"],
                                name=op.f("fk_glossary_terms_owner_user_id_core_users"), ondelete="SET NULL"),
        sa.ForeignKeyConstraint(["owner_team_id"], ["core_teams.id"],
                                name=op.f("fk_glossary_terms_owner_team_id_core_teams"), ondelete="SET NULL"),
        sa.ForeignKeyConstraint(["department_id"], ["core_departments.id"],
                                name=op.f("fk_glossary_terms_department_id_core_departments"), ondelete="SET NULL"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_glossary_terms")),
        sa.UniqueConstraint("tenant_id", "term", name=op.f("uq_glossary_terms_tenant_id_term")),
    )
    for column in ("tenant_id", "owner_user_id", "owner_team_id", "department_id"):
        op.create_index(op.f(f"ix_glossary_terms_{column}"), "glossary_terms", [column])


def downgrade():
    op.drop_table("glossary_terms")
