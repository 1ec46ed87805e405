"""Workflow actions: steps admins can put in workflows, with a schema for their parameters."""

from __future__ import annotations

from typing import Any

import xrm_sdk as xrm
from marshmallow import fields, validate

from .interactions import DIRECTIONS, INTERACTION_CHANNELS, log_interaction
from .people import actor_of
from .schemas import UtcDateTime


class LogInteractionParams(xrm.Schema):
    party = fields.Integer(load_default=None, allow_none=True, metadata={
        "description": "The party; default: the run's subject (a party, a contact, or a record with party_id)."})
    channel = fields.String(required=True, validate=validate.OneOf(INTERACTION_CHANNELS))
    direction = fields.String(load_default="outbound", validate=validate.OneOf(DIRECTIONS))
    occurred_at = UtcDateTime(load_default=None, allow_none=True, metadata={"description": "Default: now."})
    duration_minutes = fields.Integer(load_default=None, allow_none=True, validate=validate.Range(min=0))
    subject = fields.String(load_default="", validate=validate.Length(max=200))
    outcome = fields.String(load_default="", validate=validate.Length(max=200))
    notes = fields.String(load_default="", validate=validate.Length(max=20_000))


def _party_id(params: dict[str, Any], subject: dict[str, Any] | None) -> int | None:
    if params["party"] is not None:
        return params["party"]
    subject = subject or {}
    if subject.get("party_id") is not None:
        return int(subject["party_id"])
    if subject.get("kind") in ("person", "organization") and subject.get("id") is not None:
        return int(subject["id"])
    return None


def run_log_interaction(params, session, subject=None):
    """Log the interaction with the party the workflow can see; its output names the interaction.

    The engine passes only the keyword arguments a function names, among ``params``, ``session``,
    ``event``, ``subject``, ``related`` and ``tenant``; it commits, and records the returned output.
    """
    party_id = _party_id(params, subject)
    party = session.get(xrm.Party, party_id) if party_id is not None else None
    if party is None:
        raise xrm.XrmError("no party: name one in 'party', or run the workflow on a party or contact it can see")
    interaction = log_interaction(
        session, party, channel=params["channel"], direction=params["direction"],
        occurred_at=params["occurred_at"] or xrm.utcnow(), duration_minutes=params["duration_minutes"],
        subject=params["subject"], outcome=params["outcome"], notes=params["notes"], actor=actor_of(session))
    return {"interaction_id": interaction.id, "party_id": party.id}


LOG_INTERACTION = xrm.WorkflowAction(
    "contacts.log_interaction", label="Log an interaction", params=LogInteractionParams, run=run_log_interaction
)
ACTIONS = [LOG_INTERACTION]
