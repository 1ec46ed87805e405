"""Writing the party graph, and the rules the schema cannot know.

Plain functions on a tenant-scoped session that work in the caller's transaction (like
:mod:`xrm_core.tenants`), so an API call or an import can combine several and commit once. They
check what depends on configuration: which party kinds exist, which role codes are known (built in
or contributed by plugins), and what each relationship type admits at its ends. A broken rule
raises :class:`~xrm_core.graph.GraphRuleError` naming it; a clash with existing data (an identifier
already taken, a type code already defined) raises :class:`~xrm_core.errors.Conflict`.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import date, timedelta
from typing import TYPE_CHECKING, Any

from sqlalchemy import and_, func, or_, select
from sqlalchemy.orm import Session

from ..contributions import PartyRole, RelationshipType
from ..dataio.bulk import BulkInsert, bound, new_ids
from ..db import utcnow
from ..errors import Conflict, TenantScopeError
from ..models import User
from . import GraphRuleError, session_tenant
from .models import Party, PartyIdentifier, PartyRoleAssignment, Relationship, RelationshipTypeDef

if TYPE_CHECKING:
    from ..platform import Platform

log = logging.getLogger("xrm.graph")

#: The kinds of party the core knows. A plain tuple checked here, not a database enum, so that
#: plugins can add kinds later without a migration.
PARTY_KINDS = ("person", "organization")

#: Roles every tenant has without any plugin: the relationships the platform exists to manage.
BUILT_IN_ROLES = (
    PartyRole("customer", label="Customer"),
    PartyRole("prospect", label="Prospect"),
    PartyRole("partner", label="Partner"),
    PartyRole("supplier", label="Supplier"),
    PartyRole("employee", label="Employee"),
)

#: Relationship type codes: stable identifiers used in APIs, manifests and query filters.
TYPE_CODE = re.compile(r"^[a-z][a-z0-9_]{0,62}$")

#: Rows :func:`bulk_create_parties` buffers per statement, which bounds its memory whatever the
#: import's size.
BULK_BATCH_SIZE = 5000

_BULK_FIELDS = frozenset({"kind", "display_name", "tags", "owner_user_id", "department_id"})
#: What :func:`bulk_create_parties` writes: every column, ids included (values in the table's order).
_BULK_PARTIES = BulkInsert(Party.__table__, ("id", "kind", "display_name", "tags", "created_at", "updated_at", "version",
                                             "owner_user_id", "owner_team_id", "department_id", "custom", "tenant_id"))


# -- catalogue of roles ---------------------------------------------------------------------------


@dataclass(frozen=True)
class RoleCatalogue:
    """The role codes a party may hold: the built-in ones, then those plugins contribute.

    Built once per platform (roles are not tenant-specific) and passed to the functions that
    accept role codes. A plugin declaring a built-in code adds nothing: the built-in one is kept.
    """

    roles: Mapping[str, PartyRole]

    @classmethod
    def built_in(cls) -> RoleCatalogue:
        return cls({role.name: role for role in BUILT_IN_ROLES})

    @classmethod
    def from_platform(cls, platform: Platform) -> RoleCatalogue:
        roles = {role.name: role for role in BUILT_IN_ROLES}
        for _plugin, role in platform.contributed("xrm_party_roles", PartyRole):
            roles.setdefault(role.name, role)
        return cls(roles)

    def __contains__(self, code: object) -> bool:
        return code in self.roles

    def check(self, codes: Iterable[str]) -> None:
        unknown = sorted(set(codes) - self.roles.keys())
        if unknown:
            raise GraphRuleError(
                f"unknown party role {', '.join(repr(c) for c in unknown)} (known: {', '.join(sorted(self.roles))})"
            )


# -- parties ----------------------------------------------------------------------------------------


def create_party(
    session: Session,
    kind: str,
    display_name: str,
    tags: Iterable[str] = (),
    identifiers: Mapping[str, str] | None = None,
    *,
    owner_user_id: int | None = None,
    department_id: int | None = None,
    custom: Mapping[str, Any] | None = None,
) -> Party:
    """Create a party with its identifiers in other systems (``{source: value}``).

    ``custom`` holds custom field values already checked by
    :func:`xrm_core.customfields.service.clean_values`.

    :raises GraphRuleError: unknown kind, empty name, bad tags or identifiers, unknown owner.
    :raises Conflict: an identifier already belongs to another party of the tenant.
    """
    _check_kind(kind)
    name = _display_name(display_name)
    tag_list = _tags(tags)
    if owner_user_id is not None:
        _check_owners(session, {owner_user_id})
    wanted = _identifiers(identifiers or {})
    _check_identifiers_free(session, wanted)
    party = Party(
        kind=kind,
        display_name=name,
        tags=tag_list,
        owner_user_id=owner_user_id,
        department_id=department_id,
        custom=dict(custom or {}),
        identifiers=[PartyIdentifier(source=source, value=value) for source, value in wanted.items()],
    )
    session.add(party)
    session.flush()
    return party


def bulk_create_parties(session: Session, rows: Iterable[Mapping[str, Any]]) -> list[int]:
    """Insert many parties at once and return their ids, in the order of ``rows``.

    Each row holds ``kind`` and ``display_name``, and optionally ``tags``, ``owner_user_id`` and
    ``department_id``. The rows go through the same checks as :func:`create_party` (identifiers
    aside), but are written with ``executemany`` statements, without ORM objects, for imports
    at scale. Nothing is committed: on an error the caller's transaction is to be rolled back.
    """
    tenant_id = session_tenant(session)
    table = Party.__table__
    dialect = session.get_bind().dialect
    # Values every row shares, and tag lists (most rows have none or the same few), are converted
    # to their database form once: per row, the column types' conversions cost more than the insert.
    now = bound(dialect, table.c.created_at, utcnow())
    no_custom = bound(dialect, table.c.custom, {})
    encoded_tags: dict[tuple[str, ...], Any] = {}
    ids: list[int] = []
    batch: list[tuple[Any, ...]] = []
    owners: set[int] = set()

    def flush_batch() -> None:
        if owners:
            _check_owners(session, owners)
            owners.clear()
        new = new_ids(session, table.c.id, len(batch))
        _BULK_PARTIES.run(session, [(party_id, *row) for party_id, row in zip(new, batch, strict=True)])
        ids.extend(new)
        batch.clear()

    for number, row in enumerate(rows):
        if not row.keys() <= _BULK_FIELDS:
            raise GraphRuleError(f"row {number}: unknown field(s) {', '.join(sorted(row.keys() - _BULK_FIELDS))}")
        kind = row.get("kind")
        if kind not in PARTY_KINDS:
            raise GraphRuleError(f"row {number}: {_unknown_kind(kind)}")
        owner = row.get("owner_user_id")
        if owner is not None:
            owners.add(owner)
        given_tags = row.get("tags", ())
        try:
            name = _display_name(row.get("display_name"))
            tags = () if given_tags == () or given_tags == [] else tuple(_tags(given_tags))
        except GraphRuleError as exc:
            raise GraphRuleError(f"row {number}: {exc}") from None
        tags_value = encoded_tags.get(tags)
        if tags_value is None:
            tags_value = encoded_tags[tags] = bound(dialect, table.c.tags, list(tags))
        batch.append((kind, name, tags_value, now, now, 1, owner, None, row.get("department_id"), no_custom, tenant_id))
        if len(batch) == BULK_BATCH_SIZE:
            flush_batch()
            encoded_tags.clear()  # bounds the memory of files whose rows all have other tags
    if batch:
        flush_batch()
    return ids


def _check_kind(kind: str) -> None:
    if kind not in PARTY_KINDS:
        raise GraphRuleError(_unknown_kind(kind))


def _unknown_kind(kind: object) -> str:
    return f"unknown party kind {kind!r} (known: {', '.join(PARTY_KINDS)})"


def _display_name(value: object) -> str:
    name = value.strip() if isinstance(value, str) else ""
    if not name:
        raise GraphRuleError("a party needs a display name")
    if len(name) > 200:
        raise GraphRuleError(f"display name {name[:20]!r}… is longer than 200 characters")
    return name


def _tags(tags: Iterable[str]) -> list[str]:
    if isinstance(tags, (str, bytes)) or not isinstance(tags, Iterable):
        raise GraphRuleError(f"tags must be a list of strings, not {tags!r}")
    cleaned = [tag.strip() if isinstance(tag, str) else "" for tag in tags]
    if not all(cleaned):
        raise GraphRuleError("each tag must be a non-empty string")
    return list(dict.fromkeys(cleaned))


def _check_owners(session: Session, owner_ids: set[int]) -> None:
    """The owners must be users of the session's tenant (the ORM scoping hides the others)."""
    found = set(session.scalars(select(User.id).where(User.id.in_(owner_ids))))
    if missing := sorted(owner_ids - found):
        raise GraphRuleError(f"no user #{missing[0]} in this tenant to own a party")


