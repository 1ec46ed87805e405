"""The event envelope every subscriber receives: what happened, to what, by whom, when."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any


@dataclass(frozen=True)
class Subject:
    """The entity an event is about: ``Subject("core_parties", "42")``."""

    entity: str
    id: str

    @property
    def key(self) -> str:
        """The ordering key: events with the same key reach each subscriber in publication order."""
        return f"{self.entity}:{self.id}"

    @classmethod
    def of(cls, value: Any) -> Subject:
        """A subject from a ``Subject``, an ``(entity, id)`` pair, or a mapped object with an ``id``."""
        if isinstance(value, Subject):
            return value
        if isinstance(value, tuple) and len(value) == 2:
            return cls(str(value[0]), str(value[1]))
        table = getattr(type(value), "__tablename__", None)
        ident = getattr(value, "id", None)
        if table and ident is not None:
            return cls(table, str(ident))
        raise TypeError(f"an event subject is a Subject, an (entity, id) pair or a saved model, not {value!r}")


@dataclass(frozen=True)
class Event:
    """One domain event, as published and as delivered."""

    #: A UUID, unique across tenants; webhook receivers use it to drop duplicates.
    id: str
    tenant_id: int
    #: ``<plugin>.<entity>.<verb>``, e.g. ``core.party.created``.
    type: str
    #: Who caused it: ``user:<id>``, ``cli``, ``platform``, ``plugin:<name>``, …
    actor: str
    subject: Subject
    occurred_at: datetime
    #: The payload, validated against the event type's schema when it was published.
    payload: Mapping[str, Any] = field(default_factory=dict)
    #: Ids of the parties the event concerns besides its subject.
    related: tuple[int, ...] = ()
    #: Position in the outbox (publication order); ``None`` until written.
    sequence: int | None = None

    def to_dict(self) -> dict[str, Any]:
        """The JSON form sent to webhooks."""
        return {
            "id": self.id,
            "type": self.type,
            "tenant_id": self.tenant_id,
            "actor": self.actor,
            "subject": {"entity": self.subject.entity, "id": self.subject.id},
            "related": list(self.related),
            "occurred_at": self.occurred_at.isoformat(),
            "payload": dict(self.payload),
        }

    @classmethod
    def from_row(cls, row: Any) -> Event:
        """Build the envelope from a ``core_events`` row (ORM object or result row)."""
        return cls(
            id=row.event_id,
            tenant_id=row.tenant_id,
            type=row.type,
            actor=row.actor,
            subject=Subject(row.subject_type, row.subject_id),
            occurred_at=row.occurred_at,
            payload=row.payload or {},
            related=tuple(row.related or ()),
            sequence=row.id,
        )
