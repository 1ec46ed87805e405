"""The Celery application of a scale-out platform (``XRM_BROKER_URL=redis://…``).

The database is the source of truth; Redis is only the doorbell that tells a worker which
deliveries to run now. The choices below follow from that and from Celery's known pitfalls:

``task_acks_late = True``
    The delivery task is idempotent (processed record + unique constraint), so the message is
    acknowledged only once the task finished: a worker that stops mid-task leaves the message to
    be delivered again instead of losing it.
``task_reject_on_worker_lost = False`` (considered, and left off)
    With late acks, a child killed by SIGKILL/OOM still gets its message acknowledged. Turning this
    on requeues it instead, but a handler that kills its worker would then be redelivered forever
    (celery/celery#8969). We do not need it: the delivery row stays pending in the database and the
    relay's sweep hands it out again after ``XRM_EVENTS_REQUEUE_AFTER_S``, counting attempts, so a
    poison event ends in the dead-letter list.
``visibility_timeout``
    Redis redelivers an unacknowledged message after this many seconds. It is set for the broker and
    the result backend alike, and no task is ever scheduled further ahead than it: retries wait in
    the database (``next_attempt_at``), never as Celery countdowns or ETAs.
``worker_prefetch_multiplier = 1``
    A worker reserves one message per thread, so a slow handler does not hold others hostage.
``worker_soft_shutdown_timeout``
    On shutdown, running deliveries get a few seconds to finish before the worker stops.
``beat_schedule``
    One entry per periodic job (:mod:`.schedule`), run by ``xrm beat``; each message expires after
    its job's interval, so workers that were down do not run a backlog of the same job.
Redis itself must run with ``maxmemory-policy noeviction`` (scripts/redis.sh does): an evicted
message would otherwise wait for the sweep.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from celery import Celery

from .schedule import jobs_for
from .tasks import PERIODIC_TASK, QUEUE, register_tasks

if TYPE_CHECKING:
    from .bus import EventBus


def make_celery(bus: EventBus) -> Celery:
    settings = bus.platform.settings
    timeout = bus.settings.visibility_timeout_s
    app = Celery("xrm", broker=settings.broker_url, set_as_current=False)
    app.conf.update(
        task_acks_late=True,
        task_reject_on_worker_lost=False,
        task_ignore_result=True,
        task_default_queue=QUEUE,
        task_serializer="json",
        accept_content=["json"],
        worker_prefetch_multiplier=1,
        worker_soft_shutdown_timeout=10.0,
        worker_hijack_root_logger=False,
        worker_send_task_events=False,
        broker_connection_retry_on_startup=True,
        broker_transport_options={"visibility_timeout": timeout},
        result_backend_transport_options={"visibility_timeout": timeout},
        visibility_timeout=timeout,
        task_publish_retry=True,
        task_publish_retry_policy={"max_retries": 3, "interval_start": 0, "interval_step": 0.5, "interval_max": 1},
        broker_pool_limit=4,
        beat_schedule={
            name: {"task": PERIODIC_TASK, "schedule": job.seconds, "args": [name],
                   "options": {"queue": QUEUE, "expires": job.seconds}}
            for name, job in jobs_for(bus).items()
        },
    )
    register_tasks(app, bus)
    return app
