"""Running workflows: from a trigger to a recorded run, step by step, through waits and retries.

How an event starts a workflow, with the event bus's guarantees:

1. When the relay takes a batch of committed events, its matcher looks up the enabled workflows
   of the batch's tenants whose event pattern matches (one query per batch, outside the writers'
   transactions) and, for each event one does match, publishes ``core.workflow.triggered`` in the
   relay's transaction, naming the event and the matching workflow versions. The versions are
   pinned there and then: the workflows enabled, in their current version, when the relay took
   the event (normally milliseconds after its commit; after an outage of the relay, when it
   resumes), except workflows created after the event occurred. Events no workflow waits for
   cost nothing more.
2. The core subscriber ``core.workflows`` receives ``core.workflow.triggered`` after commit, at
   least once, in the delivery's transaction: it checks each workflow's condition and starts a
   run — unique per (version, triggering event), so a redelivery starts nothing — or, for a
   relative trigger, a timer. A record trigger (``kind: record``) starts a run only when its
   condition on the event's record goes from false to true (edge-triggered, state kept per
   record). Manual runs and the ``core.start_workflow`` action publish the same event naming one
   workflow.

A relative trigger ("3 days after ``sales.quote.sent`` if not accepted") stores a timer when its
event arrives; when it is due, the trigger's condition is checked against the subject as it is
then, and against ``later_events``: the types of the events published about the same subject since
(``!("sales.quote.accepted" in later_events)``). Its delay, like a ``wait``, may be counted in
business hours, in the business calendar of the subject's department (or the tenant's).

A run executes its compiled steps in order, each action in a savepoint acting as the workflow's
principal: a failing step rolls back its own effects, is logged with the reason, and fails the
run (unless it may be retried: then a timer resumes it later, with backoff). A ``wait`` stores a
timer and returns; :func:`tick` resumes due runs, fires delayed triggers and due schedules, so a
restart in the middle of a wait loses nothing.

Events a run publishes name it as their actor (``workflow-run:<id>``); a run started by such an
event is one level deeper than that run, and beyond ``XRM_WORKFLOWS_MAX_DEPTH`` (default 5) it is
recorded as ``cut`` without running a step.
"""

from __future__ import annotations

import json
import logging
import os
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from datetime import UTC, date, datetime, timedelta
from fnmatch import fnmatchcase
from functools import cache, lru_cache
from typing import Any
from zoneinfo import ZoneInfo

from croniter import croniter
from sqlalchemy import and_, bindparam, select
from sqlalchemy.orm import Session

from ..businesshours.service import calendar_for
from ..db import Model, utcnow
from ..errors import ConfigurationError, XrmError
from ..events import publish, register_core_subscriber
from ..events.delivery import describe
from ..events.envelope import Event, Subject
from ..events.models import OutboxEvent
from ..events.relay import register_matcher
from ..events.schedule import register_periodic
from ..graph.models import Party
from ..identity.models import Department, Scope
from ..identity.ownership import Owned
from ..identity.principal import Principal
from ..models import Tenant
from ..prepared import Prepared
from ..tenancy import scoped_to
from .actions import ActionFailed, Catalogue, StepContext, TransientFailure, run_action
from .conditions import ConditionError, compile_condition, prepare
from .definition import Action, Branch, Jump, Wait, compile_steps, seconds_of
from .functions import bound
from .models import (
    CUT,
    DELAYED,
    FAILED,
    RETRY,
    RUNNING,
    SUCCEEDED,
    WAIT,
    WAITING,
    Workflow,
    WorkflowRecordState,
    WorkflowRun,
    WorkflowStep,
    WorkflowTimer,
    WorkflowVersion,
)
from .templates import render

log = logging.getLogger("xrm.workflows")

TRIGGERED = "core.workflow.triggered"
SUBSCRIBER = "core.workflows"
RUN_ACTOR = "workflow-run:"
#: Triggers matched against published event types (plugin triggers are stored as ``event``).
EVENT_KINDS = ("event", "relative", "record")
#: Seconds before a failed step's first retry; doubled for each further one, capped at an hour.
RETRY_BASE_S = 30
RETRY_CAP_S = 3600
#: Seconds between two :func:`tick` runs (the periodic job ``workflows.tick``): the precision of
#: schedules, waits and retries.
TICK_EVERY_S = 30
#: How often a ``wait until`` looks at its condition when the definition does not say.
DEFAULT_POLL_S = 300

