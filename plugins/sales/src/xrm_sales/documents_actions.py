"""Workflow actions on quotes, so a workflow can quote and send without a human."""

from __future__ import annotations

import xrm_sdk as xrm
from marshmallow import fields, validate, validates_schema

from .documents import LANGUAGES, Quote
from .documents_service import (
    create_quote,
    line_requests,
    public_quote_url,
    quote_from_opportunity,
    send_quote,
)
from .pipeline import Opportunity


class ActionLineSchema(xrm.Schema):
    product_id = fields.Integer(required=True)
    quantity = fields.Decimal(required=True, places=4, validate=validate.Range(min=0, min_inclusive=False))
    description = fields.String(validate=validate.Length(min=1, max=300))


class CreateQuoteParams(xrm.Schema):
    """Quote an opportunity (its customer and currency) or a customer directly."""

    opportunity_id = fields.Integer()
    customer_id = fields.Integer()
    currency = fields.String(validate=validate.Length(equal=3))
    language = fields.String(validate=validate.OneOf(LANGUAGES))
    lines = fields.List(fields.Nested(ActionLineSchema), required=True, validate=validate.Length(min=1, max=500))

    @validates_schema
    def _who(self, data, **_kwargs):
        if "opportunity_id" not in data and not ("customer_id" in data and "currency" in data):
            raise xrm.ValidationError("Give an opportunity_id, or a customer_id and a currency.", "opportunity_id")


def run_create_quote(params, session):
    """Create the draft quote; the step's output names it."""
    lines = line_requests(params["lines"])
    options = {key: params[key] for key in ("currency", "language") if key in params}
    if "opportunity_id" in params:
        opportunity = session.get(Opportunity, params["opportunity_id"])
        if opportunity is None:
            raise xrm.NotFound(f"There is no opportunity {params['opportunity_id']} here.")
        quote = quote_from_opportunity(session, opportunity, lines, **options)
    else:
        quote = create_quote(session, params["customer_id"], lines, **options)
    return {"quote_id": quote.id, "number": quote.number, "total": str(quote.current.total)}


class SendQuoteParams(xrm.Schema):
    quote_id = fields.Integer(required=True)


def run_send_quote(params, session, tenant):
    """Send the quote: record its public link (a site-relative path) and publish ``sales.quote.sent``.

    There is no mail channel in the platform yet: a workflow reacting to ``sales.quote.sent``
    delivers the link (the event's ``public_url``).
    """
    quote = session.get(Quote, params["quote_id"])
    if quote is None:
        raise xrm.NotFound(f"There is no quote {params['quote_id']} here.")
    send_quote(session, quote, public_quote_url(session, quote, tenant.slug))
    return {"quote_id": quote.id, "public_url": quote.public_link}


DOCUMENT_WORKFLOW_ACTIONS = [
    xrm.WorkflowAction("sales.create_quote", label="Create a quote", params=CreateQuoteParams, run=run_create_quote),
    xrm.WorkflowAction("sales.send_quote", label="Send a quote (publishes its public link)", params=SendQuoteParams,
                       run=run_send_quote),
]
