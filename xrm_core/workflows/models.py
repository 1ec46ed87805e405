"""The workflow tables: definitions with immutable versions, runs pinned to a version, their step
log, and the timers that make waits and delayed triggers survive restarts.

Every table is tenant-owned. A workflow row holds what matching needs without reading its
definition (trigger kind and event pattern, next scheduled time); the definition itself lives in
:class:`WorkflowVersion` rows that are only ever inserted, so a run always shows what it ran.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any, ClassVar

from sqlalchemy import JSON, ForeignKey, Index, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from ..db import Model, utcnow
from ..tenancy import TenantScoped

# Run statuses.
RUNNING = "running"
WAITING = "waiting"
SUCCEEDED = "succeeded"
FAILED = "failed"
#: Stopped by the loop guard before running any step.
CUT = "cut"

# Timer kinds.
#: Resume a run after a ``wait`` (a duration, or the next look at an ``until`` condition).
WAIT = "wait"
#: Run a failed step again (backoff).
RETRY = "retry"
#: Start a run of a relative trigger ("3 days after the event").
DELAYED = "delayed"


class Workflow(TenantScoped, Model):
    """A tenant's automation; its definitions are its versions, the last one being current."""

    __tablename__ = "core_workflows"
    __table_args__ = (
        UniqueConstraint("tenant_id", "name"),
        Index("ix_core_workflows_schedule", "enabled", "trigger_kind", "next_fire_at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(200))
    enabled: Mapped[bool] = mapped_column(default=True)
    #: Number of the current :class:`WorkflowVersion` (1, 2, …).
    current_version: Mapped[int] = mapped_column(default=1)
    #: ``event``, ``relative``, ``record``, ``schedule`` or ``manual``, copied from the current definition.
    trigger_kind: Mapped[str] = mapped_column(String(20))
    #: The event-type pattern of ``event`` and ``relative`` triggers (``fnmatch``).
    trigger_pattern: Mapped[str | None] = mapped_column(String(150))
    #: When a ``schedule`` trigger fires next (UTC), computed in the tenant's time zone.
    next_fire_at: Mapped[datetime | None]
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)
    #: Bumped by every change (new version, enable, disable): the ETag's version.
    version: Mapped[int] = mapped_column()

    __mapper_args__: ClassVar[dict[str, Any]] = {"version_id_col": version}


class WorkflowVersion(TenantScoped, Model):
    """One saved definition of a workflow; never changed once written."""

    __tablename__ = "core_workflow_versions"
    __table_args__ = (UniqueConstraint("workflow_id", "number"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    workflow_id: Mapped[int] = mapped_column(ForeignKey("core_workflows.id", ondelete="CASCADE"), index=True)
    number: Mapped[int]
    definition: Mapped[dict[str, Any]] = mapped_column(JSON)
    #: The department of the admin who saved it: department-scoped grants reach from there.
    department_id: Mapped[int | None] = mapped_column(ForeignKey("core_departments.id", ondelete="SET NULL"))
    created_by: Mapped[str] = mapped_column(String(100))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class WorkflowRun(TenantScoped, Model):
    """One execution of one workflow version, for one trigger (unique: redeliveries start nothing)."""

    __tablename__ = "core_workflow_runs"
    __table_args__ = (
        UniqueConstraint("version_id", "trigger_key"),
        Index("ix_core_workflow_runs_tenant_id_subject", "tenant_id", "subject_type", "subject_id"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    workflow_id: Mapped[int] = mapped_column(ForeignKey("core_workflows.id", ondelete="CASCADE"), index=True)
    version_id: Mapped[int] = mapped_column(ForeignKey("core_workflow_versions.id", ondelete="CASCADE"), index=True)
    #: What started it: the triggering event's id, ``schedule:<time>``, …
    trigger_key: Mapped[str] = mapped_column(String(100))
    #: The id of the event the run works on (the triggering event, or the manual request).
    trigger_event_id: Mapped[str | None] = mapped_column(String(36))
    status: Mapped[str] = mapped_column(String(20), default=RUNNING)
    #: How many workflow runs led to this one (loop guard).
    depth: Mapped[int] = mapped_column(default=0)
    #: Index of the next instruction of the compiled definition.
    position: Mapped[int] = mapped_column(default=0)
    #: Failed attempts of the current step (retries).
    attempts: Mapped[int] = mapped_column(default=0)
    subject_type: Mapped[str | None] = mapped_column(String(100))
    subject_id: Mapped[str | None] = mapped_column(String(100))
    #: The event as conditions and templates see it, kept so a resumed run sees the same one.
    context: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    error: Mapped[str | None] = mapped_column(Text)
    started_at: Mapped[datetime] = mapped_column(default=utcnow)
    finished_at: Mapped[datetime | None]


class WorkflowStep(TenantScoped, Model):
    """The log of one step of a run: its inputs, outputs, status, timing and error."""

    __tablename__ = "core_workflow_steps"

    id: Mapped[int] = mapped_column(primary_key=True)
    run_id: Mapped[int] = mapped_column(ForeignKey("core_workflow_runs.id", ondelete="CASCADE"), index=True)
    #: Where the step is in the definition: ``steps.2.then.0``.
    path: Mapped[str] = mapped_column(String(200))
    #: The action's name, or ``if`` / ``wait``.
    action: Mapped[str] = mapped_column(String(150))
    status: Mapped[str] = mapped_column(String(20))
    attempt: Mapped[int] = mapped_column(default=1)
    input: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    output: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    error: Mapped[str | None] = mapped_column(Text)
    started_at: Mapped[datetime] = mapped_column(default=utcnow)
    finished_at: Mapped[datetime | None]


class WorkflowTimer(TenantScoped, Model):
    """Something due at a time: a run to resume or retry, or a delayed trigger to fire."""

    __tablename__ = "core_workflow_timers"

    id: Mapped[int] = mapped_column(primary_key=True)
    workflow_id: Mapped[int] = mapped_column(ForeignKey("core_workflows.id", ondelete="CASCADE"), index=True)
    run_id: Mapped[int | None] = mapped_column(ForeignKey("core_workflow_runs.id", ondelete="CASCADE"), index=True)
    #: For ``delayed`` timers: the version to run, pinned when the event arrived.
    version_id: Mapped[int | None] = mapped_column(ForeignKey("core_workflow_versions.id", ondelete="CASCADE"))
    kind: Mapped[str] = mapped_column(String(20))
    due_at: Mapped[datetime] = mapped_column(index=True)
    #: For ``delayed`` timers: the event the trigger is relative to.
    event_id: Mapped[str | None] = mapped_column(String(36))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class WorkflowRecordState(TenantScoped, Model):
    """Whether a record-condition trigger's condition held for a record when last looked at.

    Record triggers are edge-triggered: a run starts when the condition goes from false (or never
    seen) to true, not on every change while it stays true.
    """

    __tablename__ = "core_workflow_record_states"
    __table_args__ = (UniqueConstraint("workflow_id", "subject_type", "subject_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    workflow_id: Mapped[int] = mapped_column(ForeignKey("core_workflows.id", ondelete="CASCADE"), index=True)
    subject_type: Mapped[str] = mapped_column(String(100))
    subject_id: Mapped[str] = mapped_column(String(100))
    matched: Mapped[bool]
    changed_at: Mapped[datetime] = mapped_column(default=utcnow)
