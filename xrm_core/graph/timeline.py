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

from sqlalchemy import Select, select
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


def record_event(event: Event, session: Session) -> list[int]:
    """Write ``event`` into the timeline of each party it concerns; return those parties' ids.

    ``session`` is scoped to the event's tenant (the bus's subscriber session), so ids of another
    tenant's parties find nothing.
    """
    wanted = parties_of(event)
    if not wanted:
        return []
    aliases = dict(session.execute(
        select(PartyAlias.alias_id, PartyAlias.party_id).where(PartyAlias.alias_id.in_(wanted))).all())
    resolved = list(dict.fromkeys(aliases.get(party_id, party_id) for party_id in wanted))
    live = set(session.scalars(select(Party.id).where(Party.id.in_(resolved))))
    done = set(session.scalars(select(TimelineEntry.party_id).where(
        TimelineEntry.event_id == event.id, TimelineEntry.party_id.in_(resolved))))
    written = [party_id for party_id in resolved if party_id in live and party_id not in done]
    session.add_all(
        TimelineEntry(
            party_id=party_id,
            event_id=event.id,
            event_type=event.type,
            source=event.type.split(".", 1)[0],
            actor=event.actor,
            subject_type=event.subject.entity,
            subject_id=event.subject.id,
            occurred_at=event.occurred_at,
            payload=dict(event.payload),
        )
        for party_id in written
    )
    session.flush()
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
