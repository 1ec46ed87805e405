"""PLACEHOLDER: business_hours.

Revision ID: core_0013
Revises: core_0012
Create Date: 2026-11-22
"""

import sqlalchemy as sa
from alembic import op

revision = "core_0013"
down_revision = "core_0012"
branch_labels = None
depends_on = None


def upgrade() -> None:
    pass  # PLACEHOLDER


def downgrade() -> None:
    pass  # PLACEHOLDER
