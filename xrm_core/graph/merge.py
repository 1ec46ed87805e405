"""Merging two parties that turned out to be one: the loser's graph and records move to the survivor.

:func:`merge_parties` works in the caller's transaction, like :mod:`xrm_core.graph.service`:

* relationships are repointed to the survivor; one between the two parties (it would link the
  survivor to itself) is dropped, and one that would duplicate a survivor's relationship (same type,
  same ends, overlapping periods) is folded into it: periods joined, the survivor's attributes
  winning, notes kept from both;
* roles move; periods of the same role that overlap are joined into one assignment;
* identifiers move; tags are united; custom field values are copied for the fields the survivor has
  no value for;
* timeline entries move (an event in both timelines is kept once), aliases of the loser are
  repointed, and a new alias keeps the loser's id resolving (:func:`resolve_alias`);
* comments, follows and shares move, and the loser's owner and department fill the survivor's
  where it has none (:func:`xrm_core.collaboration.lifecycle.move_collaboration`);
* every plugin enabled for the tenant moves its own records through ``xrm_merge_parties``;
* the loser is deleted, the merge audited and ``core.party.merged`` published.

Through a principal's session, the flush refuses the merge unless the principal may update the
survivor and delete the loser.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from typing import TYPE_CHECKING

from sqlalchemy import delete, or_, select, update
from sqlalchemy.orm import Session

from ..audit import record
from ..collaboration.lifecycle import move_collaboration
from ..errors import Conflict, NotFound
from ..events import publish
from ..models import Tenant
from . import GraphRuleError, session_tenant
from .history import PartyAlias, TimelineEntry
from .models import Party, Relationship

if TYPE_CHECKING:
    from ..platform import Platform

HOOK = "xrm_merge_parties"


@dataclass(frozen=True)
class MergeReport:
    """What a merge did, for the audit log, the event and the API's answer."""

    survivor_id: int
    loser_id: int
    relationships_moved: int
    relationships_folded: int
    relationships_dropped: int
    roles_moved: int
    identifiers_moved: int
    plugins: tuple[str, ...]

    def as_dict(self) -> dict[str, object]:
        return {
            "survivor_id": self.survivor_id, "loser_id": self.loser_id,
            "relationships_moved": self.relationships_moved, "relationships_folded": self.relationships_folded,
            "relationships_dropped": self.relationships_dropped, "roles_moved": self.roles_moved,
            "identifiers_moved": self.identifiers_moved, "plugins": list(self.plugins),
        }


def resolve_alias(session: Session, party_id: int) -> int | None:
    """The id of the party ``party_id`` was merged into, or ``None`` if it is not a merged party's id.

    For the parties API: a request for a merged party's id can redirect to the survivor. The alias
    is the session's tenant's only; whether the caller may see the survivor is the caller's check.
    """
    return session.scalar(select(PartyAlias.party_id).where(PartyAlias.alias_id == party_id))


def merge_parties(session: Session, platform: Platform, survivor: Party, loser: Party, actor: str) -> MergeReport:
    """Merge ``loser`` into ``survivor`` (both loaded through ``session``), then delete ``loser``.

    Nothing is committed: on an error the caller rolls the transaction back.

    :raises GraphRuleError: the two are one party.
    :raises NotFound: a party is not the session's tenant's.
    :raises Conflict: a plugin could not move its records (named in the message).
    """
    tenant_id = session_tenant(session)
    if survivor.tenant_id != tenant_id or loser.tenant_id != tenant_id:
        raise NotFound("both parties must belong to this tenant")
    if survivor.id == loser.id:
        raise GraphRuleError(f"party #{survivor.id} cannot be merged into itself")
    survivor_id, loser_id = survivor.id, loser.id
    moved, folded, dropped = _merge_relationships(session, survivor_id, loser_id)
    roles_moved = _merge_roles(session, survivor, loser)
    identifiers_moved = _move_identifiers(session, survivor, loser)
    survivor.tags = list(dict.fromkeys([*survivor.tags, *loser.tags]))
    survivor.custom = _merged_custom(survivor.custom, loser.custom)
    _move_history(session, survivor_id, loser_id, actor)
    move_collaboration(session, loser, survivor)  # comments, follows, shares, assignment
    plugins = _merge_plugin_records(session, platform, tenant_id, survivor_id, loser_id)
    loser_name = loser.display_name
    session.delete(loser)
    session.flush()
    report = MergeReport(survivor_id, loser_id, moved, folded, dropped, roles_moved, identifiers_moved, plugins)
    record(session, actor, "party.merged", f"core.party:{survivor_id}", **report.as_dict(), loser_name=loser_name)
    publish(session, "core.party.merged", survivor, {**report.as_dict(), "loser_name": loser_name}, actor)
    return report


# -- relationships ------------------------------------------------------------------------------


