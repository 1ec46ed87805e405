"""Running deliveries: the same code in the embedded dispatcher and in Celery workers.

A delivery is *ready* when it is pending, due (``next_attempt_at`` passed) and no earlier event
about the same subject is still pending for the same subscriber: that is how each subscriber sees
one subject's events in publication order. A dead-lettered delivery no longer holds the ones
behind it (a poison event must not stall a subject forever); retrying it later is an operator's
explicit choice.

Each in-process handler runs inside a savepoint of the batch transaction, scoped to the event's
tenant, and its processed record is inserted in the same savepoint: the handler's effects and the
record commit together or not at all, and the record's unique constraint refuses a second commit
for the same (event, subscriber) — so a redelivery after a crash has no second effect. A handler
that raises rolls back its savepoint only; the delivery is retried with exponential backoff and
jitter, then dead-lettered, and every other delivery carries on. On PostgreSQL deliveries are
claimed with ``FOR UPDATE SKIP LOCKED``, so concurrent workers never run the same one; on SQLite
write transactions are serialized (``BEGIN IMMEDIATE``).

Webhooks are network calls: they never run inside a transaction (see :mod:`.webhooks`).

Embedded mode takes a shortcut with the same guarantees: :func:`deliver_outbox` runs new events
straight from the outbox, in the transaction that marks them relayed, and writes delivery rows only
for what must wait (a failed handler, a subject with an earlier delivery pending, a webhook).
"""

from __future__ import annotations

import logging
import random
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any

from sqlalchemy import delete, exists, insert, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from ..db import utcnow
from ..models import Tenant
from ..tenancy import scoped_to
from .envelope import Event, Subject
from .models import DEAD, PENDING, Delivery, OutboxEvent, ProcessedEvent
from .subscribers import WEBHOOK

if TYPE_CHECKING:
    from .bus import EventBus

log = logging.getLogger("xrm.events")

_D = Delivery.__table__
_E = OutboxEvent.__table__
_P = ProcessedEvent.__table__
#: The deliveries table again, for "an earlier delivery of the same subject is pending" (a Core alias:
#: an ORM one costs more to build than the query takes to run).
_EARLIER = _D.alias("earlier")


@dataclass
class Outcome:
    """What one call to :func:`deliver` did."""

    done: int = 0
    failed: int = 0
    dead: int = 0
    skipped: int = 0
    blocked: int = 0
    webhooks: list[int] = field(default_factory=list)

    @property
    def handled(self) -> int:
        return self.done + self.failed + self.dead + self.skipped + len(self.webhooks)


def ready(now: datetime, *, ids: Sequence[int] | None = None, limit: int | None = None, for_update: bool = False,
          among: Any = None):
    """SELECT of the ready deliveries with their events, in publication order.

    ``among``: a further condition on the deliveries, tested before the costlier check for an
    earlier pending delivery of the same subject.
    """
    earlier = _EARLIER.c
    blocked = exists().where(
        earlier.tenant_id == _D.c.tenant_id,
        earlier.subscriber == _D.c.subscriber,
        earlier.subject_key == _D.c.subject_key,
        earlier.event_pk < _D.c.event_pk,
        earlier.status == PENDING,
    )
    pending = _D.c.status == PENDING
    if ids is not None:
        # Found by primary key. Left to itself, the planner reads every pending delivery through the
        # status index instead (and checks each for an earlier one): a Celery task's cost would grow
        # with the whole backlog. ``status || ''`` is the same test, unusable as an index key.
        pending = _D.c.status.concat("") == PENDING
    query = (
        select(
            _D.c.id, _D.c.tenant_id, _D.c.subscriber, _D.c.attempts, _D.c.event_pk,
            _E.c.event_id, _E.c.type, _E.c.actor, _E.c.subject_type, _E.c.subject_id,
            _E.c.related, _E.c.occurred_at, _E.c.payload,
        )
        .join(_E, _E.c.id == _D.c.event_pk)
        .where(pending, _D.c.next_attempt_at <= now, *([] if among is None else [among]), ~blocked)
        .order_by(_D.c.event_pk, _D.c.id)
    )
    if ids is not None:
        query = query.where(_D.c.id.in_(list(ids)))
    if limit is not None:
        query = query.limit(limit)
    if for_update:
        query = query.with_for_update(skip_locked=True, of=_D)
    return query


def event_of(row: Any) -> Event:
    """The envelope from a :func:`ready` row."""
    return Event(row.event_id, row.tenant_id, row.type, row.actor, Subject(row.subject_type, row.subject_id),
                 row.occurred_at, row.payload or {}, tuple(row.related or ()), row.event_pk)


