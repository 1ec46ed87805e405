"""Record ETags and the If-Match precondition: optimistic concurrency for every write.

A record's ETag is derived from its table, id and version column, not from its JSON: it is the
same whether the record was read alone, in a list page or in a bulk result, and whatever sparse
fields were asked for, so any of them can be sent back in ``If-Match``. Including the table and id
means a tag copied from another record never matches by accident, even at the same version.
"""

from __future__ import annotations

import hashlib
from typing import Any

from flask import request
from werkzeug.datastructures import ETags
from werkzeug.exceptions import PreconditionFailed, PreconditionRequired
from werkzeug.http import parse_etags, quote_etag

MISSING_IF_MATCH = "This request must be conditional: send If-Match with the record's ETag."
STALE_IF_MATCH = "The record was changed since you fetched it: fetch it again, then retry."


def entity_tag(record: Any) -> str:
    """The opaque tag (unquoted) of ``record``'s current version."""
    key = f"{record.__table__.name}:{record.id}:{record.version}"
    return hashlib.blake2b(key.encode(), digest_size=12).hexdigest()


def record_etag(record: Any) -> str:
    """``record``'s ETag as it appears in headers and bodies: a quoted, strong entity tag."""
    return quote_etag(entity_tag(record))


def check_etag(record: Any, if_match: str | None = None) -> None:
    """Refuse to change ``record`` unless the client saw its current version.

    ``if_match`` is the header value to check (a bulk item's ``etag``); by default the request's
    ``If-Match`` header. None at all is a 428, another version a 412 (``*`` matches any version).
    """
    tags: ETags = request.if_match if if_match is None else parse_etags(if_match)
    if not tags:
        raise PreconditionRequired(MISSING_IF_MATCH)
    if entity_tag(record) not in tags:
        raise PreconditionFailed(STALE_IF_MATCH)
