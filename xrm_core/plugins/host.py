"""The pluggy manager with the platform's isolation rules around every hook call.

pluggy stops at the first implementation that raises; the platform must not, so each plugin's
implementation is called on its own. A failure is logged with the plugin's name and skipped;
after ``failure_threshold`` consecutive failures for one tenant the plugin is marked for
disabling there (the platform writes that, with an audit entry, outside the failing transaction).
"""

from __future__ import annotations

import logging
import threading
from collections import Counter
from collections.abc import Collection, Iterable
from typing import Any

import pluggy

from .. import hookspecs
from ..contributions import Contribution
from .discovery import PluginInfo
from .resolution import Resolution

log = logging.getLogger("xrm.plugins")


class PluginHost:
    """Registered plugins, in dependency order, and safe ways to call their hooks."""

    def __init__(self, resolution: Resolution, failure_threshold: int = 5):
        self.pm = pluggy.PluginManager(hookspecs.PROJECT)
        self.pm.add_hookspecs(hookspecs)
        self.refused = dict(resolution.refused)
        self.plugins: dict[str, PluginInfo] = {}
        self.failure_threshold = failure_threshold
        self._failures: Counter[tuple[int | None, str]] = Counter()
        self._to_disable: set[tuple[int, str]] = set()
        self._lock = threading.Lock()
        for info in resolution.loaded:
            blocked = next((name for name in info.requires if name not in self.plugins), None)
            reason = f"requires plugin {blocked!r}, which was refused" if blocked else self._register(info)
            if reason:
                self.refused[info.name] = reason
            else:
                self.plugins[info.name] = info
        for name, reason in self.refused.items():
            log.error("plugin %s refused: %s", name, reason)

    def _register(self, info: PluginInfo) -> str | None:
        try:
            self.pm.register(info.module, name=info.name)
        except pluggy.PluginValidationError as exc:
            return f"invalid hook implementation: {exc}"
        unknown = [
            name
            for name, caller in vars(self.pm.hook).items()
            if isinstance(caller, pluggy.HookCaller)
            and not caller.has_spec()
            and any(impl.plugin_name == info.name for impl in caller.get_hookimpls())
        ]
        if unknown:
            self.pm.unregister(name=info.name)
            return f"implements unknown hook(s) {', '.join(sorted(unknown))} (hook spec version {hookspecs.HOOKSPEC_VERSION})"
        return None

    # -- calling hooks --------------------------------------------------------------------------

    def call(
        self,
        hook_name: str,
        *,
        only: Collection[str] | None = None,
        tenant_id: int | None = None,
        **kwargs: Any,
    ) -> list[tuple[str, Any]]:
        """Call each plugin's implementation of ``hook_name``, in dependency order.

        :param only: Names of the plugins to call (those enabled for a tenant); ``None`` calls all.
        :param tenant_id: The tenant failures are counted against.
        :returns: ``(plugin name, result)`` for every implementation that returned without raising.
        """
        caller: pluggy.HookCaller = getattr(self.pm.hook, hook_name)
        implementations = {impl.plugin_name: impl for impl in caller.get_hookimpls()}
        results = []
        for name in self.plugins:
            impl = implementations.get(name)
            if impl is None or (only is not None and name not in only):
                continue
            try:
                result = impl.function(**{arg: kwargs[arg] for arg in impl.argnames if arg in kwargs})
            except Exception:
                log.exception("plugin %s failed in %s", name, hook_name)
                self._count_failure(tenant_id, name)
                continue
            self._count_success(tenant_id, name)
            results.append((name, result))
        return results

    def call_plugin(self, plugin: str, hook_name: str, **kwargs: Any) -> Any:
        """Call one plugin's implementation and let its exception propagate (for explicit operations)."""
        caller: pluggy.HookCaller = getattr(self.pm.hook, hook_name)
        for impl in caller.get_hookimpls():
            if impl.plugin_name == plugin:
                return impl.function(**{arg: kwargs[arg] for arg in impl.argnames if arg in kwargs})
        return None

    def contributions(
        self, hook_name: str, kind: type[Contribution], **call_kwargs: Any
    ) -> list[tuple[str, Contribution]]:
        """Collect the named values plugins return from ``hook_name``, dropping invalid ones.

        A value of the wrong type, with a name the plugin does not own, or a name another plugin
        already contributed, is logged and skipped; the plugin's other values are kept.
        """
        collected: list[tuple[str, Contribution]] = []
        owners: dict[str, str] = {}
        for plugin, values in self.call(hook_name, **call_kwargs):
            for value in _as_list(values):
                problem = (
                    f"returned {value!r}, not a {kind.__name__}"
                    if not isinstance(value, kind)
                    else value.check(plugin)
                    or (f"{value.name!r} is already contributed by {owners[value.name]}" if value.name in owners else None)
                )
                if problem:
                    log.error("plugin %s: %s: %s", plugin, hook_name, problem)
                    continue
                owners[value.name] = plugin
                collected.append((plugin, value))
        return collected

    # -- circuit breaker ------------------------------------------------------------------------

    def _count_failure(self, tenant_id: int | None, plugin: str) -> None:
        with self._lock:
            self._failures[(tenant_id, plugin)] += 1
            if tenant_id is not None and self._failures[(tenant_id, plugin)] >= self.failure_threshold:
                self._to_disable.add((tenant_id, plugin))

    def _count_success(self, tenant_id: int | None, plugin: str) -> None:
        if self._failures.get((tenant_id, plugin)):
            with self._lock:
                self._failures.pop((tenant_id, plugin), None)

    def take_plugins_to_disable(self) -> set[tuple[int, str]]:
        """Return and forget the (tenant, plugin) pairs that crossed the failure threshold."""
        with self._lock:
            pending, self._to_disable = self._to_disable, set()
            for key in pending:
                self._failures.pop(key, None)
        return pending


def _as_list(values: Any) -> list:
    if values is None:
        return []
    if isinstance(values, Iterable) and not isinstance(values, (str, bytes, Contribution)):
        return list(values)
    return [values]
