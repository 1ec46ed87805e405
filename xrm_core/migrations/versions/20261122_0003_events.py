"""Event bus: outbox/event log, deliveries, processed records, webhooks and their delivery log.

Revision ID: core_0003
Revises: core_0002
Create Date: 2026-11-22
"""

import sqlalchemy as sa
from alembic import op

revision = "core_0003"
down_revision = "core_0002"
branch_labels = None
depends_on = None


def _tenant(table: str) -> list:
    return [
        sa.Column("tenant_id", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["tenant_id"], ["core_tenants.id"], name=op.f(f"fk_{table}_tenant_id_core_tenants"), ondelete="CASCADE"
        ),
    ]


def upgrade() -> None:
    op.create_table(
        "core_events",
        sa.Column("id", sa.Integer(), nullable=False),
        *_tenant("core_events"),
        sa.Column("event_id", sa.String(36), nullable=False),
        sa.Column("type", sa.String(150), nullable=False),
        sa.Column("actor", sa.String(100), nullable=False),
        sa.Column("subject_type", sa.String(100), nullable=False),
        sa.Column("subject_id", sa.String(100), nullable=False),
        sa.Column("related", sa.JSON(), nullable=False),
        sa.Column("occurred_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("payload", sa.JSON(), nullable=False),
        sa.Column("relayed_at", sa.DateTime(timezone=True), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_core_events")),
        sa.UniqueConstraint("event_id", name=op.f("uq_core_events_event_id")),
    )
    op.create_index(op.f("ix_core_events_tenant_id"), "core_events", ["tenant_id"])
    op.create_index("ix_core_events_tenant_id_occurred_at", "core_events", ["tenant_id", "occurred_at"])
    op.create_index("ix_core_events_tenant_id_subject", "core_events", ["tenant_id", "subject_type", "subject_id"])
    op.create_index(
        "ix_core_events_unrelayed", "core_events", ["id"],
        postgresql_where=sa.text("relayed_at IS NULL"), sqlite_where=sa.text("relayed_at IS NULL"),
    )

    op.create_table(
        "core_event_deliveries",
        sa.Column("id", sa.Integer(), nullable=False),
        *_tenant("core_event_deliveries"),
        sa.Column("event_pk", sa.Integer(), nullable=False),
        sa.Column("subscriber", sa.String(200), nullable=False),
        sa.Column("subject_key", sa.String(210), nullable=False),
        sa.Column("status", sa.String(20), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("next_attempt_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("queued_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("last_error", sa.Text(), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["event_pk"], ["core_events.id"], name=op.f("fk_core_event_deliveries_event_pk_core_events"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_core_event_deliveries")),
        sa.UniqueConstraint("event_pk", "subscriber", name=op.f("uq_core_event_deliveries_event_pk_subscriber")),
    )
    op.create_index(op.f("ix_core_event_deliveries_tenant_id"), "core_event_deliveries", ["tenant_id"])
    op.create_index(op.f("ix_core_event_deliveries_event_pk"), "core_event_deliveries", ["event_pk"])
    op.create_index(
        "ix_core_event_deliveries_chain", "core_event_deliveries", ["tenant_id", "subscriber", "subject_key", "event_pk"]
    )
    op.create_index(
        "ix_core_event_deliveries_status_next_attempt_at", "core_event_deliveries", ["status", "next_attempt_at"]
    )

    op.create_table(
        "core_event_processed",
        sa.Column("id", sa.Integer(), nullable=False),
        *_tenant("core_event_processed"),
        sa.Column("event_id", sa.String(36), nullable=False),
        sa.Column("subscriber", sa.String(200), nullable=False),
        sa.Column("processed_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_core_event_processed")),
        sa.UniqueConstraint("event_id", "subscriber", name=op.f("uq_core_event_processed_event_id_subscriber")),
    )
    op.create_index(op.f("ix_core_event_processed_tenant_id"), "core_event_processed", ["tenant_id"])

    op.create_table(
        "core_webhooks",
        sa.Column("id", sa.Integer(), nullable=False),
        *_tenant("core_webhooks"),
        sa.Column("url", sa.String(2000), nullable=False),
        sa.Column("pattern", sa.String(150), nullable=False),
        sa.Column("secret", sa.String(200), nullable=False),
        sa.Column("active", sa.Boolean(), nullable=False),
        sa.Column("failures", sa.Integer(), nullable=False),
        sa.Column("disabled_reason", sa.String(500), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_core_webhooks")),
    )
    op.create_index(op.f("ix_core_webhooks_tenant_id"), "core_webhooks", ["tenant_id"])

    op.create_table(
        "core_webhook_attempts",
        sa.Column("id", sa.Integer(), nullable=False),
        *_tenant("core_webhook_attempts"),
        sa.Column("webhook_id", sa.Integer(), nullable=False),
        sa.Column("event_id", sa.String(36), nullable=False),
        sa.Column("attempt", sa.Integer(), nullable=False),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("status_code", sa.Integer(), nullable=True),
        sa.Column("error", sa.String(500), nullable=True),
        sa.Column("duration_ms", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["webhook_id"], ["core_webhooks.id"], name=op.f("fk_core_webhook_attempts_webhook_id_core_webhooks"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_core_webhook_attempts")),
    )
    op.create_index(op.f("ix_core_webhook_attempts_tenant_id"), "core_webhook_attempts", ["tenant_id"])
    op.create_index(op.f("ix_core_webhook_attempts_webhook_id"), "core_webhook_attempts", ["webhook_id"])


def downgrade() -> None:
    op.drop_table("core_webhook_attempts")
    op.drop_table("core_webhooks")
    op.drop_table("core_event_processed")
    op.drop_table("core_event_deliveries")
    op.drop_table("core_events")
