"""Bulk inserts for the import engine: an ``INSERT`` compiled once per dialect, run as one ``executemany``.

An import writes a million identifiers and undo-log rows; through a Core ``insert`` each row's
parameters are built and processed one by one (SQLAlchemy's ``construct_params``), which cost more
than the database's own work. Here the statement is compiled once and the rows, already in their
database form (JSON columns given as encoded text), go to the driver as they are through
``exec_driver_sql``: in the session's transaction, with the engine's execution events.

No ORM criteria apply to an ``INSERT`` either way: the caller gives every row its ``tenant_id``.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from sqlalchemy import Table, insert
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
