"""The domain events the plugin publishes; payloads are checked against their schema when published."""

import xrm_sdk as xrm
from marshmallow import fields


class ItemCreatedPayload(xrm.Schema):
    name = fields.String(required=True)


ITEM_CREATED = xrm.EventType(
    "sales.item.created", description="An item was added.", schema=ItemCreatedPayload
)
