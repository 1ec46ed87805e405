"""The workflow action ``contacts.add_to_list``: put the run's party on a static list."""

from __future__ import annotations

from typing import Any

import xrm_sdk as xrm
from marshmallow import fields, validate

from .segments_models import Segment
from .segments_service import add_members


class AddToListParams(xrm.Schema):
    list_id = fields.Integer(required=True, validate=validate.Range(min=1), metadata={
        "description": "The static list (a segment of kind 'static')."})
    party = fields.Integer(load_default=None, allow_none=True, metadata={
        "description": "The party; default: the run's subject (a party, a contact, or a record with party_id)."})


def party_of_subject(subject: dict[str, Any] | None) -> int | None:
    """The party a run's subject stands for: itself when it is a party, else its ``party_id``."""
    subject = subject or {}
    if subject.get("party_id") is not None:
        return int(subject["party_id"])
    if subject.get("kind") in ("person", "organization") and subject.get("id") is not None:
        return int(subject["id"])
    return None


def run_add_to_list(params, session, subject=None):
    """Add the party to the list, both as the workflow's principal sees them; output says if it was new."""
    segment = session.get(Segment, params["list_id"])
    if segment is None:
        raise xrm.NotFound(f"no list {params['list_id']} the workflow can see")
    party_id = params["party"] if params["party"] is not None else party_of_subject(subject)
    if party_id is None:
        raise xrm.XrmError("no party: name one in 'party', or run the workflow on a party or contact")
    try:
        added = add_members(session, segment, [party_id])
    except xrm.ValidationError:
        raise xrm.NotFound(f"no party {party_id} the workflow can see") from None
    return {"list_id": segment.id, "party_id": party_id, "added": bool(added)}


ADD_TO_LIST = xrm.WorkflowAction(
    "contacts.add_to_list", label="Add to a list", params=AddToListParams, run=run_add_to_list)
ACTIONS = [ADD_TO_LIST]
