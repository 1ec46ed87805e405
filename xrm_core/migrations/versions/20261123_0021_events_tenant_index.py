"""Events: no index on ``core_events.tenant_id`` alone.

Both composite indexes of the event log lead with the tenant, so this one only cost every
publishing transaction one more page written at commit. The tenant's newest events are listed
by ``(occurred_at, id)`` along ``ix_core_events_tenant_id_occurred_at`` instead.

Revision ID: core_0021
Revises: core_0020
Create Date: 2026-11-23
"""

from alembic import op

revision = "core_0021"
down_revision = "core_0020"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.drop_index(op.f("ix_core_events_tenant_id"), table_name="core_events")


def downgrade() -> None:
    op.create_index(op.f("ix_core_events_tenant_id"), "core_events", ["tenant_id"])