_W = Workflow.__table__
_V = WorkflowVersion.__table__
#: The current versions of a tenant's enabled workflows, with their trigger kinds and patterns.
# Prepared: the relay runs it for every batch, often of one event, and SQLAlchemy's execution path
# costs several times the indexed read. The kind is filtered in Python (a prepared statement takes
# no literal lists); the tenant is bound.
_TRIGGER_CANDIDATES = Prepared(
    select(_V.c.id, _W.c.trigger_pattern, _W.c.trigger_kind, _W.c.created_at)
    .join(_V, and_(_V.c.workflow_id == _W.c.id, _V.c.number == _W.c.current_version))
    .where(_W.c.tenant_id == bindparam("tenant_id"), _W.c.enabled)
    .order_by(_W.c.id)
)


def max_depth() -> int:
    """How many workflow runs may chain through their own events (``XRM_WORKFLOWS_MAX_DEPTH``)."""
    raw = os.environ.get("XRM_WORKFLOWS_MAX_DEPTH", "5")
    try:
        value = int(raw)
    except ValueError:
        raise ConfigurationError(f"XRM_WORKFLOWS_MAX_DEPTH={raw!r} is not a whole number") from None
    if value < 0:
        raise ConfigurationError("XRM_WORKFLOWS_MAX_DEPTH must be 0 or more")
    return value


# -- who a workflow acts as ------------------------------------------------------------------------


def workflow_principal(session: Session, workflow_id: int, version: WorkflowVersion) -> Principal:
    """The recorded principal ``workflow:<id>``: exactly the version's granted permissions."""
    return principal_for(session, version.tenant_id, f"workflow:{workflow_id}", version.department_id,
                         version.definition.get("permissions") or {})


def principal_for(session: Session, tenant_id: int, name: str, department_id: int | None,
                  permissions: dict[str, str]) -> Principal:
    """A workflow's principal: ``permissions`` (name -> scope) granted from ``department_id``."""
    grants = {perm: Scope(scope) for perm, scope in permissions.items()}
    subtree: frozenset[int] = frozenset()
    if department_id is not None:
        path = session.scalar(select(Department.path).where(Department.id == department_id))
        if path:
            subtree = frozenset(session.scalars(select(Department.id).where(Department.path.startswith(path))))
    return Principal(tenant_id=tenant_id, name=name, department_id=department_id, subtree_ids=subtree, grants=grants)


@contextmanager
def acting(session: Session, principal: Principal) -> Iterator[Session]:
    """Let ``session`` obey ``principal`` for a block, then give back whoever it obeyed before."""
    had, before = "principal" in session.info, session.info.get("principal")
    session.info["principal"] = principal
    try:
        yield session
    finally:
        if had:
            session.info["principal"] = before
        else:
            session.info.pop("principal", None)


# -- what conditions and templates see ----------------------------------------------------------------


def _plain(value: Any) -> Any:
    return json.loads(json.dumps(value, default=lambda v: v.isoformat() if isinstance(v, (date, datetime)) else str(v)))


def event_values(event: Event) -> dict[str, Any]:
    return _plain({
        "id": event.id, "type": event.type, "actor": event.actor, "payload": dict(event.payload),
        "subject": {"entity": event.subject.entity, "id": event.subject.id}, "related": list(event.related),
        "occurred_at": event.occurred_at,
    })


@cache
def _model_of(table_name: str) -> type | None:
    for mapper in Model.registry.mappers:
        if getattr(mapper.local_table, "name", None) == table_name:
            return mapper.class_
    return None


def _record_values(record: Any) -> dict[str, Any]:
    values = {attr.key: getattr(record, attr.key) for attr in record.__mapper__.column_attrs}
    if isinstance(record, Party):
        today = utcnow().date()
        values["roles"] = sorted({r.role for r in record.roles
                                  if (r.valid_from is None or r.valid_from <= today) and (r.valid_to is None or r.valid_to >= today)})
    return _plain(values)


