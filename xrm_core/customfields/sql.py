"""Typed reads of JSON values in SQL, on SQLite and PostgreSQL alike.

A custom field's value is read out of the record's ``custom`` JSON object and converted to the
field's SQL type, so that comparisons and sorts follow the type: numbers compare as numbers
(``10 > 9``), dates as dates, booleans as booleans. SQLite's ``json_extract`` already returns
typed scalars (dates are ISO text, which orders like dates); PostgreSQL's ``->>`` returns text,
cast to the type. Numbers are stored as exact decimal strings; both databases also read JSON
numbers, should a plugin or an import write those.

Field codes are written into the SQL as literals (they are checked against :data:`CODE` here, on
top of the definitions' own check), which keeps each code's statement cacheable and lets an
expression index on, say, ``(custom ->> 'size')`` serve it.
"""

from __future__ import annotations

import json
import re
from decimal import Decimal
from typing import Any

from sqlalchemy import (
    BigInteger,
    Boolean,
    ColumnElement,
    Date,
    Float,
    Numeric,
    String,
    TypeDecorator,
    bindparam,
)
from sqlalchemy.exc import CompileError
from sqlalchemy.ext.compiler import compiles
from sqlalchemy.sql.expression import FunctionElement, literal_column

#: What a custom field code looks like: also what makes it safe to write into SQL.
CODE = re.compile(r"^[a-z][a-z0-9_]{0,62}$")


class ExactDecimal(TypeDecorator):
    """Decimal results on both databases without SQLite's lossy ``Numeric`` (and its warning).

    SQLite has no decimal type: its numbers come back as int or float and are turned into
    ``Decimal`` through their shortest repr; PostgreSQL's ``numeric`` is exact already.
    """

    impl = Numeric
    cache_ok = True

    def load_dialect_impl(self, dialect):
        return dialect.type_descriptor(Float() if dialect.name == "sqlite" else Numeric())

    def process_bind_param(self, value: Any, dialect) -> Any:
        if value is not None and dialect.name == "sqlite":
            return float(value)
        return value

    def process_result_value(self, value: Any, dialect) -> Decimal | None:
        return None if value is None else Decimal(str(value))


class _JsonValue(FunctionElement):
    """``column``'s value at key ``code``, as this class's SQL type."""

    inherit_cache = True
    #: The PostgreSQL cast of the extracted text, or None to keep the text.
    pg_cast: str | None = None
    #: How SQLite reads it: ``json_extract`` gives typed scalars; numbers stored as text need a cast.
    sqlite_numeric = False

    def __init__(self, column: ColumnElement[Any], code: str):
        if not CODE.match(code):
            raise ValueError(f"invalid custom field code {code!r}")
        self.code = code
        # The code is part of the statement's cache key through this literal: statements for two
        # codes never share a compiled form.
        super().__init__(column, literal_column(f"'{code}'"))

    @property
    def json_column(self) -> ColumnElement[Any]:
        return next(iter(self.clauses))


class JsonText(_JsonValue):
    type = String()
    inherit_cache = True


class JsonNumber(_JsonValue):
    type = ExactDecimal()
    inherit_cache = True
    pg_cast = "NUMERIC"
    sqlite_numeric = True


class JsonDate(_JsonValue):
    type = Date()
    inherit_cache = True
    pg_cast = "DATE"


class JsonBoolean(_JsonValue):
    type = Boolean()
    inherit_cache = True
    pg_cast = "BOOLEAN"


class JsonInteger(_JsonValue):
    type = BigInteger()
    inherit_cache = True
    pg_cast = "BIGINT"


class JsonArrayIncludes(FunctionElement):
    """Whether the JSON array at ``column[code]`` (or ``column`` itself) includes ``value``."""

    inherit_cache = True
    type = Boolean()

    def __init__(self, column: ColumnElement[Any], code: str | None, value: Any):
        if code is not None and not CODE.match(code):
            raise ValueError(f"invalid custom field code {code!r}")
        self.code = code
        self.value = value
        # SQLite compares the scalar; PostgreSQL tests containment of a one-element JSON array.
        super().__init__(column, literal_column(f"'{code}'" if code else "NULL"),
                         bindparam("scalar", value, unique=True), bindparam("array", json.dumps([value]), unique=True))


@compiles(_JsonValue, "sqlite")
def _sqlite_value(element: _JsonValue, compiler, **kw) -> str:
    extracted = f"json_extract({compiler.process(element.json_column, **kw)}, '$.{element.code}')"
    return f"CAST({extracted} AS NUMERIC)" if element.sqlite_numeric else extracted


@compiles(_JsonValue, "postgresql")
def _postgresql_value(element: _JsonValue, compiler, **kw) -> str:
    extracted = f"({compiler.process(element.json_column, **kw)} ->> '{element.code}')"
    return f"CAST({extracted} AS {element.pg_cast})" if element.pg_cast else extracted


@compiles(_JsonValue)
@compiles(JsonArrayIncludes)
def _unsupported(element: FunctionElement, compiler, **kw) -> str:
    raise CompileError(f"custom field values are read on SQLite and PostgreSQL only, not {compiler.dialect.name}")


@compiles(JsonArrayIncludes, "sqlite")
def _sqlite_includes(element: JsonArrayIncludes, compiler, **kw) -> str:
    column, _code, scalar, _array = list(element.clauses)
    path = f", '$.{element.code}'" if element.code else ""
    return (f"EXISTS (SELECT 1 FROM json_each({compiler.process(column, **kw)}{path}) "
            f"WHERE json_each.value = {compiler.process(scalar, **kw)})")


@compiles(JsonArrayIncludes, "postgresql")
def _postgresql_includes(element: JsonArrayIncludes, compiler, **kw) -> str:
    column, _code, _scalar, array = list(element.clauses)
    target = compiler.process(column, **kw)
    if element.code:
        target = f"({target} -> '{element.code}')"
    return f"(CAST({target} AS JSONB) @> CAST({compiler.process(array, **kw)} AS JSONB))"
