"""Record-level permissions applied by construction, like tenant scoping.

A session that carries a principal (``session.info["principal"]``) only reads the ``Owned`` rows
that principal may read, and a flush refuses creating, changing or deleting a row without the
matching right. Sessions without a principal (platform operations, migrations) are only
tenant-scoped: handing one to user-facing code is the one thing to never do.

The read criteria is a lambda over the principal's facts as plain values (ids, tuples of resource
names), so SQLAlchemy caches one SQL shape for every principal and binds the values per query.
"""

from __future__ import annotations

from datetime import datetime
from types import SimpleNamespace
from typing import Any

from sqlalchemy import and_, bindparam, event, inspect, literal, or_, select
from sqlalchemy.orm import ORMExecuteState, Session, with_loader_criteria
from sqlalchemy.sql.elements import ColumnElement

from .. import clock
from ..errors import XrmError
from ..graph.models import Relationship, RelationshipTypeDef
from .fieldsecurity import unwritten_protected
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


def scope_facts(principal: Principal, action: str) -> dict[str, Any]:
    """The keyword arguments of :func:`permitted` for ``principal`` and ``action``: plain values.

    The relationship facts (``tenant_id``, ``party_id``, ``related_out``, ``related_in``, ``today``)
    only when a ``related`` grant applies to ``action``: otherwise the subqueries are not worth their cost.
    """
    now = clock.now()
    facts = {
        "action": action,
        "user_id": principal.user_id or NO_ID,
        "department_id": principal.department_id or NO_ID,
        "subtree_ids": tuple(sorted(principal.subtree_ids)),
        "team_ids": tuple(sorted(principal.team_ids)),
        "tenant_wide": principal.resources_at(action, Scope.TENANT),
        "subtree_wide": principal.resources_at(action, Scope.SUBTREE),
        "department_wide": principal.resources_at(action, Scope.DEPARTMENT),
        "granted": principal.resources_at(action, Scope.OWN),
        "now": now,
    }
    related_out, related_in = principal.related_keys(action)
    if related_out or related_in:
        facts.update(tenant_id=principal.tenant_id, party_id=principal.party_id or NO_ID,
                     related_out=related_out, related_in=related_in, today=now.date())
    return facts


