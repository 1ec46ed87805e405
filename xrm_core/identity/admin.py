"""Administering who may do what: departments, teams, roles, grants and shares.

Functions take the caller's session (scoped to the tenant) and never commit; every change that
affects access is audited.
"""

from __future__ import annotations

from collections.abc import Collection, Mapping
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select, update
from sqlalchemy.orm import Session
from sqlalchemy.orm.attributes import flag_modified

from ..audit import record
from ..errors import Conflict, NotFound, XrmError
from ..models import User
from .models import Department, Direction, GranteeKind, Role, RoleGrant, Scope, Share, Team, TeamMember, UserRole
from .passwords import hash_password
from .principal import Principal
from .scoping import PermissionDenied, can


def _check_sibling_name(session: Session, name: str, parent_id: int | None, moving: Department | None = None) -> None:
    """Names are unique among siblings, top level included (the database's UNIQUE lets NULL parents repeat)."""
    clash = select(Department.id).where(Department.name == name, Department.parent_id.is_(parent_id)
                                        if parent_id is None else Department.parent_id == parent_id)
    if moving is not None:
        clash = clash.where(Department.id != moving.id)
    if session.scalar(clash.limit(1)) is not None:
        raise Conflict(f"there is already a department {name!r} there")


def create_department(session: Session, name: str, parent: Department | None = None, actor: str = "cli") -> Department:
    _check_sibling_name(session, name.strip(), parent.id if parent else None)
    department = Department(name=name.strip(), parent_id=parent.id if parent else None)
    session.add(department)
    session.flush()
    department.path = f"{parent.path if parent else '/'}{department.id}/"
    record(session, actor, "department.created", department.path, name=department.name)
    return department


def move_department(session: Session, department: Department, new_parent: Department | None, actor: str = "cli") -> None:
    """Re-hang a department (and everything below it) under ``new_parent``."""
    if new_parent is not None and new_parent.path.startswith(department.path):
        raise Conflict(f"cannot move department {department.name!r} below itself")
    _check_sibling_name(session, department.name, new_parent.id if new_parent else None, department)
    old_path = department.path
    new_path = f"{new_parent.path if new_parent else '/'}{department.id}/"
    below = session.scalars(select(Department).where(Department.path.startswith(old_path)))
    for node in below:
        node.path = new_path + node.path[len(old_path):]
    department.parent_id = new_parent.id if new_parent else None
    record(session, actor, "department.moved", department.name, old=old_path, new=new_path)


def create_team(session: Session, name: str, members: list[User] = (), actor: str = "cli") -> Team:
    team = Team(name=name.strip())
    session.add(team)
    session.flush()
    session.add_all(TeamMember(team_id=team.id, user_id=user.id) for user in members)
    record(session, actor, "team.created", team.name, members=[u.email for u in members])
    return team


@dataclass(frozen=True)
class Grant:
    """How far a role grants one permission: a scope and, for ``related``, the path followed.

    Written ``tenant``, ``department``… or ``related:<type>[,<type>…][/incoming|/both]``
    (relationship type codes followed one hop from the user's party; outgoing by default).
    """

    scope: Scope
    via: tuple[str, ...] = ()
    direction: Direction = Direction.OUTGOING

    def __str__(self) -> str:
        if self.scope is not Scope.RELATED:
            return self.scope.value
        text = f"{Scope.RELATED.value}:{','.join(self.via)}"
        return text if self.direction is Direction.OUTGOING else f"{text}/{self.direction.value}"


def as_grant(value: Scope | str | Grant) -> Grant:
    """A plain scope is a grant without a path (how most callers and the bootstrap write them)."""
    return value if isinstance(value, Grant) else Grant(Scope(value))


def define_role(
    session: Session, name: str, grants: Mapping[str, Scope | Grant], known_permissions: set[str], actor: str = "cli"
) -> Role:
    """Create or redefine the role ``name`` with exactly ``grants`` (permission -> scope or grant)."""
    unknown = sorted(set(grants) - known_permissions)
    if unknown:
        raise NotFound(f"unknown permission(s): {', '.join(unknown)}")
    wanted = {permission: as_grant(value) for permission, value in grants.items()}
    role = session.scalar(select(Role).where(Role.name == name))
    if role is None:
        role = Role(name=name)
        session.add(role)
        session.flush()
    existing = {g.permission: g for g in session.scalars(select(RoleGrant).where(RoleGrant.role_id == role.id))}
    for permission, row in existing.items():
        if permission not in wanted:
            session.delete(row)
    for permission, grant in wanted.items():
        row = existing.get(permission)
        if row is None:
            row = RoleGrant(role_id=role.id, permission=permission)
            session.add(row)
        row.scope, row.via, row.direction = grant.scope, list(grant.via), grant.direction
    _new_version(role)
    record(session, actor, "role.defined", name, grants={p: str(g) for p, g in sorted(wanted.items())})
    return role


def _new_version(*records: User | Team | Role) -> None:
    """A change to what a record's representation lists (roles, members, grants) is a change of the
    record: its version, hence its ETag, moves, so a client holding the old one gets a 412."""
    for obj in records:
        if obj.id is not None:
            flag_modified(obj, "id")


