"""Workflows: versioned definitions, runs, steps, timers, record-trigger states; the tenant's time zone.

Revision ID: core_0009
Revises: core_0008
Create Date: 2026-11-22
"""

import sqlalchemy as sa
from alembic import op

revision = "core_0009"
down_revision = "core_0008"
branch_labels = None
depends_on = None


def _tenant_column(table: str) -> sa.Column:
    return sa.Column("tenant_id", sa.Integer(), sa.ForeignKey(
        "core_tenants.id", ondelete="CASCADE", name=op.f(f"fk_{table}_tenant_id_core_tenants")), nullable=False)


def _fk(table: str, column: str, target: str, ondelete: str) -> sa.ForeignKeyConstraint:
    return sa.ForeignKeyConstraint([column], [f"{target}.id"], name=op.f(f"fk_{table}_{column}_{target}"),
                                   ondelete=ondelete)


def _when(name: str, nullable: bool = False) -> sa.Column:
    return sa.Column(name, sa.DateTime(timezone=True), nullable=nullable)


def upgrade() -> None:
    with op.batch_alter_table("core_tenants") as batch:
        batch.add_column(sa.Column("time_zone", sa.String(63), server_default="UTC", nullable=False))
    op.create_table(
        "core_workflows",
        sa.Column("id", sa.Integer(), nullable=False),
        _tenant_column("core_workflows"),
        sa.Column("name", sa.String(200), nullable=False),
        sa.Column("enabled", sa.Boolean(), nullable=False),
        sa.Column("current_version", sa.Integer(), nullable=False),
        sa.Column("trigger_kind", sa.String(20), nullable=False),
        sa.Column("trigger_pattern", sa.String(150), nullable=True),
        _when("next_fire_at", nullable=True),
        _when("created_at"),
        _when("updated_at"),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_core_workflows")),
        sa.UniqueConstraint("tenant_id", "name", name=op.f("uq_core_workflows_tenant_id_name")),
    )
    op.create_index(op.f("ix_core_workflows_tenant_id"), "core_workflows", ["tenant_id"])
    op.create_index("ix_core_workflows_schedule", "core_workflows", ["enabled", "trigger_kind", "next_fire_at"])
    op.create_table(
        "core_workflow_versions",
        sa.Column("id", sa.Integer(), nullable=False),
        _tenant_column("core_workflow_versions"),
        sa.Column("workflow_id", sa.Integer(), nullable=False),
        sa.Column("number", sa.Integer(), nullable=False),
        sa.Column("definition", sa.JSON(), nullable=False),
        sa.Column("department_id", sa.Integer(), nullable=True),
        sa.Column("created_by", sa.String(100), nullable=False),
        _when("created_at"),
        _fk("core_workflow_versions", "workflow_id", "core_workflows", "CASCADE"),
        _fk("core_workflow_versions", "department_id", "core_departments", "SET NULL"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_core_workflow_versions")),
        sa.UniqueConstraint("workflow_id", "number", name=op.f("uq_core_workflow_versions_workflow_id_number")),
    )
    for column in ("tenant_id", "workflow_id"):
        op.create_index(op.f(f"ix_core_workflow_versions_{column}"), "core_workflow_versions", [column])
    op.create_table(
        "core_workflow_runs",
        sa.Column("id", sa.Integer(), nullable=False),
        _tenant_column("core_workflow_runs"),
        sa.Column("workflow_id", sa.Integer(), nullable=False),
        sa.Column("version_id", sa.Integer(), nullable=False),
        sa.Column("trigger_key", sa.String(100), nullable=False),
        sa.Column("trigger_event_id", sa.String(36), nullable=True),
        sa.Column("status", sa.String(20), nullable=False),
        sa.Column("depth", sa.Integer(), nullable=False),
        sa.Column("position", sa.Integer(), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("subject_type", sa.String(100), nullable=True),
        sa.Column("subject_id", sa.String(100), nullable=True),
        sa.Column("context", sa.JSON(), nullable=False),
        sa.Column("error", sa.Text(), nullable=True),
        _when("started_at"),
        _when("finished_at", nullable=True),
        _fk("core_workflow_runs", "workflow_id", "core_workflows", "CASCADE"),
        _fk("core_workflow_runs", "version_id", "core_workflow_versions", "CASCADE"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_core_workflow_runs")),
        sa.UniqueConstraint("version_id", "trigger_key", name=op.f("uq_core_workflow_runs_version_id_trigger_key")),
    )
    for column in ("tenant_id", "workflow_id", "version_id"):
        op.create_index(op.f(f"ix_core_workflow_runs_{column}"), "core_workflow_runs", [column])
    op.create_index("ix_core_workflow_runs_tenant_id_subject", "core_workflow_runs",
                    ["tenant_id", "subject_type", "subject_id"])
    op.create_table(
        "core_workflow_steps",
        sa.Column("id", sa.Integer(), nullable=False),
        _tenant_column("core_workflow_steps"),
        sa.Column("run_id", sa.Integer(), nullable=False),
        sa.Column("path", sa.String(200), nullable=False),
        sa.Column("action", sa.String(150), nullable=False),
        sa.Column("status", sa.String(20), nullable=False),
        sa.Column("attempt", sa.Integer(), nullable=False),
        sa.Column("input", sa.JSON(), nullable=False),
        sa.Column("output", sa.JSON(), nullable=False),
        sa.Column("error", sa.Text(), nullable=True),
        _when("started_at"),
        _when("finished_at", nullable=True),
        _fk("core_workflow_steps", "run_id", "core_workflow_runs", "CASCADE"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_core_workflow_steps")),
    )
    for column in ("tenant_id", "run_id"):
        op.create_index(op.f(f"ix_core_workflow_steps_{column}"), "core_workflow_steps", [column])
    op.create_table(
        "core_workflow_timers",
        sa.Column("id", sa.Integer(), nullable=False),
        _tenant_column("core_workflow_timers"),
        sa.Column("workflow_id", sa.Integer(), nullable=False),
        sa.Column("run_id", sa.Integer(), nullable=True),
        sa.Column("version_id", sa.Integer(), nullable=True),
        sa.Column("kind", sa.String(20), nullable=False),
        _when("due_at"),
        sa.Column("event_id", sa.String(36), nullable=True),
        _when("created_at"),
        _fk("core_workflow_timers", "workflow_id", "core_workflows", "CASCADE"),
        _fk("core_workflow_timers", "run_id", "core_workflow_runs", "CASCADE"),
        _fk("core_workflow_timers", "version_id", "core_workflow_versions", "CASCADE"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_core_workflow_timers")),
    )
    for column in ("tenant_id", "workflow_id", "run_id", "due_at"):
        op.create_index(op.f(f"ix_core_workflow_timers_{column}"), "core_workflow_timers", [column])
    op.create_table(
        "core_workflow_record_states",
        sa.Column("id", sa.Integer(), nullable=False),
        _tenant_column("core_workflow_record_states"),
        sa.Column("workflow_id", sa.Integer(), nullable=False),
        sa.Column("subject_type", sa.String(100), nullable=False),
        sa.Column("subject_id", sa.String(100), nullable=False),
        sa.Column("matched", sa.Boolean(), nullable=False),
        _when("changed_at"),
        _fk("core_workflow_record_states", "workflow_id", "core_workflows", "CASCADE"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_core_workflow_record_states")),
        sa.UniqueConstraint("workflow_id", "subject_type", "subject_id",
                            name=op.f("uq_core_workflow_record_states_workflow_id_subject_type_subject_id")),
    )
    for column in ("tenant_id", "workflow_id"):
        op.create_index(op.f(f"ix_core_workflow_record_states_{column}"), "core_workflow_record_states", [column])


def downgrade() -> None:
    for table in ("core_workflow_record_states", "core_workflow_timers", "core_workflow_steps", "core_workflow_runs", "core_workflow_versions",
                  "core_workflows"):
        op.drop_table(table)
    with op.batch_alter_table("core_tenants") as batch:
        batch.drop_column("time_zone")
