"""The audit log over REST: read (``core.audit.read``) and export (``core.audit.export``).

There is no route that changes or deletes an entry: the log is append-only (see :mod:`xrm_core.audit`).
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC

from flask import Response
from marshmallow import fields, validate
from sqlalchemy import select

from .. import audit_log, web
from ..identity.scoping import act_as
from ..models import AuditEntry
from .admin import require
from .blueprint import ApiBlueprint
from .listing import Listing
from .pagination import cursor_paginate
from .schemas import Schema

blueprint = ApiBlueprint("core_audit", __name__, description="The tenant's audit log: read and export.")

MEDIA_TYPES = {"csv": "text/csv; charset=utf-8", "jsonl": "application/jsonl; charset=utf-8"}


class AuditEntrySchema(Schema):
    id = fields.Integer(dump_only=True)
    at = fields.DateTime(metadata={"description": "When, in UTC."})
    actor = fields.String(metadata={"description": "user:<id>, cli, platform, plugin:<name>, anonymous."})
    user_id = fields.Integer(allow_none=True)
    action = fields.String()
    target = fields.String()
    ip = fields.String(allow_none=True, metadata={"description": "The client's address."})
    user_agent = fields.String(allow_none=True)
    request_id = fields.String(allow_none=True, metadata={"description": "The request's X-Request-ID."})
    details = fields.Dict()
    changes = fields.Dict(allow_none=True, metadata={
        "description": "For a record's change: attribute → [old, new]; protected values are ***."})


AUDIT = Listing(
    AuditEntry, AuditEntrySchema,
    sortable=("at",),
    filterable={"target": ("eq", "contains"), "actor": ("eq",), "action": ("eq", "in", "contains")},
    default_sort="-at",
    max_limit=500,
)
# since/until stand for at__gte/at__lt (the names people expect of a log): the listing reads the
# loaded keys, so each is loaded under the filter it means.
AUDIT.query_schema = AUDIT.query_schema.from_dict({
    "since": fields.AwareDateTime(default_timezone=UTC, attribute="at__gte", metadata={
        "description": "Entries at or after this time (ISO 8601; UTC unless an offset is given)."}),
    "until": fields.AwareDateTime(default_timezone=UTC, attribute="at__lt", metadata={
        "description": "Entries before this time."}),
}, name="AuditEntryListQuery")


class AuditExportQuerySchema(Schema):
    format = fields.String(load_default="csv", validate=validate.OneOf(audit_log.FORMATS))
    target = fields.String()
    actor = fields.String()
    action = fields.String(metadata={"description": "An action, or a family: core.user.*"})
    since = fields.AwareDateTime(default_timezone=UTC)
    until = fields.AwareDateTime(default_timezone=UTC)


@blueprint.route("/audit")
@blueprint.list_response(AUDIT)
def audit_entries(query):
    """The audit log, newest first; filter by target, actor, action, since and until."""
    require("core.audit.read")
    return cursor_paginate(select(AuditEntry), query)


@blueprint.route("/audit/export")
@blueprint.arguments(AuditExportQuerySchema, location="query")
@blueprint.response(200, description="The matching entries, oldest first, streamed as CSV or JSON Lines.")
def audit_export(where):
    """Export the matching entries (``core.audit.export``), streamed: any size, flat memory."""
    principal = require("core.audit.export")
    fmt = where.pop("format")
    statement = audit_log.matching(**where)
    platform = web.platform()

    def chunks() -> Iterator[str]:
        # The stream outlives the request's session (closed when the view returns): it has its own,
        # scoped like it, and closed when the stream ends or the client goes away.
        with platform.db.session(principal.tenant_id, read_only=True) as session:
            act_as(session, principal)
            yield from audit_log.export(session, statement, fmt)

    return Response(chunks(), headers={
        "Content-Type": MEDIA_TYPES[fmt],
        "Content-Disposition": f'attachment; filename="audit.{fmt}"',
    })
