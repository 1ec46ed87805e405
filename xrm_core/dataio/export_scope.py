"""Exports read only what the user may export, by construction: the export right applied per record.

Exporting needs ``<resource>.read`` and ``<resource>.export``, and the two may reach different
records (read: department, export: own; a record opened by a read share only). While
:func:`exporting` is active on a session, every ORM statement it runs keeps, of the exported
resource's records, only those the user may export, on top of the session's "read" scoping; the
target's own queries need not know (plugin targets read through the SDK and get the same). The list
pages' exports (:mod:`xrm_core.ui.export`) read through it as well.

The condition is a plain clause built per statement, not a cached lambda like the session's read
criteria (:func:`~xrm_core.identity.scoping.visible_criteria`): a second criteria from that same lambda
on one statement binds its values under the read criteria's names, so one silently replaces the other.
It states :func:`~xrm_core.identity.scoping.can` in SQL, for the "export" action.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from sqlalchemy import and_, event, false, or_, select, true
from sqlalchemy.orm import ORMExecuteState, Session, with_loader_criteria
from sqlalchemy.sql.elements import ColumnElement

from .. import clock
from ..graph.models import Relationship, RelationshipTypeDef
from ..identity.fieldsecurity import models_of_resource
from ..identity.models import GranteeKind, Scope, Share
from ..identity.principal import Principal
from ..identity.scoping import principal_of

#: ``session.info`` key: the permission resource being exported through the session.
EXPORTING = "xrm_exporting"
ACTION = "export"


@contextmanager
def exporting(session: Session, resource: str) -> Iterator[Session]:
    """Within the block, ``session`` reads of ``resource``'s records only those its user may export."""
    previous = session.info.get(EXPORTING)
    session.info[EXPORTING] = resource
    try:
        yield session
    finally:
        if previous is None:
            session.info.pop(EXPORTING, None)
        else:
            session.info[EXPORTING] = previous


def exportable_clause(principal: Principal, model: type) -> ColumnElement[bool]:
    """SQL true for the rows of ``model`` (an ``Owned`` class) that ``principal`` may export."""
    resource = model.__permission_resource__
    scope = principal.scope_for(f"{resource}.{ACTION}")
    if scope is None:
        return false()
    if scope is Scope.TENANT:
        return true()
    user_id, department_id, team_ids = principal.user_id, principal.department_id, sorted(principal.team_ids)
    now = clock.now()
    reach = [
        model.owner_team_id.in_(team_ids),
        model.id.in_(select(Share.record_id).where(
            Share.resource == resource, Share.action == ACTION,
            or_(Share.expires_at.is_(None), Share.expires_at > now),
            or_(and_(Share.grantee_kind == GranteeKind.USER, Share.grantee_id == user_id),
                and_(Share.grantee_kind == GranteeKind.TEAM, Share.grantee_id.in_(team_ids)),
                and_(Share.grantee_kind == GranteeKind.DEPARTMENT, Share.grantee_id == department_id)))),
    ]
    if user_id is not None:
        reach.append(model.owner_user_id == user_id)
    if scope is Scope.SUBTREE:
        reach.append(model.department_id.in_(sorted(principal.subtree_ids)))
    if scope in (Scope.DEPARTMENT, Scope.SUBTREE) and department_id is not None:
        reach.append(model.department_id == department_id)
    if (related := _related(principal, model)) is not None:
        reach.append(related)
    return or_(*reach)


def _related(principal: Principal, model: type) -> ColumnElement[bool] | None:
    """Records about a party related today to the principal's along an export ``related`` grant."""
    outgoing, incoming = principal.related_codes(f"{model.__permission_resource__}.{ACTION}")
    if not model.__party_key__ or not (outgoing or incoming):
        return None
    today = clock.now().date()

    def arcs(near, far, codes):
        return (select(far).join(RelationshipTypeDef, RelationshipTypeDef.id == Relationship.type_id)
                .where(Relationship.tenant_id == principal.tenant_id, near == principal.party_id,
                       RelationshipTypeDef.code.in_(sorted(codes)),
                       or_(Relationship.valid_from.is_(None), Relationship.valid_from <= today),
                       or_(Relationship.valid_to.is_(None), Relationship.valid_to >= today)))

    return getattr(model, model.__party_key__).in_(
        arcs(Relationship.from_party_id, Relationship.to_party_id, outgoing)
        .union_all(arcs(Relationship.to_party_id, Relationship.from_party_id, incoming)))


def _keep_exportable(state: ORMExecuteState) -> None:
    resource = state.session.info.get(EXPORTING)
    principal = principal_of(state.session)
    if resource is None or principal is None or not state.is_select:
        return
    state.statement = state.statement.options(*(
        with_loader_criteria(model, exportable_clause(principal, model), include_aliases=True)
        for model in models_of_resource(resource)))


event.listen(Session, "do_orm_execute", _keep_exportable)
