"""Audit: request context, field-level changes.

Revision ID: core_0011
Revises: core_0010
Create Date: 2026-11-22
"""

import sqlalchemy as sa  # noqa: F401
from alembic import op  # noqa: F401

revision = "core_0011"
down_revision = "core_0010"
branch_labels = None
depends_on = None


def upgrade() -> None:
    pass  # PLACEHOLDER: filled in by its owner this session, or removed from the chain


def downgrade() -> None:
    pass  # PLACEHOLDER
