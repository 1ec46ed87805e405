"""The sales_items table.

The first revision of the plugin's own Alembic branch: ``down_revision = None`` and the plugin's
name as branch label. It depends on the core revision that created the tables it points to.
"""

import sqlalchemy as sa
from alembic import op

revision = "sales_0001"
down_revision = None
branch_labels = ("sales",)
depends_on = "core_0004"


def upgrade():
    op.create_table(
        "sales_items",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("tenant_id", sa.Integer(), nullable=False),
        sa.Column("owner_user_id", sa.Integer(), nullable=True),
        sa.Column("owner_team_id", sa.Integer(), nullable=True),
        sa.Column("department_id", sa.Integer(), nullable=True),
        sa.Column("name", sa.String(100), nullable=False),
        sa.Column("notes", sa.Text(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(["tenant_id"], ["core_tenants.id"], name=op.f("fk_sales_items_tenant_id_core_tenants"), ondelete="CASCADE"),
        sa.ForeignKeyConstraint(["owner_user_id"], ["core_users.id"], name=op.f("fk_sales_items_owner_user_id_core_users"), ondelete="SET NULL"),
        sa.ForeignKeyConstraint(["owner_team_id"], ["core_teams.id"], name=op.f("fk_sales_items_owner_team_id_core_teams"), ondelete="SET NULL"),
        sa.ForeignKeyConstraint(["department_id"], ["core_departments.id"], name=op.f("fk_sales_items_department_id_core_departments"), ondelete="SET NULL"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_sales_items")),
        sa.UniqueConstraint("tenant_id", "name", name=op.f("uq_sales_items_tenant_id_name")),
    )
    for column in ("tenant_id", "owner_user_id", "owner_team_id", "department_id"):
        op.create_index(op.f(f"ix_sales_items_{column}"), "sales_items", [column])


def downgrade():
    op.drop_table("sales_items")
