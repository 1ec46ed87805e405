"""The event bus in embedded mode, on a real database: publish, relay, deliver, retry, dead-letter.

No mocks and no Celery: events go through the outbox table and are delivered by the same code the
embedded dispatcher thread runs. The ``listen`` fixture plugin writes one ``Effect`` row per event
it handles, through the session it is given, so counting effects counts applications.
"""

from __future__ import annotations

import gc
import random
import time
from datetime import UTC, datetime, timedelta

import pytest
from click.testing import CliRunner
from flask.cli import ScriptInfo
from plugin_dists import CORE, Dist
from sqlalchemy import delete, func, select, update
from xrm_fx_listen.plugin import ATTEMPTS, Effect

from xrm_core import migrate, tenants
from xrm_core.app import create_app
from xrm_core.cli import cli
from xrm_core.events import (
    EventError,
    Subject,
    connect,
    deadletter,
    delivery,
    get_bus,
    load_event_settings,
    publish,
    relay,
    signals,
)
from xrm_core.events.delivery import backoff
from xrm_core.events.models import DEAD, Delivery, OutboxEvent, ProcessedEvent
from xrm_core.events.settings import EventSettings
from xrm_core.models import AuditEntry, Tenant

LISTEN = Dist("xrm-fx-listen", "0.1.0", "listen", "xrm_fx_listen.plugin", (CORE,))
THING = "listen.thing.happened"
AUDIT, ON_EVENT = "listen.audit", "listen.xrm_on_event"
#: Retries within milliseconds, three attempts, so retry and dead-letter tests finish at once.
FAST = {"retry_base_s": 0.01, "retry_cap_s": 0.04, "max_attempts": 3, "poll_s": 0.05}


@pytest.fixture(autouse=True)
def _fresh_attempts():
    ATTEMPTS.clear()


@pytest.fixture
def world(make_platform):
    """A platform with ``listen`` enabled for acme and not for beta, and its (fast-retrying) bus."""
    platform = make_platform(LISTEN, "notes")
    migrate.upgrade(platform)
    with platform.db.transaction(all_tenants=True) as session:
        acme = tenants.create_tenant(session, "acme", "ACME")
        beta = tenants.create_tenant(session, "beta", "Beta")
        tenants.enable_plugin(platform, session, acme, "listen")
        tenants.enable_plugin(platform, session, beta, "notes")
        ids = acme.id, beta.id
    bus = get_bus(platform, load_event_settings(environ={}, **FAST))
    yield platform, bus, ids
    bus.stop()


def effects(platform, tenant_id, subscriber=None):
    with platform.db.session(tenant_id, read_only=True) as session:
        query = select(Effect).order_by(Effect.id)
        if subscriber:
            query = query.where(Effect.subscriber == subscriber)
        return list(session.scalars(query))


def count(platform, model, **where):
    """Rows of ``model``; for deliveries and processed records, only those of the listen plugin's
    subscribers (core subscribers, such as the party timeline, receive every event too)."""
    with platform.db.session(all_tenants=True, read_only=True) as session:
        query = select(func.count()).select_from(model)
        if hasattr(model, "subscriber"):
            query = query.where(model.subscriber.startswith("listen."))
        for column, value in where.items():
            query = query.where(getattr(model, column) == value)
        return session.scalar(query)


def drain(bus, until, timeout=20.0):
    """Run the bus in this thread until ``until()`` holds (retries are due within milliseconds)."""
    deadline = time.monotonic() + timeout
    while not until():
        if time.monotonic() > deadline:
            raise AssertionError("the condition did not hold before the deadline")
        if not bus.step():
            time.sleep(0.005)


EVENT_TABLES = {"core_events", "core_event_deliveries", "core_event_processed", "core_webhooks", "core_webhook_attempts"}


def test_the_events_migration_creates_exactly_what_the_models_declare(world):
    from alembic.autogenerate import compare_metadata
    from alembic.runtime.migration import MigrationContext

    from xrm_core.db import Model

    platform, _, _ = world

    def ours(_object, name, type_, _reflected, _compare_to):
        return type_ != "table" or name in EVENT_TABLES

    with platform.db.engine.connect() as connection:
        context = MigrationContext.configure(connection, opts={"compare_type": True, "include_object": ours})
        assert compare_metadata(context, Model.metadata) == []
    assert EVENT_TABLES <= migrate.table_names(platform)


