"""Publishing: the event is written to the outbox in the publisher's own transaction.

A rolled-back transaction therefore publishes nothing and a committed one always publishes,
whatever happens to the process afterwards: the relay finds the row and delivers it. Receivers of
the blinker signals run before commit, inside the transaction (see :mod:`.signals`).
"""

from __future__ import annotations

import builtins
import random
import time
from collections.abc import Iterable, Mapping
from typing import Any

from sqlalchemy import event as sa_event
from sqlalchemy.orm import Session

from ..db import utcnow
from . import signals
from .bus import bus_for_session
from .catalogue import EventError
from .envelope import Event, Subject
from .models import OutboxEvent

_PUBLISHED = "xrm_events_published"
_OUTBOX = OutboxEvent.__table__
_COLUMNS = ("event_id", "tenant_id", "type", "actor", "subject_type", "subject_id", "related", "occurred_at", "payload")


class _Writer:
    """The outbox INSERT for one dialect, run on the transaction's own DBAPI connection.

    Publishing sits on every write path, so it skips the per-statement work of the ORM and of Core
    execution (about half of its cost on SQLite): the SQL is prepared once, and values go through
    the very bind processors SQLAlchemy itself would apply to these columns (dates, JSON).
    """

    def __init__(self, dialect):
        mark = "?" if dialect.paramstyle == "qmark" else "%s"
        self.returning = dialect.name != "sqlite"
        self.sql = (
            f"INSERT INTO {_OUTBOX.name} ({', '.join(_COLUMNS)}, relayed_at) "
            f"VALUES ({', '.join(mark for _ in _COLUMNS)}, NULL)" + (" RETURNING id" if self.returning else "")
        )
        processors = [_OUTBOX.c[name].type._cached_bind_processor(dialect) for name in _COLUMNS]
        #: Only the columns whose values need converting (JSON, dates on SQLite), by position.
        self.conversions = [(i, p) for i, p in enumerate(processors) if p is not None]

    def insert(self, session: Session, values: list) -> int:
        params = values
        for i, process in self.conversions:
            params[i] = process(params[i])
        cursor = session.connection().connection.cursor()
        try:
            cursor.execute(self.sql, params)
            return cursor.fetchone()[0] if self.returning else cursor.lastrowid
        finally:
            cursor.close()


_WRITERS: dict[str, _Writer] = {}


def new_event_id() -> str:
    """A UUIDv7 (RFC 9562): time-ordered, so consecutive events land together in the unique index.

    48 bits of Unix milliseconds, the version, 12 random bits, the variant, 62 random bits. Built
    here because a library's ``uuid7()`` draws its bits from the operating system (a system call per
    event) and builds a ``UUID`` object only to print it: a fifth of what publishing cost. The ids
    name events and guard nothing, so the process's own generator is enough; Python reseeds it in
    a forked child, so workers forked from one parent do not repeat each other's ids.
    """
    bits = ((time.time_ns() // 1_000_000) << 80 | 0x7 << 76 | random.getrandbits(12) << 64
            | 0b10 << 62 | random.getrandbits(62))
    text = f"{bits:032x}"
    return f"{text[:8]}-{text[8:12]}-{text[12:16]}-{text[16:20]}-{text[20:]}"


def _writer(session: Session) -> _Writer:
    dialect = session.get_bind().dialect
    writer = _WRITERS.get(dialect.name)
    if writer is None:
        writer = _WRITERS[dialect.name] = _Writer(dialect)
    return writer


def publish(
    session: Session,
    type: str,
    subject: Any,
    payload: Mapping[str, Any] | None,
    actor: str,
    related: Iterable[Any] = (),
    *,
    tenant_id: int | None = None,
) -> Event:
    """Publish an event in ``session``'s transaction and return it.

    :param session: A session scoped to the event's tenant (a platform session needs ``tenant_id``).
    :param type: A declared event type, ``<plugin>.<entity>.<verb>``.
    :param subject: What the event is about: a saved model, ``(entity, id)`` or a ``Subject``.
    :param payload: Validated against the type's marshmallow schema; stored as JSON.
    :param actor: Who caused it (``user:<id>``, ``cli``, ``platform``, ``plugin:<name>``, …).
    :param related: Ids (or saved objects) of the parties the event also concerns.
    :raises EventError: unknown type, refused payload or subject, no tenant. Nothing is written.
    """
    tenant = tenant_id if tenant_id is not None else session.info.get("tenant_id")
    if tenant is None:
        raise EventError(f"cannot publish {type}: the session has no tenant in scope")
    if tenant_id is not None and session.info.get("tenant_id") not in (None, tenant_id):
        raise EventError(f"cannot publish {type} for tenant {tenant_id} from a session of tenant {session.info['tenant_id']}")
    bus = bus_for_session(session)
    data = bus.catalogue.validate(type, payload)
    if hasattr(builtins.type(subject), "__tablename__") and getattr(subject, "id", 0) is None and subject in session:
        # A new object gets its id. The whole session is flushed, as the next query's autoflush or the
        # commit would do anyway (flushing only some objects is deprecated in SQLAlchemy 2.1).
        session.flush()
    try:
        the_subject = Subject.of(subject)
        related_ids = tuple(int(getattr(r, "id", r)) for r in related)
    except (TypeError, ValueError) as exc:
        raise EventError(f"cannot publish {type}: {exc}") from None
    if not actor:
        raise EventError(f"cannot publish {type}: name the actor")
    event_id, occurred_at = new_event_id(), utcnow()
    actor = str(actor)[:100]
    try:
        sequence = _writer(session).insert(session, [
            event_id, tenant, type, actor, the_subject.entity[:100], the_subject.id[:100],
            list(related_ids), occurred_at, data,
        ])
    except (TypeError, ValueError) as exc:  # a schema-validated payload holding a value JSON cannot encode
        raise EventError(f"the payload of {type} is not JSON: {exc}") from None
    event = Event(event_id, tenant, type, actor, the_subject, occurred_at, data, related_ids, sequence)
    signals.send(session, event)
    session.info[_PUBLISHED] = bus
    return event


@sa_event.listens_for(Session, "after_commit")
def _wake_after_commit(session: Session) -> None:
    bus = session.info.pop(_PUBLISHED, None)
    if bus is not None:
        bus.wake()
