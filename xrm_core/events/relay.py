"""The relay: from the outbox to one delivery per subscriber, and (scale-out) to the workers.

:func:`relay` takes committed events not relayed yet, in publication order, works out their
subscribers for their tenant (plugins enabled there, core subscribers, the tenant's active webhooks
whose pattern matches) and writes one delivery row each, marking the events relayed in the same
transaction. Several relays can run at once: on PostgreSQL they claim events with
``FOR UPDATE SKIP LOCKED``; on SQLite write transactions are serialized.

Scale-out only: new deliveries are handed to Celery *after* the commit that created them (a task
must never run before the rows it reads exist). :func:`sweep` hands out again what is due and not
queued — retries whose time has come, deliveries released because an earlier one of their subject
was pending, and deliveries queued long ago and never finished (a worker killed, a message lost).
Far-future retries therefore live in the database, never as long Celery countdowns, which Redis's
visibility timeout would turn into duplicate runs.

Matchers (:func:`register_matcher`) see each batch of committed events in the relay's transaction,
before the batch is marked relayed, and may publish further events there: the workflow engine
announces which workflows an event starts this way. Their work commits with the batch, so it
happens exactly once per event, and it costs the writer's transaction nothing.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from datetime import timedelta
from typing import TYPE_CHECKING, Any

from sqlalchemy import insert, or_, select, update
from sqlalchemy.orm import Session

from ..db import utcnow
from ..tenancy import scoped_to
from .delivery import ready
from .models import PENDING, Delivery, OutboxEvent, WebhookSubscription
from .subscribers import WEBHOOK

if TYPE_CHECKING:
    from .bus import EventBus

log = logging.getLogger("xrm.events")

_D = Delivery.__table__
_E = OutboxEvent.__table__
_W = WebhookSubscription.__table__
#: What a matcher sees of each event of a batch (a row with at least these columns, in publication
#: order). Not the payload: the scale-out relay would decode every event's for nothing.
BATCH_COLUMNS = (_E.c.id.label("event_pk"), _E.c.tenant_id, _E.c.event_id, _E.c.type, _E.c.actor,
                 _E.c.subject_type, _E.c.subject_id, _E.c.related, _E.c.occurred_at)

Matcher = Callable[[Session, Sequence[Any]], None]
_MATCHERS: list[Matcher] = []


def register_matcher(match: Matcher) -> Matcher:
    """Call ``match(session, events)`` with every batch the relay takes, in the relay's transaction.

    ``session`` is a platform session (every tenant): a matcher filters by ``event.tenant_id``
    itself and publishes with ``tenant_id=``. What it writes commits with the batch being marked
    relayed, or rolls back with it and is done again with the batch's next attempt. A matcher that
    raises fails the whole batch (nothing is marked relayed, nothing skipped): the dispatcher logs
    it and tries again, so a matcher must only raise for what a retry can cure.
    """
    if match not in _MATCHERS:
        _MATCHERS.append(match)
    return match


def unregister_matcher(match: Matcher) -> None:
    if match in _MATCHERS:
        _MATCHERS.remove(match)


def run_matchers(session: Session, events: Sequence[Any]) -> None:
    for match in _MATCHERS:
        match(session, events)


def pending_in_outbox(bus: EventBus) -> bool:
    """Whether any committed event waits for the relay (a cheap read, no write lock)."""
    with bus.platform.db.session(all_tenants=True, read_only=True) as session:
        return session.scalar(select(_E.c.id).where(_E.c.relayed_at.is_(None)).limit(1)) is not None


def relay(bus: EventBus, limit: int | None = None) -> int:
    """Fan out up to ``limit`` events into deliveries; return how many events were relayed."""
    if not pending_in_outbox(bus):
        return 0
    platform = bus.platform
    queued = utcnow() if bus.scale_out else None
    new_ids: list[int] = []
    with platform.db.session(all_tenants=True) as session, session.begin():
        query = (
            select(*BATCH_COLUMNS)
            .where(_E.c.relayed_at.is_(None))
            .order_by(_E.c.id)
            .limit(limit or bus.settings.batch * 2)
        )
        if not platform.db.is_sqlite:
            query = query.with_for_update(skip_locked=True)
        events = session.execute(query).all()
        if not events:
            return 0
        run_matchers(session, events)
        now = utcnow()
        names_for = subscribers_by_tenant(bus, session, sorted({e.tenant_id for e in events}))
        rows = []
        for e in events:
            names = names_for(e.tenant_id, e.type)
            key = f"{e.subject_type}:{e.subject_id}"[:210]
            rows += [
                {
                    "tenant_id": e.tenant_id, "event_pk": e.event_pk, "subscriber": name, "subject_key": key,
                    "status": PENDING, "attempts": 0, "next_attempt_at": now, "queued_at": queued,
                    "last_error": None, "created_at": now, "updated_at": now,
                }
                for name in names
            ]
        if rows:
            if bus.scale_out:
                new_ids = list(session.scalars(insert(_D).returning(_D.c.id), rows))
            else:
                session.execute(insert(_D), rows)
        session.execute(update(_E).where(_E.c.id.in_([e.event_pk for e in events])).values(relayed_at=now))
    if new_ids:
        enqueue(bus, new_ids)
    return len(events)


def subscribers_by_tenant(bus: EventBus, session, tenant_ids: list[int]):
    """``names(tenant_id, event_type)``: the subscribers of an event in one of ``tenant_ids``.

    Plugins enabled for the tenant (looked up once per tenant with a tenant-scoped session), core
    subscribers, and the tenant's active webhooks whose pattern matches.
    """
    from fnmatch import fnmatchcase

    platform = bus.platform
    enabled: dict[int, list[str]] = {}
    for tenant_id in tenant_ids:
        with scoped_to(session, tenant_id):
            enabled[tenant_id] = platform.enabled_plugins(session)
    hooks: dict[int, list[tuple[int, str]]] = {t: [] for t in tenant_ids}
    for hook in session.execute(
        select(_W.c.id, _W.c.tenant_id, _W.c.pattern).where(_W.c.active, _W.c.tenant_id.in_(tenant_ids))
    ):
        hooks[hook.tenant_id].append((hook.id, hook.pattern))
    memo: dict[tuple[int, str], list[str]] = {}

    def names(tenant_id: int, event_type: str) -> list[str]:
        found = memo.get((tenant_id, event_type))
        if found is None:
            found = [s.name for s in bus.subscribers.for_event(event_type, enabled[tenant_id])]
            found += [f"{WEBHOOK}.{hook_id}" for hook_id, pattern in hooks[tenant_id] if fnmatchcase(event_type, pattern)]
            memo[(tenant_id, event_type)] = found
        return found

    return names


def enqueue(bus: EventBus, delivery_ids: Sequence[int]) -> int:
    """Send Celery tasks for these deliveries (their rows are committed and marked queued).

    If the broker cannot be reached, the deliveries are marked not queued so that the next sweep
    tries again; nothing is lost either way, the database holds the work.
    """
    from .tasks import DELIVER_TASK, QUEUE

    size = bus.settings.task_batch
    sent = 0
    try:
        for start in range(0, len(delivery_ids), size):
            chunk = list(delivery_ids[start:start + size])
            bus.celery.send_task(DELIVER_TASK, args=[chunk], queue=QUEUE)
            sent += len(chunk)
    except Exception as exc:  # noqa: BLE001 -- whatever the broker did, the database keeps the work
        unsent = list(delivery_ids[sent:])
        log.warning("could not hand %d deliveries to the broker (%s); they stay queued in the database",
                    len(unsent), exc)
        with bus.platform.db.session(all_tenants=True) as session, session.begin():
            session.execute(update(_D).where(_D.c.id.in_(unsent), _D.c.status == PENDING).values(queued_at=None))
    return sent


def sweep(bus: EventBus) -> int:
    """Hand out again the ready deliveries that are not queued, or were queued too long ago."""
    platform = bus.platform
    now = utcnow()
    stale = now - timedelta(seconds=bus.settings.requeue_after_s)
    not_queued = or_(_D.c.queued_at.is_(None), _D.c.queued_at < stale)
    with platform.db.session(all_tenants=True, read_only=True) as session:
        # Every relay loop of every worker sweeps: while a backlog is being worked off (every
        # pending delivery queued), the cheap look without the ordering check must answer.
        if session.scalar(select(_D.c.id).where(_D.c.status == PENDING, _D.c.next_attempt_at <= now, not_queued)
                          .limit(1)) is None:
            return 0
        candidate = session.execute(ready(now, limit=1, among=not_queued)).first()
    if candidate is None:
        return 0
    with platform.db.session(all_tenants=True) as session, session.begin():
        rows = session.execute(
            ready(now, limit=bus.settings.batch, for_update=not platform.db.is_sqlite, among=not_queued)
        ).all()
        ids = [r.id for r in rows]
        if ids:
            session.execute(update(_D).where(_D.c.id.in_(ids)).values(queued_at=now))
    if ids:
        enqueue(bus, ids)
    return len(ids)
