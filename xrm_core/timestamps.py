"""The column type of every timestamp: a moment in UTC, read back with its offset on both databases.

PostgreSQL keeps ``timestamp with time zone`` and gives back aware datetimes. SQLite keeps text
without an offset: SQLAlchemy's type writes an aware datetime's wall-clock time (whatever its zone)
and reads naive datetimes back, which then serialise without an offset and cannot be compared with
aware ones. :class:`UtcDateTime` is ``DateTime(timezone=True)`` that, on SQLite only, writes moments
in UTC and reads them back as UTC, so code and the API see the same values on both databases.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from sqlalchemy import DateTime
from sqlalchemy.dialects import sqlite


class UtcDateTime(DateTime):
    """``DateTime(timezone=True)``, aware on SQLite too (the declarative base maps ``datetime`` to it)."""

    def __init__(self) -> None:
        super().__init__(timezone=True)

    def adapt(self, cls: type, **kw: Any) -> Any:
        # SQLAlchemy adapts the generic type to each dialect's own: SQLite's gets the UTC handling.
        if issubclass(cls, sqlite.DATETIME):
            return _SQLiteUtcDateTime(timezone=True)
        return super().adapt(cls, **kw)


class _SQLiteUtcDateTime(sqlite.DATETIME):
    """SQLite's text timestamps, written in UTC and read back as UTC."""

    def bind_processor(self, dialect: Any) -> Any:
        to_text = super().bind_processor(dialect)

        def process(value: Any) -> Any:
            zone = getattr(value, "tzinfo", None)  # dates have none
            if zone is not None and zone is not UTC:
                value = value.astimezone(UTC)
            return to_text(value)

        return process

    def result_processor(self, dialect: Any, coltype: Any) -> Any:
        from_text = super().result_processor(dialect, coltype)

        def process(value: Any) -> datetime | None:
            moment = from_text(value)
            return None if moment is None else moment.replace(tzinfo=UTC)

        return process