def load_subject(session: Session, subject_type: str | None, subject_id: str | None) -> Any:
    """The subject as a record the session's principal may read (only permission-governed records)."""
    model = _model_of(subject_type) if subject_type else None
    if model is None or not issubclass(model, Owned) or not (subject_id or "").isdigit():
        return None
    return session.scalar(select(model).where(model.id == int(subject_id)))


def values_for(session: Session, run_context: dict[str, Any], record: Any) -> dict[str, Any]:
    """``event``, ``subject`` and ``related`` for one run, read through the workflow's principal
    (and ``later_events`` for a relative trigger's run)."""
    event = run_context.get("event") or {}
    related_ids = [int(i) for i in event.get("related") or [] if str(i).isdigit()]
    related = []
    if related_ids:
        related = [_record_values(p) for p in session.scalars(select(Party).where(Party.id.in_(related_ids)))]
    values = {"event": event, "subject": _record_values(record) if record is not None else None, "related": related}
    if "later_events" in run_context:
        values["later_events"] = run_context["later_events"]
    return values


def activation(session: Session, condition: str, values: dict[str, Any]) -> Any:
    """What ``condition`` is evaluated against: ``values``, with the plugin functions it calls bound
    to ``session`` (acting as the workflow's principal); the plain values when it calls none."""
    functions = bound(session, condition)
    return prepare(values, functions) if functions else values


def business_due(session: Session, record: Any, start: datetime, hours: float) -> datetime:
    """``hours`` business hours after ``start``, in the calendar of ``record``'s department (or the tenant's)."""
    calendar = calendar_for(session, getattr(record, "department_id", None))
    return calendar.add(start, timedelta(hours=hours))


def later_events(session: Session, source: Event) -> list[str]:
    """Types of the events published about ``source``'s subject after it, in order."""
    row_id = session.scalar(select(OutboxEvent.id).where(OutboxEvent.event_id == source.id))
    if row_id is None:
        return []
    return list(session.scalars(select(OutboxEvent.type).where(
        OutboxEvent.subject_type == source.subject.entity, OutboxEvent.subject_id == source.subject.id,
        OutboxEvent.id > row_id, OutboxEvent.type != TRIGGERED).order_by(OutboxEvent.id)))


# -- starting runs ---------------------------------------------------------------------------------------


def _depth_after(session: Session, actor: str) -> int:
    if not actor.startswith(RUN_ACTOR) or not actor[len(RUN_ACTOR):].isdigit():
        return 0
    parent = session.get(WorkflowRun, int(actor[len(RUN_ACTOR):]))
    return parent.depth + 1 if parent is not None else 0


def start_run(session: Session, platform: Any, tenant: Tenant, workflow: Workflow, version: WorkflowVersion,
              trigger_key: str, event: Event | dict[str, Any] | None, *, condition: str | None = None,
              depth: int = 0, now: datetime | None = None, dry_run: bool = False,
              extra_context: dict[str, Any] | None = None) -> WorkflowRun | None:
    """Start (and run as far as it goes) ``version`` for one trigger; ``None`` when the condition says no.

    Idempotent: the run of the same version for the same ``trigger_key`` is returned as it is.
    ``extra_context`` adds values the conditions and templates of this run see (``later_events``).
    """
    now = now or utcnow()
    existing = session.scalar(select(WorkflowRun).where(WorkflowRun.version_id == version.id,
                                                        WorkflowRun.trigger_key == trigger_key))
    if existing is not None:
        return existing
    values = event_values(event) if isinstance(event, Event) else (event or {})
    subject = values.get("subject") or {}
    run = WorkflowRun(workflow_id=workflow.id, version_id=version.id, trigger_key=trigger_key[:100],
                      trigger_event_id=values.get("id"), status=RUNNING, depth=depth, position=0, attempts=0,
                      subject_type=subject.get("entity"), subject_id=subject.get("id"),
                      context={"event": values, **(extra_context or {})},
                      started_at=now)
    principal = workflow_principal(session, workflow.id, version)
    if condition:
        with acting(session, principal):
            record = load_subject(session, run.subject_type, run.subject_id)
            try:
                if not compile_condition(condition).evaluate(
                        activation(session, condition, values_for(session, run.context, record))):
                    return None
            except ConditionError as exc:
                run.status, run.error, run.finished_at = FAILED, f"trigger condition: {exc}", now
                session.add(run)
                session.flush()
                return run
    session.add(run)
    session.flush()
    if depth > max_depth():
        run.status, run.finished_at = CUT, now
        run.error = (f"loop guard: this run would be {depth} workflow runs deep (limit {max_depth()},"
                     f" XRM_WORKFLOWS_MAX_DEPTH); started by {values.get('actor')}")
        log.warning("workflow %s: run %s cut by the loop guard at depth %d", workflow.id, run.id, depth)
        return run
    advance(session, platform, tenant, run, now=now, version=version, principal=principal, dry_run=dry_run)
    return run


