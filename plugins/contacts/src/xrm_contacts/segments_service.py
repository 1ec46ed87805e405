"""Segments and static lists: create, change, fill by hand or from a snapshot, follow merges.

Who may do what follows ``contacts.segment.*`` by construction: a segment is an ``Owned`` record,
so the session only loads the ones its principal may read and refuses flushing changes it may not
make. Changing a static list's members touches the list itself, so that needs ``update`` on it too.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

import xrm_sdk as xrm
from sqlalchemy import delete, func, insert, literal, select
from sqlalchemy.orm import Session

from .segments import compile_definition, count, membership
from .segments_models import DYNAMIC, STATIC, Segment, SegmentMember

PERMISSIONS = [
    xrm.Permission("contacts.segment.read", "See segments and lists"),
    xrm.Permission("contacts.segment.create", "Create segments and lists"),
    xrm.Permission("contacts.segment.update", "Change segments and the members of lists"),
    xrm.Permission("contacts.segment.delete", "Delete segments and lists"),
    xrm.Permission("contacts.segment.export", "Export the members of segments and lists"),
]

#: The most parties one request may add to or remove from a list.
MAX_MEMBERS_PER_CALL = 1000


def _check_name(session: Session, name: str, segment_id: int | None = None) -> None:
    taken = session.scalar(select(Segment.id).where(Segment.name == name, Segment.id != (segment_id or 0)))
    if taken is not None:
        raise xrm.Conflict(f"a segment named {name!r} already exists")


def _check_definition(session: Session, kind: str, definition: Any, segment_id: int | None = None) -> None:
    if kind == DYNAMIC:
        if definition is None:
            raise xrm.ValidationError({"definition": ["A dynamic segment needs a definition."]})
        compile_definition(session, definition, (segment_id,) if segment_id else ())
    elif definition is not None:
        raise xrm.ValidationError({"definition": ["A static list has members, not a definition."]})


def create_segment(session: Session, name: str, kind: str, definition: Any = None, description: str = "") -> Segment:
    """A new segment owned by the acting user (in their department)."""
    _check_definition(session, kind, definition)
    _check_name(session, name)
    principal = xrm.principal_of(session)
    segment = Segment(name=name, kind=kind, definition=definition, description=description,
                      owner_user_id=principal.user_id if principal else None,
                      department_id=principal.department_id if principal else None)
    session.add(segment)
    session.flush()
    return segment


def update_segment(session: Session, segment: Segment, changes: Mapping[str, Any]) -> Segment:
    """Rename, describe or redefine ``segment`` (its kind never changes)."""
    if "definition" in changes:
        _check_definition(session, segment.kind, changes["definition"], segment.id)
        segment.definition = changes["definition"]
    if "name" in changes and changes["name"] != segment.name:
        _check_name(session, changes["name"], segment.id)
        segment.name = changes["name"]
    if "description" in changes:
        segment.description = changes["description"]
    session.flush()
    return segment


def delete_segment(session: Session, segment: Segment) -> None:
    session.delete(segment)
    session.flush()


def _static(segment: Segment) -> None:
    if segment.kind != STATIC:
        raise xrm.Conflict(f"segment {segment.name!r} is dynamic: its members follow its definition")


def _party_ids(session: Session, party_ids: Iterable[int]) -> list[int]:
    """The ids, each a party the session may see (else a 422 naming those it cannot)."""
    wanted = list(dict.fromkeys(party_ids))
    if len(wanted) > MAX_MEMBERS_PER_CALL:
        raise xrm.ValidationError({"party_ids": [f"At most {MAX_MEMBERS_PER_CALL} parties at a time."]})
    visible = set(session.scalars(select(xrm.Party.id).where(xrm.Party.id.in_(wanted))))
    missing = [party_id for party_id in wanted if party_id not in visible]
    if missing:
        raise xrm.ValidationError({"party_ids": [f"No such party here: {', '.join(map(str, missing[:20]))}."]})
    return wanted


def add_members(session: Session, segment: Segment, party_ids: Iterable[int]) -> int:
    """Put visible parties on a static list; returns how many were not on it yet."""
    _static(segment)
    wanted = _party_ids(session, party_ids)
    present = set(session.scalars(select(SegmentMember.party_id).where(
        SegmentMember.segment_id == segment.id, SegmentMember.party_id.in_(wanted))))
    added = [party_id for party_id in wanted if party_id not in present]
    session.add_all(SegmentMember(segment_id=segment.id, party_id=party_id) for party_id in added)
    segment.updated_at = xrm.utcnow()  # the flush checks the right to update the list
    session.flush()
    return len(added)


def remove_members(session: Session, segment: Segment, party_ids: Iterable[int]) -> int:
    """Take parties off a static list; returns how many were on it."""
    _static(segment)
    wanted = list(dict.fromkeys(party_ids))
    segment.updated_at = xrm.utcnow()
    session.flush()
    removed = session.execute(delete(SegmentMember).where(
        SegmentMember.segment_id == segment.id, SegmentMember.party_id.in_(wanted)))
    return removed.rowcount or 0


def snapshot(session: Session, segment: Segment, name: str) -> Segment:
    """A new static list holding the members of ``segment`` the session sees right now (one INSERT … SELECT)."""
    target = create_segment(session, name, STATIC, None, f"Snapshot of {segment.name} on {xrm.utcnow():%Y-%m-%d}.")
    members = select(literal(session.info["tenant_id"]), literal(target.id), xrm.Party.id, literal(xrm.utcnow())).where(
        membership(session, segment))
    session.execute(insert(SegmentMember).from_select(["tenant_id", "segment_id", "party_id", "added_at"], members))
    return target


def member_count(session: Session, segment: Segment) -> int:
    return count(session, membership(session, segment))


def is_member(session: Session, segment: Segment, party_id: int) -> bool:
    """Whether the party is in the segment now (and visible to the session)."""
    return bool(session.scalar(select(func.count(xrm.Party.id)).where(
        xrm.Party.id == party_id, membership(session, segment))))


def follow_merge(session: Session, survivor_id: int, loser_id: int) -> None:
    """Lists the loser was on now hold the survivor (once); called from ``xrm_merge_parties``."""
    survivor_lists = select(SegmentMember.segment_id).where(SegmentMember.party_id == survivor_id)
    session.execute(delete(SegmentMember).where(
        SegmentMember.party_id == loser_id, SegmentMember.segment_id.in_(survivor_lists)))
    for member in session.scalars(select(SegmentMember).where(SegmentMember.party_id == loser_id)):
        member.party_id = survivor_id
    session.flush()