# -- publishing ---------------------------------------------------------------------------------


def test_publish_writes_the_envelope_to_the_outbox_in_the_callers_transaction(world):
    platform, _bus, (acme, _) = world
    with platform.db.transaction(acme) as session:
        event = publish(session, THING, ("thing", 7), {"n": 1}, "user:3", related=[11, 12])
        assert event.sequence is not None
    with platform.db.session(acme, read_only=True) as session:
        row = session.scalar(select(OutboxEvent))
    assert (row.event_id, row.tenant_id, row.type, row.actor) == (event.id, acme, THING, "user:3")
    assert (row.subject_type, row.subject_id, row.related, row.relayed_at) == ("thing", "7", [11, 12], None)
    assert row.payload == {"n": 1, "fail": None, "only": None, "hold": None}  # loaded and dumped by the schema
    assert event.subject == Subject("thing", "7") and event.occurred_at.tzinfo is not None
    assert event.to_dict()["subject"] == {"entity": "thing", "id": "7"}


def test_a_bad_payload_or_type_is_a_clear_error_and_writes_nothing(world):
    platform, _, (acme, _) = world
    with platform.db.transaction(acme) as session:
        with pytest.raises(EventError, match=r"invalid payload for listen\.thing\.happened: n: Missing data"):
            publish(session, THING, ("thing", 1), {}, "cli")
        with pytest.raises(EventError, match=r"n: Not a valid integer"):
            publish(session, THING, ("thing", 1), {"n": "many"}, "cli")
        with pytest.raises(EventError, match=r"unknown event type 'listen\.thing\.exploded'"):
            publish(session, "listen.thing.exploded", ("thing", 1), {"n": 1}, "cli")
        with pytest.raises(EventError, match="not JSON"):
            publish(session, "listen.other.happened", ("thing", 1), {"when": object()}, "cli")
        with pytest.raises(EventError, match="subject"):
            publish(session, THING, "thing 1", {"n": 1}, "cli")
    with platform.db.session(all_tenants=True) as session, pytest.raises(EventError, match="no tenant in scope"):
        publish(session, THING, ("thing", 1), {"n": 1}, "cli")
    assert count(platform, OutboxEvent) == 0


def test_the_catalogue_holds_core_and_plugin_types_and_refuses_badly_named_ones(world, make_platform):
    _, bus, _ = world
    names = {t.name for t in bus.catalogue}
    assert {"core.party.created", "core.relationship.ended", THING, "listen.other.happened"} <= names
    assert bus.catalogue.owners[THING] == "listen"
    kitchen = make_platform("kitchen")
    kitchen_types = {t.name for t in get_bus(kitchen).catalogue}
    assert "kitchen.order.placed" in kitchen_types and "order.placed" not in kitchen_types


def test_a_rolled_back_transaction_publishes_nothing_and_signals_run_inside_it(world):
    platform, bus, (acme, _) = world
    seen = []

    def receiver(session, event):  # a local function: only a strong connection keeps it alive
        seen.append(event.type)
        session.add(AuditEntry(actor="test", action="heard", target=event.id))

    connect(THING, receiver)
    del receiver
    gc.collect()
    try:
        with pytest.raises(RuntimeError, match="changed my mind"), platform.db.transaction(acme) as session:
            publish(session, THING, ("thing", 1), {"n": 1}, "cli")
            raise RuntimeError("changed my mind")
        assert seen == [THING]
        assert count(platform, OutboxEvent) == 0 and count(platform, AuditEntry, action="heard") == 0
        bus.run_until_idle()
        assert effects(platform, acme) == []

        with platform.db.transaction(acme) as session:
            publish(session, THING, ("thing", 1), {"n": 2}, "cli")
        assert seen == [THING, THING] and count(platform, AuditEntry, action="heard") == 1
    finally:
        for receiver in list(signals.signal(THING).receivers_for(None)):
            signals.disconnect(THING, receiver)


