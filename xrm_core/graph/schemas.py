"""How parties look in the REST API: the representation and the input schemas.

``PartySchema`` is what every endpoint returns for a party (``/api/v1/parties``, the party-360
view, bulk results); ``PartyCreateSchema`` and ``PartyUpdateSchema`` are what clients send.
Field rules that need the tenant's configuration (custom field definitions, known kinds, owners)
are checked by the services behind the endpoints, not here.
"""

from __future__ import annotations

from marshmallow import fields, validate

from ..api.schemas import RecordSchema, Schema
from .service import PARTY_KINDS

#: Names, tags and identifiers are stored stripped: one of only spaces would be empty.
NOT_BLANK = validate.Regexp(r"\s*\S", error="Must not be blank.")


class PartyIdentifierSchema(Schema):
    """The party's id in another system."""

    source = fields.String(required=True, validate=[validate.Length(min=1, max=63), NOT_BLANK], metadata={
        "description": "The other system, e.g. 'vat' or 'erp'."})
    value = fields.String(required=True, validate=[validate.Length(min=1, max=200), NOT_BLANK])


class PartyRoleSchema(Schema):
    """A role the party plays over a period (inclusive dates; null ends are open)."""

    role = fields.String(dump_only=True)
    valid_from = fields.Date(dump_only=True, allow_none=True)
    valid_to = fields.Date(dump_only=True, allow_none=True)


class PartySchema(RecordSchema):
    """A party as the API returns it, and as clients create it (and change it, with ``partial=True``).

    ``identifiers`` on a change replace the party's whole set; ``custom`` on a change is merged
    into the stored values (a null value removes one). Roles change through their own endpoints.
    """

    kind = fields.String(required=True, validate=validate.OneOf(PARTY_KINDS), metadata={
        "description": "person or organization"})
    display_name = fields.String(required=True, validate=[validate.Length(min=1, max=200), NOT_BLANK])
    tags = fields.List(fields.String(validate=[validate.Length(min=1, max=100), NOT_BLANK]), load_default=list)
    identifiers = fields.List(fields.Nested(PartyIdentifierSchema), load_default=list, metadata={
        "description": "The party's ids in other systems; each source:value is unique in the tenant."})
    roles = fields.List(fields.Nested(PartyRoleSchema), dump_only=True, metadata={
        "description": "Every role assignment, past, current and future."})
    owner_user_id = fields.Integer(allow_none=True)
    owner_team_id = fields.Integer(allow_none=True)
    department_id = fields.Integer(allow_none=True, metadata={
        "description": "Defaults to the creator's department; moving a party needs the assign right."})
    custom = fields.Dict(keys=fields.String(), load_default=dict, metadata={
        "description": "Custom field values by code (numbers as exact decimal strings, dates as ISO dates), "
                       "validated against the tenant's definitions (GET /api/v1/custom-fields)."})
    created_at = fields.DateTime()
    updated_at = fields.DateTime()
