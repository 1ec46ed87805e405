"""Date triggers: "30 days before a contract ends", fired by a periodic scan of the records.

::

    trigger: {kind: date, entity: core.party, field: custom.contract_end, offset_days: -30,
              condition: '"key" in subject.tags'}

``entity`` names a permission-governed model (its permission resource ``core.party``, custom-field
entity or table ``core_parties``); ``field`` one of its date or datetime columns, or a custom field
``custom.<code>`` holding an ISO date. The job ``workflows.dates`` (every :data:`SCAN_EVERY_S`
seconds) starts a run for each record whose day has come, in the tenant's time zone: the date plus
``offset_days`` is today or earlier, but not long gone — for a trigger before the date, until the
date itself; on or after it, within :data:`CATCH_UP_DAYS` (so a scan missed while the platform was
down is caught up, but saving a workflow does not fire for every date of the past). A record fires
once per workflow and date value: a date moved later fires again. A trigger condition that does not
hold yet is looked at again at the next scan, as long as the day is within its window.

The records are read as the workflow's principal: a record the workflow may not read never fires.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import Date, DateTime, select
from sqlalchemy.orm import Session

from ..db import Model, utcnow
from ..errors import XrmError
from ..events.schedule import register_periodic
from ..identity.ownership import Owned
from ..models import Tenant
from ..tenancy import scoped_to
from .engine import acting, current_version, start_run, workflow_principal
from .models import Workflow, WorkflowRun

log = logging.getLogger("xrm.workflows")

#: Seconds between two scans: date triggers work by the day, so a quarter of an hour is plenty.
SCAN_EVERY_S = 900
#: Days after its day that a trigger on or after a date still fires (a scan missed during downtime).
CATCH_UP_DAYS = 7
CUSTOM_PREFIX = "custom."


class DateTargetError(XrmError):
    """A date trigger's entity or field cannot be used; ``key`` is the trigger key at fault."""

    def __init__(self, key: str, message: str):
        super().__init__(message)
        self.key = key


@dataclass(frozen=True)
class DateTarget:
    """Where a date trigger's dates are: a model and a column or a custom field."""

    model: type
    field: str

    @property
    def custom_code(self) -> str | None:
        return self.field[len(CUSTOM_PREFIX):] if self.field.startswith(CUSTOM_PREFIX) else None

    def within(self, first: date, last: date, zone: ZoneInfo) -> Any:
        """SQL: the record's date is between ``first`` and ``last`` (local days, inclusive)."""
        code = self.custom_code
        if code is not None:  # ISO dates sort as text
            return self.model.custom[code].as_string().between(first.isoformat(), last.isoformat())
        column = getattr(self.model, self.field)
        if isinstance(column.type, DateTime):
            start = datetime.combine(first, time(0), zone).astimezone(UTC)
            end = datetime.combine(last + timedelta(days=1), time(0), zone).astimezone(UTC)
            return (column >= start) & (column < end)
        return column.between(first, last)

    def value_of(self, record: Any, zone: ZoneInfo) -> date | None:
        """The record's date (a datetime as its local day); ``None`` when missing or not a date."""
        code = self.custom_code
        value = (record.custom or {}).get(code) if code is not None else getattr(record, self.field)
        if isinstance(value, str):
            try:
                return date.fromisoformat(value[:10])
            except ValueError:
                return None
        if isinstance(value, datetime):
            aware = value if value.tzinfo is not None else value.replace(tzinfo=UTC)
            return aware.astimezone(zone).date()
        return value if isinstance(value, date) else None


def _models() -> list[type]:
    return [m.class_ for m in Model.registry.mappers if issubclass(m.class_, Owned)]


def resolve_target(entity: str, field: str) -> DateTarget:
    """The model and field a date trigger names.

    :raises DateTargetError: no such permission-governed entity, or the field is not a date.
    """
    model = next((m for m in _models() if entity in (
        getattr(m, "__tablename__", None), m.__permission_resource__, getattr(m, "__custom_fields_entity__", None))),
        None)
    if model is None:
        names = sorted(m.__permission_resource__ for m in _models() if m.__permission_resource__)
        raise DateTargetError("entity", f"unknown entity {entity!r} (known: {', '.join(names)})")
    if field.startswith(CUSTOM_PREFIX):
        code = field[len(CUSTOM_PREFIX):]
        if not getattr(model, "__custom_fields_entity__", "") or not code:
            raise DateTargetError("field", f"{entity} has no custom fields; name a date column instead")
        return DateTarget(model, field)
    column = model.__table__.columns.get(field)
    if column is None or not isinstance(column.type, (Date, DateTime)):
        dates = sorted(c.name for c in model.__table__.columns if isinstance(c.type, (Date, DateTime)))
        raise DateTargetError("field", f"{field!r} is not a date field of {entity} (dates: {', '.join(dates)}; "
                                       "or custom.<code>)")
    return DateTarget(model, field)


def window(offset_days: int) -> int:
    """Days after its day that a record may still fire (see the module docstring)."""
    return -offset_days if offset_days < 0 else CATCH_UP_DAYS


def scan(platform: Any, now: datetime | None = None) -> int:
    """Start the runs of every enabled date trigger whose day has come; return how many started."""
    now = now or utcnow()
    started = 0
    with platform.db.session(all_tenants=True) as session, session.begin():
        workflows = session.scalars(select(Workflow).where(Workflow.enabled, Workflow.trigger_kind == "date")
                                    .order_by(Workflow.id)).all()
        for workflow in workflows:
            try:
                with scoped_to(session, workflow.tenant_id), session.begin_nested():
                    started += _scan_workflow(session, platform, workflow, now)
            except Exception:  # one broken workflow must not hold up the others
                log.exception("workflow %s: the date scan failed", workflow.id)
    return started


def _scan_workflow(session: Session, platform: Any, workflow: Workflow, now: datetime) -> int:
    tenant = session.get(Tenant, workflow.tenant_id)
    version = current_version(session, workflow)
    trigger = version.definition["trigger"]
    target = resolve_target(trigger["entity"], trigger["field"])
    offset = int(trigger.get("offset_days", 0))
    zone = ZoneInfo(tenant.time_zone or "UTC")
    today = now.astimezone(zone).date()
    # The record's day (date + offset) lies in [today - window, today].
    first, last = today - timedelta(days=offset + window(offset)), today - timedelta(days=offset)
    with acting(session, workflow_principal(session, workflow.id, version)):
        records = session.scalars(select(target.model).where(target.within(first, last, zone))
                                  .order_by(target.model.id)).all()
        due = [(record.id, value) for record in records
               if (value := target.value_of(record, zone)) is not None and first <= value <= last]
    table = target.model.__tablename__
    keys = {f"date:{table}:{record_id}:{value.isoformat()}": (record_id, value) for record_id, value in due}
    fired = set(session.scalars(select(WorkflowRun.trigger_key).where(
        WorkflowRun.workflow_id == workflow.id, WorkflowRun.trigger_key.in_(list(keys))))) if keys else set()
    started = 0
    for key, (record_id, value) in keys.items():
        if key in fired:
            continue
        values = {"id": None, "type": "date", "actor": "schedule",
                  "payload": {"field": trigger["field"], "date": value.isoformat(), "offset_days": offset,
                              "day": (value + timedelta(days=offset)).isoformat()},
                  "subject": {"entity": table, "id": str(record_id)}, "related": [], "occurred_at": now.isoformat()}
        run = start_run(session, platform, tenant, workflow, version, key, values,
                        condition=trigger.get("condition"), now=now)
        started += run is not None
    return started


register_periodic("workflows.dates", SCAN_EVERY_S, scan)
