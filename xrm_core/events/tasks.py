"""The Celery task that runs deliveries in ``xrm worker`` processes: the embedded code, unchanged."""

from __future__ import annotations

import logging
import os
from typing import TYPE_CHECKING

from sqlalchemy.exc import OperationalError

if TYPE_CHECKING:
    from celery import Celery

    from .bus import EventBus

log = logging.getLogger("xrm.events")

QUEUE = "xrm.events"
DELIVER_TASK = "xrm.events.deliver"
#: Runs one periodic job (:mod:`.schedule`) by name; sent by ``xrm beat``.
PERIODIC_TASK = "xrm.periodic"


def register_tasks(app: Celery, bus: EventBus) -> None:
    from .delivery import deliver

    @app.task(
        name=DELIVER_TASK,
        acks_late=True,
        ignore_result=True,
        # Only the database being unreachable is retried by Celery, briefly; handler failures are
        # recorded on the delivery row and retried from there (see celery_app).
        autoretry_for=(OperationalError,),
        retry_backoff=True,
        retry_backoff_max=60,
        retry_jitter=True,
        max_retries=5,
    )
    def deliver_task(delivery_ids: list[int]) -> dict[str, int]:
        outcome = deliver(bus, ids=[int(i) for i in delivery_ids])
        return {"done": outcome.done, "failed": outcome.failed, "dead": outcome.dead,
                "blocked": outcome.blocked, "webhooks": len(outcome.webhooks)}

    @app.task(name=PERIODIC_TASK, acks_late=True, ignore_result=True)
    def periodic_task(name: str) -> None:
        from .schedule import run_job

        try:
            run_job(bus, name)
        except Exception:  # logged here; the next beat tick runs it again
            log.exception("periodic job %s failed", name)


def run_beat(bus: EventBus, loglevel: str = "INFO") -> None:
    """Run Celery beat for the platform: one task per periodic job, every job's interval.

    Its state (when each job last ran) is kept in the instance folder, so a restart does not run
    every job at once. Run exactly one beat per installation.
    """
    from celery.apps.beat import Beat

    schedule_file = bus.platform.settings.instance_path / "celerybeat-schedule"
    schedule_file.parent.mkdir(parents=True, exist_ok=True)
    Beat(app=bus.celery, schedule=str(schedule_file), loglevel=loglevel, quiet=True).run()


def run_worker(bus: EventBus, concurrency: int = 4, loglevel: str = "INFO") -> None:
    """Run a Celery worker for the platform in this process, with the relay thread beside it."""
    app = bus.celery
    bus.start()  # relay + sweep: keeps the database and the queue in step
    try:
        app.worker_main([
            "worker", f"--concurrency={concurrency}", "--pool=threads", f"--loglevel={loglevel}",
            "-Q", QUEUE, "--without-gossip", "--without-mingle", "--without-heartbeat",
            "--hostname", f"xrm-{os.getpid()}@%h",
        ])
    finally:
        bus.stop()
