"""The bookmarks_bookmarks table: the first revision of the plugin's own Alembic branch.

``down_revision = None`` and ``branch_labels = ("bookmarks",)`` start the branch; ``depends_on``
names the core revision that created the tables it points to (tenants, users, teams, parties).
The conformance kit fails while this and ``models.py`` disagree.
"""

import sqlalchemy as sa
from alembic import op

revision = "bookmarks_0001"
down_revision = None
branch_labels = ("bookmarks",)
depends_on = "core_0004"


def upgrade():
    op.create_table(
        "bookmarks_bookmarks",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("tenant_id", sa.Integer(), nullable=False),
        sa.Column("owner_user_id", sa.Integer(), nullable=True),
        sa.Column("owner_team_id", sa.Integer(), nullable=True),
        sa.Column("department_id", sa.Integer(), nullable=True),
        sa.Column("title", sa.String(200), nullable=False),
        sa.Column("url", sa.String(500), nullable=False),
        sa.Column("party_id", sa.Integer(), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(["tenant_id"], ["core_tenants.id"],
                                name=op.f("fk_bookmarks_bookmarks_tenant_id_core_tenants"), ondelete="CASCADE"),
        sa.ForeignKeyConstraint(["owner_user_id"], ["core_users.id"],
                                name=op.f("fk_bookmarks_bookmarks_owner_user_id_core_users"), ondelete="SET NULL"),
        sa.ForeignKeyConstraint(["owner_team_id"], ["core_teams.id"],
                                name=op.f("fk_bookmarks_bookmarks_owner_team_id_core_teams"), ondelete="SET NULL"),
        sa.ForeignKeyConstraint(["department_id"], ["core_departments.id"],
                                name=op.f("fk_bookmarks_bookmarks_department_id_core_departments"),
                                ondelete="SET NULL"),
        sa.ForeignKeyConstraint(["party_id"], ["core_parties.id"],
                                name=op.f("fk_bookmarks_bookmarks_party_id_core_parties"), ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_bookmarks_bookmarks")),
    )
    for column in ("tenant_id", "owner_user_id", "owner_team_id", "department_id", "party_id"):
        op.create_index(op.f(f"ix_bookmarks_bookmarks_{column}"), "bookmarks_bookmarks", [column])


def downgrade():
    op.drop_table("bookmarks_bookmarks")
