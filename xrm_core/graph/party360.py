"""The party 360: one party with its current roles, its relationships and the plugins' panels.

**Panels are lazy.** The 360 lists each panel plugins contribute (``xrm_party_panels``, plugins
enabled for the tenant only) with the URL that renders it, rather than rendering them inline: a
slow or heavy plugin then costs its own request, not the whole view, and the 360's cost does not
grow with the number of plugins. :func:`render_panel` renders one.

**Isolation.** The hook is called through the platform's isolated calling (the plugin host, for
the plugins enabled for the tenant, as :meth:`~xrm_core.platform.Platform.call_for_tenant` does):
a plugin that raises is logged and counted against its circuit breaker, and appears in the 360 as an error entry naming it; the other panels
and the rest of the view are unaffected. A panel whose ``render`` raises gives a
:class:`PanelFailed` error, not a server error.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from typing import TYPE_CHECKING, Any

from sqlalchemy.orm import Session

from ..contributions import Panel
from ..errors import NotFound, XrmError
from ..models import Tenant
from .models import Party, PartyRoleAssignment
from .queries import Neighbour, neighbours

if TYPE_CHECKING:
    from ..platform import Platform

log = logging.getLogger("xrm.graph")

HOOK = "xrm_party_panels"


class PanelFailed(XrmError):
    """A plugin's panel could not be rendered (the plugin raised); the message names it."""


@dataclass(frozen=True)
class PanelEntry:
    """A panel of the 360: where to render it, or the error of the plugin that should provide it."""

    plugin: str
    name: str | None = None
    title: str = ""
    order: int = 100
    error: str | None = None


@dataclass
class Party360:
    party: Party
    roles: list[PartyRoleAssignment]
    relationships: list[Neighbour]
    panels: list[PanelEntry] = field(default_factory=list)


def party360(session: Session, platform: Platform, tenant: Tenant, party_id: int, *,
             on: date | None = None) -> Party360:
    """The 360 of ``party_id`` as of ``on`` (today, UTC, by default), through ``session``'s permissions.

    Relationships are those valid on that day whose other end the session may see, ordered by the
    other end's name; roles are those held on that day.

    :raises NotFound: no such party, or the session may not see it.
    """
    party = session.get(Party, party_id)
    if party is None:
        raise NotFound(f"no party #{party_id}")
    day = on or datetime.now(UTC).date()
    roles = [role for role in party.roles
             if (role.valid_from is None or role.valid_from <= day) and (role.valid_to is None or role.valid_to >= day)]
    related = neighbours(session, party_id, as_of=day)
    return Party360(party, roles, related, list_panels(session, platform, tenant, party))


def list_panels(session: Session, platform: Platform, tenant: Tenant, party: Party) -> list[PanelEntry]:
    """The panels the enabled plugins offer for ``party``, ordered, and an error entry per failing plugin."""
    implementers = {impl.plugin_name for impl in getattr(platform.host.pm.hook, HOOK).get_hookimpls()}
    if not implementers:
        return []  # no installed plugin has panels: not even the enabled plugins are looked up
    asked = [plugin for plugin in platform.enabled_plugins(session) if plugin in implementers]
    entries, answered = [], set()
    # The host's isolated calling, as call_for_tenant does, on the enabled plugins looked up once.
    for plugin, panels in platform.host.call(HOOK, only=asked, tenant_id=tenant.id, tenant=tenant, session=session,
                                             party=party):
        answered.add(plugin)
        entries.extend(PanelEntry(plugin, panel.name, panel.title, panel.order) for panel in _panels(plugin, panels))
    entries.extend(PanelEntry(plugin, error=f"the {plugin} plugin failed to list its panels")
                   for plugin in asked if plugin not in answered)
    return sorted(entries, key=lambda e: (e.error is not None, e.order, e.title, e.name or e.plugin))


def render_panel(session: Session, platform: Platform, tenant: Tenant, party: Party, name: str) -> tuple[Panel, str]:
    """Render the panel ``name`` for ``party``: the panel and its HTML.

    :raises NotFound: no enabled plugin offers a panel of that name for this party.
    :raises PanelFailed: the plugin raised while rendering it.
    """
    for plugin, panels in platform.call_for_tenant(HOOK, tenant, session, party=party):
        for panel in _panels(plugin, panels):
            if panel.name != name:
                continue
            try:
                html = panel.render(party) if panel.render is not None else ""
            except Exception as exc:
                log.exception("plugin %s failed to render panel %s", plugin, name)
                raise PanelFailed(f"the {plugin} plugin failed to render panel {name!r}") from exc
            return panel, str(html)
    raise NotFound(f"no panel {name!r} for party #{party.id}")


def _panels(plugin: str, values: Any) -> list[Panel]:
    """The valid panels among what ``plugin`` returned (invalid values are logged and skipped)."""
    values = [] if values is None else list(values) if isinstance(values, (list, tuple)) else [values]
    valid = []
    for value in values:
        problem = value.check(plugin) if isinstance(value, Panel) else f"returned {value!r}, not a Panel"
        if problem:
            log.error("plugin %s: %s: %s", plugin, HOOK, problem)
            continue
        valid.append(value)
    return valid
