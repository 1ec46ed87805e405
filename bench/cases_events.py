"""Event bus cases: what publishing adds to a write transaction, and embedded delivery throughput.

``events.publish`` times one tenant write transaction (an audit entry) with and without publishing
an event in it: the difference of the two medians is the cost of publishing. ``events.deliver``
times publishing a batch of events, then relaying and delivering every one of them to three
subscribers through the embedded dispatcher's code, against hand-written SQL doing the same
bookkeeping (outbox rows, then one processed record per event and subscriber, in one transaction
each); the events/s figure is printed after the table.
"""

from __future__ import annotations

import atexit
import itertools
import time
from datetime import UTC, datetime

from sqlalchemy import select

from xrm_core import tenants
from xrm_core.events import get_bus, load_event_settings, publish
from xrm_core.events.models import Delivery, OutboxEvent
from xrm_core.models import AuditEntry

from .harness import Context, Pair, case, console, dataset

#: Events per timed operation of ``events.deliver``.
BATCH = 200
_throughput: dict[str, list[float]] = {}
#: Subscribers each delivered event reaches: the three above plus the core's own (the party timeline).
_subscribers: list[str] = []


@dataset("events")
def events_dataset(ctx: Context) -> int:
    """One tenant to publish in, with the platform's bus (three core subscribers)."""
    with ctx.platform.db.transaction(all_tenants=True) as session:
        tenant_id = tenants.create_tenant(session, "bench-events", "Bench events").id
    bus = get_bus(ctx.platform, load_event_settings(environ={}))
    for name in ("core.bench_one", "core.bench_two", "core.bench_three"):
        bus.subscribe(name, "core.*", lambda event: None)
    return tenant_id


@case("events.publish", "write transaction + publish(event) vs the same transaction without publishing")
def publish_overhead(ctx: Context) -> Pair:
    tenant_id = ctx.need(events_dataset)
    db = ctx.platform.db
    counter = itertools.count()

    def write(session) -> AuditEntry:
        entry = AuditEntry(actor="bench", action="party.touched", target=f"party:{next(counter)}", details={})
        session.add(entry)
        session.flush()
        return entry

    def platform():
        with db.transaction(tenant_id) as session:
            entry = write(session)
            publish(session, "core.party.updated", ("core_parties", entry.id), {"changed": ["display_name"]},
                    "user:1", related=[entry.id])
        return entry.id

    def raw():
        with db.transaction(tenant_id) as session:
            return write(session).id

    return Pair(platform, raw, lambda p, r: p > 0 and r > 0)


@case("events.deliver", f"{BATCH} events published, relayed and delivered to 3 subscribers (embedded) "
                        "vs raw SQL inserting the outbox and processed rows")
def deliver_throughput(ctx: Context) -> Pair:
    tenant_id = ctx.need(events_dataset)
    platform_ = ctx.platform
    bus = get_bus(platform_)
    db = platform_.db
    samples = _throughput.setdefault("events.deliver", [])
    _subscribers[:] = [s.name for s in bus.subscribers.for_event("core.party.updated", ())]
    serial = itertools.count()

    def platform():
        started = time.perf_counter()
        with db.transaction(tenant_id) as session:
            for i in range(BATCH):
                publish(session, "core.party.updated", ("core_parties", i), {"changed": ["tags"]}, "user:1")
        bus.run_until_idle(timeout=120)
        samples.append(time.perf_counter() - started)
        with db.session(all_tenants=True, read_only=True) as session:
            return session.scalar(select(Delivery.id).limit(1)) is None and session.scalar(
                select(OutboxEvent.id).where(OutboxEvent.relayed_at.is_(None)).limit(1)) is None

    def raw():
        base = next(serial)
        # A timestamp as each database takes it: SQLAlchemy's text form on SQLite, a datetime for psycopg.
        now = datetime.now(UTC)
        now = now.strftime("%Y-%m-%d %H:%M:%S.%f") if ctx.dialect == "sqlite" else now
        connection = db.engine.raw_connection()
        try:
            cursor = connection.cursor()
            rows = [(tenant_id, f"raw-{base}-{i}", "core.party.updated", "user:1", "core_parties", str(i), "[]",
                     now, '{"changed": ["tags"]}') for i in range(BATCH)]
            cursor.executemany(ctx.sql(
                "INSERT INTO core_events (tenant_id, event_id, type, actor, subject_type, subject_id, related, "
                "occurred_at, payload, relayed_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, NULL)"), rows)
            connection.commit()
            ids = [row[1] for row in rows]
            cursor.execute(ctx.sql(f"UPDATE core_events SET relayed_at = occurred_at WHERE event_id IN "
                                   f"({', '.join('?' for _ in ids)})"), ids)
            processed = [(tenant_id, f"raw-{base}-{i}", name, now) for i in range(BATCH)
                         for name in ("core.bench_one", "core.bench_two", "core.bench_three")]
            cursor.executemany(ctx.sql(
                "INSERT INTO core_event_processed (tenant_id, event_id, subscriber, processed_at) VALUES (?, ?, ?, ?)"),
                processed)
            connection.commit()
            cursor.close()
            return True
        finally:
            connection.close()

    return Pair(platform, raw, lambda p, r: p and r)


@atexit.register
def _report() -> None:
    samples = sorted(_throughput.get("events.deliver", []))
    if samples:
        median = samples[len(samples) // 2]
        console.print(f"events.deliver: {BATCH / median:,.0f} events/s end to end to {len(_subscribers)} subscribers "
                      f"({', '.join(_subscribers)}; median of {len(samples)} batches of {BATCH}; "
                      f"best {BATCH / samples[0]:,.0f} events/s)")
