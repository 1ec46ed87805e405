"""Periodic jobs: one registry, run in-process (embedded) or by Celery beat and the workers (scale-out).

Any part of the core registers a job once, at import time of its module::

    from xrm_core.events.schedule import register_periodic

    def fire_due_timers(platform):          # gets the running Platform; opens its own sessions
        ...

    register_periodic("workflows.timers", 30, fire_due_timers)

* **Embedded** (no ``XRM_BROKER_URL``): ``xrm serve`` runs every job in a background thread of its
  own, every ``seconds`` (the first run one interval after start).
* **Scale-out**: ``xrm beat`` (exactly one per installation) sends a Celery task per job every
  ``seconds``; whichever ``xrm worker`` takes it runs the job. A message not taken within the
  interval expires, so a backlog never piles up while the workers are down.

A job must be safe to run again and, in scale-out mode, concurrently with itself (a slow run may
overlap the next on another worker): claim rows with ``FOR UPDATE SKIP LOCKED`` or make the work
idempotent. A job that raises is logged and runs again at its next interval.

The bus's own jobs are ``events.prune`` (:mod:`.retention`, every ``XRM_EVENTS_PRUNE_EVERY_S``)
and, in scale-out mode, ``events.sweep`` (relay the outbox and hand out due retries, every
``XRM_EVENTS_SWEEP_EVERY_S``: a safety net beside the workers' relay threads).
"""

from __future__ import annotations

import logging
import re
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from ..errors import NotFound

if TYPE_CHECKING:
    from ..platform import Platform
    from .bus import EventBus

log = logging.getLogger("xrm.events.schedule")

#: ``<area>.<job>``, like ``workflows.timers``.
JOB_NAME = re.compile(r"^[a-z][a-z0-9_]*\.[a-z][a-z0-9_]*$")


@dataclass(frozen=True)
class PeriodicJob:
    name: str
    #: Seconds between two runs.
    seconds: float
    #: ``func(platform)``; its return value is only logged.
    func: Callable[[Platform], Any]


_REGISTERED: dict[str, PeriodicJob] = {}


def register_periodic(name: str, seconds: float, func: Callable[[Platform], Any]) -> None:
    """Run ``func(platform)`` every ``seconds`` seconds in every platform (see the module docstring).

    Registering a name again replaces the job (a module reloaded in tests).
    :raises ValueError: the name is not ``<area>.<job>``, or ``seconds`` is not positive.
    """
    if not JOB_NAME.match(name):
        raise ValueError(f"a periodic job is named '<area>.<job>' in lower case, not {name!r}")
    if not seconds > 0:
        raise ValueError(f"periodic job {name}: seconds must be positive, not {seconds!r}")
    _REGISTERED[name] = PeriodicJob(name, float(seconds), func)


def jobs_for(bus: EventBus) -> dict[str, PeriodicJob]:
    """The jobs this platform runs: the bus's own (with its settings), the registered ones, then the
    plugins' (``xrm_periodic_jobs``, see :mod:`xrm_core.periodic`; a core name always wins)."""
    from ..periodic import plugin_jobs
    from .retention import prune_job

    jobs = {"events.prune": PeriodicJob("events.prune", bus.settings.prune_every_s, prune_job)}
    if bus.scale_out:
        jobs["events.sweep"] = PeriodicJob("events.sweep", bus.settings.sweep_every_s, _sweep)
    jobs.update(_REGISTERED)
    for name, job in plugin_jobs(bus.platform).items():
        jobs.setdefault(name, job)
    return jobs


def _sweep(platform: Platform) -> int:
    from . import relay
    from .bus import get_bus

    bus = get_bus(platform)
    return relay.relay(bus) + relay.sweep(bus)


def run_job(bus: EventBus, name: str) -> Any:
    """Run the job called ``name`` once, now, in this thread.

    :raises NotFound: no such job (e.g. beat runs a newer release than this worker).
    """
    job = jobs_for(bus).get(name)
    if job is None:
        raise NotFound(f"no periodic job {name!r} (known: {', '.join(sorted(jobs_for(bus)))})")
    started = time.monotonic()
    result = job.func(bus.platform)
    log.info("periodic job %s done in %.2fs: %r", name, time.monotonic() - started, result)
    return result


class PeriodicRunner(threading.Thread):
    """Embedded mode: runs every job of :func:`jobs_for` on time, in one background thread."""

    def __init__(self, bus: EventBus):
        super().__init__(name="xrm-periodic", daemon=True)
        self.bus = bus
        self._stopping = threading.Event()
        self._next: dict[str, float] = {}

    def run_due(self, now: float | None = None) -> float:
        """Run the jobs that are due; return the seconds until the next one is."""
        now = time.monotonic() if now is None else now
        jobs = jobs_for(self.bus)  # read each round: a job registered after start is picked up
        for name, job in jobs.items():
            due = self._next.setdefault(name, now + job.seconds)
            if due > now:
                continue
            try:
                run_job(self.bus, name)
            except Exception:  # the runner must outlive any one job
                log.exception("periodic job %s failed; it runs again in %.0fs", name, job.seconds)
            self._next[name] = time.monotonic() + job.seconds
        return max(0.0, min(self._next[n] for n in jobs) - time.monotonic()) if jobs else 60.0

    def run(self) -> None:
        while not self._stopping.is_set():
            self._stopping.wait(min(self.run_due(), 60.0))

    def stop(self, timeout: float = 10.0) -> None:
        self._stopping.set()
        if self.is_alive() and threading.current_thread() is not self:
            self.join(timeout)
