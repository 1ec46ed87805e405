"""Who receives events: plugins (``xrm_on_event``, ``EventHandler``), core subscribers, webhooks.

Every subscriber has a stable name, which is what deliveries, processed records and the CLI refer to:

* ``<plugin>.xrm_on_event`` — a plugin's ``xrm_on_event`` implementation (every event type);
* ``<plugin>.<handler>`` — an ``EventHandler`` contribution (types matching its ``fnmatch`` pattern);
* ``core.<name>`` — a core subscriber (workflow engine, party timeline, …), registered with
  :func:`register_core_subscriber` at import time or :meth:`EventBus.subscribe`;
* ``webhook.<id>`` — a tenant's webhook subscription (see :mod:`xrm_core.events.webhooks`).

Plugin subscribers only receive events of tenants where their plugin is enabled. Core subscribers
receive every tenant's events.
"""

from __future__ import annotations

import inspect
import logging
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from fnmatch import fnmatchcase
from typing import Any

from ..contributions import EventHandler

log = logging.getLogger("xrm.events")

PLUGIN = "plugin"
HANDLER = "handler"
CORE = "core"
WEBHOOK = "webhook"

#: Name of the subscriber standing for a plugin's ``xrm_on_event`` implementation.
ON_EVENT = "xrm_on_event"


@dataclass(frozen=True)
class Subscriber:
    name: str
    kind: str
    pattern: str = "*"
    #: The plugin that must be enabled for the event's tenant (``None`` for core and webhooks).
    plugin: str | None = None
    #: ``call(event=…, tenant=…, session=…)``; webhooks are sent by the webhook module instead.
    call: Callable[..., Any] | None = None

    def matches(self, event_type: str) -> bool:
        return fnmatchcase(event_type, self.pattern)


_CORE_SUBSCRIBERS: dict[str, Subscriber] = {}


def core_subscriber(name: str, pattern: str, handle: Callable[..., Any]) -> Subscriber:
    """Build a core subscriber ``handle(event, [tenant], [session])`` named ``core.<something>``."""
    if not name.startswith("core.") or name.count(".") != 1:
        raise ValueError(f"a core subscriber is named 'core.<name>', not {name!r}")
    return Subscriber(name, CORE, pattern, None, _adapt(handle))


def register_core_subscriber(name: str, pattern: str, handle: Callable[..., Any]) -> None:
    """Make ``handle`` receive, in every platform, the events matching ``pattern`` (all tenants).

    The registration point for the core's own consumers (workflow engine, party timeline): call it
    at import time of the consuming module. The handler runs after commit, in the same transaction
    as its processed record, exactly like a plugin's handler.
    """
    _CORE_SUBSCRIBERS[name] = core_subscriber(name, pattern, handle)


def registered_core_subscribers() -> list[Subscriber]:
    return list(_CORE_SUBSCRIBERS.values())


def _adapt(handle: Callable[..., Any]) -> Callable[..., Any]:
    """Call ``handle`` with the subset of ``event``, ``tenant``, ``session`` it accepts (like pluggy)."""
    try:
        params = inspect.signature(handle).parameters
    except (TypeError, ValueError):
        return lambda *, event, tenant, session: handle(event)
    if any(p.kind is inspect.Parameter.VAR_KEYWORD for p in params.values()):
        return lambda *, event, tenant, session: handle(event=event, tenant=tenant, session=session)
    wanted = [name for name in ("event", "tenant", "session") if name in params]
    if wanted:
        return lambda *, event, tenant, session: handle(
            **{k: v for k, v in (("event", event), ("tenant", tenant), ("session", session)) if k in wanted}
        )
    return lambda *, event, tenant, session: handle(event)


def plugin_subscribers(platform: Any) -> list[Subscriber]:
    """The subscribers the installed plugins declare (``xrm_on_event`` and ``xrm_event_handlers``)."""
    found: list[Subscriber] = []
    implementers = {impl.plugin_name for impl in platform.host.pm.hook.xrm_on_event.get_hookimpls()}
    for plugin in platform.plugins:  # dependency order
        if plugin in implementers:
            found.append(Subscriber(f"{plugin}.{ON_EVENT}", PLUGIN, "*", plugin, _on_event(platform, plugin)))
    for plugin, handler in platform.contributed("xrm_event_handlers", EventHandler):
        if not callable(handler.handle):
            log.error("plugin %s: event handler %r has no callable handle", plugin, handler.name)
            continue
        found.append(Subscriber(handler.name, HANDLER, handler.pattern or "*", plugin, _adapt(handler.handle)))
    return found


def _on_event(platform: Any, plugin: str) -> Callable[..., Any]:
    def call(*, event, tenant, session):
        return platform.host.call_plugin(plugin, "xrm_on_event", tenant=tenant, event=event, session=session)

    return call


class Subscribers:
    """The subscribers of one platform that live in code (webhooks live in the database)."""

    def __init__(self, platform: Any, extra: Iterable[Subscriber] = ()):
        self._platform = platform
        self._extra = list(extra)
        self._static: dict[str, Subscriber] | None = None

    def add(self, subscriber: Subscriber) -> None:
        self._extra.append(subscriber)
        self._static = None

    @property
    def static(self) -> dict[str, Subscriber]:
        if self._static is None:
            found = registered_core_subscribers() + self._extra + plugin_subscribers(self._platform)
            self._static = {s.name: s for s in found}
        return self._static

    def get(self, name: str) -> Subscriber | None:
        if name.startswith(WEBHOOK + "."):
            return Subscriber(name, WEBHOOK)
        return self.static.get(name)

    def for_event(self, event_type: str, enabled_plugins: Iterable[str]) -> list[Subscriber]:
        enabled = set(enabled_plugins)
        return [
            s for s in self.static.values()
            if (s.plugin is None or s.plugin in enabled) and s.matches(event_type)
        ]