def _triggered(event: Event, tenant: Tenant, session: Session) -> None:
    """The core subscriber: start the runs (or delayed timers) a ``core.workflow.triggered`` names."""
    from ..events.bus import bus_for_session

    platform = bus_for_session(session).platform
    payload = event.payload
    if payload.get("workflow_id") is not None:  # a manual run, or a workflow started by another
        workflow = session.get(Workflow, int(payload["workflow_id"]))
        if workflow is None or not workflow.enabled:
            log.info("workflow %s was deleted or disabled before it could start", payload["workflow_id"])
            return
        start_run(session, platform, tenant, workflow, current_version(session, workflow), event.id, event,
                  depth=_depth_after(session, event.actor))
        return
    row = session.scalar(select(OutboxEvent).where(OutboxEvent.event_id == payload.get("source_event_id")))
    if row is None:
        return
    source = Event.from_row(row)
    depth = _depth_after(session, source.actor)
    for version_id in payload.get("versions") or ():
        version = session.get(WorkflowVersion, int(version_id))
        workflow = session.get(Workflow, version.workflow_id) if version is not None else None
        if workflow is None or not workflow.enabled:
            continue
        trigger = version.definition["trigger"]
        if trigger["kind"] == "relative":
            _delay(session, workflow, version, source)
            continue
        condition = trigger.get("condition")
        if trigger["kind"] == "record":
            try:
                if not _became_true(session, workflow, version, source):
                    continue
                condition = None  # just checked
            except ConditionError:
                pass  # start_run checks it again and records the failure on a run, visibly
        start_run(session, platform, tenant, workflow, version, source.id, source, condition=condition, depth=depth)


def _became_true(session: Session, workflow: Workflow, version: WorkflowVersion, source: Event) -> bool:
    """Whether a record trigger's condition went from false (or unknown) to true with ``source``.

    The record is read as committed after the event's transaction, through the workflow's
    principal (a record it cannot see does not match); the state kept per record makes the
    trigger fire once per rise, however many events the record gets while the condition holds.
    """
    trigger = version.definition["trigger"]
    if source.subject.entity != trigger["entity"]:
        return False
    with acting(session, workflow_principal(session, workflow.id, version)):
        record = load_subject(session, source.subject.entity, source.subject.id)
        matched = record is not None and compile_condition(trigger["condition"]).evaluate(
            activation(session, trigger["condition"], values_for(session, {"event": event_values(source)}, record)))
    state = session.scalar(select(WorkflowRecordState).where(
        WorkflowRecordState.workflow_id == workflow.id, WorkflowRecordState.subject_type == source.subject.entity,
        WorkflowRecordState.subject_id == source.subject.id))
    before = state is not None and state.matched
    if state is None:
        session.add(WorkflowRecordState(workflow_id=workflow.id, subject_type=source.subject.entity,
                                        subject_id=source.subject.id, matched=matched))
    elif state.matched != matched:
        state.matched, state.changed_at = matched, utcnow()
    session.flush()
    return matched and not before


