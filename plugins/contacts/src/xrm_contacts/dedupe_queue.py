"""The duplicate review queue: scans fill it, reviewers merge or dismiss its pairs.

A reviewer only sees a pair when both parties are visible to them (the session's permission scope
decides, through the joins below); a merged pair is kept as history and shown with its survivor.
A rescan refreshes the open pairs, adds the new ones and closes those no longer alike, but never
reopens a dismissed pair: a reviewer's "these are two people" stands.
"""

from __future__ import annotations

from dataclasses import dataclass

import xrm_sdk as xrm
from marshmallow import fields
from sqlalchemy import and_, delete, exists, or_, select
from sqlalchemy.orm import Session

from .dedupe import Progress, detect
from .dedupe_models import DISMISSED, MERGED, OPEN, DuplicatePair
from .people import actor_of

READ, DECIDE, SCAN = "contacts.duplicate.read", "contacts.duplicate.update", "contacts.duplicate.create"

PERMISSIONS = [
    xrm.Permission(READ, "See the duplicate review queue"),
    xrm.Permission(DECIDE, "Merge or dismiss suspected duplicates"),
    xrm.Permission(SCAN, "Scan the contacts for duplicates"),
]


class PairFoundPayload(xrm.Schema):
    party_a_id = fields.Integer(required=True)
    party_b_id = fields.Integer(required=True)
    score = fields.Integer(required=True)
    reasons = fields.List(fields.String(), required=True)


class PairMergedPayload(xrm.Schema):
    survivor_id = fields.Integer(required=True)
    loser_id = fields.Integer(required=True)


class PairDismissedPayload(xrm.Schema):
    party_a_id = fields.Integer(required=True)
    party_b_id = fields.Integer(required=True)


EVENT_TYPES = [
    xrm.EventType("contacts.duplicate.found", description="A scan found two parties that are probably one.",
                  schema=PairFoundPayload),
    xrm.EventType("contacts.duplicate.merged", description="Two parties of the duplicate queue were merged.",
                  schema=PairMergedPayload),
    xrm.EventType("contacts.duplicate.dismissed", description="A reviewer decided two parties are not one.",
                  schema=PairDismissedPayload),
]


@dataclass(frozen=True)
class ScanReport:
    """What a scan changed in the queue."""

    parties: int
    found: int
    refreshed: int
    closed: int
    dismissed_kept: int

    def as_dict(self) -> dict[str, int]:
        return {"parties": self.parties, "found": self.found, "refreshed": self.refreshed,
                "closed": self.closed, "dismissed_kept": self.dismissed_kept}


def require(session: Session, permission: str) -> None:
    """Refuse (403) a principal without ``permission``; platform sessions (CLI, jobs) may do anything."""
    principal = xrm.principal_of(session)
    if principal is not None and principal.scope_for(permission) is None:
        raise xrm.PermissionDenied(f"{principal.name} does not hold {permission}")


def _visible(party_id_column) -> object:
    return exists().where(xrm.Party.id == party_id_column)


def visible_pairs(status: str | None = OPEN):
    """A select of the pairs the session's principal may see (both parties; the survivor once merged)."""
    both = and_(_visible(DuplicatePair.party_a_id), _visible(DuplicatePair.party_b_id))
    statement = select(DuplicatePair).where(
        or_(and_(DuplicatePair.status != MERGED, both),
            and_(DuplicatePair.status == MERGED, _visible(DuplicatePair.survivor_id))))
    if status is not None:
        statement = statement.where(DuplicatePair.status == status)
    return statement


def get_pair(session: Session, pair_id: int) -> DuplicatePair:
    """The pair, if the session may see it (404 otherwise, also for a pair of another tenant)."""
    require(session, READ)
    pair = session.scalar(visible_pairs(None).where(DuplicatePair.id == pair_id))
    if pair is None:
        raise xrm.NotFound(f"no duplicate pair #{pair_id}")
    return pair