def backoff(settings: Any, attempts: int, rng: random.Random = random._inst) -> float:  # type: ignore[attr-defined]
    """Seconds before attempt ``attempts + 1``: exponential, capped, with jitter (half to full delay)."""
    delay = min(settings.retry_cap_s, settings.retry_base_s * 2 ** max(0, attempts - 1))
    return rng.uniform(delay / 2, delay)


def record_failure(bus: EventBus, session: Session, delivery_id: int, attempts_before: int, error: str,
                   *, final: bool = False) -> str:
    """Count a failed attempt: schedule the retry, or dead-letter the delivery. Returns the new status."""
    now = utcnow()
    attempts = attempts_before + 1
    dead = final or attempts >= bus.settings.max_attempts
    session.execute(
        update(_D)
        .where(_D.c.id == delivery_id)
        .values(
            attempts=attempts,
            status=DEAD if dead else PENDING,
            next_attempt_at=now if dead else now + timedelta(seconds=backoff(bus.settings, attempts)),
            queued_at=None,
            last_error=error[:4000],
            updated_at=now,
        )
    )
    return DEAD if dead else PENDING


def describe(exc: BaseException) -> str:
    text = str(exc).strip().splitlines()
    return f"{type(exc).__name__}: {text[0] if text else ''}".rstrip(": ")


class _TenantCache:
    """Tenants and their enabled plugins, looked up once per batch."""

    def __init__(self, platform: Any, session: Session):
        self.platform, self.session = platform, session
        self._tenants: dict[int, Tenant | None] = {}
        self._enabled: dict[int, set[str]] = {}

    def tenant(self, tenant_id: int) -> Tenant | None:
        if tenant_id not in self._tenants:
            self._tenants[tenant_id] = self.session.get(Tenant, tenant_id)
        return self._tenants[tenant_id]

    def enabled(self, tenant_id: int) -> set[str]:
        if tenant_id not in self._enabled:
            with scoped_to(self.session, tenant_id):
                self._enabled[tenant_id] = set(self.platform.enabled_plugins(self.session))
        return self._enabled[tenant_id]


class _Retry(Exception):
    """The optimistic pass must be redone carefully (a handler raised, or a duplicate was refused)."""

    def __init__(self, ids: list[int], failed: dict[int, Exception] | None = None):
        self.ids = ids
        #: Deliveries whose handler already raised in the optimistic pass: not called twice.
        self.failed = failed or {}


def deliver(bus: EventBus, ids: Sequence[int] | None = None, limit: int | None = None) -> Outcome:
    """Run the ready deliveries (all of them up to ``limit``, or only those among ``ids``).

    Deliveries among ``ids`` that are not ready because an earlier one of their subject is still
    pending are released (``queued_at`` cleared) for the relay's sweep to hand out again later.

    The batch first runs optimistically: every handler in one transaction, without savepoints,
    and the processed records inserted together at the end. If any handler raises (or a processed
    record turns out to exist already), that transaction is rolled back whole and the same
    deliveries run again carefully, each in its own savepoint, so the failure stays with its
    delivery. Handlers are therefore called at least once, as everywhere in the bus.
    """
    try:
        return _deliver(bus, ids, limit, careful=False)
    except _Retry as retry:
        return _deliver(bus, retry.ids, None, careful=True, failed=retry.failed)


