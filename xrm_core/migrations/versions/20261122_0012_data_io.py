"""PLACEHOLDER: data_io.

Revision ID: core_0012
Revises: core_0011
Create Date: 2026-11-22
"""

import sqlalchemy as sa
from alembic import op

revision = "core_0012"
down_revision = "core_0011"
branch_labels = None
depends_on = None


def upgrade() -> None:
    pass  # PLACEHOLDER


def downgrade() -> None:
    pass  # PLACEHOLDER