# -- delivery -----------------------------------------------------------------------------------


def test_hook_xrm_on_event(world):
    """The dispatcher thread delivers after commit, to the plugin's hook and its EventHandler."""
    platform, bus, (acme, _) = world
    bus.start()
    with platform.db.transaction(acme) as session:
        published = [publish(session, THING, ("thing", i), {"n": i}, "cli") for i in range(3)]
        publish(session, "listen.other.happened", ("other", 1), {"free": "form"}, "cli")
    deadline = time.monotonic() + 10
    while len(effects(platform, acme)) < 7 and time.monotonic() < deadline:
        time.sleep(0.01)
    rows = effects(platform, acme)
    assert sorted((e.subscriber, e.n) for e in rows if e.event_type == THING) == sorted(
        [(ON_EVENT, i) for i in range(3)] + [(AUDIT, i) for i in range(3)])
    assert [e.subscriber for e in rows if e.event_type == "listen.other.happened"] == [ON_EVENT]  # audit: thing.* only
    assert {e.event_id for e in rows if e.event_type == THING} == {p.id for p in published}
    assert count(platform, ProcessedEvent) == 7 and count(platform, Delivery) == 0


def test_events_of_a_tenant_where_the_plugin_is_disabled_never_reach_it(world):
    platform, bus, (acme, beta) = world
    with platform.db.transaction(beta) as session:
        publish(session, THING, ("thing", 1), {"n": 1}, "cli")
    bus.run_until_idle()
    assert effects(platform, beta) == [] and count(platform, Delivery) == 0

    # Disabled between the relay and the delivery: skipped, not failed.
    with platform.db.transaction(acme) as session:
        publish(session, THING, ("thing", 2), {"n": 2}, "cli")
    relay.relay(bus)
    assert count(platform, Delivery) == 2
    with platform.db.transaction(all_tenants=True) as session:
        tenants.disable_plugin(platform, session, session.get(Tenant, acme), "listen")
    bus.run_until_idle()
    assert effects(platform, acme) == [] and count(platform, Delivery) == 0 and count(platform, ProcessedEvent) == 0


def test_a_redelivered_event_has_no_second_effect(world):
    platform, bus, (acme, _) = world
    with platform.db.transaction(acme) as session:
        event = publish(session, THING, ("thing", 1), {"n": 1}, "cli")
    bus.run_until_idle()
    assert len(effects(platform, acme)) == 2

    # The relay crashed after delivering but before its commit was seen: the event is relayed again.
    with platform.db.transaction(all_tenants=True) as session:
        session.execute(update(OutboxEvent).values(relayed_at=None))
    bus.run_until_idle()
    assert len(effects(platform, acme)) == 2
    assert count(platform, Delivery) == 0 and count(platform, ProcessedEvent, event_id=event.id) == 2
    assert sum(ATTEMPTS.values()) >= 4  # the handlers did run again, but their writes were refused


@pytest.mark.parametrize("first_round", ["relay then deliver (as with workers)", "straight from the outbox"])
def test_one_subjects_events_reach_each_subscriber_in_order_while_others_proceed(world, first_round):
    platform, bus, (acme, _) = world
    with platform.db.transaction(acme) as session:
        # Event 1 of thing:1 fails twice for the audit handler only; thing:2 is unrelated.
        publish(session, THING, ("thing", 1), {"n": 1, "fail": 2, "only": AUDIT}, "cli")
        for n in (2, 3, 4):
            publish(session, THING, ("thing", 1), {"n": n}, "cli")
        publish(session, THING, ("thing", 2), {"n": 100}, "cli")
    if first_round.startswith("relay"):
        relay.relay(bus)
        delivery.deliver(bus)  # one round: audit's event 1 failed, its events 2-4 wait; the rest ran
        assert sorted(e.n for e in effects(platform, acme, ON_EVENT)) == [1, 100]
    else:
        assert delivery.deliver_outbox(bus) == 5  # audit's event 1 failed: it and its events 2-4 become rows
        assert sorted(e.n for e in effects(platform, acme, ON_EVENT)) == [1, 2, 3, 4, 100]
        with platform.db.session(all_tenants=True) as session:
            rows = session.execute(select(Delivery.subscriber, Delivery.attempts).order_by(Delivery.event_pk)).all()
        assert rows == [(AUDIT, 1), (AUDIT, 0), (AUDIT, 0), (AUDIT, 0)]
    assert [e.n for e in effects(platform, acme, AUDIT)] == [100]
    drain(bus, lambda: len(effects(platform, acme, AUDIT)) == 5)
    assert [e.n for e in effects(platform, acme, ON_EVENT) if e.subject == "thing:1"] == [1, 2, 3, 4]
    assert [e.n for e in effects(platform, acme, AUDIT) if e.subject == "thing:1"] == [1, 2, 3, 4]
    assert ATTEMPTS[next(k for k in ATTEMPTS if k[1] == AUDIT and ATTEMPTS[k] > 1)] == 3


