"""The event log and the dead-letter list: what was published, what failed, retry and replay."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING

from sqlalchemy import and_, delete, exists, insert, select, update

from ..db import utcnow
from ..errors import NotFound, XrmError
from ..tenancy import scoped_to
from .models import DEAD, NEWEST_FIRST, PENDING, Delivery, OutboxEvent, ProcessedEvent, WebhookSubscription
from .subscribers import WEBHOOK

if TYPE_CHECKING:
    from sqlalchemy.orm import Session

    from .bus import EventBus

_D = Delivery.__table__
_E = OutboxEvent.__table__
_P = ProcessedEvent.__table__


@dataclass(frozen=True)
class FailedDelivery:
    id: int
    tenant_id: int
    subscriber: str
    event_id: str
    event_type: str
    subject: str
    attempts: int
    last_error: str
    failed_at: datetime


def events(session: Session, *, type_pattern: str | None = None, since: datetime | None = None,
           subject: tuple[str, str] | None = None, limit: int = 100) -> list[OutboxEvent]:
    """The session tenant's events, newest first, by type (``fnmatch`` pattern), time and subject."""
    # Newest first in an index's order: a subject's events by id along the subject index.
    newest = (OutboxEvent.id.desc(),) if subject is not None else NEWEST_FIRST
    query = select(OutboxEvent).order_by(*newest).limit(limit)
    if type_pattern:
        query = query.where(OutboxEvent.type.like(_like(type_pattern), escape="\\"))
    if since is not None:
        query = query.where(OutboxEvent.occurred_at >= since)
    if subject is not None:
        query = query.where(OutboxEvent.subject_type == subject[0], OutboxEvent.subject_id == str(subject[1]))
    return list(session.scalars(query))


def _like(pattern: str) -> str:
    escaped = pattern.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    return escaped.replace("*", "%").replace("?", "_")


def failed(session: Session, tenant_id: int | None = None, limit: int = 1000) -> list[FailedDelivery]:
    """The dead-letter list (all tenants with a platform session), oldest failure first."""
    query = (
        select(_D.c.id, _D.c.tenant_id, _D.c.subscriber, _D.c.attempts, _D.c.last_error, _D.c.updated_at,
               _E.c.event_id, _E.c.type, _E.c.subject_type, _E.c.subject_id)
        .join(_E, _E.c.id == _D.c.event_pk)
        .where(_D.c.status == DEAD)
        .order_by(_D.c.updated_at, _D.c.id)
        .limit(limit)
    )
    scope = tenant_id if tenant_id is not None else session.info.get("tenant_id")
    if scope is not None:
        query = query.where(_D.c.tenant_id == scope)
    return [
        FailedDelivery(r.id, r.tenant_id, r.subscriber, r.event_id, r.type, f"{r.subject_type}:{r.subject_id}",
                       r.attempts, r.last_error or "", r.updated_at)
        for r in session.execute(query)
    ]


def retry(session: Session, delivery_id: int) -> None:
    """Put a dead-lettered delivery back in the queue, with a fresh count of attempts."""
    _dead_letter(session, delivery_id)
    session.execute(
        update(_D).where(_D.c.id == delivery_id)
        .values(status=PENDING, attempts=0, next_attempt_at=utcnow(), queued_at=None, updated_at=utcnow())
    )


def discard(session: Session, delivery_id: int) -> None:
    """Drop a dead-lettered delivery for good: its subscriber will never receive that event.

    The event stays in the event log (and can be replayed to the subscriber later).
    """
    _dead_letter(session, delivery_id)
    session.execute(delete(_D).where(_D.c.id == delivery_id, _D.c.status == DEAD))


def _dead_letter(session: Session, delivery_id: int) -> None:
    """Refuse a delivery that is not in the session tenant's dead-letter list."""
    row = session.execute(select(_D.c.id, _D.c.status, _D.c.tenant_id).where(_D.c.id == delivery_id)).first()
    scope = session.info.get("tenant_id")
    if row is None or (scope is not None and row.tenant_id != scope):
        raise NotFound(f"no delivery {delivery_id}")
    if row.status != DEAD:
        raise XrmError(f"delivery {delivery_id} is not in the dead-letter list (it is {row.status})")


def replay(bus: EventBus, session: Session, tenant_id: int, subscriber: str, since: datetime) -> int:
    """Deliver the tenant's events since ``since`` to ``subscriber`` again, where it has not processed them.

    Used to backfill a plugin enabled today from history. Events it already processed (processed
    record) or that are already waiting for it (delivery row) are left alone, so a replay is
    idempotent. Returns how many deliveries were queued.
    :raises XrmError: unknown subscriber, or its plugin is not enabled for the tenant.
    """
    pattern = _pattern_of(bus, session, tenant_id, subscriber)
    now = utcnow()
    query = (
        select(_E.c.id, _E.c.type, _E.c.subject_type, _E.c.subject_id)
        .where(
            _E.c.tenant_id == tenant_id,
            _E.c.occurred_at >= since,
            _E.c.relayed_at.is_not(None),
            ~exists().where(and_(_P.c.event_id == _E.c.event_id, _P.c.subscriber == subscriber)),
            ~exists().where(and_(_D.c.event_pk == _E.c.id, _D.c.subscriber == subscriber)),
        )
        .order_by(_E.c.id)
    )
    from fnmatch import fnmatchcase

    rows = [
        {"tenant_id": tenant_id, "event_pk": e.id, "subscriber": subscriber,
         "subject_key": f"{e.subject_type}:{e.subject_id}"[:210], "status": PENDING, "attempts": 0,
         "next_attempt_at": now, "queued_at": None, "last_error": None, "created_at": now, "updated_at": now}
        for e in session.execute(query)
        if fnmatchcase(e.type, pattern)
    ]
    if rows:
        session.execute(insert(_D), rows)
    return len(rows)


def _pattern_of(bus: EventBus, session: Session, tenant_id: int, subscriber: str) -> str:
    if subscriber.startswith(WEBHOOK + "."):
        try:
            hook_id = int(subscriber.split(".", 1)[1])
        except ValueError:
            raise XrmError(f"no subscriber {subscriber!r}") from None
        hook = session.get(WebhookSubscription, hook_id)
        if hook is None or hook.tenant_id != tenant_id:
            raise NotFound(f"no webhook {hook_id} in this tenant")
        if not hook.active:
            raise XrmError(f"webhook {hook_id} is disabled")
        return hook.pattern
    found = bus.subscribers.get(subscriber)
    if found is None:
        known = ", ".join(sorted(bus.subscribers.static)) or "none"
        raise XrmError(f"no subscriber {subscriber!r} (known: {known})")
    if found.plugin is not None:
        with scoped_to(session, tenant_id):
            enabled = bus.platform.enabled_plugins(session)
        if found.plugin not in enabled:
            raise XrmError(f"plugin {found.plugin!r} is not enabled for this tenant: enable it before replaying")
    return found.pattern


def pending_count(session: Session, subscribers: Sequence[str] | None = None) -> int:
    from sqlalchemy import func

    query = select(func.count()).select_from(_D).where(_D.c.status == PENDING)
    if subscribers:
        query = query.where(_D.c.subscriber.in_(list(subscribers)))
    return session.scalar(query) or 0
