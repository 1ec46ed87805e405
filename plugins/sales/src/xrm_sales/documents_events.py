"""The events of quotes, orders and invoices; payload amounts are decimal strings."""

import xrm_sdk as xrm
from marshmallow import fields


class QuotePayload(xrm.Schema):
    number = fields.String(required=True)
    quote_version = fields.Integer(required=True)
    customer_id = fields.Integer(required=True)
    currency = fields.String(required=True)
    total = fields.String(required=True)
    status = fields.String(required=True)
    #: On ``sales.quote.sent``: the signed page where the customer accepts or refuses.
    public_url = fields.String()
    #: On ``sales.quote.expired``: the last day the quote could be accepted (ISO date).
    valid_until = fields.String()


class OrderPayload(xrm.Schema):
    number = fields.String(required=True)
    customer_id = fields.Integer(required=True)
    currency = fields.String(required=True)
    total = fields.String(required=True)
    quote_number = fields.String(required=True)


class InvoicePayload(xrm.Schema):
    number = fields.String(required=True)
    kind = fields.String(required=True)
    customer_id = fields.Integer(required=True)
    currency = fields.String(required=True)
    total = fields.String(required=True)
    status = fields.String(required=True)


DOCUMENT_EVENT_TYPES = [
    xrm.EventType("sales.quote.created", description="A quote was created (version 1).", schema=QuotePayload),
    xrm.EventType("sales.quote.sent", description="A quote was sent: its public link is in the payload.",
                  schema=QuotePayload),
    xrm.EventType("sales.quote.accepted", description="The customer accepted a quote.", schema=QuotePayload),
    xrm.EventType("sales.quote.refused", description="The customer refused a quote.", schema=QuotePayload),
    xrm.EventType("sales.quote.expired", description="A sent quote passed its validity date unanswered.",
                  schema=QuotePayload),
    xrm.EventType("sales.order.created", description="An order was created from an accepted quote; an external "
                  "invoicing system listens to this.", schema=OrderPayload),
    xrm.EventType("sales.invoice.issued", description="An invoice or credit note was issued.", schema=InvoicePayload),
    xrm.EventType("sales.invoice.payment_recorded", description="A partial payment was recorded.",
                  schema=InvoicePayload),
    xrm.EventType("sales.invoice.paid", description="An invoice was paid in full.", schema=InvoicePayload),
]
