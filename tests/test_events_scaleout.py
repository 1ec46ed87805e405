"""The scale-out path end to end: a real Redis, real ``xrm worker`` processes, no eager mode.

The test command starts Redis (scripts/redis.sh) and sets ``XRM_TEST_REDIS_URL``. Without it these
tests are skipped on a developer's machine and fail in CI (``CI`` set), so a broken setup can never
pass silently. The database is this test's (SQLite file or fresh PostgreSQL database); the workers
find it through the same ``XRM_*`` variables an operator would set.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections import Counter
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from plugin_dists import CORE, Dist
from sqlalchemy import func, select

from xrm_core import migrate, tenants
from xrm_core.events import get_bus, load_event_settings, publish
from xrm_core.events.models import DEAD, PENDING, Delivery, OutboxEvent, ProcessedEvent

LISTEN = Dist("xrm-fx-listen", "0.1.0", "listen", "xrm_fx_listen.plugin", (CORE,))
THING = "listen.thing.happened"
SUBSCRIBERS = ("listen.audit", "listen.xrm_on_event")
FIXTURE_PLUGINS = Path(__file__).parent / "fixture_plugins"
XRM = Path(sys.executable).with_name("xrm")


@pytest.fixture
def redis_url():
    url = os.environ.get("XRM_TEST_REDIS_URL")
    if not url:
        pytest.fail("XRM_TEST_REDIS_URL is not set: run the suite through 'make test' (or scripts/redis.sh), "
                    "which starts a real Redis for these tests")
    import redis

    client = redis.Redis.from_url(url)
    client.flushdb()  # no message left over from another test
    yield url
    client.flushdb()
    client.close()


@pytest.fixture
def scaled(make_platform, tmp_path, database_url, redis_url):
    """A migrated platform with ``listen`` enabled for acme, and a way to start ``xrm worker`` processes."""
    platform = make_platform(LISTEN)
    migrate.upgrade(platform)
    with platform.db.transaction(all_tenants=True) as session:
        acme = tenants.create_tenant(session, "acme", "ACME")
        tenants.enable_plugin(platform, session, acme, "listen")
        acme_id = acme.id
    site = next(tmp_path.glob("site-packages-*"))
    workers: list[subprocess.Popen] = []

    def start_worker(name: str, **settings: str) -> subprocess.Popen:
        env = {k: v for k, v in os.environ.items() if not k.startswith("XRM_")}
        env.update({
            "XRM_INSTANCE_PATH": str(platform.settings.instance_path),
            "XRM_DATABASE_URL": database_url,
            "XRM_BROKER_URL": redis_url,
            "XRM_EVENTS_POLL_S": "0.1",
            "XRM_PLUGINS": ",".join(platform.plugins) or "none",
            "XRM_EVENTS_RETRY_BASE_S": "0.05",
            "XRM_EVENTS_RETRY_CAP_S": "0.2",
            "PYTHONPATH": os.pathsep.join([str(site), str(FIXTURE_PLUGINS)]),
            **settings,
        })
        with open(tmp_path / f"worker-{name}.log", "wb") as log:  # the child keeps its own descriptor
            process = subprocess.Popen([str(XRM), "worker", "--concurrency", "2", "--loglevel", "WARNING"],
                                       env=env, stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL)
        process.log_path = tmp_path / f"worker-{name}.log"
        workers.append(process)
        return process

    yield platform, acme_id, start_worker
    for process in workers:
        if process.poll() is None:
            process.terminate()
            try:
                process.wait(15)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait(5)


def _counts(platform):
    from xrm_fx_listen.plugin import Effect

    with platform.db.session(all_tenants=True, read_only=True) as session:
        effects = Counter(session.execute(select(Effect.event_id, Effect.subscriber)).all())
        unrelayed = session.scalar(select(func.count()).select_from(OutboxEvent).where(OutboxEvent.relayed_at.is_(None)))
        # The listen plugin's subscribers only: core subscribers (the party timeline) get every event too.
        listen_delivery = Delivery.subscriber.in_(SUBSCRIBERS)
        pending = session.scalar(select(func.count()).select_from(Delivery).where(Delivery.status == PENDING,
                                                                                   listen_delivery))
        dead = session.scalar(select(func.count()).select_from(Delivery).where(Delivery.status == DEAD, listen_delivery))
        processed = session.scalar(select(func.count()).select_from(ProcessedEvent)
                                   .where(ProcessedEvent.subscriber.in_(SUBSCRIBERS)))
    return effects, unrelayed, pending, dead, processed


def _wait(predicate, timeout, workers=()):
    deadline = time.monotonic() + timeout
    while not predicate():
        for worker in workers:
            if worker.poll() is not None:
                raise AssertionError(f"worker exited with {worker.returncode}:\n{worker.log_path.read_text()[-3000:]}")
        if time.monotonic() > deadline:
            logs = "\n".join(w.log_path.read_text()[-3000:] for w in workers)
            raise AssertionError(f"not done after {timeout}s; worker logs:\n{logs}")
        time.sleep(0.05)


def _publish(platform, tenant_id, items):
    get_bus(platform, load_event_settings(environ={}))
    with platform.db.transaction(tenant_id) as session:
        return [publish(session, THING, ("thing", subject), payload, "cli") for subject, payload in items]


def test_workers_deliver_every_committed_event_once_in_order(scaled):
    platform, acme, start_worker = scaled
    workers = [start_worker("a"), start_worker("b")]
    items = [(i % 4, {"n": i}) for i in range(24)] + [(9, {"n": 99, "fail": 1, "only": "listen.audit"})]
    events = _publish(platform, acme, items)
    with pytest.raises(RuntimeError), platform.db.transaction(acme) as session:  # rolled back: never delivered
        publish(session, THING, ("thing", 1), {"n": -1}, "cli")
        raise RuntimeError("rolled back")

    expected = {(e.id, s) for e in events for s in SUBSCRIBERS}
    _wait(lambda: set(_counts(platform)[0]) >= expected and _counts(platform)[2] == 0, 90, workers)
    effects, unrelayed, pending, dead, processed = _counts(platform)
    assert set(effects) == expected and set(effects.values()) == {1}
    assert (unrelayed, pending, dead, processed) == (0, 0, 0, len(expected))

    from xrm_fx_listen.plugin import Effect

    with platform.db.session(acme, read_only=True) as session:
        rows = session.scalars(select(Effect).order_by(Effect.id)).all()
    assert {r.pid for r in rows} <= {w.pid for w in workers} and os.getpid() not in {r.pid for r in rows}
    for subscriber in SUBSCRIBERS:
        for subject in range(4):
            ns = [r.n for r in rows if r.subscriber == subscriber and r.subject == f"thing:{subject}"]
            assert ns == sorted(ns) and len(ns) == 6


def test_the_sweep_hands_out_only_ready_deliveries_not_queued_or_queued_too_long_ago(make_platform, redis_url):
    """The relay threads sweep at every turn: nothing while all is queued; released and stale ones in order."""
    import redis
    from sqlalchemy import update

    from xrm_core.events import relay
    from xrm_core.events.tasks import QUEUE

    platform = make_platform(LISTEN, broker_url=redis_url)
    migrate.upgrade(platform)
    with platform.db.transaction(all_tenants=True) as session:
        acme = tenants.create_tenant(session, "acme", "ACME")
        tenants.enable_plugin(platform, session, acme, "listen")
        acme_id = acme.id
    bus = get_bus(platform, load_event_settings(environ={}, requeue_after_s=60))
    first, second = _publish(platform, acme_id, [(1, {"n": 1}), (1, {"n": 2})])
    assert relay.relay(bus) == 2
    queue = redis.Redis.from_url(redis_url)
    handed = queue.llen(QUEUE)
    assert handed >= 1 and relay.sweep(bus) == 0  # every delivery is queued
    with platform.db.transaction(all_tenants=True) as session:
        per_event = session.scalar(select(func.count()).select_from(Delivery).where(Delivery.event_pk == first.sequence))
        session.execute(update(Delivery).values(queued_at=None))  # as workers release what waits behind
    assert relay.sweep(bus) == per_event  # the first event's deliveries; the second's wait behind them
    assert relay.sweep(bus) == 0 and queue.llen(QUEUE) == handed + 1
    with platform.db.transaction(all_tenants=True) as session:
        session.execute(update(Delivery).where(Delivery.event_pk == first.sequence)
                        .values(queued_at=datetime.now(UTC) - timedelta(minutes=5)))  # a worker died with them
    assert relay.sweep(bus) == per_event
    with platform.db.session(all_tenants=True, read_only=True) as session:
        assert session.scalar(select(func.count()).select_from(Delivery).where(
            Delivery.event_pk == second.sequence, Delivery.queued_at.is_(None))) == per_event


def test_a_worker_killed_mid_handler_loses_nothing_and_applies_nothing_twice(scaled, tmp_path):
    platform, acme, start_worker = scaled
    victim = start_worker("victim", XRM_EVENTS_REQUEUE_AFTER_S="1")
    hold = tmp_path / "hold"
    hold.write_text("")
    events = _publish(platform, acme, [(0, {"n": 0, "hold": str(hold)})] + [(i % 3, {"n": i}) for i in range(1, 10)])
    _wait(lambda: Path(str(hold) + ".started").exists(), 60, [victim])
    os.kill(victim.pid, signal.SIGKILL)  # in the middle of a handler, its transaction open
    victim.wait(10)
    hold.unlink()

    survivor = start_worker("survivor", XRM_EVENTS_REQUEUE_AFTER_S="1")
    expected = {(e.id, s) for e in events for s in SUBSCRIBERS}
    _wait(lambda: set(_counts(platform)[0]) >= expected and _counts(platform)[2] == 0, 90, [survivor])
    effects, unrelayed, pending, dead, processed = _counts(platform)
    assert set(effects) == expected and set(effects.values()) == {1}, "each event applied exactly once per subscriber"
    assert (unrelayed, pending, dead, processed) == (0, 0, 0, len(expected))


class _Redis:
    """A Redis server of this test's own, to stop and start again (same port, nothing persisted)."""

    def __init__(self, folder: Path):
        import shutil
        import socket

        self.binary = shutil.which("redis-server")
        if self.binary is None:
            pytest.fail("redis-server is not installed (scripts/redis.sh installs it)")
        with socket.socket() as probe:
            probe.bind(("127.0.0.1", 0))
            self.port = probe.getsockname()[1]
        self.folder = folder
        self.url = f"redis://127.0.0.1:{self.port}/0"
        self.process: subprocess.Popen | None = None

    def start(self) -> None:
        import redis

        self.process = subprocess.Popen(
            [self.binary, "--bind", "127.0.0.1", "--port", str(self.port), "--dir", str(self.folder), "--save", "",
             "--appendonly", "no", "--maxmemory-policy", "noeviction"],
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, stdin=subprocess.DEVNULL)
        client = redis.Redis.from_url(self.url)
        _wait(lambda: _pings(client), 10)
        client.close()

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.kill()
            self.process.wait(10)


def _pings(client) -> bool:
    import redis

    try:
        return client.ping()
    except redis.ConnectionError:
        return False


def test_events_committed_while_redis_is_down_are_delivered_once_it_is_back(scaled, tmp_path, monkeypatch):
    platform, acme, start_worker = scaled
    server = _Redis(tmp_path)
    server.start()
    try:
        worker = start_worker("steady", XRM_BROKER_URL=server.url)
        before = _publish(platform, acme, [(i % 2, {"n": i}) for i in range(4)])
        _wait(lambda: len(_counts(platform)[0]) == 8, 60, [worker])

        server.stop()
        during = _publish(platform, acme, [(i % 2, {"n": i}) for i in range(4, 8)])
        time.sleep(1.0)  # the relay tries, fails, and leaves them queued in the database
        server.start()

        expected = {(e.id, s) for e in before + during for s in SUBSCRIBERS}
        _wait(lambda: set(_counts(platform)[0]) >= expected and _counts(platform)[2] == 0, 90, [worker])
        effects, unrelayed, pending, dead, processed = _counts(platform)
        assert set(effects) == expected and set(effects.values()) == {1}
        assert (unrelayed, pending, dead, processed) == (0, 0, 0, len(expected))
    finally:
        server.stop()
