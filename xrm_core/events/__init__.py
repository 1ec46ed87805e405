"""The event bus: typed domain events, a transactional outbox, and delivery that loses nothing.

* :mod:`.catalogue` — event types (``xrm_event_types`` and the core's ``core.*``) and payload checks;
* :mod:`.outbox` — :func:`publish`, in the writer's transaction; :mod:`.models` — the tables;
* :mod:`.signals` — blinker signals for listeners that act inside the transaction;
* :mod:`.subscribers` — who receives events (plugins enabled for the tenant, core, webhooks);
* :mod:`.relay` — outbox → deliveries (→ Celery); :mod:`.delivery` — running them, idempotently;
* :mod:`.dispatcher` — the embedded thread; :mod:`.celery_app`, :mod:`.tasks` — scale-out workers;
* :mod:`.webhooks` — signed HTTP deliveries and subscription management; :mod:`.deadletter` —
  event log, failures, retry, replay;
* :mod:`.schedule` — periodic jobs (:func:`~.schedule.register_periodic`): in-process when embedded,
  Celery beat (``xrm beat``) in scale-out mode; :mod:`.retention` — pruning old events;
* :mod:`.cli` — ``xrm webhooks …``, ``xrm events prune``, ``xrm beat``.

Guarantees, in both modes: a committed event reaches every subscriber at least once, a subscriber's
effects are applied once (processed records), one subject's events reach a subscriber in
publication order, a failing subscriber is retried with backoff and then dead-lettered without
holding up the others.
"""

from .bus import EventBus, get_bus
from .catalogue import CORE_EVENT_TYPES, Catalogue, EventError
from .envelope import Event, Subject
from .outbox import publish
from .settings import EventSettings, load_event_settings
from .signals import connect
from .subscribers import register_core_subscriber

__all__ = [
    "CORE_EVENT_TYPES",
    "Catalogue",
    "Event",
    "EventBus",
    "EventError",
    "EventSettings",
    "Subject",
    "connect",
    "get_bus",
    "load_event_settings",
    "publish",
    "register_core_subscriber",
]