def _identifiers(identifiers: Mapping[str, str]) -> dict[str, str]:
    checked = {}
    for source, value in identifiers.items():
        if not (isinstance(source, str) and source.strip() and isinstance(value, str) and value.strip()):
            raise GraphRuleError(f"identifier {source!r}: {value!r} needs a non-empty source and value")
        if len(source.strip()) > 63 or len(value.strip()) > 200:
            raise GraphRuleError(f"identifier {source!r}: {value!r} is too long (source 63, value 200 characters)")
        checked[source.strip()] = value.strip()
    return checked


def _check_identifiers_free(session: Session, identifiers: Mapping[str, str]) -> None:
    if not identifiers:
        return
    taken = session.execute(
        select(PartyIdentifier.source, PartyIdentifier.value, PartyIdentifier.party_id).where(
            or_(*(and_(PartyIdentifier.source == s, PartyIdentifier.value == v) for s, v in identifiers.items()))
        )
    ).first()
    if taken is not None:
        from ..identity.scoping import principal_of

        # The identifier table is not permission-scoped: name the party only to those who may see it.
        visible = principal_of(session) is None or session.scalar(select(Party.id).where(Party.id == taken.party_id))
        owner = f"party #{taken.party_id}" if visible else "a party you may not see"
        raise Conflict(f"identifier {taken.source}:{taken.value} already belongs to {owner}")