def assign_role(session: Session, user: User, role: Role, actor: str = "cli") -> None:
    if session.scalar(select(UserRole.id).where(UserRole.user_id == user.id, UserRole.role_id == role.id)) is None:
        session.add(UserRole(user_id=user.id, role_id=role.id))
        _new_version(user)
        record(session, actor, "role.assigned", user.email, role=role.name)


def revoke_role(session: Session, user: User, role: Role, actor: str = "cli") -> None:
    row = session.scalar(select(UserRole).where(UserRole.user_id == user.id, UserRole.role_id == role.id))
    if row is not None:
        session.delete(row)
        _new_version(user)
        record(session, actor, "role.revoked", user.email, role=role.name)


def share(
    session: Session, principal: Principal, obj, grantee_kind: GranteeKind, grantee_id: int,
    actions: list[str], expires_at: datetime | None = None,
) -> list[Share]:
    """Open ``obj`` to a grantee for ``actions``; needs the ``share`` right on the record.

    The share never gives more than the grantee's own roles allow on that resource: the read
    criteria only honours shares for resources the grantee holds the action on (at any scope).
    """
    if not can(session, principal, "share", obj):
        raise PermissionDenied(f"{principal.name} may not share {obj.__permission_resource__} #{obj.id}")
    created = []
    for action in sorted(set(actions)):
        row = Share(resource=obj.__permission_resource__, record_id=obj.id, action=action,
                    grantee_kind=grantee_kind, grantee_id=grantee_id, expires_at=expires_at,
                    created_by=principal.user_id)
        session.add(row)
        created.append(row)
    session.flush()
    record(session, principal.name, "record.shared", f"{obj.__permission_resource__}#{obj.id}",
           grantee=f"{grantee_kind.value}:{grantee_id}", actions=sorted(set(actions)),
           expires_at=expires_at.isoformat() if expires_at else None)
    return created


def unshare(session: Session, principal: Principal, obj, grantee_kind: GranteeKind, grantee_id: int) -> int:
    if not can(session, principal, "share", obj):
        raise PermissionDenied(f"{principal.name} may not share {obj.__permission_resource__} #{obj.id}")
    rows = session.scalars(select(Share).where(
        Share.resource == obj.__permission_resource__, Share.record_id == obj.id,
        Share.grantee_kind == grantee_kind, Share.grantee_id == grantee_id)).all()
    for row in rows:
        session.delete(row)
    record(session, principal.name, "record.unshared", f"{obj.__permission_resource__}#{obj.id}",
           grantee=f"{grantee_kind.value}:{grantee_id}")
    return len(rows)


def set_department(session: Session, user: User, department: Department | None, actor: str = "cli") -> None:
    user.department_id = department.id if department else None
    record(session, actor, "user.department_changed", user.email, department=department.name if department else None)


def deactivate(session: Session, user: User, actor: str = "cli") -> None:
    """Deactivate a user: every session and token stops working on the next request."""
    session.execute(update(User).where(User.id == user.id).values(active=False,
                    credential_version=User.credential_version + 1))
    record(session, actor, "user.deactivated", user.email)


def create_user(
    session: Session, email: str, password: str, display_name: str = "",
    department: Department | None = None, actor: str = "cli",
) -> User:
    """Create a user who signs in with ``password`` (checked against the password rules).

    There are no invitations: the administrator sets the first password and hands it over.
    """
    email = email.strip().lower()
    if session.scalar(select(User.id).where(User.email == email)) is not None:
        raise Conflict(f"user {email} already exists")
    user = User(email=email, display_name=display_name.strip() or email,
                password_hash=hash_password(password, email=email),
                department_id=department.id if department else None)
    session.add(user)
    session.flush()
    record(session, actor, "user.created", email)
    return user


def reactivate(session: Session, user: User, actor: str = "cli") -> None:
    """Let a deactivated user sign in again: their old browser sessions stay ended, their API tokens
    (unless revoked or expired) work again."""
    user.active = True
    record(session, actor, "user.reactivated", user.email)


def rename_department(session: Session, department: Department, name: str, actor: str = "cli") -> None:
    old = department.name
    _check_sibling_name(session, name.strip(), department.parent_id, department)
    department.name = name.strip()
    record(session, actor, "department.renamed", department.path, old=old, new=department.name)


def delete_department(session: Session, department: Department, actor: str = "cli") -> None:
    """Delete an empty department: one with sub-departments or users is refused."""
    if session.scalar(select(Department.id).where(Department.parent_id == department.id).limit(1)) is not None:
        raise Conflict(f"department {department.name!r} has sub-departments: move or delete them first")
    if session.scalar(select(User.id).where(User.department_id == department.id).limit(1)) is not None:
        raise Conflict(f"department {department.name!r} has users: move them to another department first")
    _drop_shares_to(session, GranteeKind.DEPARTMENT, department.id)
    session.delete(department)
    record(session, actor, "department.deleted", department.path, name=department.name)