def test_a_failing_subscriber_is_retried_with_backoff_then_dead_lettered_and_others_are_unaffected(world):
    platform, bus, (acme, _) = world
    with platform.db.transaction(acme) as session:
        doomed = publish(session, THING, ("thing", 1), {"n": 1, "fail": 3, "only": AUDIT}, "cli")
        publish(session, THING, ("thing", 2), {"n": 2}, "cli")
    drain(bus, lambda: count(platform, Delivery, status=DEAD) == 1)
    assert ATTEMPTS[(doomed.id, AUDIT)] == 3
    assert sorted(e.n for e in effects(platform, acme, ON_EVENT)) == [1, 2]
    assert [e.n for e in effects(platform, acme, AUDIT)] == [2]  # the failed attempts' writes were rolled back
    with platform.db.session(all_tenants=True) as session:
        [failure] = deadletter.failed(session)
    assert (failure.subscriber, failure.event_id, failure.attempts) == (AUDIT, doomed.id, 3)
    assert failure.last_error == "RuntimeError: listen.audit refuses event 1"

    with platform.db.transaction(all_tenants=True) as session:
        deadletter.retry(session, failure.id)
    bus.run_until_idle()
    assert sorted(e.n for e in effects(platform, acme, AUDIT)) == [1, 2]  # the 4th attempt succeeded
    assert count(platform, Delivery) == 0


def test_backoff_is_exponential_capped_and_jittered():
    settings = EventSettings(retry_base_s=10, retry_cap_s=100)
    rng = random.Random(7)
    for attempts, full in ((1, 10), (2, 20), (3, 40), (4, 80), (5, 100), (9, 100)):
        delays = [backoff(settings, attempts, rng) for _ in range(50)]
        assert all(full / 2 <= d <= full for d in delays)
        assert len(set(delays)) > 1


def test_the_dispatcher_thread_waits_for_the_next_retry_and_stops_cleanly(world):
    platform, bus, (acme, _) = world
    dispatcher = bus.start()
    assert bus.start() is dispatcher
    with platform.db.transaction(acme) as session:
        publish(session, THING, ("thing", 1), {"n": 1, "fail": 1, "only": AUDIT}, "cli")
    deadline = time.monotonic() + 10
    while len(effects(platform, acme)) < 2 and time.monotonic() < deadline:
        time.sleep(0.01)
    assert sorted(e.subscriber for e in effects(platform, acme)) == [AUDIT, ON_EVENT]
    bus.stop()
    assert not dispatcher.is_alive()


