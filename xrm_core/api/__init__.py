"""The REST API conventions, as machinery every resource (core or plugin) is built with.

* :mod:`.blueprint` — ``ApiBlueprint`` and its decorators (records, lists, If-Match, bulk);
* :mod:`.schemas` — base schemas: unknown fields refused, server-owned fields read-only;
* :mod:`.listing`, :mod:`.pagination`, :mod:`.cursor` — sorting, filtering, sparse fields,
  keyset pagination with signed cursors;
* :mod:`.etag`, :mod:`.records` — record ETags, If-Match, loading records tenant-safely;
* :mod:`.bulk` — bulk create/update with per-item results;
* :mod:`.errors` — exceptions → RFC 9457 problems;
* :mod:`.auth` — the request's principal, resolved in one place;
* :mod:`.openapi`, :mod:`.system` — the OpenAPI document, the docs page, the core's resources.

Plugins use these through ``xrm_sdk``.
"""

from .blueprint import ApiBlueprint
from .etag import check_etag, record_etag
from .listing import Listing, ListQuery
from .openapi import API_PREFIX
from .pagination import Page, cursor_paginate
from .records import get_for_update, get_or_404
from .schemas import RecordSchema, Schema

__all__ = [
    "API_PREFIX",
    "ApiBlueprint",
    "ListQuery",
    "Listing",
    "Page",
    "RecordSchema",
    "Schema",
    "check_etag",
    "cursor_paginate",
    "get_for_update",
    "get_or_404",
    "record_etag",
]
