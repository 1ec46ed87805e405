"""Periodic jobs: the registry, the embedded runner of ``xrm serve``, and Celery beat with real workers."""

from __future__ import annotations

import os
import subprocess
import sys
import threading
import time
from datetime import timedelta
from pathlib import Path

import pytest
from click.testing import CliRunner
from sqlalchemy import select, update

from xrm_core import migrate, tenants
from xrm_core.cli import cli
from xrm_core.db import utcnow
from xrm_core.errors import NotFound
from xrm_core.events import get_bus, load_event_settings, publish, schedule
from xrm_core.events.celery_app import make_celery
from xrm_core.events.models import OutboxEvent
from xrm_core.events.schedule import register_periodic, run_job
from xrm_core.events.tasks import PERIODIC_TASK, QUEUE

XRM = Path(sys.executable).with_name("xrm")


@pytest.fixture(autouse=True)
def registry(monkeypatch):
    """Each test registers its own jobs, which vanish with it."""
    monkeypatch.setattr(schedule, "_REGISTERED", {})


@pytest.fixture
def acme(make_platform):
    platform = make_platform()
    migrate.upgrade(platform)
    with platform.db.transaction(all_tenants=True) as session:
        tenant_id = tenants.create_tenant(session, "acme", "ACME").id
    yield platform, tenant_id
    get_bus(platform).stop()


def _old_delivered_event(platform, tenant_id) -> str:
    """A delivered event aged 40 days: what pruning removes."""
    bus = get_bus(platform)
    with platform.db.transaction(tenant_id) as session:
        event_id = publish(session, "core.party.updated", ("core_parties", 1), {"changed": ["tags"]}, "cli").id
    bus.run_until_idle()
    with platform.db.transaction(all_tenants=True) as session:
        session.execute(update(OutboxEvent).where(OutboxEvent.event_id == event_id)
                        .values(occurred_at=utcnow() - timedelta(days=40)))
    return event_id


def _exists(platform, event_id: str) -> bool:
    with platform.db.session(all_tenants=True, read_only=True) as session:
        return session.scalar(select(OutboxEvent.id).where(OutboxEvent.event_id == event_id)) is not None


def _wait(predicate, timeout: float, what: str, processes=()) -> None:
    deadline = time.monotonic() + timeout
    while not predicate():
        for process in processes:
            if process.poll() is not None:
                raise AssertionError(f"{what}: a process exited with {process.returncode}:\n"
                                     f"{process.log_path.read_text()[-3000:]}")
        if time.monotonic() > deadline:
            logs = "\n".join(p.log_path.read_text()[-3000:] for p in processes)
            raise AssertionError(f"{what}: not done after {timeout}s\n{logs}")
        time.sleep(0.05)


def test_jobs_are_named_area_dot_job_and_run_every_positive_interval():
    for name in ("timers", "Workflows.timers", "workflows.timers.extra", ""):
        with pytest.raises(ValueError, match="<area>.<job>"):
            register_periodic(name, 10, lambda platform: None)
    for seconds in (0, -1):
        with pytest.raises(ValueError, match="positive"):
            register_periodic("workflows.timers", seconds, lambda platform: None)
    register_periodic("workflows.timers", 30, lambda platform: None)
    assert schedule._REGISTERED["workflows.timers"].seconds == 30.0


def test_embedded_mode_runs_every_job_on_time_in_the_background_and_survives_a_failing_one(acme):
    platform, _tenant_id = acme
    calls: list[object] = []
    ran = threading.Event()

    def count(p):
        calls.append(p)
        if len(calls) >= 3:
            ran.set()

    def broken(_p):
        raise RuntimeError("this job always fails")

    register_periodic("tests.count", 0.05, count)
    register_periodic("tests.broken", 0.05, broken)
    bus = get_bus(platform, load_event_settings(environ={}, poll_s=0.05))
    assert set(schedule.jobs_for(bus)) == {"events.prune", "tests.count", "tests.broken"}  # no sweep embedded
    bus.start()
    assert ran.wait(10), "the periodic job did not run three times"
    bus.stop()
    assert all(p is platform for p in calls)
    stopped_at = len(calls)
    time.sleep(0.2)
    assert len(calls) == stopped_at  # stopping the bus stops its jobs


def test_embedded_mode_prunes_on_schedule(acme):
    platform, tenant_id = acme
    get_bus(platform, load_event_settings(environ={}, poll_s=0.05, prune_every_s=0.1))
    old = _old_delivered_event(platform, tenant_id)
    recent = _old_delivered_event(platform, tenant_id)
    with platform.db.transaction(all_tenants=True) as session:
        session.execute(update(OutboxEvent).where(OutboxEvent.event_id == recent).values(occurred_at=utcnow()))
    get_bus(platform).start()
    _wait(lambda: not _exists(platform, old), 10, "pruning")
    assert _exists(platform, recent)