def test_a_subscriber_can_be_replayed_from_a_point_in_time(world):
    platform, bus, (_acme, beta) = world
    with platform.db.transaction(beta) as session:
        for n in range(3):
            publish(session, THING, ("thing", n), {"n": n}, "cli")
    bus.run_until_idle()
    with platform.db.transaction(all_tenants=True) as session:
        with pytest.raises(Exception, match="not enabled for this tenant"):
            deadletter.replay(bus, session, beta, AUDIT, datetime.now(UTC) - timedelta(hours=1))
        tenants.enable_plugin(platform, session, session.get(Tenant, beta), "listen")
    with platform.db.transaction(all_tenants=True) as session:
        assert deadletter.replay(bus, session, beta, AUDIT, datetime.now(UTC) - timedelta(hours=1)) == 3
        assert deadletter.replay(bus, session, beta, AUDIT, datetime.now(UTC) - timedelta(hours=1)) == 0
    bus.run_until_idle()
    assert sorted(e.n for e in effects(platform, beta, AUDIT)) == [0, 1, 2]
    assert effects(platform, beta, ON_EVENT) == []  # only the replayed subscriber
    with platform.db.transaction(all_tenants=True) as session:
        assert deadletter.replay(bus, session, beta, AUDIT, datetime.now(UTC) - timedelta(hours=1)) == 0


def test_core_subscribers_receive_every_tenants_events(world):
    platform, bus, (acme, beta) = world
    heard = []
    bus.subscribe("core.timeline_probe", "listen.*", lambda event, tenant: heard.append((tenant.slug, event.type)))
    with pytest.raises(ValueError, match="core.<name>"):
        bus.subscribe("timeline", "*", lambda event: None)
    for tenant_id in (acme, beta):
        with platform.db.transaction(tenant_id) as session:
            publish(session, THING, ("thing", 1), {"n": 1}, "cli")
    bus.run_until_idle()
    assert sorted(heard) == [("acme", THING), ("beta", THING)]


# -- command line -------------------------------------------------------------------------------


def _cli(platform, *args):
    info = ScriptInfo(create_app=lambda: create_app(platform=platform))
    return CliRunner().invoke(cli, list(args), obj=info, prog_name="xrm")


def test_cli_events_list_failed_retry_and_replay(world):
    platform, bus, (acme, _beta) = world
    with platform.db.transaction(acme) as session:
        publish(session, THING, ("thing", 1), {"n": 1, "fail": "always", "only": AUDIT}, "user:9")
        publish(session, "listen.other.happened", ("other", 2), {}, "cli")
    drain(bus, lambda: count(platform, Delivery, status=DEAD) == 1)

    listed = _cli(platform, "events", "list", "--tenant", "acme", "--type", "listen.thing.*")
    assert listed.exit_code == 0, listed.output
    assert THING in listed.output and "thing:1" in listed.output and "other" not in listed.output
    assert "No events" in _cli(platform, "events", "list", "--tenant", "acme", "--since", "2999-01-01").output
    bad = _cli(platform, "events", "list", "--tenant", "acme", "--since", "yesterday")
    assert bad.exit_code == 1 and "Error: 'yesterday' is not a date" in bad.output

    failed = _cli(platform, "events", "failed")
    assert failed.exit_code == 0 and AUDIT in failed.output and "refuses event 1" in failed.output
    with platform.db.session(all_tenants=True) as session:
        [failure] = deadletter.failed(session)
    retried = _cli(platform, "events", "retry", str(failure.id))
    assert retried.exit_code == 0 and f"Delivery {failure.id} queued again" in retried.output
    again = _cli(platform, "events", "retry", str(failure.id))
    assert again.exit_code == 1 and "is not in the dead-letter list" in again.output
    assert "No failed deliveries" in _cli(platform, "events", "failed", "--tenant", "beta").output

    with platform.db.transaction(all_tenants=True) as session:
        session.execute(delete(Delivery))
    replayed = _cli(platform, "events", "replay", "--tenant", "acme", "--subscriber", ON_EVENT, "--since", "2000-01-01")
    assert replayed.exit_code == 0 and "Queued 0 event(s)" in replayed.output  # it processed both already
    replayed = _cli(platform, "events", "replay", "--tenant", "acme", "--subscriber", AUDIT, "--since", "2000-01-01")
    assert "Queued 1 event(s) for listen.audit in acme" in replayed.output
    unknown = _cli(platform, "events", "replay", "--tenant", "acme", "--subscriber", "nobody.home", "--since", "2000-01-01")
    assert unknown.exit_code == 1 and "no subscriber 'nobody.home'" in unknown.output


