"""Loading the one record a request is about, the same way in every endpoint.

Records are looked up through the request's tenant-scoped session, so another tenant's record is
simply not found: a 404, never a 403 that would confirm it exists.
"""

from __future__ import annotations

from typing import Any, TypeVar

from .. import web
from ..errors import NotFound
from .etag import check_etag

Record = TypeVar("Record")


def get_or_404(model: type[Record], record_id: Any) -> Record:
    """The record of ``model`` with ``record_id`` in the request's tenant, or a 404."""
    record = web.db_session().get(model, record_id)
    if record is None:
        raise NotFound(f"There is no {_label(model)} {record_id} here.")
    return record


def get_for_update(model: type[Record], record_id: Any, if_match: str | None = None) -> Record:
    """The record about to be changed or deleted: found (404), locked, and at the client's version.

    The row is read ``FOR UPDATE`` (PostgreSQL; SQLite already serialises writers), so nobody can
    change it between the version check and this request's write. ``if_match`` is checked instead
    of the ``If-Match`` header when given (a bulk item's ``etag``): 428 without one, 412 when stale.
    """
    # Only the record's own row: a lock on joined-eager rows would be refused on an outer join's side.
    record = web.db_session().get(model, record_id, with_for_update={"of": model})
    if record is None:
        raise NotFound(f"There is no {_label(model)} {record_id} here.")
    check_etag(record, if_match)
    return record


def _label(model: type) -> str:
    """``WorkshopWidget`` → ``workshop widget``, for messages."""
    return "".join(f" {c.lower()}" if c.isupper() else c for c in model.__name__).strip()