def permitted(
    cls, *, action, user_id, department_id, subtree_ids, team_ids, tenant_wide, subtree_wide, department_wide,
    granted, now, tenant_id=None, party_id=None, related_out=None, related_in=None, today=None,
) -> ColumnElement[bool]:
    """SQL true for the rows of ``cls`` (an ``Owned`` class) a principal may ``action``: :func:`can` in SQL.

    The one statement of the rules for every action, from :func:`scope_facts`: the session's
    criteria for read, update and delete, and :mod:`xrm_core.dataio.export_scope` for export.
    Resources are granted tenant-wide, at least subtree, department or own (``tenant_wide``…
    ``granted``); ``related_out`` / ``related_in`` are ``<resource>:<type code>`` pairs a ``related``
    grant follows. Within the cached lambda of :func:`visible_criteria` every fact is a bound
    parameter, so this never branches on their values: only on whether the relationship facts
    are given at all.
    """

    def granted_at(resources):
        return literal(cls.__permission_resource__).in_(resources)

    reach = [
        granted_at(tenant_wide),
        and_(granted_at(subtree_wide), cls.department_id.in_(subtree_ids)),
        and_(granted_at(department_wide), cls.department_id == department_id),
        and_(
            granted_at(granted),
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
    ]
    if related_out is not None:

        def arcs(near, far, keys):
            """Parties at the ``far`` end of today's relationships from the principal's party, along ``keys``."""
            return (
                select(far)
                .join(RelationshipTypeDef, RelationshipTypeDef.id == Relationship.type_id)
                .where(
                    Relationship.tenant_id == tenant_id,
                    near == party_id,
                    (literal(cls.__permission_resource__) + ":" + RelationshipTypeDef.code).in_(keys),
                    or_(Relationship.valid_from.is_(None), Relationship.valid_from <= today),
                    or_(Relationship.valid_to.is_(None), Relationship.valid_to >= today),
                )
            )

        reach.append(_party_key(cls).in_(
            arcs(Relationship.from_party_id, Relationship.to_party_id, related_out)
            .union_all(arcs(Relationship.to_party_id, Relationship.from_party_id, related_in))
        ))
    return or_(*reach)


def visible_criteria(principal: Principal, action: str):
    """``with_loader_criteria`` option limiting every ``Owned`` entity to what ``principal`` may ``action``.

    A cached lambda: one SQL shape per branch, the facts bound per query. A second criteria from
    this lambda on one statement would bind its values under the same names as the first (one
    silently replacing the other): other actions apply :func:`permitted` as a plain clause.
    """
    facts = scope_facts(principal, action)
    # One closure variable per fact, each bound as a parameter (an object holding them would be
    # taken for part of the cache key, and refused); two lambdas, one SQL shape each, since a
    # lambda may not branch on its closure's values.
    action, user_id, department_id, now = facts["action"], facts["user_id"], facts["department_id"], facts["now"]
    subtree_ids, team_ids, granted = facts["subtree_ids"], facts["team_ids"], facts["granted"]
    tenant_wide, subtree_wide, department_wide = facts["tenant_wide"], facts["subtree_wide"], facts["department_wide"]
    if "related_out" not in facts:
        return with_loader_criteria(Owned, lambda cls: permitted(
            cls, action=action, user_id=user_id, department_id=department_id, subtree_ids=subtree_ids,
            team_ids=team_ids, tenant_wide=tenant_wide, subtree_wide=subtree_wide, department_wide=department_wide,
            granted=granted, now=now,
        ), include_aliases=True)
    tenant_id, party_id, today = facts["tenant_id"], facts["party_id"], facts["today"]
    related_out, related_in = facts["related_out"], facts["related_in"]
    return with_loader_criteria(Owned, lambda cls: permitted(
        cls, action=action, user_id=user_id, department_id=department_id, subtree_ids=subtree_ids,
        team_ids=team_ids, tenant_wide=tenant_wide, subtree_wide=subtree_wide, department_wide=department_wide,
        granted=granted, now=now, tenant_id=tenant_id, party_id=party_id, related_out=related_out,
        related_in=related_in, today=today,
    ), include_aliases=True)


def _party_key(cls):
    """The column naming the party a record is about, or a never-matching one without any."""
    return getattr(cls, cls.__party_key__) if cls.__party_key__ else literal(NO_ID)


@event.listens_for(Session, "do_orm_execute")
def _scope_to_principal(state: ORMExecuteState) -> None:
    if not state.is_select:
        _forget_facts(state.session)
    principal = principal_of(state.session)
    if principal is None or not (state.is_select or state.is_update or state.is_delete):
        return
    action = "read" if state.is_select else ("update" if state.is_update else "delete")
    state.statement = state.statement.options(visible_criteria(principal, action))


def is_shared(session: Session, principal: Principal, obj, action: str) -> bool:
    """Whether a live share opens ``obj`` to the principal for ``action``."""
    shared = _cached(session, ("shares", principal.name, obj.__permission_resource__, action),
                     lambda: _live_shares(session, principal, obj.__permission_resource__, action))
    if obj.id not in shared:
        return False
    expires_at = shared[obj.id]
    return expires_at is None or expires_at > clock.now()


def _live_shares(session: Session, principal: Principal, resource: str, action: str) -> dict[int, datetime | None]:
    """Record id -> when its latest share to the principal for ``action`` ends (``None``: never).

    One indexed query per transaction, principal, resource and action, instead of one per check:
    a Core statement with an explicit tenant condition, since no ORM work is needed here.
    """
    rows = session.connection().execute(SHARE_LOOKUP, {
        "tenant_id": principal.tenant_id, "resource": resource, "action": action, "now": clock.now(),
        "user_id": principal.user_id or NO_ID, "team_ids": sorted(principal.team_ids) or [NO_ID],
        "department_id": principal.department_id or NO_ID,
    })
    shared: dict[int, datetime | None] = {}
    for record_id, expires_at in rows:
        if record_id not in shared:
            shared[record_id] = expires_at
        elif shared[record_id] is not None:
            shared[record_id] = None if expires_at is None else max(shared[record_id], expires_at)
    return shared


def _share_lookup():
    shares = Share.__table__.c
    return select(shares.record_id, shares.expires_at).where(
        shares.tenant_id == bindparam("tenant_id"),
        shares.resource == bindparam("resource"),
        shares.action == bindparam("action"),
        or_(shares.expires_at.is_(None), shares.expires_at > bindparam("now")),
        or_(
            and_(shares.grantee_kind == GranteeKind.USER, shares.grantee_id == bindparam("user_id")),
            and_(shares.grantee_kind == GranteeKind.TEAM, shares.grantee_id.in_(bindparam("team_ids", expanding=True))),
            and_(shares.grantee_kind == GranteeKind.DEPARTMENT, shares.grantee_id == bindparam("department_id")),
        ),
    )


#: Built once: constructing the statement per check cost more than running it.
SHARE_LOOKUP = _share_lookup()


def is_related(session: Session, principal: Principal, action: str, obj) -> bool:
    """Whether a ``related`` grant reaches ``obj``: its party is related to the principal's."""
    party_key = getattr(obj, "__party_key__", None)
    outgoing, incoming = principal.related_codes(f"{obj.__permission_resource__}.{action}")
    if party_key is None or not (outgoing or incoming):
        return False
    party_id = getattr(obj, party_key)
    if party_id is None:
        return False
    related = _cached(session, ("related", principal.name, outgoing, incoming),
                      lambda: _related_parties(session, principal, outgoing, incoming))
    return party_id in related


def _related_parties(session: Session, principal: Principal, outgoing, incoming) -> frozenset[int]:
    """Parties related today to the principal's party along ``outgoing`` / ``incoming`` type codes."""
    rows = session.connection().execute(RELATED_LOOKUP, {
        "tenant_id": principal.tenant_id, "party_id": principal.party_id or NO_ID, "today": clock.now().date(),
        "outgoing": sorted(outgoing) or [""], "incoming": sorted(incoming) or [""],
    })
    return frozenset(rows.scalars())


def _related_lookup():
    relationships, types = Relationship.__table__.c, RelationshipTypeDef.__table__.c
    today = bindparam("today")

    def arcs(near, far, codes: str):
        return select(far).join_from(
            Relationship.__table__, RelationshipTypeDef.__table__, types.id == relationships.type_id
        ).where(
            relationships.tenant_id == bindparam("tenant_id"),
            near == bindparam("party_id"),
            types.code.in_(bindparam(codes, expanding=True)),
            or_(relationships.valid_from.is_(None), relationships.valid_from <= today),
            or_(relationships.valid_to.is_(None), relationships.valid_to >= today),
        )

    return arcs(relationships.from_party_id, relationships.to_party_id, "outgoing").union(
        arcs(relationships.to_party_id, relationships.from_party_id, "incoming"))


RELATED_LOOKUP = _related_lookup()

#: ``session.info`` key of the facts loaded for permission checks during the current transaction.
CACHE = "xrm_permission_facts"


def _cached(session: Session, key: tuple, load):
    """``load()``, remembered until the session's transaction ends or it writes shares or relationships.

    So a request checking many records reads the principal's shares once, and a change made by
    anyone still takes effect on the next request (its own transaction).
    """
    facts = session.info.setdefault(CACHE, {})
    if key not in facts:
        facts[key] = load()
    return facts[key]


def _forget_facts(session: Session, *_args) -> None:
    session.info.pop(CACHE, None)


event.listen(Session, "after_commit", _forget_facts)
event.listen(Session, "after_rollback", _forget_facts)
event.listen(Session, "after_soft_rollback", _forget_facts)


@event.listens_for(Session, "after_flush")
def _forget_facts_written(session: Session, _context) -> None:
    if CACHE in session.info and any(
        isinstance(obj, (Share, Relationship)) for obj in (*session.new, *session.dirty, *session.deleted)
    ):
        _forget_facts(session)


def can(session: Session, principal: Principal, action: str, obj) -> bool:
    """Whether ``principal`` may ``action`` the record ``obj`` (an ``Owned`` row, new or loaded).

    The same rules as :func:`permitted`, evaluated in Python on one record.
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
    if obj.id is not None and is_shared(session, principal, obj, action):
        return True
    return is_related(session, principal, action, obj)


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
            _require_department_in_reach(principal, "create", obj)
    for obj in session.dirty:
        if isinstance(obj, Owned) and session.is_modified(obj, include_collections=False):
            before = _as_loaded(obj)
            _require(session, principal, "update", before)
            if _ownership_changed(obj):
                _require(session, principal, "assign", before)
                _require(session, principal, "update", obj)  # and it must stay within reach
                _require_department_in_reach(principal, "update", obj)
    for obj in session.deleted:
        if isinstance(obj, Owned):
            _require(session, principal, "delete", obj)
    for obj in (*session.new, *session.dirty):
        denied = unwritten_protected(principal, obj)
        if denied:
            raise PermissionDenied(f"{principal.name} may not write {', '.join(denied)} of {type(obj).__name__}")


def _require(session: Session, principal: Principal, action: str, obj) -> None:
    with session.no_autoflush:
        if not can(session, principal, action, obj):
            raise PermissionDenied(
                f"{principal.name} may not {action} {obj.__permission_resource__} #{obj.id or 'new'}"
            )


def _require_department_in_reach(principal: Principal, action: str, obj: Owned) -> None:
    """A record is filed only under a department the grant reaches: owning it is not enough,
    or anyone could place records in (and so in front of) any department."""
    scope = principal.scope_for(f"{obj.__permission_resource__}.{action}")
    if scope is Scope.TENANT or obj.department_id is None or obj.department_id == principal.department_id:
        return
    if scope is Scope.SUBTREE and obj.department_id in principal.subtree_ids:
        return
    raise PermissionDenied(
        f"{principal.name} may not {action} {obj.__permission_resource__} records in department #{obj.department_id}"
    )


OWNERSHIP = ("owner_user_id", "owner_team_id", "department_id")


def _reach_attributes(obj: Owned) -> tuple[str, ...]:
    """What decides who reaches the record: its ownership, and the party it is about."""
    party_key = obj.__party_key__
    return OWNERSHIP if party_key in (None, "id") else (*OWNERSHIP, party_key)


def _ownership_changed(obj: Owned) -> bool:
    state = inspect(obj)
    return any(state.attrs[name].history.has_changes() for name in _reach_attributes(obj))


def _as_loaded(obj: Owned) -> SimpleNamespace:
    """The record's ownership as it was loaded: rights are checked on what the user could see."""
    state = inspect(obj)
    values = {}
    for name in _reach_attributes(obj):
        history = state.attrs[name].history
        values[name] = history.deleted[0] if history.deleted else getattr(obj, name)
    return SimpleNamespace(__permission_resource__=obj.__permission_resource__, __party_key__=obj.__party_key__,
                           id=obj.id, **values)
