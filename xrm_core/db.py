"""Engine, declarative base and sessions.

SQLite is configured for concurrent embedded use (WAL, foreign keys, a busy timeout, and write
transactions that start with ``BEGIN IMMEDIATE`` so a reader never fails mid-way when upgrading to a
writer). PostgreSQL needs nothing special.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime

from sqlalchemy import MetaData, create_engine, event
from sqlalchemy.engine import Engine
from sqlalchemy.exc import DBAPIError
from sqlalchemy.orm import DeclarativeBase, Session, sessionmaker

from . import clock
from .config import Settings
from .read_scope import ReadScope
from .timestamps import UtcDateTime

#: Deterministic constraint names, so Alembic can drop what it created on every backend.
NAMING_CONVENTION = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


class Model(DeclarativeBase):
    """Declarative base shared by the core and every plugin (one ``MetaData`` for all tables)."""

    metadata = MetaData(naming_convention=NAMING_CONVENTION)
    type_annotation_map = {datetime: UtcDateTime()}  # aware on both databases


def utcnow() -> datetime:
    """The current moment in UTC, from the platform's controllable clock (:mod:`xrm_core.clock`)."""
    return clock.now()


def make_engine(settings: Settings) -> Engine:
    url = settings.sqlalchemy_url
    if url.startswith("sqlite"):
        settings.instance_path.mkdir(parents=True, exist_ok=True)
        engine = create_engine(url)
        _configure_sqlite(engine, settings.sqlite_busy_timeout_ms)
        return engine
    return create_engine(url, pool_pre_ping=True)


def _configure_sqlite(engine: Engine, busy_timeout_ms: int) -> None:
    @event.listens_for(engine, "connect")
    def _pragmas(dbapi_connection, _record):
        # Python 3.11's sqlite3 has no autocommit attribute: disable its own transaction handling
        # and let the "begin" listener below emit BEGIN itself.
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute(f"PRAGMA busy_timeout={int(busy_timeout_ms)}")
        cursor.execute("PRAGMA synchronous=NORMAL")
        cursor.close()

    @event.listens_for(engine, "begin")
    def _begin(connection):
        options = connection.get_execution_options()
        if options.get("xrm_read_scope"):
            return  # a read scope's Core connection (xrm_core.read_scope): its transaction is open already
        _begin_sqlite(connection.connection.dbapi_connection,
                      "BEGIN DEFERRED" if options.get("xrm_read_only") else "BEGIN IMMEDIATE")


def _begin_sqlite(dbapi_connection, statement: str) -> None:
    # Straight on the DBAPI connection: this runs at the start of every session's transaction,
    # and SQLAlchemy's statement execution path would cost more than the BEGIN itself.
    # Its errors (a writer waiting past the busy timeout) are wrapped as SQLAlchemy's would be, so
    # callers handling DBAPIError / OperationalError see them alike.
    try:
        dbapi_connection.execute(statement)
    except sqlite3.Error as exc:
        raise DBAPIError.instance(statement, None, exc, sqlite3.Error) from exc


class Database:
    """The engine and session factory of one platform instance."""

    def __init__(self, settings: Settings):
        self.settings = settings
        self.engine = make_engine(settings)
        self._sessions = sessionmaker(self.engine, expire_on_commit=False)
        #: The platform that owns this database, set by it; sessions carry it in ``info["platform"]``
        #: so that services called with only a session (plugin code, workflow actions) reach it.
        self.platform: object | None = None

    @property
    def is_sqlite(self) -> bool:
        return self.engine.dialect.name == "sqlite"

    def session(self, tenant_id: int | None = None, *, all_tenants: bool = False, read_only: bool = False) -> Session:
        """A new session scoped to ``tenant_id``.

        ``all_tenants=True`` is for platform operations (migrations, tenant administration, purges);
        without it and without a tenant, any statement on a tenant-owned table fails closed.
        ``read_only=True`` starts a deferred transaction, so on SQLite the reader never waits for
        (or blocks) the single writer.
        """
        session = self._sessions()
        session.info["tenant_id"] = tenant_id
        session.info["all_tenants"] = all_tenants
        session.info["platform"] = self.platform
        if read_only:
            session.connection(execution_options={"xrm_read_only": True})
        return session

    def reader(self, tenant_id: int | None = None, *, all_tenants: bool = False) -> ReadScope:
        """A new read scope of ``tenant_id``: a read-only transaction for prepared statements, scoped
        like a read-only session but cheaper to open and close (see :mod:`xrm_core.read_scope`)."""
        return ReadScope(self, tenant_id, all_tenants=all_tenants)

    def begin_read_only(self, dbapi_connection) -> None:
        """Begin a read-only transaction on a DBAPI connection checked out of this database's pool."""
        if self.is_sqlite:
            _begin_sqlite(dbapi_connection, "BEGIN DEFERRED")
        # PostgreSQL's driver begins a transaction itself at the first statement.

    @contextmanager
    def transaction(self, tenant_id: int | None = None, *, all_tenants: bool = False) -> Iterator[Session]:
        """A session whose work is committed on success and rolled back on any exception."""
        with self.session(tenant_id, all_tenants=all_tenants) as session, session.begin():
            yield session

    def dispose(self) -> None:
        self.engine.dispose()
