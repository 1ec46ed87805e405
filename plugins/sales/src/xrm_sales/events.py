"""The domain events of leads and opportunities; payloads are checked against their schema when published."""

import marshmallow as ma
import xrm_sdk as xrm
from marshmallow import fields


class OpportunityPayload(ma.Schema):
    """A plain marshmallow schema: ``xrm.Schema`` refuses ``owner_user_id`` as input, and here it is data."""

    title = fields.String(required=True)
    customer_id = fields.Integer(required=True)
    pipeline_id = fields.Integer(required=True)
    stage_id = fields.Integer(required=True)
    stage = fields.String(required=True)
    amount = fields.Decimal(as_string=True, allow_none=True)
    currency = fields.String(required=True)
    owner_user_id = fields.Integer(allow_none=True)
    department_id = fields.Integer(allow_none=True)


class StageChangedPayload(OpportunityPayload):
    from_stage_id = fields.Integer(required=True)
    from_stage = fields.String(required=True)


class ClosedPayload(OpportunityPayload):
    reason = fields.String(required=True)


class LeadPayload(xrm.Schema):
    name = fields.String(required=True)
    company = fields.String(required=True)
    email = fields.String(required=True)
    source = fields.String(required=True)


class LeadQualifiedPayload(LeadPayload):
    party_id = fields.Integer(required=True)
    opportunity_id = fields.Integer(required=True)
    matched_existing_party = fields.Boolean(required=True)


OPPORTUNITY_CREATED = xrm.EventType(
    "sales.opportunity.created", description="An opportunity was added.", schema=OpportunityPayload)
OPPORTUNITY_STAGE_CHANGED = xrm.EventType(
    "sales.opportunity.stage_changed", description="An opportunity moved to another stage.", schema=StageChangedPayload)
OPPORTUNITY_WON = xrm.EventType(
    "sales.opportunity.won", description="An opportunity was won.", schema=ClosedPayload)
OPPORTUNITY_LOST = xrm.EventType(
    "sales.opportunity.lost", description="An opportunity was lost.", schema=ClosedPayload)
LEAD_CREATED = xrm.EventType("sales.lead.created", description="A lead came in.", schema=LeadPayload)
LEAD_QUALIFIED = xrm.EventType(
    "sales.lead.qualified", description="A lead became a customer party and an opportunity.",
    schema=LeadQualifiedPayload)

EVENT_TYPES = [OPPORTUNITY_CREATED, OPPORTUNITY_STAGE_CHANGED, OPPORTUNITY_WON, OPPORTUNITY_LOST,
               LEAD_CREATED, LEAD_QUALIFIED]
