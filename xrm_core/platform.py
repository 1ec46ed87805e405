"""One running platform: settings, database, and the plugins that resolved."""

from __future__ import annotations

import logging
from collections.abc import Iterable
from typing import Any

from packaging.version import Version
from sqlalchemy import select
from sqlalchemy.orm import Session

from . import (
    __version__,
    audit_trail,  # noqa: F401  (registers the field-level change history)
    schema,  # noqa: F401  (every core table in the metadata)
)
from .audit import record
from .config import Settings, load_settings
from .db import Database, Model
from .graph import timeline  # noqa: F401  (registers the party timeline's event subscriber)
from .identity import scoping  # noqa: F401  (registers the permission listeners)
from .models import Tenant, TenantPlugin
from .plugins.discovery import PluginInfo, discover, only
from .plugins.host import PluginHost
from .plugins.resolution import resolve

log = logging.getLogger("xrm.platform")


class Platform:
    """Everything a request, a command or a job needs, built once per process."""

    def __init__(self, settings: Settings | None = None, plugins: list[PluginInfo] | None = None):
        self.settings = settings or load_settings()
        if plugins is None:
            plugins = discover() if self.settings.plugins is None else only(discover(), self.settings.plugins)
        self.resolution = resolve(plugins, Version(__version__))
        self.host = PluginHost(self.resolution, self.settings.plugin_failure_threshold)
        self._check_models()
        self.db = Database(self.settings)
        self.db.platform = self

    @property
    def plugins(self) -> dict[str, PluginInfo]:
        """Usable plugins by name, in dependency order."""
        return self.host.plugins

    @property
    def refused(self) -> dict[str, str]:
        return self.host.refused

    def _check_models(self) -> None:
        for plugin, models in self.host.call("xrm_models"):
            bad = [
                getattr(m, "__tablename__", repr(m))
                for m in models or ()
                if not (isinstance(m, type) and issubclass(m, Model) and m.__tablename__.startswith(plugin + "_"))
            ]
            if bad:
                self._refuse(plugin, f"models must be xrm_sdk.Model tables named '{plugin}_…': {', '.join(bad)}")

    def _refuse(self, plugin: str, reason: str) -> None:
        log.error("plugin %s refused: %s", plugin, reason)
        self.host.pm.unregister(name=plugin)
        del self.host.plugins[plugin]
        self.host.refused[plugin] = reason
        for name, info in list(self.host.plugins.items()):
            if plugin in info.requires:
                self._refuse(name, f"requires plugin {plugin!r}, which was refused")

    def plugin_tables(self, plugin: str) -> list[Any]:
        """The plugin's tables, parents before children."""
        return [t for t in Model.metadata.sorted_tables if t.name.startswith(plugin + "_")]

    # -- per-tenant plugins ---------------------------------------------------------------------

    def enabled_plugins(self, session: Session) -> list[str]:
        """Names of the plugins enabled for the session's tenant, in dependency order."""
        enabled = set(session.scalars(select(TenantPlugin.plugin).where(TenantPlugin.enabled)))
        return [name for name in self.plugins if name in enabled]

    def call_for_tenant(self, hook_name: str, tenant: Tenant, session: Session, **kwargs: Any) -> list[tuple[str, Any]]:
        """Call a hook for the plugins enabled for ``tenant`` only."""
        only = self.enabled_plugins(session)
        return self.host.call(hook_name, only=only, tenant_id=tenant.id, tenant=tenant, session=session, **kwargs)

    def contributions_for_tenant(self, hook_name: str, kind: type, tenant: Tenant, session: Session, **kwargs: Any):
        only = self.enabled_plugins(session)
        return self.host.contributions(
            hook_name, kind, only=only, tenant_id=tenant.id, tenant=tenant, session=session, **kwargs
        )

    def apply_circuit_breakers(self) -> list[tuple[int, str]]:
        """Disable, with an audit entry, each plugin that failed too often for a tenant.

        Runs in its own transaction, after the failing request or job has finished, so the
        decision is kept even when that work was rolled back.
        """
        tripped = sorted(self.host.take_plugins_to_disable())
        for tenant_id, plugin in tripped:
            reason = f"disabled after {self.settings.plugin_failure_threshold} consecutive failures"
            with self.db.transaction(tenant_id) as session:
                row = session.scalar(select(TenantPlugin).where(TenantPlugin.plugin == plugin))
                if row is None or not row.enabled:
                    continue
                row.enabled = False
                row.disabled_reason = reason
                record(session, "platform", "plugin.disabled", plugin, reason=reason)
            log.error("plugin %s disabled for tenant %s: %s", plugin, tenant_id, reason)
        return tripped

    def contributed(self, hook_name: str, kind: type) -> Iterable[tuple[str, Any]]:
        """Contributions from every usable plugin (for hooks that are not tenant-specific)."""
        return self.host.contributions(hook_name, kind)
