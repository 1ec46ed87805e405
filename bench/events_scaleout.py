"""Scale-out delivery throughput: real Redis, real ``xrm worker`` processes, 1 then 2 of them.

Not a harness case: it needs a broker and worker processes, and its figure is a throughput of the
whole system rather than one operation timed against raw SQL. Run it through the throwaway Redis::

    bash scripts/redis.sh .venv/bin/python -m bench.events_scaleout --events 2000
    bash scripts/redis.sh .venv/bin/python -m bench.events_scaleout --database-url postgresql+psycopg://...

For each worker count it starts that many ``xrm worker`` processes on a fresh SQLite file (or a
throwaway PostgreSQL schema), waits until they deliver, then publishes ``--events`` events
(``core.party.updated`` about real parties, in transactions of ``--per-transaction``) and times
until every subscriber's processed record is committed: published, relayed by the workers' relay
threads, handed over Redis, delivered and recorded, end to end. Subscribers are the core's own
(the party timeline writes one entry per event); no plugin is loaded.
"""

from __future__ import annotations

import argparse
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import redis
from sqlalchemy import func, select

from xrm_core import migrate, tenants
from xrm_core.config import load_settings
from xrm_core.events import get_bus, load_event_settings, publish
from xrm_core.events.models import DEAD, Delivery, OutboxEvent, ProcessedEvent
from xrm_core.graph.service import create_party
from xrm_core.platform import Platform

from .harness import _Instance, console

EVENT_TYPE = "core.party.updated"
XRM = Path(sys.executable).with_name("xrm")


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m bench.events_scaleout", description=__doc__.splitlines()[0])
    parser.add_argument("--events", type=int, default=2000, help="events published per run")
    parser.add_argument("--per-transaction", type=int, default=50, help="events per publishing transaction")
    parser.add_argument("--parties", type=int, default=200, help="parties the events are about")
    parser.add_argument("--workers", default="1,2", help="worker counts to run, in order (comma-separated)")
    parser.add_argument("--concurrency", type=int, default=2, help="threads per worker (xrm worker --concurrency)")
    parser.add_argument("--task-batch", type=int, default=None,
                        help="deliveries per Celery task (XRM_EVENTS_TASK_BATCH of the workers; default: the setting's)")
    parser.add_argument("--keep", action="store_true", help="keep the instance folder (worker logs) / schema")
    parser.add_argument("--worker-loglevel", default="WARNING",
                        help="log level of the workers (INFO logs every task received and finished, with times)")
    parser.add_argument("--timeout", type=float, default=600.0, help="seconds to wait for one run's deliveries")
    parser.add_argument("--broker-url", default=os.environ.get("XRM_TEST_REDIS_URL", ""),
                        help="Redis URL (default: XRM_TEST_REDIS_URL, set by scripts/redis.sh)")
    parser.add_argument("--database-url",
                        default=os.environ.get("XRM_BENCH_DATABASE_URL") or os.environ.get("XRM_TEST_DATABASE_URL", ""),
                        help="PostgreSQL URL to run in a throwaway schema; default: a SQLite file")
    return parser.parse_args(argv)


