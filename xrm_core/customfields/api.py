"""``/api/v1/custom-fields``: the tenant's custom field definitions over REST.

Any principal of the tenant may read them (forms and clients need them to show and send values);
creating, changing and deleting them needs ``core.custom_field.create`` / ``.update`` /
``.delete``, checked by :mod:`xrm_core.customfields.service`. Changing a field's type while
records hold values for it is refused with a 409 (see the service), as is deleting such a field.
"""

from __future__ import annotations

from typing import Any

from flask import url_for
from flask.views import MethodView
from marshmallow import fields, validate
from sqlalchemy import select

from .. import web
from ..api.blueprint import ApiBlueprint
from ..api.listing import Listing, ListQuery
from ..api.pagination import Page, cursor_paginate
from ..api.records import get_for_update, get_or_404
from ..api.schemas import RecordSchema
from . import service, types
from .models import CustomFieldDefinition

blueprint = ApiBlueprint("core_custom_fields", __name__, description=(
    "Custom field definitions: typed fields tenant admins add to parties and plugin entities."))


class CustomFieldSchema(RecordSchema):
    """A custom field definition."""

    entity = fields.String(required=True, validate=validate.Length(min=1, max=100), metadata={
        "description": "What the field belongs to: core.party, or a plugin entity (<plugin>.<entity>)."})
    code = fields.String(required=True, validate=validate.Length(min=1, max=63), metadata={
        "description": "Key of the value in records' custom object; lower-case letters, digits, '_'."})
    label = fields.String(required=True, validate=validate.Length(min=1, max=200))
    type = fields.String(required=True, validate=validate.OneOf(list(types.FIELD_TYPES)))
    required = fields.Boolean(load_default=False)
    choices = fields.List(fields.String(), load_default=list, metadata={
        "description": "Allowed values of choice and multi_choice fields."})
    validation = fields.Dict(keys=fields.String(), load_default=dict, metadata={
        "description": "Optional rules: min/max (number, date), max_length and regex (text)."})
    position = fields.Integer(load_default=0, metadata={"description": "Display order."})
    active = fields.Boolean(load_default=True, metadata={
        "description": "Inactive fields keep their values but take no new ones."})
    created_at = fields.DateTime()
    updated_at = fields.DateTime()


DEFINITIONS = Listing(
    CustomFieldDefinition,
    CustomFieldSchema,
    sortable=("entity", "code", "position"),
    filterable={"entity": ("eq", "in"), "type": ("eq", "in"), "active": ("eq",), "code": ("eq", "in")},
    default_sort="position",
)


@blueprint.route("/custom-fields")
class CustomFields(MethodView):
    @blueprint.list_response(DEFINITIONS)
    def get(self, query: ListQuery) -> Page:
        """List the tenant's custom field definitions."""
        return cursor_paginate(select(CustomFieldDefinition), query)

    @blueprint.arguments(CustomFieldSchema)
    @blueprint.record_response(CustomFieldSchema, 201)
    def post(self, data: dict[str, Any]):
        """Define a custom field (needs core.custom_field.create)."""
        session = web.db_session()
        definition = service.define_custom_field(session, **data)
        session.commit()
        return definition, {"Location": url_for(".CustomFieldItem", field_id=definition.id)}


@blueprint.route("/custom-fields/<int:field_id>")
class CustomFieldItem(MethodView):
    @blueprint.record_response(CustomFieldSchema)
    def get(self, field_id: int):
        """Get a custom field definition."""
        return get_or_404(CustomFieldDefinition, field_id)

    @blueprint.requires_if_match
    @blueprint.arguments(CustomFieldSchema(partial=True))
    @blueprint.record_response(CustomFieldSchema)
    def patch(self, changes: dict[str, Any], field_id: int):
        """Change a definition (not its entity or code); a type change is refused while values exist."""
        session = web.db_session()
        definition = get_for_update(CustomFieldDefinition, field_id)
        service.update_custom_field(session, definition, changes)
        session.commit()
        return definition

    @blueprint.requires_if_match
    @blueprint.response(204)
    def delete(self, field_id: int):
        """Delete a definition no record holds a value for (otherwise set it inactive)."""
        session = web.db_session()
        service.delete_custom_field(session, get_for_update(CustomFieldDefinition, field_id))
        session.commit()
