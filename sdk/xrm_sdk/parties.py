"""The party graph as plugins use it: the models to query and the services that change it.

Every function takes the caller's tenant-scoped session and changes nothing outside it; nothing is
committed. Rule violations raise :class:`xrm_sdk.XrmError` subclasses with a one-line reason.
"""

from __future__ import annotations

from datetime import date

from sqlalchemy.orm import Session

from xrm_core.graph import merge as _merge
from xrm_core.graph import service as _service
from xrm_core.graph.models import Party, PartyIdentifier, PartyRoleAssignment, Relationship

create_party = _service.create_party
relate = _service.relate
end_relationship = _service.end_relationship
resolve_merged_party = _merge.resolve_alias

__all__ = [
    "Party",
    "PartyIdentifier",
    "PartyRoleAssignment",
    "Relationship",
    "add_party_role",
    "create_party",
    "end_relationship",
    "merge_parties",
    "relate",
    "resolve_merged_party",
    "sync_relationship_types",
]


def add_party_role(
    session: Session, party: Party, code: str, valid_from: date | None = None, valid_to: date | None = None
) -> PartyRoleAssignment:
    """Record that ``party`` plays role ``code`` (built in or contributed by a plugin) over a period."""
    catalogue = _service.RoleCatalogue.from_platform(_platform(session))
    return _service.add_role(session, party, code, valid_from, valid_to, catalogue=catalogue)


def merge_parties(session: Session, survivor: Party, loser: Party, actor: str) -> dict[str, object]:
    """Merge ``loser`` into ``survivor`` as the core does (every plugin's records follow) and delete it.

    :returns: what moved (relationships, roles, identifiers, the plugins that moved records).
    """
    return _merge.merge_parties(session, _platform(session), survivor, loser, actor).as_dict()


def sync_relationship_types(session: Session) -> list[str]:
    """Copy the relationship types plugins contribute into the session's tenant (idempotent).

    Call it before :func:`relate` with a contributed type code; returns the codes written.
    """
    return _service.sync_relationship_types(session, _platform(session))


def _platform(session: Session):
    platform = session.info.get("platform")
    if platform is None:
        raise RuntimeError("this session was not opened by a platform's database")
    return platform