def scan(session: Session, progress: Progress | None = None) -> ScanReport:
    """Refresh the queue from the parties the session may see; publish ``contacts.duplicate.found`` per new pair."""
    require(session, SCAN)
    actor = actor_of(session)
    candidates, scanned = detect(session, progress)
    known = {(p.party_a_id, p.party_b_id): p
             for p in session.scalars(select(DuplicatePair).where(DuplicatePair.status != MERGED))}
    found = refreshed = kept = 0
    for candidate in candidates:
        pair = known.pop((candidate.a_id, candidate.b_id), None)
        if pair is None:
            pair = DuplicatePair(party_a_id=candidate.a_id, party_b_id=candidate.b_id, score=candidate.score,
                                 reasons=list(candidate.reasons), status=OPEN)
            session.add(pair)
            xrm.publish(session, "contacts.duplicate.found", pair,
                        {"party_a_id": pair.party_a_id, "party_b_id": pair.party_b_id, "score": pair.score,
                         "reasons": pair.reasons}, actor, related=[pair.party_a_id, pair.party_b_id])
            found += 1
        elif pair.status == OPEN:
            if (pair.score, pair.reasons) != (candidate.score, list(candidate.reasons)):
                pair.score, pair.reasons = candidate.score, list(candidate.reasons)
                refreshed += 1
        else:
            kept += 1
    # Open pairs among the scanned parties that are no longer alike; pairs involving parties this
    # session cannot see are someone else's to refresh.
    stale = [p.id for p in known.values()
             if p.status == OPEN and p.party_a_id in scanned and p.party_b_id in scanned]
    if stale:
        session.execute(delete(DuplicatePair).where(DuplicatePair.id.in_(stale)))
    session.flush()
    return ScanReport(len(scanned), found, refreshed, len(stale), kept)


def merge_pair(session: Session, pair_id: int, survivor_id: int) -> dict[str, object]:
    """Merge the pair's two parties into ``survivor_id`` with the core merge (every plugin's records follow).

    The merge itself closes the pair (see :func:`follow_merge`). Refused (409) for a closed pair;
    the principal needs the right to update the survivor and delete the other (403 otherwise).
    """
    pair = get_pair(session, pair_id)
    require(session, DECIDE)
    if pair.status != OPEN:
        raise xrm.Conflict(f"duplicate pair #{pair.id} is already {pair.status}")
    if survivor_id not in (pair.party_a_id, pair.party_b_id):
        raise xrm.ValidationError({"survivor_id": [
            f"Choose party {pair.party_a_id} or {pair.party_b_id}, the two parties of this pair."]})
    loser_id = pair.party_b_id if survivor_id == pair.party_a_id else pair.party_a_id
    survivor, loser = session.get(xrm.Party, survivor_id), session.get(xrm.Party, loser_id)
    return xrm.merge_parties(session, survivor, loser, actor_of(session))


def dismiss_pair(session: Session, pair_id: int) -> DuplicatePair:
    """Record that the pair's parties are not one; later scans leave it dismissed."""
    pair = get_pair(session, pair_id)
    require(session, DECIDE)
    if pair.status != OPEN:
        raise xrm.Conflict(f"duplicate pair #{pair.id} is already {pair.status}")
    actor = actor_of(session)
    pair.status, pair.decided_by, pair.decided_at = DISMISSED, actor, xrm.utcnow()
    xrm.publish(session, "contacts.duplicate.dismissed", pair,
                {"party_a_id": pair.party_a_id, "party_b_id": pair.party_b_id}, actor,
                related=[pair.party_a_id, pair.party_b_id])
    session.flush()
    return pair


def follow_merge(session: Session, survivor_id: int, loser_id: int) -> None:
    """Keep the queue true after any merge (from the queue or not); called from ``xrm_merge_parties``.

    The pair of the two merged parties is closed as merged; the loser's other pairs move to the
    survivor, unless the survivor already has a pair with that party (then the loser's is dropped).
    """
    actor = actor_of(session)
    involving = session.scalars(select(DuplicatePair).where(
        or_(DuplicatePair.party_a_id == loser_id, DuplicatePair.party_b_id == loser_id),
        DuplicatePair.status != MERGED)).all()
    for pair in involving:
        other = pair.party_b_id if pair.party_a_id == loser_id else pair.party_a_id
        if other == survivor_id:
            pair.status, pair.survivor_id = MERGED, survivor_id
            pair.decided_by, pair.decided_at = actor, xrm.utcnow()
            xrm.publish(session, "contacts.duplicate.merged", pair,
                        {"survivor_id": survivor_id, "loser_id": loser_id}, actor, related=[survivor_id])
            continue
        low, high = sorted((other, survivor_id))
        taken = session.scalar(select(DuplicatePair.id).where(
            DuplicatePair.party_a_id == low, DuplicatePair.party_b_id == high))
        if taken is None:
            pair.party_a_id, pair.party_b_id = low, high
        else:
            session.delete(pair)
    session.flush()
