"""Administering who may do what: departments, teams, roles, grants and shares.

Functions take the caller's session (scoped to the tenant) and never commit; every change that
affects access is audited.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from ..audit import record
from ..errors import Conflict, NotFound
from ..models import User
from .models import Department, GranteeKind, Role, RoleGrant, Scope, Share, Team, TeamMember, UserRole
from .principal import Principal
from .scoping import PermissionDenied, can


def create_department(session: Session, name: str, parent: Department | None = None, actor: str = "cli") -> Department:
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


def define_role(
    session: Session, name: str, grants: dict[str, Scope], known_permissions: set[str], actor: str = "cli"
) -> Role:
    """Create or redefine the role ``name`` with exactly ``grants`` (permission -> scope)."""
    unknown = sorted(set(grants) - known_permissions)
    if unknown:
        raise NotFound(f"unknown permission(s): {', '.join(unknown)}")
    role = session.scalar(select(Role).where(Role.name == name))
    if role is None:
        role = Role(name=name)
        session.add(role)
        session.flush()
    existing = {g.permission: g for g in session.scalars(select(RoleGrant).where(RoleGrant.role_id == role.id))}
    for permission, grant in existing.items():
        if permission not in grants:
            session.delete(grant)
    for permission, scope in grants.items():
        if permission in existing:
            existing[permission].scope = Scope(scope)
        else:
            session.add(RoleGrant(role_id=role.id, permission=permission, scope=Scope(scope)))
    record(session, actor, "role.defined", name, grants={p: Scope(s).value for p, s in sorted(grants.items())})
    return role


def assign_role(session: Session, user: User, role: Role, actor: str = "cli") -> None:
    if session.scalar(select(UserRole.id).where(UserRole.user_id == user.id, UserRole.role_id == role.id)) is None:
        session.add(UserRole(user_id=user.id, role_id=role.id))
        record(session, actor, "role.assigned", user.email, role=role.name)


def revoke_role(session: Session, user: User, role: Role, actor: str = "cli") -> None:
    row = session.scalar(select(UserRole).where(UserRole.user_id == user.id, UserRole.role_id == role.id))
    if row is not None:
        session.delete(row)
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
