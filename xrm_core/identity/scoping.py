"""Record-level permissions applied by construction, like tenant scoping.

A session that carries a principal (``session.info["principal"]``) only reads the ``Owned`` rows
that principal may read, and a flush refuses creating, changing or deleting a row without the
matching right. Sessions without a principal (platform operations, migrations) are only
tenant-scoped: handing one to user-facing code is the one thing to never do.

The read criteria is a lambda over the principal's facts as plain values (ids, tuples of resource
names), so SQLAlchemy caches one SQL shape for every principal and binds the values per query.
"""

from __future__ import annotations

from datetime import UTC, datetime
from types import SimpleNamespace

from sqlalchemy import and_, bindparam, event, inspect, literal, or_, select
from sqlalchemy.orm import ORMExecuteState, Session, with_loader_criteria

from ..errors import XrmError
from .models import GranteeKind, Scope, Share
from .ownership import Owned
from .principal import Principal

#: Stands for "no such id" in bound parameters: a None would change the SQL shape (IS NULL).
NO_ID = -1


class PermissionDenied(XrmError):
    """The principal may see the record but not do this to it (HTTP 403)."""


def principal_of(session: Session) -> Principal | None:
    return session.info.get("principal")


def act_as(session: Session, principal: Principal) -> Session:
    """Make every statement and flush of ``session`` obey ``principal``'s rights."""
    if session.info.get("tenant_id") != principal.tenant_id:
        raise PermissionDenied(f"{principal.name} belongs to another tenant than this session")
    session.info["principal"] = principal
    return session


def visible_criteria(principal: Principal, action: str):
    """``with_loader_criteria`` option limiting every ``Owned`` entity to what ``principal`` may ``action``."""
    tenant_wide = principal.resources_at(action, Scope.TENANT)
    subtree_wide = principal.resources_at(action, Scope.SUBTREE)
    department_wide = principal.resources_at(action, Scope.DEPARTMENT)
    granted = principal.resources_at(action, Scope.OWN)
    user_id = principal.user_id or NO_ID
    department_id = principal.department_id or NO_ID
    subtree_ids = tuple(sorted(principal.subtree_ids))
    team_ids = tuple(sorted(principal.team_ids))
    now = datetime.now(UTC)
    return with_loader_criteria(
        Owned,
        lambda cls: or_(
            literal(cls.__permission_resource__).in_(tenant_wide),
            and_(literal(cls.__permission_resource__).in_(subtree_wide), cls.department_id.in_(subtree_ids)),
            and_(literal(cls.__permission_resource__).in_(department_wide), cls.department_id == department_id),
            and_(
                literal(cls.__permission_resource__).in_(granted),
                or_(
                    cls.owner_user_id == user_id,
                    cls.owner_team_id.in_(team_ids),
                    cls.id.in_(
                        select(Share.record_id).where(
                            Share.resource == cls.__permission_resource__,
                            Share.action == action,
                            or_(Share.expires_at.is_(None), Share.expires_at > now),
                            or_(
                                and_(Share.grantee_kind == GranteeKind.USER, Share.grantee_id == user_id),
                                and_(Share.grantee_kind == GranteeKind.TEAM, Share.grantee_id.in_(team_ids)),
                                and_(Share.grantee_kind == GranteeKind.DEPARTMENT, Share.grantee_id == department_id),
                            ),
                        )
                    ),
                ),
            ),
        ),
        include_aliases=True,
    )


@event.listens_for(Session, "do_orm_execute")
def _scope_to_principal(state: ORMExecuteState) -> None:
    principal = principal_of(state.session)
    if principal is None or not (state.is_select or state.is_update or state.is_delete):
        return
    action = "read" if state.is_select else ("update" if state.is_update else "delete")
    state.statement = state.statement.options(visible_criteria(principal, action))