def test_an_unknown_job_is_a_clear_error(acme):
    platform, _tenant_id = acme
    with pytest.raises(NotFound, match="no periodic job 'tests.nope' \\(known: events.prune\\)"):
        run_job(get_bus(platform), "tests.nope")


def test_the_beat_schedule_holds_every_job_and_never_lets_messages_pile_up(acme, make_platform):
    register_periodic("workflows.timers", 30, lambda p: None)
    scaled = make_platform(broker_url="redis://127.0.0.1:1/0")  # never contacted: only the configuration
    bus = get_bus(scaled, load_event_settings(environ={}, prune_every_s=600, sweep_every_s=20))
    beat = make_celery(bus).conf.beat_schedule
    assert beat == {
        name: {"task": PERIODIC_TASK, "schedule": seconds, "args": [name],
               "options": {"queue": QUEUE, "expires": seconds}}
        for name, seconds in (("events.prune", 600.0), ("events.sweep", 20.0), ("workflows.timers", 30.0))
    }


def test_xrm_beat_needs_a_broker(acme, monkeypatch):
    platform, _tenant_id = acme
    monkeypatch.delenv("XRM_BROKER_URL", raising=False)
    monkeypatch.setenv("XRM_INSTANCE_PATH", str(platform.settings.instance_path))
    monkeypatch.setenv("XRM_DATABASE_URL", platform.settings.database_url)
    result = CliRunner().invoke(cli, ["beat"], prog_name="xrm")
    assert result.exit_code == 1 and result.output.startswith("Error: XRM_BROKER_URL is not set")


@pytest.fixture
def redis_url():
    url = os.environ.get("XRM_TEST_REDIS_URL")
    if not url:
        pytest.fail("XRM_TEST_REDIS_URL is not set: run the suite through 'make test' (or scripts/redis.sh), "
                    "which starts a real Redis for these tests")
    import redis

    client = redis.Redis.from_url(url)
    client.flushdb()
    yield url
    client.flushdb()
    client.close()


def test_celery_beat_has_the_workers_prune(acme, database_url, redis_url, tmp_path):
    platform, tenant_id = acme
    get_bus(platform, load_event_settings(environ={}))
    old = _old_delivered_event(platform, tenant_id)
    env = {k: v for k, v in os.environ.items() if not k.startswith("XRM_")}
    env.update({
        "XRM_INSTANCE_PATH": str(platform.settings.instance_path),
        "XRM_DATABASE_URL": database_url or platform.settings.database_url,
        "XRM_BROKER_URL": redis_url,
        "XRM_EVENTS_POLL_S": "0.1",
        "XRM_PLUGINS": ",".join(platform.plugins) or "none",
        "XRM_EVENTS_PRUNE_EVERY_S": "0.5",
        "XRM_EVENTS_SWEEP_EVERY_S": "0.5",
    })
    processes: list[subprocess.Popen] = []

    def start(*args: str) -> subprocess.Popen:
        log_path = tmp_path / f"{args[0]}.log"
        with open(log_path, "wb") as log:
            process = subprocess.Popen([str(XRM), *args], env=env, stdout=log, stderr=subprocess.STDOUT,
                                       stdin=subprocess.DEVNULL)
        process.log_path = log_path
        processes.append(process)
        return process

    try:
        start("worker", "--concurrency", "2", "--loglevel", "INFO")
        # The worker delivers (its relay thread runs), but without beat nobody prunes.
        with platform.db.transaction(tenant_id) as session:
            fresh = publish(session, "core.party.updated", ("core_parties", 2), {"changed": ["tags"]}, "cli").id
        _wait(lambda: _relayed(platform, fresh), 60, "the worker's relay", processes)
        time.sleep(1.5)
        assert _exists(platform, old)
        start("beat", "--loglevel", "INFO")
        _wait(lambda: not _exists(platform, old), 60, "pruning through beat and a worker", processes)
        assert _exists(platform, fresh)
        assert "xrm.periodic" in processes[0].log_path.read_text()
    finally:
        for process in processes:
            process.terminate()
            try:
                process.wait(15)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait(5)
    assert (platform.settings.instance_path / "celerybeat-schedule").exists() or any(
        platform.settings.instance_path.glob("celerybeat-schedule*"))


def _relayed(platform, event_id: str) -> bool:
    with platform.db.session(all_tenants=True, read_only=True) as session:
        return session.scalar(select(OutboxEvent.relayed_at).where(OutboxEvent.event_id == event_id)) is not None
