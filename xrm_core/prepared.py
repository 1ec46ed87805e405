"""Prepared statements: a Core ``SELECT`` compiled once per database dialect, then run straight on
the DBAPI connection of a session or read scope (:mod:`xrm_core.read_scope`).

For the hottest small reads only (the party 360): on an indexed lookup, SQLAlchemy's execution
path (cache key, parameter construction, result metadata, events) costs several times more than
the database's work. A prepared statement keeps what correctness needs from it: the SQL is
SQLAlchemy's own compilation for the dialect, bound values and results pass through the column
types' own processors (dates and JSON on SQLite), and it runs in the session's (or scope's) transaction.

What it skips: execution events (``before_cursor_execute`` listeners do not see it) and the ORM's
criteria, tenant and permission scoping included. A prepared statement must therefore carry its
tenant as a bound condition, and its caller apply permissions to what it returns.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from sqlalchemy.engine import Connection, Dialect
from sqlalchemy.sql import CompoundSelect, Select

from .read_scope import ReadScope


@dataclass(frozen=True)
class _Compiled:
    sql: str
    #: ``(name, bind processor or None)`` of each bound parameter, once per name.
    binds: tuple[tuple[str, Callable[[Any], Any] | None], ...]
    #: Bound parameter names in the order the SQL uses them (a name may repeat); ``None`` for named paramstyles.
    positions: tuple[str, ...] | None
    types: tuple[Any, ...]


class Prepared:
    """``statement`` (whose bound parameters are all given at each run: no literal values) compiled
    once per dialect; :meth:`rows` runs it on a session's or read scope's connection, in its transaction."""

    def __init__(self, statement: Select | CompoundSelect):
        self.statement = statement
        #: Keyed by dialect and driver (``sqlite+pysqlite``).
        self._compiled: dict[str, _Compiled] = {}
        #: Per dialect and driver, ``(column index, result processor)`` for the columns that have one, known
        #: once the driver has described the columns.
        self._processors: dict[str, tuple[tuple[int, Callable[[Any], Any]], ...]] = {}

    def rows(self, connection: Connection | ReadScope, params: Mapping[str, Any]) -> list[tuple]:
        """The statement's rows, with ``params`` bound, as tuples of processed values.

        ``connection`` is a session's (``session.connection()``) or a read scope: tenant data is never
        read outside one, whose transaction the statement joins.
        """
        dialect = connection.dialect
        key = f"{dialect.name}+{dialect.driver}"
        compiled = self._compiled.get(key) or self._compile(dialect, key)
        values = {name: bind(params[name]) if bind else params[name] for name, bind in compiled.binds}
        dbapi_connection = (connection.dbapi_connection if type(connection) is ReadScope
                            else connection.connection.dbapi_connection)
        cursor = dbapi_connection.cursor()
        try:
            cursor.execute(compiled.sql, values if compiled.positions is None
                           else [values[name] for name in compiled.positions])
            rows = cursor.fetchall()
            processors = self._processors.get(key)
            if processors is None:
                processors = self._result_processors(dialect, key, compiled, cursor)
        finally:
            cursor.close()
        if not processors:
            return rows if not rows or type(rows[0]) is tuple else [tuple(row) for row in rows]
        processed = []
        for row in rows:
            values = list(row)
            # SQLAlchemy's result processors take None (and give it back) themselves.
            for index, process in processors:
                values[index] = process(values[index])
            processed.append(tuple(values))
        return processed

    def _compile(self, dialect: Dialect, key: str) -> _Compiled:
        compiled = self.statement.compile(dialect=dialect)
        binds = tuple((name, bind.type.dialect_impl(dialect).bind_processor(dialect))
                      for name, bind in compiled.binds.items())
        positions = tuple(compiled.positiontup) if compiled.positional else None
        prepared = _Compiled(compiled.string, binds, positions,
                             tuple(column.type for column in self.statement.selected_columns))
        self._compiled[key] = prepared
        return prepared

    def _result_processors(self, dialect: Dialect, key: str, compiled: _Compiled, cursor: Any) -> tuple:
        processors = tuple((index, process) for index, (type_, described)
                           in enumerate(zip(compiled.types, cursor.description, strict=True))
                           if (process := type_.dialect_impl(dialect).result_processor(dialect, described[1]))
                           is not None)
        self._processors[key] = processors
        return processors
