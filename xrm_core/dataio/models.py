"""What imports record: each batch with its progress and report, its undo log, and saved mappings."""

from __future__ import annotations

import enum
from datetime import datetime
from typing import Any

from sqlalchemy import JSON, Enum, ForeignKey, Index, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from ..db import Model, utcnow
from ..tenancy import TenantScoped


class BatchStatus(enum.StrEnum):
    """Where an import batch is: ``running`` batches that stopped mid-way can be resumed."""

    RUNNING = "running"
    COMPLETED = "completed"
    FAILED = "failed"
    UNDONE = "undone"


class ImportBatch(TenantScoped, Model):
    """One real import run: what, from which file, by whom, how far it got and what it did."""

    __tablename__ = "core_import_batches"

    id: Mapped[int] = mapped_column(primary_key=True)
    target: Mapped[str] = mapped_column(String(100))
    file_name: Mapped[str] = mapped_column(String(255))
    #: Resuming checks the file is the same one.
    file_sha256: Mapped[str] = mapped_column(String(64))
    format: Mapped[str] = mapped_column(String(100))
    #: The mapping, match key, on-match policy and transforms the run uses (resuming reuses them).
    options: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    status: Mapped[BatchStatus] = mapped_column(Enum(BatchStatus, native_enum=False, length=20,
                                                     values_callable=lambda e: [m.value for m in e]))
    #: Records of the file committed so far: a resumed run starts after them.
    rows_done: Mapped[int] = mapped_column(default=0)
    created: Mapped[int] = mapped_column(default=0)
    updated: Mapped[int] = mapped_column(default=0)
    skipped: Mapped[int] = mapped_column(default=0)
    failed: Mapped[int] = mapped_column(default=0)
    #: Row errors (``{"row", "column", "reason"}``), the first ones only (see the engine's cap).
    errors: Mapped[list[dict[str, Any]]] = mapped_column(JSON, default=list)
    created_by_user_id: Mapped[int | None] = mapped_column(ForeignKey("core_users.id", ondelete="SET NULL"))
    started_at: Mapped[datetime] = mapped_column(default=utcnow)
    finished_at: Mapped[datetime | None]


class ImportAction(enum.StrEnum):
    CREATED = "created"
    UPDATED = "updated"


class ImportRecord(TenantScoped, Model):
    """One record a batch created or updated: what undoing the batch restores or deletes.

    ``applied`` is the record as the import left it: undo refuses a record changed since.
    """

    __tablename__ = "core_import_records"
    __table_args__ = (Index("ix_core_import_records_batch_id_record_id", "batch_id", "record_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    batch_id: Mapped[int] = mapped_column(ForeignKey(ImportBatch.id, ondelete="CASCADE"))
    record_id: Mapped[int] = mapped_column()
    action: Mapped[ImportAction] = mapped_column(Enum(ImportAction, native_enum=False, length=10,
                                                      values_callable=lambda e: [m.value for m in e]))
    previous: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    applied: Mapped[dict[str, Any] | None] = mapped_column(JSON)


class MappingPreset(TenantScoped, Model):
    """A saved mapping of file columns to a target's fields, reusable by the tenant's users."""

    __tablename__ = "core_import_mappings"
    __table_args__ = (UniqueConstraint("tenant_id", "target", "name"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    target: Mapped[str] = mapped_column(String(100))
    name: Mapped[str] = mapped_column(String(100))
    #: Column -> field name, and ``"=<field>": value`` constants (see :mod:`xrm_core.dataio.mapping`).
    mapping: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