# -- roles ----------------------------------------------------------------------------------------


def add_role(
    session: Session,
    party: Party,
    code: str,
    valid_from: date | None = None,
    valid_to: date | None = None,
    *,
    catalogue: RoleCatalogue | None = None,
) -> PartyRoleAssignment:
    """Record that ``party`` plays role ``code`` over a period (``None`` ends are open).

    ``catalogue`` defaults to the built-in roles; pass ``RoleCatalogue.from_platform(platform)``
    to admit the roles plugins contribute.

    :raises GraphRuleError: unknown role code, inverted period.
    :raises Conflict: the party already holds that role during part of the period.
    """
    (catalogue or RoleCatalogue.built_in()).check([code])
    _check_period(valid_from, valid_to)
    for held in party.roles:
        if held.role == code and _overlap((held.valid_from, held.valid_to), (valid_from, valid_to)):
            raise Conflict(
                f"{party.display_name!r} already holds role {code!r} {_describe_period(held.valid_from, held.valid_to)}"
            )
    assignment = PartyRoleAssignment(role=code, valid_from=valid_from, valid_to=valid_to)
    party.roles.append(assignment)
    session.flush()
    return assignment


def end_role(session: Session, assignment: PartyRoleAssignment, on_date: date) -> None:
    """End a role assignment on ``on_date``, its last day; it stays in the party's history.

    :raises GraphRuleError: the date is before the role started, or after it already ended.
    """
    if assignment.valid_from is not None and on_date < assignment.valid_from:
        raise GraphRuleError(f"the role started on {assignment.valid_from}: it cannot end before")
    if assignment.valid_to is not None and on_date > assignment.valid_to:
        raise GraphRuleError(f"the role already ended on {assignment.valid_to}")
    assignment.valid_to = on_date
    session.flush()


# -- relationship types -----------------------------------------------------------------------------


