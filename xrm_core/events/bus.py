"""The event bus of one platform: catalogue, subscribers, settings, and the delivery machinery.

One :class:`EventBus` exists per :class:`~xrm_core.platform.Platform` (:func:`get_bus`). Without a
broker URL it delivers in-process: :meth:`EventBus.start` runs the embedded dispatcher thread
(``xrm serve`` does). With ``XRM_BROKER_URL`` the same thread only relays, handing deliveries to
Celery tasks that ``xrm worker`` processes execute with the very same code.
"""

from __future__ import annotations

import logging
import threading
import time
import weakref
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from flask import current_app, has_app_context
from sqlalchemy.orm import Session

from .catalogue import Catalogue, EventError
from .settings import EventSettings, load_event_settings
from .subscribers import Subscribers, core_subscriber

if TYPE_CHECKING:
    from celery import Celery

    from ..platform import Platform
    from .dispatcher import Dispatcher
    from .schedule import PeriodicRunner

log = logging.getLogger("xrm.events")

_BUSES: weakref.WeakKeyDictionary[Any, EventBus] = weakref.WeakKeyDictionary()
_BY_ENGINE: weakref.WeakKeyDictionary[Any, EventBus] = weakref.WeakKeyDictionary()
_REGISTRY_LOCK = threading.Lock()


class EventBus:
    """Publishing support and delivery for one platform."""

    def __init__(self, platform: Platform, settings: EventSettings | None = None):
        self.platform = platform
        self.settings = settings or load_event_settings()
        self.subscribers = Subscribers(platform)
        self._catalogue: Catalogue | None = None
        self._wake = threading.Event()
        self._dispatcher: Dispatcher | None = None
        self._periodic: PeriodicRunner | None = None
        self._celery: Celery | None = None
        self._lock = threading.Lock()

    # -- configuration ---------------------------------------------------------------------------

    @property
    def scale_out(self) -> bool:
        """Whether deliveries go to Celery workers (``XRM_BROKER_URL`` is set)."""
        return bool(self.platform.settings.broker_url)

    @property
    def catalogue(self) -> Catalogue:
        if self._catalogue is None:
            from ..contributions import EventType

            self._catalogue = Catalogue(list(self.platform.contributed("xrm_event_types", EventType)))
        return self._catalogue

    def subscribe(self, name: str, pattern: str, handle: Callable[..., Any]) -> None:
        """Add a core subscriber ``core.<name>`` to this platform only (see ``register_core_subscriber``)."""
        self.subscribers.add(core_subscriber(name, pattern, handle))

    @property
    def celery(self) -> Celery:
        """The Celery application built from the platform's settings (scale-out only)."""
        if not self.scale_out:
            raise EventError("XRM_BROKER_URL is not set: events are delivered in-process, without Celery")
        with self._lock:
            if self._celery is None:
                from .celery_app import make_celery

                self._celery = make_celery(self)
        return self._celery

    # -- running ---------------------------------------------------------------------------------

    def wake(self) -> None:
        """Tell the dispatcher thread there is new work (called after a publishing commit)."""
        self._wake.set()

    def step(self) -> bool:
        """Do one round of work in this thread; return whether there was any.

        Embedded: deliver new events straight from the outbox, then run the delivery rows that are
        due (retries, waiting subjects, webhooks). Scale-out: relay the outbox into delivery rows
        and hand new, due and lost ones to the workers.
        """
        from . import delivery, relay

        if self.scale_out:
            relayed = relay.relay(self)
            swept = relay.sweep(self)
            return bool(relayed or swept)
        relayed = delivery.deliver_outbox(self)
        handled = delivery.deliver(self).handled if delivery.pending_due(self) else 0
        return bool(relayed or handled)

    def run_until_idle(self, timeout: float = 30.0) -> None:
        """Work in this thread until nothing is due (retries scheduled later are left for later).

        :raises TimeoutError: work was still due after ``timeout`` seconds.
        """
        deadline = time.monotonic() + timeout
        while self.step():
            if time.monotonic() > deadline:
                raise TimeoutError(f"the event bus still had work after {timeout}s")

    def start(self) -> Dispatcher:
        """Start the dispatcher thread (idempotent): deliver (embedded) or relay (scale-out).

        Embedded, the periodic jobs (:mod:`.schedule`) start too, in a thread of their own; in
        scale-out mode ``xrm beat`` schedules them for the workers instead.
        """
        from .dispatcher import Dispatcher
        from .schedule import PeriodicRunner

        with self._lock:
            if self._dispatcher is None or not self._dispatcher.is_alive():
                self._dispatcher = Dispatcher(self)
                self._dispatcher.start()
            if not self.scale_out and (self._periodic is None or not self._periodic.is_alive()):
                self._periodic = PeriodicRunner(self)
                self._periodic.start()
            return self._dispatcher

    def stop(self, timeout: float = 10.0) -> None:
        with self._lock:
            dispatcher, self._dispatcher = self._dispatcher, None
            periodic, self._periodic = self._periodic, None
        if periodic is not None:
            periodic.stop(timeout)
        if dispatcher is not None:
            dispatcher.stop(timeout)


def get_bus(platform: Platform, settings: EventSettings | None = None) -> EventBus:
    """The platform's event bus, created on first use (``settings`` only apply then, or replace it)."""
    with _REGISTRY_LOCK:
        bus = _BUSES.get(platform)
        if bus is None or (settings is not None and settings != bus.settings):
            if bus is not None:
                bus.stop()
            bus = EventBus(platform, settings)
            _BUSES[platform] = bus
            _BY_ENGINE[platform.db.engine] = bus
        return bus


def bus_for_session(session: Session) -> EventBus:
    """The bus of the platform whose database ``session`` uses."""
    engine = session.get_bind()
    bus = _BY_ENGINE.get(engine)
    if bus is not None:
        return bus
    if has_app_context() and "xrm" in current_app.extensions:
        return get_bus(current_app.extensions["xrm"])
    raise EventError("no event bus for this database: call xrm_core.events.get_bus(platform) at start-up")
