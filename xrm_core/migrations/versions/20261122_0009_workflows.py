"""Workflows: versioned definitions, runs, steps, timers.

Revision ID: core_0009
Revises: core_0008
Create Date: 2026-11-22
"""

import sqlalchemy as sa  # noqa: F401
from alembic import op  # noqa: F401

revision = "core_0009"
down_revision = "core_0008"
branch_labels = None
depends_on = None


def upgrade() -> None:
    pass  # PLACEHOLDER: filled in by its owner this session, or removed from the chain


def downgrade() -> None:
    pass  # PLACEHOLDER
