"""The event bus's settings, read from ``XRM_EVENTS_*`` and ``XRM_WEBHOOKS_*`` environment variables.

The broker URL is the platform's own ``XRM_BROKER_URL`` (:class:`xrm_core.config.Settings`): empty
means the embedded dispatcher, ``redis://…`` means Celery workers (``xrm worker``).
"""

from __future__ import annotations

import os
from dataclasses import dataclass, fields

from ..errors import ConfigurationError

_TRUE = {"1", "true", "yes", "on"}
_FALSE = {"0", "false", "no", "off", ""}


@dataclass(frozen=True)
class EventSettings:
    """How hard the bus tries, how often it looks, and what webhooks may reach."""

    #: Attempts per delivery before it goes to the dead-letter list (``XRM_EVENTS_MAX_ATTEMPTS``).
    max_attempts: int = 10
    #: First retry delay in seconds; each further retry doubles it, with jitter (``XRM_EVENTS_RETRY_BASE_S``).
    retry_base_s: float = 10.0
    #: Longest delay between two attempts (``XRM_EVENTS_RETRY_CAP_S``).
    retry_cap_s: float = 3600.0
    #: Seconds between two looks at the outbox when nothing woke the dispatcher (``XRM_EVENTS_POLL_S``).
    poll_s: float = 1.0
    #: Deliveries (embedded) or events (relay) handled per transaction (``XRM_EVENTS_BATCH``).
    batch: int = 500
    #: Scale-out: a delivery handed to Celery this long ago and still pending is handed again
    #: (the worker died, the message was lost); ``XRM_EVENTS_REQUEUE_AFTER_S``.
    requeue_after_s: float = 300.0
    #: Scale-out: deliveries per Celery task message (``XRM_EVENTS_TASK_BATCH``).
    task_batch: int = 20
    #: Redis ``visibility_timeout`` of the Celery transport, in seconds (``XRM_EVENTS_VISIBILITY_TIMEOUT_S``).
    visibility_timeout_s: int = 3600
    #: Let webhooks reach loopback, private and link-local addresses (``XRM_WEBHOOKS_ALLOW_PRIVATE``);
    #: off by default, so a tenant cannot make the server call its own network (SSRF).
    webhooks_allow_private: bool = False
    #: Seconds to wait for a webhook receiver (``XRM_WEBHOOKS_TIMEOUT_S``).
    webhooks_timeout_s: float = 10.0
    #: Consecutive failed attempts after which a webhook subscription is disabled
    #: (``XRM_WEBHOOKS_DISABLE_AFTER``).
    webhooks_disable_after: int = 50
    #: Days delivered events, processed records and webhook attempts are kept
    #: (``XRM_EVENTS_RETENTION_DAYS``); undelivered events and dead letters are always kept.
    retention_days: int = 30
    #: Seconds between two prunings (``XRM_EVENTS_PRUNE_EVERY_S``).
    prune_every_s: float = 3600.0
    #: Scale-out: seconds between two relay sweeps run by Celery beat, a safety net beside the
    #: relay threads of the workers (``XRM_EVENTS_SWEEP_EVERY_S``).
    sweep_every_s: float = 60.0


_ENV = {
    "max_attempts": "XRM_EVENTS_MAX_ATTEMPTS",
    "retry_base_s": "XRM_EVENTS_RETRY_BASE_S",
    "retry_cap_s": "XRM_EVENTS_RETRY_CAP_S",
    "poll_s": "XRM_EVENTS_POLL_S",
    "batch": "XRM_EVENTS_BATCH",
    "requeue_after_s": "XRM_EVENTS_REQUEUE_AFTER_S",
    "task_batch": "XRM_EVENTS_TASK_BATCH",
    "visibility_timeout_s": "XRM_EVENTS_VISIBILITY_TIMEOUT_S",
    "webhooks_allow_private": "XRM_WEBHOOKS_ALLOW_PRIVATE",
    "webhooks_timeout_s": "XRM_WEBHOOKS_TIMEOUT_S",
    "webhooks_disable_after": "XRM_WEBHOOKS_DISABLE_AFTER",
    "retention_days": "XRM_EVENTS_RETENTION_DAYS",
    "prune_every_s": "XRM_EVENTS_PRUNE_EVERY_S",
    "sweep_every_s": "XRM_EVENTS_SWEEP_EVERY_S",
}


def load_event_settings(environ: dict[str, str] | None = None, **overrides) -> EventSettings:
    """Read the settings from ``environ`` (default: the process environment), then apply ``overrides``."""
    environ = os.environ if environ is None else environ
    values: dict = {}
    for f in fields(EventSettings):
        raw = environ.get(_ENV[f.name])
        if raw is None or raw == "":
            continue
        kind = type(f.default)
        try:
            if kind is bool:
                if raw.strip().lower() not in _TRUE | _FALSE:
                    raise ValueError(raw)
                values[f.name] = raw.strip().lower() in _TRUE
            else:
                values[f.name] = kind(raw)
        except ValueError:
            raise ConfigurationError(f"{_ENV[f.name]}={raw!r} is not a valid value") from None
    values.update({k: v for k, v in overrides.items() if v is not None})
    settings = EventSettings(**values)
    if settings.max_attempts < 1 or settings.batch < 1 or settings.task_batch < 1:
        raise ConfigurationError("XRM_EVENTS_MAX_ATTEMPTS, XRM_EVENTS_BATCH and XRM_EVENTS_TASK_BATCH must be at least 1")
    if settings.retention_days < 1:
        raise ConfigurationError("XRM_EVENTS_RETENTION_DAYS must be at least 1")
    if settings.prune_every_s <= 0 or settings.sweep_every_s <= 0:
        raise ConfigurationError("XRM_EVENTS_PRUNE_EVERY_S and XRM_EVENTS_SWEEP_EVERY_S must be positive")
    return settings


def environment(settings: EventSettings) -> dict[str, str]:
    """The environment variables that reproduce ``settings`` (to start workers with the same ones)."""
    return {
        _ENV[f.name]: ("1" if value is True else "0" if value is False else str(value))
        for f in fields(EventSettings)
        for value in [getattr(settings, f.name)]
    }