def test_cli_worker_refuses_without_a_broker(world):
    platform, _, _ = world
    result = _cli(platform, "worker")
    assert result.exit_code == 1
    assert result.output.startswith("Error: XRM_BROKER_URL is not set") and len(result.output.splitlines()) == 1


# -- processes ----------------------------------------------------------------------------------

PUBLISH_AND_DIE = """
import os, signal, sys
from xrm_core.config import load_settings
from xrm_core.events import get_bus, publish
from xrm_core.platform import Platform

platform = Platform(load_settings())
get_bus(platform)
with platform.db.transaction(int(sys.argv[1])) as session:
    for n in range(5):
        publish(session, "listen.thing.happened", ("thing", n % 2), {"n": n}, "user:1")
os.kill(os.getpid(), signal.SIGKILL)  # committed, never relayed
"""


def test_events_of_a_web_process_killed_after_commit_are_delivered_by_the_next_xrm_serve(world, tmp_path, database_url):
    import os
    import signal
    import socket
    import subprocess
    import sys
    from pathlib import Path

    platform, _, (acme, _) = world
    site = next(tmp_path.glob("site-packages-*"))
    env = {k: v for k, v in os.environ.items() if not k.startswith("XRM_")}
    env.update(XRM_INSTANCE_PATH=str(platform.settings.instance_path), XRM_DATABASE_URL=database_url,
               XRM_EVENTS_POLL_S="0.1", XRM_PLUGINS=",".join(platform.plugins),
               PYTHONPATH=os.pathsep.join([str(site), str(Path(__file__).parent / "fixture_plugins")]))
    died = subprocess.run([sys.executable, "-c", PUBLISH_AND_DIE, str(acme)], env=env, capture_output=True,
                          timeout=60, check=False)
    assert died.returncode == -signal.SIGKILL, died.stderr.decode()[-2000:]
    assert count(platform, OutboxEvent) == 5 and count(platform, Delivery) == 0 and effects(platform, acme) == []

    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    log = tmp_path / "serve.log"
    with open(log, "wb") as output:
        server = subprocess.Popen([str(Path(sys.executable).with_name("xrm")), "serve", "--port", str(port)],
                                  env=env, stdout=output, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL)
    try:
        deadline = time.monotonic() + 60
        while len(effects(platform, acme)) < 10:
            assert server.poll() is None, log.read_text()[-3000:]
            assert time.monotonic() < deadline, log.read_text()[-3000:]
            time.sleep(0.05)
        rows = effects(platform, acme)
        assert {r.pid for r in rows} == {server.pid}
        assert [r.n for r in rows if r.subscriber == AUDIT and r.subject == "thing:0"] == [0, 2, 4]
        assert count(platform, ProcessedEvent) == 10 and count(platform, Delivery) == 0
        assert "events delivered in-process" in log.read_text()
    finally:
        server.terminate()
        server.wait(15)


def test_a_worker_batch_releases_the_deliveries_it_cannot_run_yet_even_when_a_handler_fails(world):
    """Celery hands a batch of ids: those waiting behind an earlier event are released for the sweep."""
    platform, bus, (acme, _) = world
    with platform.db.transaction(acme) as session:
        first = publish(session, THING, ("thing", 1), {"n": 1, "fail": 1, "only": AUDIT}, "cli")
        second = publish(session, THING, ("thing", 1), {"n": 2}, "cli")
    relay.relay(bus)
    with platform.db.transaction(all_tenants=True) as session:
        session.execute(update(Delivery).values(queued_at=datetime.now(UTC)))  # as the relay does for Celery
        ids = list(session.scalars(select(Delivery.id).where(Delivery.subscriber.startswith("listen."))))
    outcome = delivery.deliver(bus, ids=ids)
    assert (outcome.done, outcome.failed, outcome.blocked) == (1, 1, 2)  # on_event(1) done, audit(1) failed
    with platform.db.session(all_tenants=True) as session:
        left = {(d.subscriber, d.event_pk): d.queued_at
                for d in session.scalars(select(Delivery).where(Delivery.subscriber.startswith("listen.")))}
    assert left == {(AUDIT, first.sequence): None, (AUDIT, second.sequence): None, (ON_EVENT, second.sequence): None}
