"""Settings kept as one row per tenant, created with their defaults on first use."""

from __future__ import annotations

from contextlib import suppress
from typing import TypeVar

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

Row = TypeVar("Row")


def tenant_row(session: Session, model: type[Row]) -> Row:
    """The tenant's only ``model`` row (unique on ``tenant_id``), created with defaults if missing.

    Two first users at once may both create it: the loser's insert fails on the unique
    constraint, inside a savepoint, and it reads the winner's row.
    """
    found = session.scalars(select(model)).one_or_none()
    if found is not None:
        return found
    with suppress(IntegrityError), session.begin_nested():
        session.add(model())
    return session.scalars(select(model)).one()
