"""The parties' name index also holds the columns record-level permissions read.

A department-scoped reader's list page walks the tenant's parties in name order and keeps those of
their department, their own, their teams' (or shared with them). With the department and owner
columns in the index, the rows of other departments are passed over in the index itself, without
reading them: at 1,000,000 parties over 50 departments, 49 rows in 50.

Revision ID: core_0019
Revises: core_0018
Create Date: 2026-11-22
"""

from alembic import op

revision = "core_0019"
down_revision = "core_0018"
branch_labels = None
depends_on = None

NEW = "ix_core_parties_tenant_id_display_name_scope"
#: ``id`` explicitly before the scope columns: the index still gives ``display_name, id`` order.
COLUMNS = ["tenant_id", "display_name", "id", "department_id", "owner_user_id", "owner_team_id"]


def upgrade() -> None:
    op.drop_index("ix_core_parties_tenant_id_display_name", table_name="core_parties")
    op.create_index(NEW, "core_parties", COLUMNS)


def downgrade() -> None:
    op.drop_index(NEW, table_name="core_parties")
    op.create_index("ix_core_parties_tenant_id_display_name", "core_parties", ["tenant_id", "display_name"])
