"""PLACEHOLDER: notifications_dashboards.

Revision ID: core_0014
Revises: core_0013
Create Date: 2026-11-22
"""

import sqlalchemy as sa
from alembic import op

revision = "core_0014"
down_revision = "core_0013"
branch_labels = None
depends_on = None


def upgrade() -> None:
    pass  # PLACEHOLDER


def downgrade() -> None:
    pass  # PLACEHOLDER