def define_relationship_type(
    session: Session,
    code: str,
    forward_label: str,
    inverse_label: str | None = None,
    *,
    symmetric: bool = False,
    from_kinds: Iterable[str] = (),
    to_kinds: Iterable[str] = (),
    from_roles: Iterable[str] = (),
    to_roles: Iterable[str] = (),
    catalogue: RoleCatalogue | None = None,
) -> RelationshipTypeDef:
    """Define a relationship type for the session's tenant (what tenant admins do).

    Empty kind or role lists admit any party at that end. A symmetric type reads the same from both
    ends, so both ends must admit the same parties, and its inverse label defaults to the forward one.

    :raises GraphRuleError: malformed code or labels, unknown kinds or roles, asymmetric ends.
    :raises Conflict: the tenant already has a type with this code.
    """
    if not isinstance(code, str) or not TYPE_CODE.match(code):
        raise GraphRuleError(f"relationship type code {code!r} is invalid: use lower-case letters, digits and '_'")
    forward = (forward_label or "").strip()
    inverse = (inverse_label or "").strip() or (forward if symmetric else "")
    if not forward or not inverse:
        raise GraphRuleError(f"relationship type {code!r} needs a forward and an inverse label")
    ends = {"from_kinds": list(from_kinds), "to_kinds": list(to_kinds),
            "from_roles": list(from_roles), "to_roles": list(to_roles)}
    for kind in ends["from_kinds"] + ends["to_kinds"]:
        _check_kind(kind)
    (catalogue or RoleCatalogue.built_in()).check(ends["from_roles"] + ends["to_roles"])
    if symmetric and (set(ends["from_kinds"]) != set(ends["to_kinds"]) or set(ends["from_roles"]) != set(ends["to_roles"])):
        raise GraphRuleError(f"symmetric relationship type {code!r} must admit the same kinds and roles at both ends")
    if session.scalar(select(RelationshipTypeDef.source).where(RelationshipTypeDef.code == code)) is not None:
        raise Conflict(f"relationship type {code!r} already exists")
    definition = RelationshipTypeDef(
        code=code, forward_label=forward, inverse_label=inverse, symmetric=symmetric, source="tenant", **ends
    )
    session.add(definition)
    session.flush()
    return definition


def sync_relationship_types(session: Session, platform: Platform) -> list[str]:
    """Copy the types plugins contribute into the session's tenant; return the codes written.

    Idempotent and cheap when nothing changed, so it can run whenever a tenant's types are needed
    (enabling a plugin, listing types). A plugin's type is created, or updated when the plugin
    changed it; a code the tenant (or another plugin) already defines is left alone and logged.
    Types a plugin no longer contributes are kept: existing relationships still point at them.
    """
    existing = {row.code: row for row in session.scalars(select(RelationshipTypeDef))}
    written = []
    for plugin, contributed in platform.contributed("xrm_relationship_types", RelationshipType):
        source = f"plugin:{plugin}"
        forward = contributed.forward_label or contributed.name
        values = {
            "forward_label": forward,
            "inverse_label": contributed.inverse_label or forward,
            "symmetric": contributed.symmetric,
        }
        row = existing.get(contributed.name)
        if row is not None and row.source != source:
            log.warning("relationship type %r of plugin %s not synced: %s already defines it",
                        contributed.name, plugin, row.source)
            continue
        if row is None:
            session.add(RelationshipTypeDef(code=contributed.name, source=source, from_kinds=[], to_kinds=[],
                                            from_roles=[], to_roles=[], **values))
        elif any(getattr(row, field) != value for field, value in values.items()):
            for field, value in values.items():
                setattr(row, field, value)
        else:
            continue
        written.append(contributed.name)
    session.flush()
    return written


def count_relationships_of_type(session: Session, definition: RelationshipTypeDef) -> int:
    """How many relationships of the tenant (past, present or future) are of this type, whoever may see them.

    A Core statement with an explicit tenant condition: the count guards data the caller may not
    see, so it must not be narrowed to what the caller's session reads.
    """
    table = Relationship.__table__
    statement = select(func.count()).select_from(table).where(
        table.c.tenant_id == definition.tenant_id, table.c.type_id == definition.id)
    return session.connection().execute(statement).scalar_one()


def delete_relationship_type(session: Session, definition: RelationshipTypeDef) -> None:
    """Delete a tenant-defined relationship type that no relationship uses.

    :raises Conflict: the type belongs to a plugin (it is kept in step with it), or relationships
        use it (the message says how many; their history must not lose its meaning).
    """
    if definition.source != "tenant":
        raise Conflict(f"relationship type {definition.code!r} belongs to {definition.source}: it cannot be deleted")
    using = count_relationships_of_type(session, definition)
    if using:
        raise Conflict(f"relationship type {definition.code!r} cannot be deleted: {using} relationship(s) use it")
    session.delete(definition)
    session.flush()


# -- relationships ----------------------------------------------------------------------------------


