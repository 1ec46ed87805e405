"""Version columns on users, departments, teams and roles: their ETags (If-Match on the admin API).

Revision ID: core_0016
Revises: core_0015
Create Date: 2026-11-22
"""

import sqlalchemy as sa
from alembic import op

revision = "core_0016"
down_revision = "core_0015"
branch_labels = None
depends_on = None

TABLES = ("core_users", "core_departments", "core_teams", "core_roles")


def upgrade() -> None:
    for table in TABLES:
        with op.batch_alter_table(table) as batch:
            batch.add_column(sa.Column("version", sa.Integer(), nullable=False, server_default="1"))


def downgrade() -> None:
    for table in TABLES:
        with op.batch_alter_table(table) as batch:
            batch.drop_column("version")
