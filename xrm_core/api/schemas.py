"""The base marshmallow schemas every API resource is declared with.

Unknown input fields are errors, never silently dropped: a client that misspells a field learns
it at once instead of losing data. Fields the server owns (ids, tenant, owner, version, ETag,
timestamps) are read-only by name, whichever schema declares them, so no resource can forget to
protect them; sending one is reported as ``Read-only field.``.
"""

from __future__ import annotations

from typing import Any

import marshmallow as ma
from flask import has_request_context
from marshmallow import fields

from .. import web
from ..identity.fieldsecurity import unreadable_fields
from ..identity.principal import Principal
from ..identity.scoping import principal_of
from ..storable import make_storable
from .etag import record_etag

#: Field names the server sets; they are dumped but never loaded.
READ_ONLY_FIELDS = frozenset({
    "id", "tenant", "tenant_id", "owner", "owner_id", "owner_user_id", "owner_team_id",
    "version", "etag", "created_at", "updated_at",
})

UNKNOWN_FIELD = "Unknown field."
READ_ONLY_FIELD = "Read-only field."


class Schema(ma.Schema):
    """Base of every API schema: unknown fields raise, server-owned fields are read-only."""

    class Meta:
        unknown = ma.RAISE

    def on_bind_field(self, field_name: str, field_obj: fields.Field) -> None:
        if field_name in READ_ONLY_FIELDS:
            field_obj.dump_only = True
        make_storable(field_obj)

    def handle_error(self, error: ma.ValidationError, data: Any, *, many: bool, **kwargs: Any) -> None:
        """Tell a read-only field apart from a misspelt one: marshmallow calls both unknown."""
        if not isinstance(error.messages, dict):
            raise error
        read_only = READ_ONLY_FIELDS | {name for name, field in self.fields.items() if field.dump_only}
        messages = {
            name: [READ_ONLY_FIELD] if name in read_only and value == [UNKNOWN_FIELD] else value
            for name, value in error.messages.items()
        }
        raise ma.ValidationError(messages, data=error.data, valid_data=error.valid_data)


class RecordSchema(Schema):
    """A stored record: its id, version and ETag come out with every representation.

    The ETag is in the body too, so a client can send ``If-Match`` for a record it got from a list
    or a bulk result without fetching it again.
    """

    id = fields.Integer(dump_only=True)
    version = fields.Integer(dump_only=True)
    etag = fields.Function(record_etag, dump_only=True, metadata={
        "type": "string", "description": "The record's ETag, as sent in the ETag and If-Match headers.",
    })

    @ma.post_dump(pass_original=True)
    def _drop_unreadable(self, data: dict[str, Any], original: Any, **_kwargs: Any) -> dict[str, Any]:
        """Protected fields the audience may not read are absent (rule F1), not ``null``."""
        hidden = unreadable_fields(audience(), type(original))
        for name, field in self.fields.items():
            if (field.attribute or name) in hidden:
                data.pop(field.data_key or name, None)
        return data


def audience() -> Principal | None:
    """Who a representation is for: the request's principal; ``None`` (fail closed) outside a request."""
    if not has_request_context():
        return None
    return principal_of(web.db_session())
