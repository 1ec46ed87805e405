"""Pruning: the event log, processed records and webhook attempts are kept ``XRM_EVENTS_RETENTION_DAYS``.

What goes, oldest first, in batches of ``XRM_EVENTS_BATCH`` rows (one short transaction each, so
publishers and the dispatcher are never held up for long):

* events relayed before the cut-off that no delivery row refers to — an event still waiting for
  a subscriber (pending) or in the dead-letter list (dead) has a delivery row, and so is kept
  whatever its age, as is an event not relayed yet;
* processed records older than the cut-off whose event is gone: while the event exists its
  records keep redeliveries and replays idempotent;
* webhook attempts older than the cut-off whose event is gone (a dead letter keeps its log).

Batches walk the tables in primary-key order from where the previous batch stopped, so rows that
must stay are looked at once, not again in every batch.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any

from sqlalchemy import delete, exists, func, select

from ..db import utcnow
from .models import Delivery, OutboxEvent, ProcessedEvent, WebhookAttempt

if TYPE_CHECKING:
    from ..platform import Platform

_D = Delivery.__table__
_E = OutboxEvent.__table__
_P = ProcessedEvent.__table__
_A = WebhookAttempt.__table__

#: ``progress(kind, rows)``: called after each batch with the table's kind and the rows it removed.
Progress = Callable[[str, int], Any]


@dataclass
class PruneCounts:
    """Rows removed (or, in a dry run, that would be) per kind."""

    events: int = 0
    processed: int = 0
    attempts: int = 0

    @property
    def total(self) -> int:
        return self.events + self.processed + self.attempts


def _prunable(kind: str, cutoff: datetime):
    """``(table, condition)`` for the rows of ``kind`` that may go."""
    if kind == "events":
        return _E, (_E.c.relayed_at.is_not(None)) & (_E.c.occurred_at < cutoff) & ~exists().where(
            _D.c.event_pk == _E.c.id)
    if kind == "processed":
        return _P, (_P.c.processed_at < cutoff) & ~exists().where(_E.c.event_id == _P.c.event_id)
    return _A, (_A.c.at < cutoff) & ~exists().where(_E.c.event_id == _A.c.event_id)


#: In this order: processed records and attempts only go once their event has gone.
KINDS = ("events", "processed", "attempts")


def cutoff_for(retention_days: int, now: datetime | None = None) -> datetime:
    return (now or utcnow()) - timedelta(days=retention_days)


def count_prunable(platform: Platform, retention_days: int) -> PruneCounts:
    """What :func:`prune` would remove now (events first; the rest as if those were gone)."""
    cutoff = cutoff_for(retention_days)
    counts = PruneCounts()
    with platform.db.session(all_tenants=True, read_only=True) as session:
        for kind in KINDS:
            table, condition = _prunable(kind, cutoff)
            if kind != "events":  # records of events about to go count too
                gone = (_E.c.event_id == (table.c.event_id)) & _prunable("events", cutoff)[1]
                condition = (table.c[_time_column(kind)] < cutoff) & (
                    ~exists().where(_E.c.event_id == table.c.event_id) | exists().where(gone))
            setattr(counts, kind, session.scalar(select(func.count()).select_from(table).where(condition)) or 0)
    return counts


def _time_column(kind: str) -> str:
    return {"events": "occurred_at", "processed": "processed_at", "attempts": "at"}[kind]


def prune(platform: Platform, retention_days: int, batch: int = 500, progress: Progress | None = None) -> PruneCounts:
    """Delete what is older than ``retention_days`` days and no longer needed; return the counts."""
    cutoff = cutoff_for(retention_days)
    counts = PruneCounts()
    for kind in KINDS:
        table, condition = _prunable(kind, cutoff)
        after = 0
        while True:
            with platform.db.session(all_tenants=True) as session, session.begin():
                ids = list(session.scalars(
                    select(table.c.id).where(table.c.id > after, condition).order_by(table.c.id).limit(batch)))
                if not ids:
                    break
                # The condition again: a replay may have queued one of these events meanwhile.
                removed = session.execute(delete(table).where(table.c.id.in_(ids), condition)).rowcount
            after = ids[-1]
            setattr(counts, kind, getattr(counts, kind) + removed)
            if progress is not None:
                progress(kind, removed)
    return counts


def prune_job(platform: Platform) -> PruneCounts:
    """The periodic job: prune with the bus's settings."""
    from .bus import get_bus

    settings = get_bus(platform).settings
    return prune(platform, settings.retention_days, settings.batch)
