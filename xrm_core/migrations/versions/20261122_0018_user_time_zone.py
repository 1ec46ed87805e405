"""A personal time zone beside the personal language in the user's interface preferences.

Revision ID: core_0018
Revises: core_0017
Create Date: 2026-11-22
"""

import sqlalchemy as sa
from alembic import op

revision = "core_0018"
down_revision = "core_0017"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("core_user_preferences") as batch:
        batch.add_column(sa.Column("time_zone", sa.String(length=63), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("core_user_preferences") as batch:
        batch.drop_column("time_zone")