def _merge_relationships(session: Session, survivor_id: int, loser_id: int) -> tuple[int, int, int]:
    """Repoint the loser's relationships; return how many moved, were folded, were dropped."""
    loser_rels = list(session.scalars(select(Relationship).where(
        or_(Relationship.from_party_id == loser_id, Relationship.to_party_id == loser_id)).order_by(Relationship.id)))
    survivor_rels = list(session.scalars(select(Relationship).where(
        or_(Relationship.from_party_id == survivor_id, Relationship.to_party_id == survivor_id),
        Relationship.from_party_id != loser_id, Relationship.to_party_id != loser_id)))
    moved = folded = dropped = 0
    for rel in loser_rels:
        ends = tuple(survivor_id if end == loser_id else end for end in (rel.from_party_id, rel.to_party_id))
        if ends[0] == ends[1]:
            session.delete(rel)
            dropped += 1
            continue
        twin = next((other for other in survivor_rels if _same_link(other, rel.type, ends)
                     and _overlap((other.valid_from, other.valid_to), (rel.valid_from, rel.valid_to))), None)
        if twin is not None:
            twin.valid_from = None if None in (twin.valid_from, rel.valid_from) else min(twin.valid_from, rel.valid_from)
            twin.valid_to = None if None in (twin.valid_to, rel.valid_to) else max(twin.valid_to, rel.valid_to)
            twin.attributes = {**(rel.attributes or {}), **(twin.attributes or {})}
            twin.notes = "\n\n".join(dict.fromkeys(n for n in (twin.notes, rel.notes) if n)) or None
            session.delete(rel)
            folded += 1
            continue
        rel.from_party_id, rel.to_party_id = ends
        survivor_rels.append(rel)
        moved += 1
    session.flush()
    return moved, folded, dropped


def _same_link(rel: Relationship, rel_type, ends: tuple[int, int]) -> bool:
    if rel.type_id != rel_type.id:
        return False
    stored = (rel.from_party_id, rel.to_party_id)
    return stored == ends or (rel_type.symmetric and stored == ends[::-1])


def _overlap(a: tuple[date | None, date | None], b: tuple[date | None, date | None]) -> bool:
    return (a[0] or date.min) <= (b[1] or date.max) and (b[0] or date.min) <= (a[1] or date.max)


# -- roles, identifiers, custom values ------------------------------------------------------------


def _merge_roles(session: Session, survivor: Party, loser: Party) -> int:
    """Move the loser's roles; join overlapping periods of one role into the survivor's assignment.

    Rows are repointed by their foreign key (not moved between the two collections, whose
    delete-orphan cascade would delete them on the way); both collections are reloaded afterwards.
    """
    survivor_roles, moved = list(survivor.roles), 0
    for assignment in list(loser.roles):
        overlapping = [held for held in survivor_roles if held.role == assignment.role
                       and _overlap((held.valid_from, held.valid_to), (assignment.valid_from, assignment.valid_to))]
        if not overlapping:
            assignment.party_id = survivor.id
            survivor_roles.append(assignment)
            moved += 1
            continue
        keep, *others = overlapping
        periods = [(a.valid_from, a.valid_to) for a in (*overlapping, assignment)]
        keep.valid_from = None if any(p[0] is None for p in periods) else min(p[0] for p in periods)
        keep.valid_to = None if any(p[1] is None for p in periods) else max(p[1] for p in periods)
        for other in (*others, assignment):
            session.delete(other)
            if other in survivor_roles:
                survivor_roles.remove(other)
    session.flush()
    session.expire(survivor, ["roles"])
    session.expire(loser, ["roles"])
    return moved


def _move_identifiers(session: Session, survivor: Party, loser: Party) -> int:
    """Identifiers are unique in the tenant: each moves as it is."""
    moving = list(loser.identifiers)
    for identifier in moving:
        identifier.party_id = survivor.id
    session.flush()
    session.expire(survivor, ["identifiers"])
    session.expire(loser, ["identifiers"])
    return len(moving)


def _merged_custom(survivor_values: dict | None, loser_values: dict | None) -> dict:
    """The survivor's values, plus the loser's for fields the survivor has no value for."""
    merged = dict(survivor_values or {})
    for code, value in (loser_values or {}).items():
        if merged.get(code) is None:
            merged[code] = value
    return merged


# -- history and plugins --------------------------------------------------------------------------


def _move_history(session: Session, survivor_id: int, loser_id: int, actor: str) -> None:
    """Timeline entries and aliases follow the survivor; the loser's id becomes an alias."""
    in_both = select(TimelineEntry.event_id).where(TimelineEntry.party_id == survivor_id).scalar_subquery()
    session.execute(delete(TimelineEntry).where(TimelineEntry.party_id == loser_id,
                                                TimelineEntry.event_id.in_(in_both)))
    session.execute(update(TimelineEntry).where(TimelineEntry.party_id == loser_id).values(party_id=survivor_id))
    session.execute(update(PartyAlias).where(PartyAlias.party_id == loser_id).values(party_id=survivor_id))
    session.add(PartyAlias(alias_id=loser_id, party_id=survivor_id, merged_by=actor[:100]))
    session.flush()


def _merge_plugin_records(session: Session, platform: Platform, tenant_id: int, survivor_id: int,
                          loser_id: int) -> tuple[str, ...]:
    """Each enabled plugin implementing the hook moves its records; the first failure aborts the merge.

    Not the isolated ``call_for_tenant``: a plugin that could not move its records must stop the
    merge, or its records would be deleted with the loser.
    """
    tenant = session.get(Tenant, tenant_id)
    implementers = {impl.plugin_name for impl in getattr(platform.host.pm.hook, HOOK).get_hookimpls()}
    called = []
    for plugin in platform.enabled_plugins(session):
        if plugin not in implementers:
            continue
        try:
            with session.begin_nested():
                platform.host.call_plugin(plugin, HOOK, tenant=tenant, session=session,
                                          survivor_id=survivor_id, loser_id=loser_id)
        except Exception as exc:
            raise Conflict(f"plugin {plugin} could not move its records to party #{survivor_id}: {exc}") from exc
        called.append(plugin)
    return tuple(called)
