"""The dispatcher thread: the embedded event loop of ``xrm serve`` (and the relay of ``xrm worker``).

Without a broker it relays the outbox and runs the deliveries in-process; with one it relays and
hands deliveries to the Celery workers. It wakes up when a transaction that published commits in
this process, when the next retry is due, and every ``XRM_EVENTS_POLL_S`` seconds otherwise (to
pick up events other processes committed, or left behind when they were killed).
"""

from __future__ import annotations

import logging
import threading
import time
from typing import TYPE_CHECKING

from ..db import utcnow
from .delivery import next_due

if TYPE_CHECKING:
    from .bus import EventBus

log = logging.getLogger("xrm.events")


class Dispatcher(threading.Thread):
    def __init__(self, bus: EventBus):
        super().__init__(name="xrm-events-" + ("relay" if bus.scale_out else "dispatcher"), daemon=True)
        self.bus = bus
        self._stopping = threading.Event()

    def run(self) -> None:
        log.info("event %s started", "relay" if self.bus.scale_out else "dispatcher")
        wake = self.bus._wake
        while not self._stopping.is_set():
            wake.clear()
            try:
                busy = self.bus.step()
            except Exception:  # the loop must outlive any one failure
                log.exception("the event dispatcher failed; trying again in %.1fs", self.bus.settings.poll_s)
                busy = False
            if busy or self._stopping.is_set():
                continue
            wake.wait(self._idle_wait())

    def _idle_wait(self) -> float:
        wait = self.bus.settings.poll_s
        try:
            due = next_due(self.bus)
        except Exception:  # noqa: BLE001 -- a failed look only shortens the wait
            return wait
        if due is not None:
            now = utcnow()
            if due.tzinfo is None:
                now = now.replace(tzinfo=None)
            wait = min(wait, max(0.0, (due - now).total_seconds()) + 0.01)
        return wait

    def stop(self, timeout: float = 10.0) -> None:
        """Finish the current round, then stop (waits at most ``timeout`` seconds)."""
        self._stopping.set()
        self.bus._wake.set()
        if self.is_alive() and threading.current_thread() is not self:
            self.join(timeout)


def wait_for(predicate, timeout: float, interval: float = 0.02) -> bool:
    """Poll ``predicate()`` until it is true or ``timeout`` seconds pass; return its last value."""
    deadline = time.monotonic() + timeout
    while True:
        if predicate():
            return True
        if time.monotonic() >= deadline:
            return False
        time.sleep(interval)
