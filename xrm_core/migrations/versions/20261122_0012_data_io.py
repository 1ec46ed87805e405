"""Data import/export: import batches, their undo log, saved mapping presets.

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


def _tenant_column(table: str) -> sa.Column:
    return sa.Column("tenant_id", sa.Integer(), sa.ForeignKey(
        "core_tenants.id", ondelete="CASCADE", name=op.f(f"fk_{table}_tenant_id_core_tenants")), nullable=False)


def upgrade() -> None:
    op.create_table(
        "core_import_batches",
        sa.Column("id", sa.Integer(), nullable=False),
        _tenant_column("core_import_batches"),
        sa.Column("target", sa.String(100), nullable=False),
        sa.Column("file_name", sa.String(255), nullable=False),
        sa.Column("file_sha256", sa.String(64), nullable=False),
        sa.Column("format", sa.String(100), nullable=False),
        sa.Column("options", sa.JSON(), nullable=False),
        sa.Column("status", sa.Enum("running", "completed", "failed", "undone", name="batchstatus",
                                    native_enum=False, length=20), nullable=False),
        sa.Column("rows_done", sa.Integer(), nullable=False),
        sa.Column("created", sa.Integer(), nullable=False),
        sa.Column("updated", sa.Integer(), nullable=False),
        sa.Column("skipped", sa.Integer(), nullable=False),
        sa.Column("failed", sa.Integer(), nullable=False),
        sa.Column("errors", sa.JSON(), nullable=False),
        sa.Column("created_by_user_id", sa.Integer(), nullable=True),
        sa.Column("started_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("finished_at", sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(["created_by_user_id"], ["core_users.id"], ondelete="SET NULL",
                                name=op.f("fk_core_import_batches_created_by_user_id_core_users")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_core_import_batches")),
    )
    op.create_index(op.f("ix_core_import_batches_tenant_id"), "core_import_batches", ["tenant_id"])
    op.create_table(
        "core_import_records",
        sa.Column("id", sa.Integer(), nullable=False),
        _tenant_column("core_import_records"),
        sa.Column("batch_id", sa.Integer(), nullable=False),
        sa.Column("record_id", sa.Integer(), nullable=False),
        sa.Column("action", sa.Enum("created", "updated", name="importaction", native_enum=False, length=10),
                  nullable=False),
        sa.Column("previous", sa.JSON(), nullable=True),
        sa.Column("applied", sa.JSON(), nullable=True),
        sa.ForeignKeyConstraint(["batch_id"], ["core_import_batches.id"], ondelete="CASCADE",
                                name=op.f("fk_core_import_records_batch_id_core_import_batches")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_core_import_records")),
    )
    op.create_index(op.f("ix_core_import_records_tenant_id"), "core_import_records", ["tenant_id"])
    op.create_index("ix_core_import_records_batch_id_record_id", "core_import_records", ["batch_id", "record_id"])
    op.create_table(
        "core_import_mappings",
        sa.Column("id", sa.Integer(), nullable=False),
        _tenant_column("core_import_mappings"),
        sa.Column("target", sa.String(100), nullable=False),
        sa.Column("name", sa.String(100), nullable=False),
        sa.Column("mapping", sa.JSON(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_core_import_mappings")),
        sa.UniqueConstraint("tenant_id", "target", "name", name=op.f("uq_core_import_mappings_tenant_id_target_name")),
    )
    op.create_index(op.f("ix_core_import_mappings_tenant_id"), "core_import_mappings", ["tenant_id"])


def downgrade() -> None:
    op.drop_index(op.f("ix_core_import_mappings_tenant_id"), table_name="core_import_mappings")
    op.drop_table("core_import_mappings")
    op.drop_index("ix_core_import_records_batch_id_record_id", table_name="core_import_records")
    op.drop_index(op.f("ix_core_import_records_tenant_id"), table_name="core_import_records")
    op.drop_table("core_import_records")
    op.drop_index(op.f("ix_core_import_batches_tenant_id"), table_name="core_import_batches")
    op.drop_table("core_import_batches")