def _delay(session: Session, workflow: Workflow, version: WorkflowVersion, source: Event) -> None:
    exists = session.scalar(select(WorkflowTimer.id).where(
        WorkflowTimer.version_id == version.id, WorkflowTimer.event_id == source.id, WorkflowTimer.kind == DELAYED))
    if exists is None:
        delay = version.definition["trigger"]["delay"]
        if delay.get("business_hours"):
            with acting(session, workflow_principal(session, workflow.id, version)):
                record = load_subject(session, source.subject.entity, source.subject.id)
                due = business_due(session, record, source.occurred_at, delay["business_hours"])
        else:
            due = source.occurred_at + timedelta(seconds=seconds_of(delay))
        session.add(WorkflowTimer(workflow_id=workflow.id, version_id=version.id, kind=DELAYED, due_at=due,
                                  event_id=source.id))


def current_version(session: Session, workflow: Workflow) -> WorkflowVersion:
    return session.scalar(select(WorkflowVersion).where(WorkflowVersion.workflow_id == workflow.id,
                                                        WorkflowVersion.number == workflow.current_version))


# -- matching committed events (in the relay's transaction) ---------------------------------------------


def match_triggers(session: Session, events: Sequence[Any]) -> None:
    """The relay's matcher: announce, per committed event, the workflow versions it starts."""
    connection = session.connection()
    candidates: dict[int, list[tuple[int, str, datetime]]] = {}
    for tenant_id in {e.tenant_id for e in events if e.type != TRIGGERED}:
        found = [(version_id, pattern, created_at) for version_id, pattern, kind, created_at
                 in _TRIGGER_CANDIDATES.rows(connection, {"tenant_id": tenant_id})
                 if pattern and kind in EVENT_KINDS]
        if found:
            candidates[tenant_id] = found
    for event in events:
        if event.type == TRIGGERED or event.tenant_id not in candidates:
            continue
        # A workflow created after the event (while the relay had a backlog) does not start on it.
        versions = [version_id for version_id, pattern, created_at in candidates[event.tenant_id]
                    if created_at <= event.occurred_at and fnmatchcase(event.type, pattern)]
        if versions:
            publish(session, TRIGGERED, Subject(event.subject_type, event.subject_id),
                    {"source_event_id": event.event_id, "versions": versions}, event.actor, event.related or (),
                    tenant_id=event.tenant_id)


# -- running --------------------------------------------------------------------------------------------


@lru_cache(maxsize=512)
def _program(version_id: int, definition_json: str) -> list[Any]:
    return compile_steps(json.loads(definition_json)["steps"])


def program_of(version: WorkflowVersion) -> list[Any]:
    """The compiled steps of ``version`` (versions never change, so they are compiled once)."""
    return _program(version.id, json.dumps(version.definition, sort_keys=True))


def advance(session: Session, platform: Any, tenant: Tenant, run: WorkflowRun, *, now: datetime | None = None,
            version: WorkflowVersion | None = None, principal: Principal | None = None,
            dry_run: bool = False) -> None:
    """Run ``run``'s steps from where it stands until it ends, waits or fails."""
    now = now or utcnow()
    version = version or session.get(WorkflowVersion, run.version_id)
    principal = principal or workflow_principal(session, run.workflow_id, version)
    program = program_of(version)
    catalogue = Catalogue(platform, set(platform.enabled_plugins(session)))
    run.status = RUNNING
    with acting(session, principal):
        while run.position < len(program):
            record = load_subject(session, run.subject_type, run.subject_id)
            values = values_for(session, run.context, record)
            ctx = StepContext(platform, session, tenant, principal, run, values, record, dry_run)
            instruction = program[run.position]
            if isinstance(instruction, Jump):
                run.position = instruction.target
            elif isinstance(instruction, Branch):
                functions = bound(session, instruction.condition)
                if not _branch(session, run, instruction, prepare(values, functions), now):
                    return
            elif isinstance(instruction, Wait):
                functions = bound(session, instruction.until) if instruction.until else None
                if not _wait(session, run, instruction, prepare(values, functions), now, record):
                    return
            elif not _act(session, ctx, catalogue, instruction, now):
                return
    run.status, run.finished_at, run.attempts = SUCCEEDED, now, 0
    session.flush()


def _log(session: Session, run: WorkflowRun, path: str, action: str, status: str, now: datetime, *,
         input: dict[str, Any] | None = None, output: dict[str, Any] | None = None, error: str | None = None) -> None:
    session.add(WorkflowStep(run_id=run.id, path=path, action=action, status=status, attempt=run.attempts + 1,
                             input=_plain(input or {}), output=output or {}, error=error, started_at=now,
                             finished_at=utcnow()))