def _share_lookup():
    shares = Share.__table__.c
    return select(shares.id).where(
        shares.tenant_id == bindparam("tenant_id"),
        shares.resource == bindparam("resource"),
        shares.record_id == bindparam("record_id"),
        shares.action == bindparam("action"),
        or_(shares.expires_at.is_(None), shares.expires_at > bindparam("now")),
        or_(
            and_(shares.grantee_kind == GranteeKind.USER, shares.grantee_id == bindparam("user_id")),
            and_(shares.grantee_kind == GranteeKind.TEAM, shares.grantee_id.in_(bindparam("team_ids", expanding=True))),
            and_(shares.grantee_kind == GranteeKind.DEPARTMENT, shares.grantee_id == bindparam("department_id")),
        ),
    ).limit(1)


#: Built once: constructing the statement per check cost more than running it.
SHARE_LOOKUP = _share_lookup()


def is_shared(session: Session, principal: Principal, obj, action: str) -> bool:
    """Whether a live share opens ``obj`` to the principal for ``action`` (one indexed lookup).

    A Core statement with an explicit tenant condition: the ORM's per-statement work is not needed
    for a yes/no answer on one table.
    """
    found = session.connection().execute(SHARE_LOOKUP, {
        "tenant_id": principal.tenant_id, "resource": obj.__permission_resource__, "record_id": obj.id,
        "action": action, "now": datetime.now(UTC), "user_id": principal.user_id or NO_ID,
        "team_ids": sorted(principal.team_ids) or [NO_ID], "department_id": principal.department_id or NO_ID,
    }).first()
    return found is not None


def can(session: Session, principal: Principal, action: str, obj) -> bool:
    """Whether ``principal`` may ``action`` the record ``obj`` (an ``Owned`` row, new or loaded).

    The same rules as :func:`visible_criteria`, evaluated in Python on one record.
    """
    scope = principal.scope_for(f"{obj.__permission_resource__}.{action}")
    if scope is None:
        return False
    if scope is Scope.TENANT:
        return True
    if scope is Scope.SUBTREE and obj.department_id in principal.subtree_ids:
        return True
    if scope in (Scope.DEPARTMENT, Scope.SUBTREE) and obj.department_id is not None \
            and obj.department_id == principal.department_id:
        return True
    if obj.owner_user_id is not None and obj.owner_user_id == principal.user_id:
        return True
    if obj.owner_team_id is not None and obj.owner_team_id in principal.team_ids:
        return True
    return obj.id is not None and is_shared(session, principal, obj, action)


@event.listens_for(Session, "before_flush")
def _guard_writes(session: Session, _context, _instances) -> None:
    principal = principal_of(session)
    if principal is None:
        return
    for obj in session.new:
        if isinstance(obj, Owned):
            if obj.owner_user_id is None and obj.owner_team_id is None:
                obj.owner_user_id = principal.user_id
            if obj.department_id is None:
                obj.department_id = principal.department_id
            _require(session, principal, "create", obj)
    for obj in session.dirty:
        if isinstance(obj, Owned) and session.is_modified(obj, include_collections=False):
            before = _as_loaded(obj)
            _require(session, principal, "update", before)
            if _ownership_changed(obj):
                _require(session, principal, "assign", before)
                _require(session, principal, "update", obj)  # and it must stay within reach
    for obj in session.deleted:
        if isinstance(obj, Owned):
            _require(session, principal, "delete", obj)


def _require(session: Session, principal: Principal, action: str, obj) -> None:
    with session.no_autoflush:
        if not can(session, principal, action, obj):
            raise PermissionDenied(
                f"{principal.name} may not {action} {obj.__permission_resource__} #{obj.id or 'new'}"
            )


OWNERSHIP = ("owner_user_id", "owner_team_id", "department_id")


def _ownership_changed(obj: Owned) -> bool:
    state = inspect(obj)
    return any(state.attrs[name].history.has_changes() for name in OWNERSHIP)


def _as_loaded(obj: Owned) -> SimpleNamespace:
    """The record's ownership as it was loaded: rights are checked on what the user could see."""
    state = inspect(obj)
    values = {}
    for name in OWNERSHIP:
        history = state.attrs[name].history
        values[name] = history.deleted[0] if history.deleted else getattr(obj, name)
    return SimpleNamespace(__permission_resource__=obj.__permission_resource__, id=obj.id, **values)
