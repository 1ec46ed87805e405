"""The party 360: one party with its current roles, its relationships and the plugins' panels.

**Two shapes.** :func:`party360` answers with ORM objects, for callers that go on to change what
it returns (the reference the read-only view is tested against).
:func:`read_party360` is the read-only view the API and the party page serve: three prepared Core statements
(:mod:`xrm_core.prepared`) returning plain rows (the party; its roles and identifiers; its
relationships with the other end's name), no identity map, no lazy loads, through a session or,
cheaper to open, a read scope (:mod:`xrm_core.read_scope`). Core statements are outside the ORM's scoping, so it applies both by
hand, always: the session's tenant is a bound condition of every statement (failing closed
without one), and through a principal's session the party and every other end pass
:func:`~xrm_core.identity.scoping.can`, the Python form of the permission criteria the ORM adds to
its reads. Field security applies when the API dumps the party (``PartyRecord`` declares the
party model's protected fields).

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
from typing import TYPE_CHECKING, Any, ClassVar, NamedTuple

from sqlalchemy import Date, String, and_, bindparam, case, cast, literal_column, null, or_, select, union_all
from sqlalchemy.orm import Session

from ..contributions import Panel
from ..errors import NotFound, XrmError
from ..identity.scoping import can, principal_of
from ..models import Tenant
from ..prepared import Prepared
from ..read_scope import ReadScope, orm_session
from . import session_tenant
from .models import Party, PartyIdentifier, PartyRoleAssignment, Relationship, RelationshipTypeDef
from .queries import Neighbour, PartyRow, neighbours

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
    roles = [role for role in party.roles if _holds_on(role, day)]
    related = neighbours(session, party_id, as_of=day)
    return Party360(party, roles, related, list_panels(session, platform, tenant, party_id))


# -- the read-only view ---------------------------------------------------------------------------


class RoleRow(NamedTuple):
    """A role the party plays over a period (inclusive dates; ``None`` ends are open)."""

    id: int
    role: str
    valid_from: date | None
    valid_to: date | None


class IdentifierRow(NamedTuple):
    source: str
    value: str


@dataclass(frozen=True, slots=True)
class PartyRecord:
    """A party's columns with all its roles and identifiers, as plain values.

    Stands in for the ORM party where a record is expected: its ETag is the party's (same table,
    id and version), its protected fields and permission rules are the party model's.
    """

    __table__: ClassVar = Party.__table__
    __permission_resource__: ClassVar[str] = Party.__permission_resource__
    __party_key__: ClassVar[str] = Party.__party_key__
    __protected_fields__: ClassVar = getattr(Party, "__protected_fields__", None)

    id: int
    kind: str
    display_name: str
    tags: list[str]
    owner_user_id: int | None
    owner_team_id: int | None
    department_id: int | None
    custom: dict[str, Any]
    created_at: datetime
    updated_at: datetime
    version: int
    roles: list[RoleRow]
    identifiers: list[IdentifierRow]


#: The other end of a relationship: its name, and what decides who may see it.
PartyRef = PartyRow


class Link(NamedTuple):
    """A relationship as read from the party of the 360."""

    id: int
    version: int
    type: str
    #: Read from this party: "employs" one way, "is employed by" the other.
    label: str
    #: ``out``, ``in``, or ``both`` for a symmetric type.
    direction: str
    valid_from: date | None
    valid_to: date | None
    party: PartyRef


@dataclass
class Party360View:
    """What :func:`read_party360` answers: the party, its roles held on the day, its relationships
    valid on the day (the other end visible), and the panels to fetch."""

    party: PartyRecord
    roles: list[RoleRow]
    relationships: list[Link]
    panels: list[PanelEntry] = field(default_factory=list)


def read_party360(session: Session | ReadScope, platform: Platform, tenant: Tenant, party_id: int, *,
                  on: date | None = None) -> Party360View:
    """The 360 of ``party_id`` as of ``on`` (today, UTC, by default) as plain rows, within the
    session's (or read scope's) tenant and, acting for a principal, what it may read.

    The same answer as :func:`party360`: relationships valid on that day whose other end the
    session may see, ordered by the other end's name, then ids; roles held on that day.

    :raises NotFound: no such party, or the session may not see it.
    """
    tenant_id = session_tenant(session)
    principal = principal_of(session)
    connection = session if type(session) is ReadScope else session.connection()
    keys = {"tenant_id": tenant_id, "party_id": party_id}
    found = PARTY_ROW.rows(connection, keys)
    if not found:
        raise NotFound(f"no party #{party_id}")
    roles, identifiers = [], []
    for fact, fact_id, name, value, valid_from, valid_to in PARTY_FACTS.rows(connection, keys):
        if fact == "role":
            roles.append(RoleRow(fact_id, name, valid_from, valid_to))
        else:
            identifiers.append(IdentifierRow(name, value))
    party = PartyRecord(*found[0], roles, identifiers)
    if principal is not None and not can(session, principal, "read", party):
        raise NotFound(f"no party #{party_id}")
    day = on or datetime.now(UTC).date()
    links = [Link(*link[:7], PartyRef(*link[7:])) for link in LINKS.rows(connection, {**keys, "day": day})]
    if principal is not None:
        links = [link for link in links if can(session, principal, "read", link.party)]
    current = [role for role in roles if _holds_on(role, day)]
    return Party360View(party, current, links, list_panels(session, platform, tenant, party_id))


def _holds_on(held: Any, day: date) -> bool:
    return (held.valid_from is None or held.valid_from <= day) and (held.valid_to is None or held.valid_to >= day)


def _statements() -> tuple[Prepared, Prepared, Prepared]:
    """The three statements of :func:`read_party360`, prepared once (SQLAlchemy's execution path
    costs more than running them). Bound: ``tenant_id``, ``party_id`` and, for the links, ``day``."""
    parties, roles, identifiers = Party.__table__, PartyRoleAssignment.__table__, PartyIdentifier.__table__
    relationships, types = Relationship.__table__, RelationshipTypeDef.__table__
    tenant_id, party_id, day = bindparam("tenant_id"), bindparam("party_id"), bindparam("day", type_=Date)
    party = select(
        parties.c.id, parties.c.kind, parties.c.display_name, parties.c.tags, parties.c.owner_user_id,
        parties.c.owner_team_id, parties.c.department_id, parties.c.custom, parties.c.created_at,
        parties.c.updated_at, parties.c.version,
    ).where(parties.c.id == party_id, parties.c.tenant_id == tenant_id)
    # Roles and identifiers in one round trip: (fact, id, role or source, value, valid_from, valid_to).
    facts = union_all(
        select(literal_column("'role'", String).label("fact"), roles.c.id, roles.c.role.label("name"),
               cast(null(), String).label("value"), roles.c.valid_from, roles.c.valid_to)
        .where(roles.c.party_id == party_id, roles.c.tenant_id == tenant_id),
        select(literal_column("'identifier'", String), identifiers.c.id, identifiers.c.source, identifiers.c.value,
               cast(null(), Date), cast(null(), Date))
        .where(identifiers.c.party_id == party_id, identifiers.c.tenant_id == tenant_id),
    ).order_by("fact", "id")

    def arcs(own_end: str, other_end: str, direction: str, label: str):
        other = parties.alias(f"other_{direction}")
        return (
            select(
                relationships.c.id.label("relationship_id"), relationships.c.version, types.c.code,
                case((types.c.symmetric, types.c.forward_label), else_=types.c[label]).label("label"),
                case((types.c.symmetric, literal_column("'both'", String)),
                     else_=literal_column(f"'{direction}'", String)).label("direction"),
                relationships.c.valid_from, relationships.c.valid_to,
                other.c.id.label("party_id"), other.c.kind, other.c.display_name.label("display_name"),
                other.c.department_id, other.c.owner_user_id, other.c.owner_team_id,
            )
            .join_from(relationships, types, types.c.id == relationships.c.type_id)
            .join(other, and_(other.c.id == relationships.c[other_end], other.c.tenant_id == tenant_id))
            .where(
                relationships.c[own_end] == party_id, relationships.c.tenant_id == tenant_id,
                or_(relationships.c.valid_from.is_(None), relationships.c.valid_from <= day),
                or_(relationships.c.valid_to.is_(None), relationships.c.valid_to >= day),
            )
        )

    links = union_all(arcs("from_party_id", "to_party_id", "out", "forward_label"),
                      arcs("to_party_id", "from_party_id", "in", "inverse_label"))
    links = links.order_by("display_name", "party_id", "relationship_id")
    return Prepared(party), Prepared(facts), Prepared(links)


PARTY_ROW, PARTY_FACTS, LINKS = _statements()


# -- panels ---------------------------------------------------------------------------------------


def list_panels(session: Session | ReadScope, platform: Platform, tenant: Tenant, party_id: int) -> list[PanelEntry]:
    """The panels the enabled plugins offer for the party, ordered, and an error entry per failing plugin.

    Plugins are handed the ORM party (from the session's identity map when already loaded), which
    is only loaded when an enabled plugin has panels to offer; and an ORM session (a read scope's
    own, made only then).
    """
    implementers = {impl.plugin_name for impl in getattr(platform.host.pm.hook, HOOK).get_hookimpls()}
    if not implementers:
        return []  # no installed plugin has panels: not even the enabled plugins are looked up
    session = orm_session(session)
    asked = [plugin for plugin in platform.enabled_plugins(session) if plugin in implementers]
    if not asked:
        return []
    party = session.get(Party, party_id)
    if party is None:
        raise NotFound(f"no party #{party_id}")
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