def _deliver(bus: EventBus, ids: Sequence[int] | None, limit: int | None, careful: bool,
             failed: dict[int, Exception] | None = None) -> Outcome:
    platform = bus.platform
    outcome = Outcome()
    now = utcnow()
    webhook_rows: list[Any] = []
    with platform.db.session(all_tenants=True) as session, session.begin():
        rows = session.execute(
            ready(now, ids=ids, limit=limit or bus.settings.batch, for_update=not platform.db.is_sqlite)
        ).all()
        if ids is not None and len(rows) < len(ids):
            claimed = {r.id for r in rows}
            waiting = [i for i in ids if i not in claimed]
            session.execute(
                update(_D).where(_D.c.id.in_(waiting), _D.c.status == PENDING).values(queued_at=None)
            )
            outcome.blocked = len(waiting)
        # What a careful pass must redo: everything asked for (so that waiting deliveries are
        # released again, that release being rolled back with this pass), or what was claimed.
        again = list(ids) if ids is not None else [r.id for r in rows]
        cache = _TenantCache(platform, session)
        envelopes: dict[int, Event] = {}  # one envelope per event, shared by its subscribers
        finished: list[int] = []
        processed: list[dict[str, Any]] = []
        for row in rows:
            subscriber = bus.subscribers.get(row.subscriber)
            if subscriber is None:
                record_failure(bus, session, row.id, row.attempts,
                               f"no subscriber {row.subscriber!r} any more (plugin uninstalled?)", final=True)
                outcome.dead += 1
                continue
            if subscriber.kind == WEBHOOK:
                # Leased: nobody else takes it while the request is in flight, outside this transaction.
                lease = now + timedelta(seconds=bus.settings.webhooks_timeout_s * 2 + 30)
                session.execute(update(_D).where(_D.c.id == row.id).values(next_attempt_at=lease))
                webhook_rows.append(row)
                continue
            tenant = cache.tenant(row.tenant_id)
            if tenant is None or (subscriber.plugin is not None and subscriber.plugin not in cache.enabled(row.tenant_id)):
                log.info("skipping %s for event %s: plugin not enabled for tenant %s",
                         row.subscriber, row.event_id, row.tenant_id)
                finished.append(row.id)
                outcome.skipped += 1
                continue
            event = envelopes.get(row.event_pk)
            if event is None:
                event = envelopes[row.event_pk] = event_of(row)
            record = {"tenant_id": row.tenant_id, "event_id": row.event_id, "subscriber": row.subscriber,
                      "processed_at": now}
            if not careful:
                try:
                    with scoped_to(session, row.tenant_id):
                        subscriber.call(event=event, tenant=tenant, session=session)
                        session.flush()  # stamped with this event's tenant
                except Exception as exc:  # noqa: BLE001 -- a failure belongs to its delivery, not the batch
                    raise _Retry(again, {row.id: exc}) from None
                processed.append(record)
                finished.append(row.id)
                outcome.done += 1
                continue
            try:
                if failed and row.id in failed:
                    raise failed[row.id]
                with scoped_to(session, row.tenant_id), session.begin_nested():
                    subscriber.call(event=event, tenant=tenant, session=session)
                    session.execute(insert(_P), record)
            except Exception as exc:  # recorded on the delivery, retried later
                if isinstance(exc, IntegrityError) and _already_processed(session, row):
                    log.info("event %s was already processed by %s", row.event_id, row.subscriber)
                    finished.append(row.id)
                    outcome.skipped += 1
                    continue
                status = record_failure(bus, session, row.id, row.attempts, describe(exc))
                level = logging.ERROR if status == DEAD else logging.WARNING
                log.log(level, "subscriber %s failed on %s %s (attempt %d/%d%s): %s", row.subscriber, row.type,
                        row.event_id, row.attempts + 1, bus.settings.max_attempts,
                        ", dead-lettered" if status == DEAD else "", describe(exc),
                        exc_info=status == DEAD)
                if status == DEAD:
                    outcome.dead += 1
                else:
                    outcome.failed += 1
                continue
            finished.append(row.id)
            outcome.done += 1
        if processed:
            try:
                with session.begin_nested():
                    session.execute(insert(_P), processed)
            except IntegrityError:
                raise _Retry(again) from None
        if finished:
            session.execute(delete(_D).where(_D.c.id.in_(finished)))
    if webhook_rows:
        from .webhooks import send_delivery

        for row in webhook_rows:
            send_delivery(bus, row)
            outcome.webhooks.append(row.id)
    return outcome


def _already_processed(session: Session, row: Any) -> bool:
    return _processed(session, row.event_id, row.subscriber)


def _processed(session: Session, event_id: str, subscriber: str) -> bool:
    return session.scalar(
        select(_P.c.id).where(_P.c.event_id == event_id, _P.c.subscriber == subscriber)
    ) is not None


def next_due(bus: EventBus) -> datetime | None:
    """When the next pending delivery scheduled in the future is due (``None`` when there is none)."""
    from sqlalchemy import func

    with bus.platform.db.session(all_tenants=True, read_only=True) as session:
        return session.scalar(
            select(func.min(_D.c.next_attempt_at)).where(_D.c.status == PENDING, _D.c.next_attempt_at > utcnow())
        )


# -- embedded fast path: straight from the outbox ---------------------------------------------


def pending_due(bus: EventBus) -> bool:
    """Whether any delivery row is due (a cheap read: no write transaction when there is none)."""
    with bus.platform.db.session(all_tenants=True, read_only=True) as session:
        return session.scalar(
            select(_D.c.id).where(_D.c.status == PENDING, _D.c.next_attempt_at <= utcnow()).limit(1)
        ) is not None