def _fail(session: Session, run: WorkflowRun, path: str, action: str, reason: str, now: datetime,
          input: dict[str, Any] | None = None) -> None:
    _log(session, run, path, action, FAILED, now, input=input, error=reason)
    run.status, run.finished_at = FAILED, now
    run.error = f"{path} ({action}): {reason}"
    session.flush()


def _branch(session: Session, run: WorkflowRun, branch: Branch, values: Any, now: datetime) -> bool:
    try:
        result = compile_condition(branch.condition).evaluate(values)
    except ConditionError as exc:
        _fail(session, run, branch.path, "if", str(exc), now, {"if": branch.condition})
        return False
    _log(session, run, branch.path, "if", SUCCEEDED, now, input={"if": branch.condition}, output={"result": result})
    run.position = run.position + 1 if result else branch.otherwise
    return True


def _wait(session: Session, run: WorkflowRun, wait: Wait, values: Any, now: datetime, record: Any = None) -> bool:
    """Go on (``True``) or store a timer and stop here (``False``)."""
    if wait.business_s:
        hours = wait.business_s / 3600
        due = business_due(session, record, now, hours)
        _log(session, run, wait.path, "wait", SUCCEEDED, now, input={"business_hours": hours},
             output={"until": due.isoformat()})
        run.position += 1
        _sleep(session, run, WAIT, due)
        return False
    if wait.until is None:
        due = now + timedelta(seconds=wait.seconds)
        _log(session, run, wait.path, "wait", SUCCEEDED, now, input={"seconds": wait.seconds},
             output={"until": due.isoformat()})
        run.position += 1
        _sleep(session, run, WAIT, due)
        return False
    waits = dict(run.context.get("waits") or {})
    deadline = waits.get(wait.path)
    if deadline is None:
        deadline = waits[wait.path] = (now + timedelta(seconds=wait.timeout_s)).isoformat()
        run.context = {**run.context, "waits": waits}
    try:
        met = compile_condition(wait.until).evaluate(values)
    except ConditionError as exc:
        _fail(session, run, wait.path, "wait", str(exc), now, {"until": wait.until})
        return False
    timed_out = not met and now >= datetime.fromisoformat(deadline)
    if met or timed_out:
        _log(session, run, wait.path, "wait", SUCCEEDED, now, input={"until": wait.until},
             output={"condition": met, "timed_out": timed_out})
        run.position += 1
        return True
    every = wait.every_s or DEFAULT_POLL_S
    _sleep(session, run, WAIT, min(now + timedelta(seconds=every), datetime.fromisoformat(deadline)))
    return False


def _sleep(session: Session, run: WorkflowRun, kind: str, due: datetime) -> None:
    run.status = WAITING
    session.add(WorkflowTimer(workflow_id=run.workflow_id, run_id=run.id, kind=kind, due_at=due))
    session.flush()


def _act(session: Session, ctx: StepContext, catalogue: Catalogue, step: Action, now: datetime) -> bool:
    run = ctx.run
    params: dict[str, Any] = step.params
    try:
        with session.begin_nested():
            params = render(step.params, ctx.values)
            action = catalogue.action(step.name)
            if action is None:
                raise ActionFailed(f"the action {step.name!r} is not available (is its plugin enabled?)")
            output = run_action(action, ctx, params)
    except XrmError as exc:  # ActionFailed, PermissionDenied, TemplateRefused, graph rules, …
        retry = isinstance(exc, TransientFailure)
        reason = str(exc)
    except Exception as exc:  # a plugin's bug fails its step, not the delivery
        log.warning("workflow %s run %s: %s raised", run.workflow_id, run.id, step.name, exc_info=True)
        retry, reason = True, describe(exc)
    else:
        _log(session, run, step.path, step.name, SUCCEEDED, now, input=params, output=output)
        run.position, run.attempts = run.position + 1, 0
        return True
    if retry and run.attempts < step.retries:
        _log(session, run, step.path, step.name, "retrying", now, input=params, error=reason)
        run.attempts += 1
        delay = min(RETRY_CAP_S, RETRY_BASE_S * 2 ** (run.attempts - 1))
        _sleep(session, run, RETRY, now + timedelta(seconds=delay))
        return False
    _fail(session, run, step.path, step.name, reason, now, params)
    return False


