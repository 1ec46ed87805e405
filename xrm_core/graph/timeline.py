"""The party timeline: every event about a party, newest first, fed by the event bus.

The core subscriber ``core.party_timeline`` receives every event of every tenant and writes one
:class:`~xrm_core.graph.history.TimelineEntry` per party the event concerns: its subject when the
subject is a party, and each id of its ``related`` parties. Ids of merged parties are followed to
the party they were merged into; ids that name no party (deleted meanwhile) are skipped. A
redelivered event writes nothing twice: entries already written are skipped, and a unique
constraint on (party, event) refuses a duplicate from a concurrent delivery.

Reading is :func:`timeline_statement`: a select of the entries of one party, newest first, that
the API pages through with keyset pagination. What is shown to a user goes through
:func:`readable_entries`: an event about another record (a Support department's case naming a
Sales customer) is left out for whoever may not read that record.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable

from sqlalchemy import Select, insert, select
from sqlalchemy.orm import Session

from ..db import Model
from ..events.envelope import Event
from ..events.subscribers import register_core_subscriber
from ..identity.ownership import Owned
from ..identity.scoping import principal_of
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


# Hand-written SQL on the subscriber's DBAPI cursor: this runs for every event of every tenant, and
# SQLAlchemy's per-statement work (expanding IN lists, compilation, result objects) was most of the
# delivery cost of an event. Each statement names its tenant explicitly, as the ORM's scoping would.
_ALIAS, _PARTY, _ENTRY = PartyAlias.__table__, Party.__table__, TimelineEntry.__table__
_STATEMENTS: dict[tuple[str, int], tuple[str, str]] = {}
#: Statements are kept for events about up to this many parties (nearly all); rarer ones are built anew.
_CACHED_COUNTS = 64


def _statements(paramstyle: str, count: int) -> tuple[str, str]:
    """The alias lookup and the live-and-not-yet-written lookup for ``count`` party ids."""
    found = _STATEMENTS.get((paramstyle, count))
    if found is None:
        mark = "?" if paramstyle == "qmark" else "%s"
        marks = ", ".join([mark] * count)
        aliases = f"SELECT alias_id, party_id FROM {_ALIAS.name} WHERE tenant_id = {mark} AND alias_id IN ({marks})"
        # One row per live party, with the id of its entry for this event when it has one already.
        parties = (f"SELECT p.id, e.id FROM {_PARTY.name} p LEFT JOIN {_ENTRY.name} e ON e.tenant_id = p.tenant_id "
                   f"AND e.party_id = p.id AND e.event_id = {mark} WHERE p.tenant_id = {mark} AND p.id IN ({marks})")
        found = (aliases, parties)
        if count <= _CACHED_COUNTS:
            _STATEMENTS[(paramstyle, count)] = found
    return found


def _rows(cursor, statement: str, params: list) -> list[tuple]:
    cursor.execute(statement, params)
    return cursor.fetchall()


def record_event(event: Event, session: Session) -> list[int]:
    """Write ``event`` into the timeline of each party it concerns; return those parties' ids.

    Only the event's tenant's parties are looked at, so ids of another tenant's parties find nothing.
    """
    wanted = parties_of(event)
    if not wanted:
        return []
    connection = session.connection()
    paramstyle = connection.dialect.paramstyle
    cursor = connection.connection.cursor()
    try:
        aliases = dict(_rows(cursor, _statements(paramstyle, len(wanted))[0], [event.tenant_id, *wanted]))
        resolved = list(dict.fromkeys(aliases.get(party_id, party_id) for party_id in wanted))
        found = _rows(cursor, _statements(paramstyle, len(resolved))[1], [event.id, event.tenant_id, *resolved])
    finally:
        cursor.close()
    todo = {party_id for party_id, entry_id in found if entry_id is None}
    written = [party_id for party_id in resolved if party_id in todo]
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


def readable_entries(session: Session, entries: Iterable[TimelineEntry]) -> list[TimelineEntry]:
    """``entries`` less those about a record that exists and that the session's principal may not read.

    The timeline holds every event naming the party, whoever may read the event's own record; its
    payload describes that record. Entries about records gone since (deleted, merged) stay: they
    are the party's history, and nothing is left to tell who could read them.
    """
    entries = list(entries)
    if principal_of(session) is None:
        return entries
    wanted: dict[type, set[int]] = defaultdict(set)
    models = _owned_models(session)
    for entry in entries:
        model = models.get(entry.subject_type)
        if model is not None and entry.subject_id.isdigit():
            wanted[model].add(int(entry.subject_id))
    hidden: set[tuple[str, str]] = set()
    for model, ids in wanted.items():
        table = model.__table__
        # The table's own rows (a Core select: no permission criteria), then those the principal reads.
        existing = set(session.scalars(select(table.c.id).where(table.c.id.in_(ids))))
        readable = set(session.scalars(select(model.id).where(model.id.in_(existing)))) if existing else set()
        hidden.update((table.name, str(record_id)) for record_id in existing - readable)
    return [entry for entry in entries if (entry.subject_type, entry.subject_id) not in hidden]


def _owned_models(session: Session) -> dict[str, type]:
    """The permission-governed models by table name (how events name their subjects), of the core
    and of the plugins enabled for the session's tenant: another installed plugin's tables may not
    exist in this database, and the tenant cannot reach its records anyway."""
    platform = session.info.get("platform")
    owners = {"core", *(platform.enabled_plugins(session) if platform is not None else ())}
    return {mapper.class_.__tablename__: mapper.class_ for mapper in Model.registry.mappers
            if isinstance(mapper.class_, type) and issubclass(mapper.class_, Owned)
            and getattr(mapper.class_, "__tablename__", None)
            and mapper.class_.__tablename__.split("_", 1)[0] in owners}


register_core_subscriber(SUBSCRIBER, "*", record_event)
