"""Who is acting: a user, or a recorded non-human principal (job, automation) with explicit grants.

A principal is loaded once per request or job from the database, so role and share changes take
effect on the next request. It never widens the tenant: it is always bound to one.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

from sqlalchemy import select
from sqlalchemy.orm import Session

from ..models import User
from .models import Department, RoleGrant, Scope, TeamMember, UserRole


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
    #: Permission -> the widest scope any of the principal's roles grants it at.
    grants: Mapping[str, Scope] = field(default_factory=dict)

    def scope_for(self, permission: str) -> Scope | None:
        return self.grants.get(permission)

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
    rows = session.execute(
        select(RoleGrant.permission, RoleGrant.scope)
        .join(UserRole, UserRole.role_id == RoleGrant.role_id)
        .where(UserRole.user_id == user.id)
    )
    for permission, scope in rows:
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
    )


def service_principal(tenant_id: int, name: str, grants: Mapping[str, Scope]) -> Principal:
    """A non-human principal (``job:nightly-import``) acting with exactly ``grants``."""
    return Principal(tenant_id=tenant_id, name=name, grants=dict(grants))
