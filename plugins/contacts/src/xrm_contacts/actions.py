"""Workflow actions: steps admins can put in workflows, with a schema for their parameters."""

import xrm_sdk as xrm
from marshmallow import fields, validate

from .service import add_item


class AddItemParams(xrm.Schema):
    name = fields.String(required=True, validate=validate.Length(min=1, max=100))
    notes = fields.String(load_default="")


def run_add_item(params, session):
    """Add the item; ``params`` were loaded by ``AddItemParams``, ``session`` acts as the workflow.

    The engine passes only the keyword arguments a function names, among ``params``, ``session``,
    ``event``, ``subject``, ``related`` and ``tenant``; it commits, and records the returned output.
    """
    item = add_item(session, **params)
    return {"item_id": item.id}


ADD_ITEM = xrm.WorkflowAction(
    "contacts.add_item", label="Add an item", params=AddItemParams, run=run_add_item
)
