"""Bulk inserts for the import engine: an ``INSERT`` compiled once per dialect, run as one ``executemany``.

An import writes a million identifiers and undo-log rows; through a Core ``insert`` each row's
parameters are built and processed one by one (SQLAlchemy's ``construct_params``), which cost more
than the database's own work. Here the statement is compiled once and the rows, already in their
database form (JSON columns given as encoded text), go to the driver as they are through
``exec_driver_sql``: in the session's transaction, with the engine's execution events.

No ORM criteria apply to an ``INSERT`` either way: the caller gives every row its ``tenant_id``.

Rows whose new ids the caller needs take them from :func:`new_ids` first: an ``executemany`` cannot
return them, and SQLAlchemy's ``RETURNING`` path for many rows processes each row's values alone.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from sqlalchemy import Column, Table, func, insert, select
from sqlalchemy.engine import Dialect
from sqlalchemy.orm import Session


class BulkInsert:
    """``INSERT INTO table (columns...)``, executed with many rows of values in ``columns`` order.

    ``columns`` are named in the table's own order (the order compiled SQL lists them in).
    """

    def __init__(self, table: Table, columns: Sequence[str]):
        self.table = table
        self.columns = tuple(columns)
        #: Per dialect and driver: the SQL, and whether the driver takes named parameters.
        self._compiled: dict[str, tuple[str, bool]] = {}

    def run(self, session: Session, rows: list[tuple[Any, ...]]) -> None:
        """Insert ``rows`` (tuples of database values, in ``columns`` order) in the session's transaction."""
        if not rows:
            return
        connection = session.connection()
        dialect = connection.dialect
        key = f"{dialect.name}+{dialect.driver}"
        sql, named = self._compiled.get(key) or self._compile(dialect, key)
        connection.exec_driver_sql(sql, [dict(zip(self.columns, row)) for row in rows] if named else rows)

    def _compile(self, dialect: Dialect, key: str) -> tuple[str, bool]:
        # inline: no RETURNING of the new ids, which an executemany could not give anyway
        compiled = insert(self.table).inline().compile(dialect=dialect, column_keys=list(self.columns))
        positions = compiled.positiontup
        if positions is not None and tuple(positions) != self.columns:
            raise ValueError(f"{self.table.name}: columns must be given in the table's order, {tuple(positions)}")
        # exec_driver_sql hands the SQL to the driver as it is: a literal % must stay doubled for
        # format-style drivers, which compilation already does.
        self._compiled[key] = found = (compiled.string, positions is None)
        return found


def bound(dialect: Dialect, column: Column[Any], value: Any) -> Any:
    """``value`` as ``column``'s type hands it to the driver on ``dialect`` (JSON encoded, dates as SQLite stores them…).

    For values shared by many rows (an import's timestamp), converted once rather than per row.
    """
    process = column.type.dialect_impl(dialect).bind_processor(dialect)
    return value if process is None else process(value)


def new_ids(session: Session, column: Column[Any], count: int) -> list[int]:
    """``count`` new values, ascending, of the integer primary key ``column``, for rows the session inserts now.

    PostgreSQL: drawn from the column's sequence, as its default would (concurrent writers draw
    others). SQLite: the next ones after the largest in use, as SQLite itself numbers new rows; the
    transaction (``BEGIN IMMEDIATE``) holds the database's only write lock, so no one else can take
    them before the caller's insert.
    """
    if count <= 0:
        return []
    connection = session.connection()
    if connection.dialect.name == "postgresql":
        sequence = func.pg_get_serial_sequence(column.table.name, column.name)
        drawn = select(func.nextval(sequence)).select_from(func.generate_series(1, count))
        return sorted(connection.execute(drawn).scalars())
    if connection.dialect.name != "sqlite":
        raise ValueError(f"no safe way to reserve new ids on {connection.dialect.name}")
    largest = connection.execute(select(func.max(column))).scalar() or 0
    return list(range(largest + 1, largest + 1 + count))
