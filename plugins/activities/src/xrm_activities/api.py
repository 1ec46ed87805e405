"""The REST resource ``/api/v1/activities/items``, with the platform's API conventions.

``ApiBlueprint`` gives problem+json errors naming the offending field, cursor pagination with
``Link`` headers, filters, sparse fields, ETags and the OpenAPI document, all from the schema.
"""

import xrm_sdk as xrm
from flask import url_for
from flask.views import MethodView
from marshmallow import fields, validate
from sqlalchemy import select

from .models import Item
from .service import add_item


class ItemSchema(xrm.RecordSchema):
    name = fields.String(required=True, validate=validate.Length(min=1, max=100))
    notes = fields.String(load_default="", validate=validate.Length(max=10_000))
    created_at = fields.DateTime()


ITEMS = xrm.Listing(
    Item,
    ItemSchema,
    sortable=("name", "created_at"),
    filterable={"name": ("eq", "contains"), "created_at": ("gte", "lt")},
    default_sort="name",
)

blueprint = xrm.ApiBlueprint("activities", __name__, description="Activities")


@blueprint.route("/items")
class Items(MethodView):
    @blueprint.list_response(ITEMS)
    def get(self, query):
        """List the items the caller may see."""
        return xrm.cursor_paginate(select(Item), query)

    @blueprint.arguments(ItemSchema)
    @blueprint.record_response(ItemSchema, 201)
    def post(self, data):
        """Add an item."""
        session = xrm.db_session()
        item = add_item(session, **data)
        session.commit()
        return item, {"Location": url_for(".ItemDetail", item_id=item.id)}


@blueprint.route("/items/<int:item_id>")
class ItemDetail(MethodView):
    @blueprint.record_response(ItemSchema)
    def get(self, item_id):
        """Get one item (404 when it does not exist or the caller may not see it)."""
        return xrm.get_or_404(Item, item_id)