def relate(
    session: Session,
    from_party: Party,
    to_party: Party,
    type_code: str,
    valid_from: date | None = None,
    valid_to: date | None = None,
    attributes: Mapping[str, Any] | None = None,
    notes: str | None = None,
) -> Relationship:
    """Link two parties with a relationship of the tenant's type ``type_code``.

    :raises GraphRuleError: the ends are one party, the period is inverted, the type is unknown, an
        end's kind is not admitted, or an end does not hold an admitted role over the whole period.
    """
    tenant_id = session_tenant(session)
    if from_party.tenant_id != tenant_id or to_party.tenant_id != tenant_id:
        raise TenantScopeError("cannot relate parties of another tenant")
    if from_party.id == to_party.id:
        raise GraphRuleError(f"{from_party.display_name!r} cannot be related to itself")
    _check_period(valid_from, valid_to)
    rel_type = session.scalar(select(RelationshipTypeDef).where(RelationshipTypeDef.code == type_code))
    if rel_type is None:
        raise GraphRuleError(f"unknown relationship type {type_code!r}")
    for end, party, kinds, roles in (
        ("from", from_party, rel_type.from_kinds, rel_type.from_roles),
        ("to", to_party, rel_type.to_kinds, rel_type.to_roles),
    ):
        if kinds and party.kind not in kinds:
            raise GraphRuleError(
                f"relationship type {type_code!r} does not admit kind {party.kind!r} at its {end} end"
                f" (admits: {', '.join(kinds)})"
            )
        if roles and not _covers(
            [(r.valid_from, r.valid_to) for r in party.roles if r.role in roles], valid_from, valid_to
        ):
            raise GraphRuleError(
                f"relationship type {type_code!r} needs the {end} end to be {' or '.join(roles)}"
                f" {_describe_period(valid_from, valid_to)}, which {party.display_name!r} is not"
            )
    relationship = Relationship(
        from_party_id=from_party.id,
        to_party_id=to_party.id,
        type=rel_type,
        valid_from=valid_from,
        valid_to=valid_to,
        attributes=dict(attributes or {}),
        notes=notes,
    )
    session.add(relationship)
    session.flush()
    return relationship


def end_relationship(session: Session, relationship: Relationship, on_date: date) -> None:
    """End ``relationship`` on ``on_date``, its last valid day; it stays in the history.

    :raises GraphRuleError: the date is before the relationship started, or after it already ended.
    """
    if relationship.valid_from is not None and on_date < relationship.valid_from:
        raise GraphRuleError(
            f"relationship #{relationship.id} cannot end on {on_date}, before it started on {relationship.valid_from}"
        )
    if relationship.valid_to is not None and on_date > relationship.valid_to:
        raise GraphRuleError(f"relationship #{relationship.id} already ended on {relationship.valid_to}")
    relationship.valid_to = on_date
    session.flush()


# -- periods ------------------------------------------------------------------------------------------


def _check_period(valid_from: date | None, valid_to: date | None) -> None:
    if valid_from is not None and valid_to is not None and valid_to < valid_from:
        raise GraphRuleError(f"the period ends ({valid_to}) before it starts ({valid_from})")


def _describe_period(valid_from: date | None, valid_to: date | None) -> str:
    if valid_from and valid_to:
        return f"from {valid_from} to {valid_to}"
    if valid_from:
        return f"from {valid_from} on"
    if valid_to:
        return f"until {valid_to}"
    return "at all times"


def _overlap(a: tuple[date | None, date | None], b: tuple[date | None, date | None]) -> bool:
    starts_a, ends_a = a[0] or date.min, a[1] or date.max
    starts_b, ends_b = b[0] or date.min, b[1] or date.max
    return starts_a <= ends_b and starts_b <= ends_a


def _covers(periods: list[tuple[date | None, date | None]], valid_from: date | None, valid_to: date | None) -> bool:
    """Whether the periods together cover every day of ``valid_from``..``valid_to``.

    Several periods may add up (customer in 2023, then again from 2024 on): a day is covered when
    any of them includes it.
    """
    needed, last = valid_from or date.min, valid_to or date.max
    for starts, ends in sorted(((s or date.min), (e or date.max)) for s, e in periods):
        if starts > needed:
            return False
        if ends >= last:
            return True
        needed = max(needed, ends + timedelta(days=1))
    return False