class Run:
    """One platform, its tenant and parties, and the worker processes delivering its events."""

    def __init__(self, instance: _Instance, broker_url: str, parties: int):
        self.instance, self.broker_url = instance, broker_url
        settings = load_settings(environ={}, instance_path=instance.folder, database_url=instance.url,
                                 env="development", plugins=frozenset())
        self.platform = Platform(settings=settings)
        migrate.upgrade(self.platform)
        self.bus = get_bus(self.platform, load_event_settings(environ={}))
        with self.platform.db.transaction(all_tenants=True) as session:
            self.tenant_id = tenants.create_tenant(session, "bench-scaleout", "Bench scale-out").id
        with self.platform.db.transaction(self.tenant_id) as session:
            self.party_ids = [create_party(session, "organization", f"Bench {i}").id for i in range(parties)]
        self.subscribers = [s.name for s in self.bus.subscribers.for_event(EVENT_TYPE, ())]
        self.workers: list[subprocess.Popen] = []

    def processed(self) -> int:
        with self.platform.db.session(all_tenants=True, read_only=True) as session:
            dead = session.scalar(select(func.count()).select_from(Delivery).where(Delivery.status == DEAD))
            if dead:
                raise RuntimeError(f"{dead} deliveries were dead-lettered: see the worker logs in {self.instance.folder}")
            return session.scalar(select(func.count()).select_from(ProcessedEvent))

    def wait_for(self, count: int, timeout: float) -> None:
        deadline = time.monotonic() + timeout
        while self.processed() < count:
            if time.monotonic() > deadline:
                raise TimeoutError(f"only {self.processed()} of {count} processed records after {timeout:.0f}s")
            for worker in self.workers:
                if worker.poll() is not None:
                    raise RuntimeError(f"a worker exited with code {worker.returncode}: see {worker.args[-1]}")
            time.sleep(0.02)

    def start_workers(self, count: int, concurrency: int, task_batch: int | None, loglevel: str) -> None:
        env = {k: v for k, v in os.environ.items() if not k.startswith("XRM_")}
        env.update({
            "XRM_INSTANCE_PATH": str(self.instance.folder),
            "XRM_DATABASE_URL": self.instance.url,
            "XRM_BROKER_URL": self.broker_url,
            "XRM_PLUGINS": "none",
            "XRM_EVENTS_POLL_S": "0.05",
        })
        if task_batch:
            env["XRM_EVENTS_TASK_BATCH"] = str(task_batch)
        for n in range(count):
            log = self.instance.folder / f"worker-{len(self.workers)}-{n}.log"
            with open(log, "wb") as out:  # the child keeps its own descriptor
                self.workers.append(subprocess.Popen(
                    [str(XRM), "worker", "--concurrency", str(concurrency), "--loglevel", loglevel],
                    env=env, stdout=out, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL))

    def stop_workers(self) -> None:
        for worker in self.workers:
            worker.send_signal(signal.SIGTERM)
        for worker in self.workers:
            try:
                worker.wait(30)
            except subprocess.TimeoutExpired:
                worker.kill()
                worker.wait(10)
        self.workers = []

    def publish(self, events: int, per_transaction: int) -> None:
        parties = self.party_ids
        for start in range(0, events, per_transaction):
            with self.platform.db.transaction(self.tenant_id) as session:
                for i in range(start, min(events, start + per_transaction)):
                    publish(session, EVENT_TYPE, ("core_parties", parties[i % len(parties)]),
                            {"changed": ["tags"]}, "user:1")

    def measure(self, workers: int, args: argparse.Namespace) -> float:
        """Start ``workers`` workers, let them drain what is waiting, then time ``args.events`` events."""
        self.start_workers(workers, args.concurrency, args.task_batch, args.worker_loglevel)
        try:
            self.publish(1, 1)  # warm-up: the workers are up and delivering once this one is processed
            self.wait_for(self.processed_after_warm_up(), args.timeout)
            before = self.processed()
            started = time.perf_counter()
            self.publish(args.events, args.per_transaction)
            self.wait_for(before + args.events * len(self.subscribers), args.timeout)
            return args.events / (time.perf_counter() - started)
        finally:
            self.stop_workers()

    def processed_after_warm_up(self) -> int:
        """Processed records expected once everything published so far is delivered."""
        with self.platform.db.session(all_tenants=True, read_only=True) as session:
            types = session.execute(select(OutboxEvent.type, func.count()).group_by(OutboxEvent.type)).all()
        return sum(count * len(self.bus.subscribers.for_event(name, ())) for name, count in types)


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    if not args.broker_url:
        console.print("Error: no Redis URL: run through 'bash scripts/redis.sh ...' or pass --broker-url")
        return 2
    counts = [int(n) for n in args.workers.split(",") if n.strip()]
    instance = _Instance(args.database_url or None, keep=args.keep)
    figures: dict[int, float] = {}
    try:
        run = Run(instance, args.broker_url, args.parties)
        console.log(f"{run.platform.db.engine.dialect.name}: subscribers of {EVENT_TYPE}: {', '.join(run.subscribers)}")
        for count in counts:
            redis.Redis.from_url(args.broker_url).flushdb()  # no message left from the previous run
            figures[count] = run.measure(count, args)
            console.log(f"{count} worker(s) x {args.concurrency} threads: {figures[count]:,.0f} events/s")
        run.platform.db.dispose()
    finally:
        instance.cleanup()
    dialect = "postgresql" if args.database_url else "sqlite"
    for count, rate in figures.items():
        scaling = f" ({rate / figures[counts[0]]:.2f}x {counts[0]} worker)" if count != counts[0] else ""
        print(f"events.scaleout[{dialect}]: {count} worker(s): {rate:,.0f} events/s end to end "
              f"({args.events} events, {len(run.subscribers)} subscriber(s) each){scaling}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