def deliver_outbox(bus: EventBus, limit: int | None = None) -> int:
    """Embedded mode: relay and deliver new events in one transaction; return how many events.

    The common case — every subscriber succeeds at the first attempt — needs no delivery rows at
    all: the handlers run, their processed records are written and the events are marked relayed,
    all in the same transaction. A delivery row is written only when there is something to wait
    for: a webhook (sent outside the transaction), a subscriber whose handler failed (to retry),
    or an event whose subject already has a delivery pending for that subscriber (to keep the
    order). Those rows are then run by :func:`deliver`, exactly as in scale-out mode.
    """
    from .relay import pending_in_outbox

    if not pending_in_outbox(bus):
        return 0
    try:
        return _deliver_outbox(bus, limit, careful=False)
    except _Retry as retry:
        return _deliver_outbox(bus, None, careful=True, only=retry.ids, failed=retry.failed)


def _deliver_outbox(bus: EventBus, limit: int | None, careful: bool, only: list[int] | None = None,
                    failed: dict[Any, Exception] | None = None) -> int:
    from .relay import BATCH_COLUMNS, run_matchers, subscribers_by_tenant

    platform = bus.platform
    now = utcnow()
    with platform.db.session(all_tenants=True) as session, session.begin():
        query = (
            select(*BATCH_COLUMNS, _E.c.payload)
            .where(_E.c.relayed_at.is_(None))
            .order_by(_E.c.id)
            .limit(limit or bus.settings.batch)
        )
        if only is not None:
            query = query.where(_E.c.id.in_(only))
        if not platform.db.is_sqlite:
            query = query.with_for_update(skip_locked=True)
        events = session.execute(query).all()
        if not events:
            return 0
        again = [e.event_pk for e in events]
        run_matchers(session, events)
        tenant_ids = sorted({e.tenant_id for e in events})
        names_for = subscribers_by_tenant(bus, session, tenant_ids)
        waiting = set(session.execute(
            select(_D.c.tenant_id, _D.c.subscriber, _D.c.subject_key)
            .where(_D.c.status == PENDING, _D.c.tenant_id.in_(tenant_ids)).distinct()
        ).all())
        cache = _TenantCache(platform, session)
        rows: list[dict[str, Any]] = []
        processed: list[dict[str, Any]] = []

        def queue(e: Any, name: str, key: str, attempts: int = 0, error: str | None = None) -> None:
            dead = error is not None and attempts >= bus.settings.max_attempts
            rows.append({
                "tenant_id": e.tenant_id, "event_pk": e.event_pk, "subscriber": name, "subject_key": key,
                "status": DEAD if dead else PENDING, "attempts": attempts,
                "next_attempt_at": now + timedelta(seconds=backoff(bus.settings, attempts)) if error and not dead else now,
                "queued_at": None, "last_error": error, "created_at": now, "updated_at": now,
            })
            if not dead:
                waiting.add((e.tenant_id, name, key))

        for e in events:
            key = f"{e.subject_type}:{e.subject_id}"[:210]
            event = None
            for name in names_for(e.tenant_id, e.type):
                subscriber = bus.subscribers.get(name)
                if subscriber is None or subscriber.kind == WEBHOOK or (e.tenant_id, name, key) in waiting:
                    queue(e, name, key)
                    continue
                event = event or event_of(e)
                tenant = cache.tenant(e.tenant_id)
                record = {"tenant_id": e.tenant_id, "event_id": e.event_id, "subscriber": name, "processed_at": now}
                if not careful:
                    try:
                        with scoped_to(session, e.tenant_id):
                            subscriber.call(event=event, tenant=tenant, session=session)
                            session.flush()
                    except Exception as exc:  # noqa: BLE001 -- a failure belongs to its delivery, not the batch
                        raise _Retry(again, {(e.event_pk, name): exc}) from None
                    processed.append(record)
                    continue
                try:
                    if failed and (e.event_pk, name) in failed:
                        raise failed[(e.event_pk, name)]
                    with scoped_to(session, e.tenant_id), session.begin_nested():
                        subscriber.call(event=event, tenant=tenant, session=session)
                        session.execute(insert(_P), record)
                except Exception as exc:  # noqa: BLE001 -- recorded on the delivery, retried later
                    if isinstance(exc, IntegrityError) and _processed(session, e.event_id, name):
                        continue
                    log.warning("subscriber %s failed on %s %s (attempt 1/%d): %s", name, e.type, e.event_id,
                                bus.settings.max_attempts, describe(exc))
                    queue(e, name, key, attempts=1, error=describe(exc)[:4000])
        if processed:
            try:
                with session.begin_nested():
                    session.execute(insert(_P), processed)
            except IntegrityError:
                raise _Retry(again) from None
        if rows:
            session.execute(insert(_D), rows)
        session.execute(update(_E).where(_E.c.id.in_(again)).values(relayed_at=now))
    return len(events)
