"""What becomes of a record's collaboration when the record goes: merged into another, or deleted.

Comments, follows and shares name their record by permission resource and id, without a foreign
key (they point at records of every plugin), so the database cannot move or cascade them. Left
behind they would describe a record that is gone, and on SQLite, which may give a deleted row's id
to the next record, a share would open that new record to its grantee. So:

* :func:`move_collaboration` (called by the party merge) moves the loser's comments, follows and
  shares (if the merging user may share the survivor) to the survivor, and its assignment where the
  survivor has none;
* every flush that deletes an ``Owned`` record deletes its comments, follows and shares with it,
  like the database cascades a party's roles and timeline. The record's deletion is what the audit
  log keeps; comments are not audited one by one on the way out.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from types import SimpleNamespace
from typing import Any

from sqlalchemy import delete, event, select, update
from sqlalchemy.orm import Session

from ..identity.models import Scope, Share
from ..identity.ownership import Owned
from ..identity.scoping import can, principal_of
from .models import Comment, Follow

#: The columns that say who a record is assigned to.
ASSIGNMENT = ("owner_user_id", "owner_team_id", "department_id")


@dataclass(frozen=True)
class CollaborationMoved:
    """What :func:`move_collaboration` did, counted."""

    comments: int
    follows_moved: int
    follows_merged: int
    shares_moved: int
    shares_merged: int
    #: The assignment columns the survivor took from the loser (it had none).
    assignment: tuple[str, ...]


def move_collaboration(session: Session, loser: Any, survivor: Any) -> CollaborationMoved:
    """Move ``loser``'s comments, follows and shares to ``survivor`` (two records of one resource).

    A user following both follows the survivor once; a grantee holding the same share of both keeps
    one, lasting as long as the longer. Shares move only when the session's principal may share the
    survivor (else they go with the loser: a merge must not share a record its author could not).
    The survivor keeps its own owner and department; where it has none it takes the loser's, if the
    session's principal may assign it so. Nothing is committed.
    """
    resource = loser.__permission_resource__
    comments = session.execute(
        update(Comment).where(Comment.resource == resource, Comment.record_id == loser.id)
        .values(record_id=survivor.id).execution_options(synchronize_session=False)).rowcount
    follows_moved = follows_merged = 0
    following = set(session.scalars(select(Follow.user_id).where(Follow.resource == resource,
                                                                 Follow.record_id == survivor.id)))
    for follow in session.scalars(select(Follow).where(Follow.resource == resource, Follow.record_id == loser.id)):
        if follow.user_id in following:
            session.delete(follow)
            follows_merged += 1
        else:
            follow.record_id = survivor.id
            follows_moved += 1
    shares_moved = shares_merged = 0
    principal = principal_of(session)
    # A moved share opens the survivor to its grantee: only for who may share the survivor itself.
    # Otherwise the loser's shares go with it (deleted with the loser, see below).
    if principal is None or can(session, principal, "share", survivor):
        shares_moved, shares_merged = _move_shares(session, resource, loser.id, survivor.id)
    assignment = _take_assignment(session, loser, survivor)
    session.flush()
    return CollaborationMoved(comments, follows_moved, follows_merged, shares_moved, shares_merged, assignment)


def _move_shares(session: Session, resource: str, loser_id: int, survivor_id: int) -> tuple[int, int]:
    def key(share: Share) -> tuple:
        return share.action, share.grantee_kind, share.grantee_id

    held = {key(share): share for share in session.scalars(
        select(Share).where(Share.resource == resource, Share.record_id == survivor_id))}
    moved = merged = 0
    for share in session.scalars(select(Share).where(Share.resource == resource, Share.record_id == loser_id)):
        twin = held.get(key(share))
        if twin is None:
            share.record_id = survivor_id
            moved += 1
            continue
        if twin.expires_at is not None and (share.expires_at is None or share.expires_at > twin.expires_at):
            twin.expires_at = share.expires_at
        session.delete(share)
        merged += 1
    return moved, merged


def _take_assignment(session: Session, loser: Any, survivor: Any) -> tuple[str, ...]:
    """Give ``survivor`` the loser's owner and department where it has none; the columns taken."""
    wanted = {}
    if survivor.owner_user_id is None and survivor.owner_team_id is None:
        wanted.update(owner_user_id=loser.owner_user_id, owner_team_id=loser.owner_team_id)
    if survivor.department_id is None:
        wanted["department_id"] = loser.department_id
    wanted = {name: value for name, value in wanted.items() if value is not None}
    if not wanted or not _may_assign(session, survivor, wanted):
        return ()
    for name, value in wanted.items():
        setattr(survivor, name, value)
    return tuple(sorted(wanted))


def _may_assign(session: Session, record: Any, changes: dict[str, Any]) -> bool:
    """Whether the write guard lets the session's principal give ``record`` this assignment: it may
    assign the record, still update it afterwards, and file it in that department."""
    principal = principal_of(session)
    if principal is None:
        return True
    resource = record.__permission_resource__
    after = SimpleNamespace(__permission_resource__=resource, __party_key__=record.__party_key__, id=record.id,
                            **{name: changes.get(name, getattr(record, name)) for name in ASSIGNMENT})
    scope = principal.scope_for(f"{resource}.update")
    department_in_reach = scope is Scope.TENANT or after.department_id in (None, principal.department_id) \
        or (scope is Scope.SUBTREE and after.department_id in principal.subtree_ids)
    return department_in_reach and can(session, principal, "assign", record) \
        and can(session, principal, "update", after)


@event.listens_for(Session, "after_flush")
def _delete_collaboration_of_deleted_records(session: Session, _context) -> None:
    """Comments, follows and shares go with the ``Owned`` records this flush deleted.

    Core statements with the tenant named: the rows go whoever the session acts for, as the
    record's own cascades do.
    """
    gone: dict[tuple[int, str], list[int]] = defaultdict(list)
    for record in session.deleted:
        if isinstance(record, Owned) and record.id is not None:
            gone[(record.tenant_id, record.__permission_resource__)].append(record.id)
    if not gone:
        return
    connection = session.connection()
    for (tenant_id, resource), record_ids in gone.items():
        for table in (Comment.__table__, Follow.__table__, Share.__table__):
            connection.execute(delete(table).where(table.c.tenant_id == tenant_id, table.c.resource == resource,
                                                   table.c.record_id.in_(record_ids)))