# -- time: timers and schedules -----------------------------------------------------------------------


def next_fire(cron: str, time_zone: str, after: datetime) -> datetime:
    """The first time after ``after`` that ``cron`` names in ``time_zone``, in UTC."""
    local = after.astimezone(ZoneInfo(time_zone or "UTC"))
    return croniter(cron, local).get_next(datetime).astimezone(UTC)


def tick(platform: Any, now: datetime | None = None, limit: int = 500) -> int:
    """Fire what is due at ``now``: schedules, delayed triggers, waits and retries. Returns how many.

    Each item runs in its own savepoint of one transaction; on PostgreSQL the rows are claimed with
    ``SKIP LOCKED``, so concurrent ticks (several processes) never fire the same item twice.
    """
    now = now or utcnow()
    done = 0
    with platform.db.session(all_tenants=True) as session, session.begin():
        lock = {} if platform.db.is_sqlite else {"skip_locked": True}
        schedules = select(Workflow).where(Workflow.enabled, Workflow.trigger_kind == "schedule",
                                           Workflow.next_fire_at <= now).order_by(Workflow.id).limit(limit)
        timers = select(WorkflowTimer).where(WorkflowTimer.due_at <= now).order_by(
            WorkflowTimer.due_at, WorkflowTimer.id).limit(limit)
        if lock:
            schedules, timers = schedules.with_for_update(**lock), timers.with_for_update(**lock)
        for workflow in session.scalars(schedules).all():
            done += _guarded(session, workflow.tenant_id, lambda wf=workflow: _fire_schedule(session, platform, wf, now))
        for timer in session.scalars(timers).all():
            done += _guarded(session, timer.tenant_id, lambda t=timer: _fire_timer(session, platform, t, now))
    return done


def _guarded(session: Session, tenant_id: int, fire: Any) -> int:
    try:
        with scoped_to(session, tenant_id), session.begin_nested():
            fire()
        return 1
    except Exception:  # one broken item must not hold up the others
        log.exception("workflow tick: an item of tenant %s failed", tenant_id)
        return 0


def _fire_schedule(session: Session, platform: Any, workflow: Workflow, now: datetime) -> None:
    tenant = session.get(Tenant, workflow.tenant_id)
    version = current_version(session, workflow)
    fired_at = workflow.next_fire_at
    workflow.next_fire_at = next_fire(version.definition["trigger"]["cron"], tenant.time_zone, now)
    values = {"id": None, "type": "schedule", "actor": "schedule", "payload": {"fired_at": fired_at.isoformat()},
              "subject": None, "related": [], "occurred_at": fired_at.isoformat()}
    start_run(session, platform, tenant, workflow, version, f"schedule:{fired_at.isoformat()}", values, now=now)


def _fire_timer(session: Session, platform: Any, timer: WorkflowTimer, now: datetime) -> None:
    tenant = session.get(Tenant, timer.tenant_id)
    session.delete(timer)
    session.flush()
    if timer.kind == DELAYED:
        workflow, version = session.get(Workflow, timer.workflow_id), session.get(WorkflowVersion, timer.version_id)
        row = session.scalar(select(OutboxEvent).where(OutboxEvent.event_id == timer.event_id))
        if workflow is None or not workflow.enabled or version is None or row is None:
            return
        source = Event.from_row(row)
        start_run(session, platform, tenant, workflow, version, source.id, source,
                  condition=version.definition["trigger"].get("condition"),
                  depth=_depth_after(session, source.actor), now=now,
                  extra_context={"later_events": later_events(session, source)})
        return
    run = session.get(WorkflowRun, timer.run_id)
    if run is not None and run.status == WAITING:
        advance(session, platform, tenant, run, now=now)


register_core_subscriber(SUBSCRIBER, TRIGGERED, _triggered)
register_matcher(match_triggers)
register_periodic("workflows.tick", TICK_EVERY_S, tick)
