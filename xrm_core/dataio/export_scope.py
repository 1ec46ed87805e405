"""Exports read only what the user may export, by construction: the export right applied per record.

Exporting needs ``<resource>.read`` and ``<resource>.export``, and the two may reach different
records (read: department, export: own; a record opened by a read share only). While
:func:`exporting` is active on a session, every ORM statement it runs keeps, of the exported
resource's records, only those the user may export, on top of the session's "read" scoping; the
target's own queries need not know (plugin targets read through the SDK and get the same). The list
pages' exports (:mod:`xrm_core.ui.export`) read through it as well.

The condition is :func:`~xrm_core.identity.scoping.permitted` for the "export" action, as a plain
clause built per statement, not the cached lambda of the session's read criteria
(:func:`~xrm_core.identity.scoping.visible_criteria`): a second criteria from that same lambda on
one statement binds its values under the read criteria's names, so one silently replaces the other.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from sqlalchemy import event
from sqlalchemy.orm import ORMExecuteState, Session, with_loader_criteria
from sqlalchemy.sql.elements import ColumnElement

from ..identity.fieldsecurity import models_of_resource
from ..identity.principal import Principal
from ..identity.scoping import permitted, principal_of, scope_facts

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
    return permitted(model, **scope_facts(principal, ACTION))


def _keep_exportable(state: ORMExecuteState) -> None:
    resource = state.session.info.get(EXPORTING)
    principal = principal_of(state.session)
    if resource is None or principal is None or not state.is_select:
        return
    state.statement = state.statement.options(*(
        with_loader_criteria(model, exportable_clause(principal, model), include_aliases=True)
        for model in models_of_resource(resource)))


event.listen(Session, "do_orm_execute", _keep_exportable)
