"""Read scopes: a read-only transaction on one pooled DBAPI connection, scoped like a session.

**Why not a session.** On a small indexed read (the party 360), opening and closing an ORM
``Session`` (its transaction bookkeeping, the Core ``Connection`` it wraps, the identity map it
empties on close) costs more than running the statements. A read scope checks a connection out of
the engine's pool, begins a transaction (``BEGIN DEFERRED`` on SQLite; PostgreSQL's driver begins
one implicitly) and rolls it back when closed: one consistent snapshot, like a read-only session,
for the prepared statements of :mod:`xrm_core.prepared`.

**Scoped by construction, like a session.** The scope carries its tenant, platform and (through
:func:`~xrm_core.identity.scoping.act_as`) principal in ``info`` under the same keys as a session,
so what reads a session's scope (``graph.session_tenant``, which fails closed without a tenant,
``principal_of``, ``can``) reads a read scope's alike. What needs more than prepared statements
gets it in the same transaction, made only when first asked for: :meth:`ReadScope.connection`, a
Core connection (the permission checks' share lookups), and :meth:`ReadScope.orm_session`, an ORM
session sharing the scope's ``info``, whose statements the tenant and permission criteria scope
like any session's (plugins handed it, e.g. the 360's panels).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Self

from sqlalchemy.engine import Connection, Dialect
from sqlalchemy.orm import Session

if TYPE_CHECKING:
    from .db import Database


class ReadScope:
    """A read-only transaction of ``tenant_id`` (see the module docstring); close it (or use it as a
    context manager) to roll back and return its connection to the pool."""

    def __init__(self, database: Database, tenant_id: int | None, *, all_tenants: bool = False):
        self.info: dict[str, Any] = {"tenant_id": tenant_id, "all_tenants": all_tenants,
                                     "platform": database.platform}
        self._engine = database.engine
        self.dialect: Dialect = self._engine.dialect
        self._pooled = self._engine.raw_connection()
        #: The DBAPI connection, in the scope's transaction: what prepared statements run on.
        self.dbapi_connection = self._pooled.dbapi_connection
        self._core: Connection | None = None
        self._session: Session | None = None
        try:
            database.begin_read_only(self.dbapi_connection)
        except BaseException:
            self._pooled.close()
            raise

    def connection(self) -> Connection:
        """A Core connection in the scope's transaction (the same DBAPI connection)."""
        if self._core is None:
            core = Connection(self._engine, connection=self._pooled).execution_options(xrm_read_scope=True)
            # Joins the transaction already open (the option tells SQLite's begin listener to emit no
            # second BEGIN); from now on closing the Core connection rolls back and returns the DBAPI connection.
            core.begin()
            self._core = core
        return self._core

    def orm_session(self) -> Session:
        """An ORM session in the scope's transaction, sharing its ``info`` (tenant, principal)."""
        if self._session is None:
            session = Session(bind=self.connection(), info=self.info)
            # One dict from now on: acting as a principal on the scope scopes the session too.
            self.info = session.info
            self._session = session
        return self._session

    def close(self) -> None:
        """Roll back and return the connection to the pool."""
        try:
            if self._session is not None:
                self._session.close()
        finally:
            if self._core is not None:
                self._core.close()
            else:
                try:
                    self._pooled.rollback()
                finally:
                    self._pooled.close()

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *_exc: object) -> None:
        self.close()


def orm_session(scope: Session | ReadScope) -> Session:
    """``scope`` itself when it is a session, else the read scope's ORM session."""
    return scope.orm_session() if isinstance(scope, ReadScope) else scope