def rename_team(session: Session, team: Team, name: str, actor: str = "cli") -> None:
    old = team.name
    team.name = name.strip()
    record(session, actor, "team.renamed", team.name, old=old)


def delete_team(session: Session, team: Team, actor: str = "cli") -> None:
    """Delete a team; records it owned keep their department and owner user, if any."""
    _drop_shares_to(session, GranteeKind.TEAM, team.id)
    session.delete(team)
    record(session, actor, "team.deleted", team.name)


def _drop_shares_to(session: Session, kind: GranteeKind, grantee_id: int) -> None:
    """Withdraw the shares to a grantee that goes away: a new team or department may get its id
    (SQLite reuses the highest one) and must not inherit them."""
    for row in session.scalars(select(Share).where(Share.grantee_kind == kind, Share.grantee_id == grantee_id)):
        session.delete(row)


def add_member(session: Session, team: Team, user: User, actor: str = "cli") -> None:
    """Put ``user`` in ``team`` (idempotent)."""
    found = session.scalar(select(TeamMember.id).where(TeamMember.team_id == team.id, TeamMember.user_id == user.id))
    if found is None:
        session.add(TeamMember(team_id=team.id, user_id=user.id))
        _new_version(team, user)
        record(session, actor, "team.member_added", team.name, user=user.email)


def remove_member(session: Session, team: Team, user: User, actor: str = "cli") -> None:
    row = session.scalar(select(TeamMember).where(TeamMember.team_id == team.id, TeamMember.user_id == user.id))
    if row is not None:
        session.delete(row)
        _new_version(team, user)
        record(session, actor, "team.member_removed", team.name, user=user.email)


def delete_role(session: Session, role: Role, actor: str = "cli") -> None:
    """Delete a role: its users lose its grants on their next request."""
    session.delete(role)
    record(session, actor, "role.deleted", role.name)


def remove_share(session: Session, principal: Principal, row: Share, obj) -> None:
    """Withdraw one share of ``obj``; needs the ``share`` right on the record, like giving it."""
    if not can(session, principal, "share", obj):
        raise PermissionDenied(f"{principal.name} may not share {obj.__permission_resource__} #{obj.id}")
    session.delete(row)
    record(session, principal.name, "record.unshared", f"{row.resource}#{row.record_id}",
           grantee=f"{row.grantee_kind.value}:{row.grantee_id}", actions=[row.action])


class InvalidGrant(XrmError):
    """A grant is not ``permission@scope`` with a declared permission and a known scope."""


#: How a grant is written in the API, the CLI and manifests.
GRANT_FORMAT = "permission@scope"


def parse_grants(texts: list[str], known: Collection[str],
                 relationship_types: Collection[str] | None = None) -> dict[str, Grant]:
    """``["core.party.read@tenant", "core.party.read@related:referred/incoming", ...]`` as
    permission -> grant; every permission must be in ``known`` and, when ``relationship_types``
    is given, every type a ``related`` grant follows must be among them."""
    scopes = ", ".join(s.value for s in Scope)
    grants: dict[str, Grant] = {}
    for text in texts:
        permission, _, scope_text = text.strip().partition("@")
        scope, _, path = scope_text.partition(":")
        if scope not in {s.value for s in Scope}:
            raise InvalidGrant(f"{text!r} is not '{GRANT_FORMAT}' with a scope among {scopes}")
        if permission not in known:
            raise InvalidGrant(f"unknown permission {permission!r}")
        if permission in grants:
            raise InvalidGrant(f"permission {permission!r} is granted twice")
        grants[permission] = _grant(text, Scope(scope), path, relationship_types)
    return grants


def _grant(text: str, scope: Scope, path: str, relationship_types: Collection[str] | None) -> Grant:
    if scope is not Scope.RELATED:
        if path:
            raise InvalidGrant(f"{text!r}: only a 'related' scope takes relationship types")
        return Grant(scope)
    types_text, _, direction = path.partition("/")
    via = tuple(dict.fromkeys(code.strip() for code in types_text.split(",") if code.strip()))
    if not via:
        raise InvalidGrant(f"{text!r}: a related grant names the relationship types it follows, "
                           "e.g. core.party.read@related:referred")
    if direction and direction not in {d.value for d in Direction}:
        raise InvalidGrant(f"{text!r}: direction {direction!r} is not one of "
                           f"{', '.join(d.value for d in Direction)}")
    if relationship_types is not None:
        unknown = [code for code in via if code not in relationship_types]
        if unknown:
            raise InvalidGrant(f"{text!r}: unknown relationship type(s) {', '.join(unknown)}")
    return Grant(scope, via, Direction(direction) if direction else Direction.OUTGOING)


def format_grants(grants: Mapping[str, Scope | Grant]) -> list[str]:
    return [f"{permission}@{as_grant(grant)}" for permission, grant in sorted(grants.items())]


def grants_of(session: Session, role: Role) -> dict[str, Grant]:
    """The role's grants, permission -> grant."""
    rows = session.scalars(select(RoleGrant).where(RoleGrant.role_id == role.id))
    return {row.permission: Grant(row.scope, tuple(row.via or ()), row.direction) for row in rows}
