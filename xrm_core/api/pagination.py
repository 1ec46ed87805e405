"""Keyset (cursor) pagination: pages that stay correct while rows are added and removed.

An offset skips or repeats rows when the data moves between two requests, and gets slower with
every page; a keyset page continues strictly after the last row seen, in the full sort order (the
requested fields, then the id), so walking all pages yields each row exactly once.

Empty values sort last in both directions, on SQLite and PostgreSQL alike (their defaults
differ), and the "after the last row" condition is written out term by term with that NULL order,
so the same query gives the same pages on both.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sqlalchemy import ColumnElement, Select, and_, false, or_
from sqlalchemy.orm import Session

from .. import web
from .cursor import decode_cursor, encode_cursor
from .listing import ListQuery, SortKey


@dataclass(frozen=True)
class Page:
    """One page of records and the cursor of the next one (``None`` on the last page)."""

    items: list[Any]
    next_cursor: str | None


def cursor_paginate(statement: Select[Any], query: ListQuery, session: Session | None = None) -> Page:
    """Run ``statement`` (a ``select`` of the listing's model, maybe already narrowed) as one page.

    ``query``'s filters, sort and cursor are applied here; the request's session is used unless
    another is given.
    """
    listing = query.listing
    sort_columns = [listing.column(key.field) for key in query.sort]
    statement = statement.where(*(f.clause(listing.column(f.field)) for f in query.filters))
    if query.cursor is not None:
        after = decode_cursor(listing.name, query.sort_spec, query.cursor)
        statement = statement.where(_after(list(zip(query.sort, sort_columns, after, strict=True))))
    order = [_order(key, column) for key, column in zip(query.sort, sort_columns, strict=True)]
    # The sort keys are selected too: the cursor needs their values, including computed ones.
    statement = statement.add_columns(*sort_columns).order_by(*order).limit(query.limit + 1)
    rows = (session or web.db_session()).execute(statement).all()
    more = len(rows) > query.limit
    rows = rows[: query.limit]
    next_cursor = encode_cursor(listing.name, query.sort_spec, list(rows[-1][1:])) if more else None
    return Page(items=[row[0] for row in rows], next_cursor=next_cursor)


def _nullable(column: ColumnElement[Any]) -> bool:
    """Whether the sort column can hold NULLs (computed expressions are assumed to).

    NOT NULL columns are sorted and compared without the NULL terms, which lets the database
    seek straight to the cursor in an index on the column instead of scanning up to it.
    """
    return getattr(getattr(column, "expression", column), "nullable", True)


def _order(key: SortKey, column: ColumnElement[Any]) -> ColumnElement[Any]:
    ordered = column.desc() if key.descending else column.asc()
    return ordered.nulls_last() if _nullable(column) else ordered


def _after(keys: list[tuple[SortKey, ColumnElement[Any], Any]]) -> ColumnElement[bool]:
    """Rows strictly after the sort-key values ``keys`` in the sort order, NULLs last.

    Lexicographic: after on the first key, or equal on it and after on the rest. The last key is
    the id, never NULL and unique, which ends the recursion.
    """
    (key, column, value), rest = keys[0], keys[1:]
    if not rest:
        return column < value if key.descending else column > value
    if value is None:
        beyond: ColumnElement[bool] = false()  # nothing sorts after NULL but other NULLs
        same = column.is_(None)
    else:
        beyond = column < value if key.descending else column > value
        if _nullable(column):
            beyond = or_(beyond, column.is_(None))
        same = column == value
    return or_(beyond, and_(same, _after(rest)))
