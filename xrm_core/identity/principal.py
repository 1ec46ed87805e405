"""Who is acting: a user, or a recorded non-human principal (job, automation) with explicit grants.

A principal is loaded once per request or job from the database, so role and share changes take
effect on the next request. It never widens the tenant: it is always bound to one.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field, replace

from sqlalchemy import select
from sqlalchemy.orm import Session

from ..graph.models import RelationshipTypeDef
from ..models import User
from .models import Department, Direction, RoleGrant, Scope, TeamMember, UserRole


@dataclass(frozen=True)
class Principal:
    tenant_id: int
    #: ``user:<id>``, or ``job:<name>`` / ``workflow:<id>`` for principals that are not people.
    name: str
    user_id: int | None = None
    department_id: int | None = None
    #: The user's department and every department below it.
    subtree_ids: frozenset[int] = frozenset()
    team_ids: frozenset[int] = frozenset()
    #: Permission -> the widest scope any of the principal's roles grants it at (a ``related``
    #: grant counts as ``own`` here; what it adds is in :attr:`related`).
    grants: Mapping[str, Scope] = field(default_factory=dict)
    #: The party the user stands for (``User.party_id``); ``related`` grants start from it.
    party_id: int | None = None
    #: Permission -> relationship type codes a ``related`` grant follows (outgoing, incoming).
    related: Mapping[str, tuple[frozenset[str], frozenset[str]]] = field(default_factory=dict)

    def scope_for(self, permission: str) -> Scope | None:
        return self.grants.get(permission)

    def related_codes(self, permission: str) -> tuple[frozenset[str], frozenset[str]]:
        """Relationship type codes along which ``permission`` reaches related parties: (out, in)."""
        if self.party_id is None:
            return frozenset(), frozenset()
        return self.related.get(permission, (frozenset(), frozenset()))

    def related_keys(self, action: str) -> tuple[tuple[str, ...], tuple[str, ...]]:
        """``<resource>:<type code>`` pairs along which ``action`` reaches related parties: (out, in)."""
        outgoing: set[str] = set()
        incoming: set[str] = set()
        suffix = "." + action
        for permission in self.related:
            if permission.endswith(suffix):
                resource = permission[: -len(suffix)]
                out_codes, in_codes = self.related_codes(permission)
                outgoing.update(f"{resource}:{code}" for code in out_codes)
                incoming.update(f"{resource}:{code}" for code in in_codes)
        return tuple(sorted(outgoing)), tuple(sorted(incoming))

    def restricted_to(self, permissions: set[str]) -> Principal:
        """The same principal holding only ``permissions`` (an API token's scope)."""
        return replace(
            self,
            grants={p: s for p, s in self.grants.items() if p in permissions},
            related={p: codes for p, codes in self.related.items() if p in permissions},
        )

    def resources_at(self, action: str, scope: Scope) -> tuple[str, ...]:
        """Resources on which ``action`` is granted at ``scope`` or wider."""
        suffix = "." + action
        return tuple(sorted(
            perm[: -len(suffix)] for perm, granted in self.grants.items()
            if perm.endswith(suffix) and granted.rank >= scope.rank
        ))


def load_principal(session: Session, user: User) -> Principal:
    """The principal of ``user``, with the grants of all its roles merged (widest scope wins)."""
    grants: dict[str, Scope] = {}
    related: dict[str, tuple[set[str], set[str]]] = {}
    rows = session.execute(
        select(RoleGrant.permission, RoleGrant.scope, RoleGrant.via, RoleGrant.direction)
        .join(UserRole, UserRole.role_id == RoleGrant.role_id)
        .where(UserRole.user_id == user.id)
    )
    for permission, scope, via, direction in rows:
        if scope is Scope.RELATED:
            outgoing, incoming = related.setdefault(permission, (set(), set()))
            if direction in (Direction.OUTGOING, Direction.BOTH):
                outgoing.update(via or ())
            if direction in (Direction.INCOMING, Direction.BOTH):
                incoming.update(via or ())
            scope = Scope.OWN
        if permission not in grants or scope.rank > grants[permission].rank:
            grants[permission] = scope
    subtree: frozenset[int] = frozenset()
    if user.department_id is not None:
        path = session.scalar(select(Department.path).where(Department.id == user.department_id))
        subtree = frozenset(session.scalars(select(Department.id).where(Department.path.startswith(path or "/-"))))
    teams = frozenset(session.scalars(select(TeamMember.team_id).where(TeamMember.user_id == user.id)))
    return Principal(
        tenant_id=user.tenant_id,
        name=f"user:{user.id}",
        user_id=user.id,
        department_id=user.department_id,
        subtree_ids=subtree,
        team_ids=teams,
        grants=grants,
        party_id=user.party_id,
        related=_both_ways_if_symmetric(session, user.tenant_id, related),
    )


def _both_ways_if_symmetric(
    session: Session, tenant_id: int, related: dict[str, tuple[set[str], set[str]]]
) -> dict[str, tuple[frozenset[str], frozenset[str]]]:
    """A symmetric type ("is married to") reads the same from both ends, whatever the direction."""
    codes = set().union(*(outgoing | incoming for outgoing, incoming in related.values()))
    symmetric = set(session.scalars(
        select(RelationshipTypeDef.code).where(
            RelationshipTypeDef.tenant_id == tenant_id,  # the session may be a platform one (tokens)
            RelationshipTypeDef.code.in_(codes), RelationshipTypeDef.symmetric,
        )
    )) if codes else set()
    return {
        permission: (frozenset(outgoing | (incoming & symmetric)), frozenset(incoming | (outgoing & symmetric)))
        for permission, (outgoing, incoming) in related.items()
    }


def service_principal(tenant_id: int, name: str, grants: Mapping[str, Scope]) -> Principal:
    """A non-human principal (``job:nightly-import``) acting with exactly ``grants``."""
    return Principal(tenant_id=tenant_id, name=name, grants=dict(grants))
