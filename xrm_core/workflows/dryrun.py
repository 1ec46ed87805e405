"""Dry runs and backtests: what a workflow would do, with no side effects.

A dry run executes a version for one event inside a savepoint that is rolled back at the end:
conditions see the records as they are, core actions change them for the steps that follow, and
then nothing of it stays — no record change, no run, no published event. Webhooks are not
called and plugin actions are not run (they may reach outside the database); their rendered,
validated parameters are reported instead. Waits and retries are simulated by moving the clock
to each timer in turn, so the report covers every step the run would take.

A backtest dry-runs the workflow against the last N events of the event log its trigger matches,
against today's records (the log keeps events, not past states of records).
"""

from __future__ import annotations

import uuid
from fnmatch import fnmatchcase
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from ..db import utcnow
from ..errors import Conflict
from ..events.envelope import Event
from ..events.models import NEWEST_FIRST, OutboxEvent
from ..models import Tenant
from .engine import EVENT_KINDS, advance, later_events, start_run
from .models import WAITING, Workflow, WorkflowStep, WorkflowTimer, WorkflowVersion

#: Timers a simulated run may go through (a ``wait until`` polls); beyond, the report stops there.
MAX_SIMULATED_TIMERS = 200
#: Event-log rows a backtest reads at most per event it reports.
SCAN_FACTOR = 20


def dry_run(session: Session, platform: Any, workflow: Workflow, version: WorkflowVersion,
            event: Event | dict[str, Any]) -> dict[str, Any]:
    """What ``version`` would do for ``event``: ``{matched, status, error, steps}``; nothing is kept."""
    tenant = session.get(Tenant, workflow.tenant_id)
    trigger = version.definition["trigger"]
    condition = (trigger.get("condition") if trigger["kind"] in ("event", "relative", "plugin", "record", "date")
                 else None)
    # A relative trigger's condition may look at what happened since: the event log knows.
    extra = ({"later_events": later_events(session, event) if isinstance(event, Event) else []}
             if trigger["kind"] == "relative" else None)
    savepoint = session.begin_nested()
    try:
        now = utcnow()
        run = start_run(session, platform, tenant, workflow, version, f"dry-run:{uuid.uuid4()}", event,
                        condition=condition, now=now, dry_run=True, extra_context=extra)
        if run is None:
            return {"matched": False, "status": None, "error": None, "steps": []}
        for _ in range(MAX_SIMULATED_TIMERS):
            if run.status != WAITING:
                break
            timer = session.scalar(select(WorkflowTimer).where(WorkflowTimer.run_id == run.id)
                                   .order_by(WorkflowTimer.due_at))
            session.delete(timer)
            session.flush()
            advance(session, platform, tenant, run, now=timer.due_at, version=version, dry_run=True)
        steps = session.scalars(select(WorkflowStep).where(WorkflowStep.run_id == run.id).order_by(WorkflowStep.id))
        return {"matched": True, "status": run.status, "error": run.error, "steps": [
            {"path": s.path, "action": s.action, "status": s.status, "input": s.input, "output": s.output,
             "error": s.error, "at": s.started_at.isoformat()} for s in steps]}
    finally:
        savepoint.rollback()


def matching_events(session: Session, workflow: Workflow, limit: int) -> list[OutboxEvent]:
    """The last ``limit`` events of the log the workflow's trigger matches, newest first (none if not event-triggered)."""
    if workflow.trigger_kind not in EVENT_KINDS or not workflow.trigger_pattern:
        return []
    pattern = workflow.trigger_pattern
    prefix = pattern[:min((pattern.index(c) for c in "*?[" if c in pattern), default=len(pattern))]
    query = select(OutboxEvent).order_by(*NEWEST_FIRST).limit(limit * SCAN_FACTOR)
    if prefix:
        query = query.where(OutboxEvent.type.startswith(prefix, autoescape=True))
    return [row for row in session.scalars(query).all() if fnmatchcase(row.type, pattern)][:limit]


def backtest(session: Session, platform: Any, workflow: Workflow, version: WorkflowVersion,
             limit: int = 20) -> list[dict[str, Any]]:
    """Dry-run ``version`` against the last ``limit`` events its trigger matches, newest first."""
    if workflow.trigger_kind not in EVENT_KINDS or not workflow.trigger_pattern:
        raise Conflict(f"workflow {workflow.name!r} is started by a {workflow.trigger_kind} trigger, not by events:"
                       " there is nothing to backtest it against")
    report = []
    for row in matching_events(session, workflow, limit):
        event = Event.from_row(row)
        report.append({"event_id": event.id, "type": event.type, "occurred_at": event.occurred_at.isoformat(),
                       **dry_run(session, platform, workflow, version, event)})
    return report
