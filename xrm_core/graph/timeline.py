"""The party timeline: every event about a party, newest first, fed by the event bus.

The core subscriber ``core.party_timeline`` receives every event of every tenant and writes one
:class:`~xrm_core.graph.history.TimelineEntry` per party the event concerns: its subject when the
subject is a party, and each id of its ``related`` parties. Ids of merged parties are followed to
the party they were merged into; ids that name no party (deleted meanwhile) are skipped. A
redelivered event writes nothing twice: entries already written are skipped, and a unique
constraint on (party, event) refuses a duplicate from a concurrent delivery.

Reading is :func:`timeline_statement`: a select of the entries of one party, newest first, that
the API pages through with keyset pagination.
"""

from __future__ import annotations

from sqlalchemy import Select, bindparam, insert, select
from sqlalchemy.orm import Session

from ..events.envelope import Event
from ..events.subscribers import register_core_subscriber
from .history import PartyAlias, TimelineEntry
from .models import Party

SUBSCRIBER = "core.party_timeline"
#: The subject entity of events about a party.
PARTY_ENTITY = Party.__tablename__


def parties_of(event: Event) -> list[int]:
    """The ids of the parties ``event`` concerns, in order, without repeats."""
    ids: list[int] = []
    if event.subject.entity == PARTY_ENTITY and event.subject.id.isdigit():
        ids.append(int(event.subject.id))
    ids.extend(int(related) for related in event.related)
    return list(dict.fromkeys(ids))


# Prebuilt Core statements on the subscriber's connection: this runs for every event of every
# tenant, and the ORM's per-statement work (criteria, compilation) was most of the delivery cost.
# Each names its tenant explicitly, as the ORM's tenant scoping would.
_ALIAS, _PARTY, _ENTRY = PartyAlias.__table__, Party.__table__, TimelineEntry.__table__
_ALIASES = select(_ALIAS.c.alias_id, _ALIAS.c.party_id).where(
    _ALIAS.c.tenant_id == bindparam("tenant_id"), _ALIAS.c.alias_id.in_(bindparam("ids", expanding=True)))
_LIVE = select(_PARTY.c.id).where(
    _PARTY.c.tenant_id == bindparam("tenant_id"), _PARTY.c.id.in_(bindparam("ids", expanding=True)))
_DONE = select(_ENTRY.c.party_id).where(
    _ENTRY.c.tenant_id == bindparam("tenant_id"), _ENTRY.c.event_id == bindparam("event_id"),
    _ENTRY.c.party_id.in_(bindparam("ids", expanding=True)))


def record_event(event: Event, session: Session) -> list[int]:
    """Write ``event`` into the timeline of each party it concerns; return those parties' ids.

    Only the event's tenant's parties are looked at, so ids of another tenant's parties find nothing.
    """
    wanted = parties_of(event)
    if not wanted:
        return []
    connection = session.connection()
    tenant = {"tenant_id": event.tenant_id}
    aliases = dict(connection.execute(_ALIASES, {**tenant, "ids": wanted}).all())
    resolved = list(dict.fromkeys(aliases.get(party_id, party_id) for party_id in wanted))
    live = set(connection.scalars(_LIVE, {**tenant, "ids": resolved}))
    done = set(connection.scalars(_DONE, {**tenant, "event_id": event.id, "ids": resolved}))
    written = [party_id for party_id in resolved if party_id in live and party_id not in done]
    if written:
        entry = {"tenant_id": event.tenant_id, "event_id": event.id, "event_type": event.type,
                 "source": event.type.split(".", 1)[0], "actor": event.actor, "subject_type": event.subject.entity,
                 "subject_id": event.subject.id, "occurred_at": event.occurred_at, "payload": dict(event.payload)}
        connection.execute(insert(_ENTRY), [{**entry, "party_id": party_id} for party_id in written])
    return written


def timeline_statement(party_id: int, *, type_prefix: str | None = None, source: str | None = None) -> Select:
    """The entries of ``party_id``'s timeline, optionally only event types starting with
    ``type_prefix`` (``core.relationship.``) or published by ``source`` (``core`` or a plugin)."""
    statement = select(TimelineEntry).where(TimelineEntry.party_id == party_id)
    if type_prefix:
        statement = statement.where(TimelineEntry.event_type.startswith(type_prefix, autoescape=True))
    if source:
        statement = statement.where(TimelineEntry.source == source)
    return statement


register_core_subscriber(SUBSCRIBER, "*", record_event)
