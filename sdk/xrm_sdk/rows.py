"""Plain rows for large reports: a select run through the session's tenant and permission scoping,
its rows returned by the database driver's cursor without the ORM's per-row loading.

``session.execute(select(...))`` hands every row of a column-only select through the ORM's row
loading, which costs more than the database's own work on a report of 100,000 rows. A statement
run by :func:`plain_rows` still goes through the session's ``do_orm_execute`` listeners, so the
core scopes it exactly as any other read (tenant, then what the principal may read); only then is
the scoped statement executed on the session's connection, in its transaction, as a Core select.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from sqlalchemy import Row, event
from sqlalchemy.orm import ORMExecuteState, Session
from sqlalchemy.sql import Select

# The scoping listeners are registered when these modules are imported: importing them first
# makes sure they run before (and so have scoped the statement for) the listener below.
from xrm_core import tenancy as _tenancy  # noqa: F401
from xrm_core.identity import scoping as _scoping  # noqa: F401

__all__ = ["plain_rows"]

_PLAIN_ROWS = "xrm_plain_rows"


def plain_rows(session: Session, statement: Select) -> Sequence[Row[Any]]:
    """The rows of ``statement`` (a select of columns, not of entities), scoped like every read of
    ``session``: only the tenant's records the session's principal may read are counted."""
    return session.execute(statement, execution_options={_PLAIN_ROWS: True}).all()


@event.listens_for(Session, "do_orm_execute")
def _execute_scoped_statement(state: ORMExecuteState) -> Any:
    if not (state.is_select and state.execution_options.get(_PLAIN_ROWS)):
        return None
    # state.statement carries the scoping the earlier listeners added (loader criteria): the
    # connection compiles it with them, as the ORM would.
    return state.session.connection().execute(state.statement, state.parameters)
