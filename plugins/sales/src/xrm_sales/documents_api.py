"""The REST resources of quotes, orders and invoices under ``/api/v1/sales/``.

Issued documents are immutable: ``PATCH`` on an order or invoice may only touch what the
lifecycle allows (nothing, today), so a change of amounts or lines answers 409 naming the fields.
"""

from __future__ import annotations

import xrm_sdk as xrm
from flask import Response, request, url_for
from flask.views import MethodView
from marshmallow import fields, validate
from sqlalchemy import select
from sqlalchemy.orm.attributes import flag_modified

from .catalogue_api import below_storage_limit
from .documents import LANGUAGES, Invoice, Order, Quote
from .documents_service import create_quote as create_quote_service
from .documents_service import (
    credit_invoice,
    decide_quote,
    document_profile,
    invoice_order,
    line_requests,
    order_from_quote,
    public_quote_url,
    record_payment,
    revise_quote,
    send_quote,
)
from .letterhead import MAX_LOGO_BYTES, remove_logo, set_logo, stored_logo_type, update_letterhead
from .numbering import DEFAULT_PATTERNS, DocumentSequence, NumberingError, set_pattern
from .permissions import require

blueprint = xrm.ApiBlueprint("sales_documents_api", __name__, description="Quotes, orders and invoices")


class LineInSchema(xrm.Schema):
    product_id = fields.Integer(required=True)
    quantity = fields.Decimal(required=True, places=4, validate=validate.Range(
        min=0, min_inclusive=False, max=below_storage_limit(4), max_inclusive=False))
    description = fields.String(validate=validate.Length(min=1, max=300))


class LineSchema(xrm.Schema):
    position = fields.Integer()
    product_id = fields.Integer(allow_none=True)
    description = fields.String()
    quantity = fields.Decimal(as_string=True)
    unit_price = fields.Decimal(as_string=True)
    discount_percent = fields.Decimal(as_string=True)
    tax_rate = fields.Decimal(as_string=True)
    net_amount = fields.Decimal(as_string=True)
    tax_amount = fields.Decimal(as_string=True)
    price_rule = fields.String()


class QuoteVersionSchema(xrm.Schema):
    number = fields.Integer()
    valid_until = fields.Date()
    note = fields.String()
    created_at = fields.DateTime()
    subtotal = fields.Decimal(as_string=True)
    tax_total = fields.Decimal(as_string=True)
    total = fields.Decimal(as_string=True)
    lines = fields.List(fields.Nested(LineSchema))


class QuoteInSchema(xrm.Schema):
    customer_id = fields.Integer(required=True)
    currency = fields.String(required=True, validate=validate.Length(equal=3))
    opportunity_id = fields.Integer(allow_none=True)
    language = fields.String(validate=validate.OneOf(LANGUAGES))
    note = fields.String(validate=validate.Length(max=10_000))
    lines = fields.List(fields.Nested(LineInSchema), required=True, validate=validate.Length(min=1, max=500))


class QuoteSchema(xrm.RecordSchema):
    number = fields.String(dump_only=True)
    customer_id = fields.Integer(dump_only=True)
    opportunity_id = fields.Integer(dump_only=True)
    currency = fields.String(dump_only=True)
    language = fields.String(dump_only=True)
    status = fields.String(dump_only=True)
    current_version = fields.Integer(dump_only=True)
    valid_until = fields.Date(dump_only=True)
    public_link = fields.String(dump_only=True)
    sent_at = fields.DateTime(dump_only=True)
    decided_at = fields.DateTime(dump_only=True, allow_none=True)
    created_at = fields.DateTime(dump_only=True)
    current = fields.Nested(QuoteVersionSchema, dump_only=True)


class RevisionSchema(xrm.Schema):
    note = fields.String(load_default="", validate=validate.Length(max=10_000))
    lines = fields.List(fields.Nested(LineInSchema), required=True, validate=validate.Length(min=1, max=500))


class DecisionSchema(xrm.Schema):
    accepted = fields.Boolean(required=True)


class OrderSchema(xrm.RecordSchema):
    number = fields.String()
    customer_id = fields.Integer()
    quote_id = fields.Integer(dump_only=True)
    quote_version = fields.Integer(dump_only=True)
    currency = fields.String()
    order_date = fields.Date()
    status = fields.String(dump_only=True)
    subtotal = fields.Decimal(as_string=True)
    tax_total = fields.Decimal(as_string=True)
    total = fields.Decimal(as_string=True)
    lines = fields.List(fields.Nested(LineSchema))


class InvoiceSchema(OrderSchema):
    kind = fields.String(dump_only=True)
    order_id = fields.Integer(dump_only=True)
    credited_invoice_id = fields.Integer(dump_only=True, allow_none=True)
    issue_date = fields.Date()
    due_date = fields.Date()
    paid_amount = fields.Decimal(as_string=True, dump_only=True)
    balance = fields.Decimal(as_string=True, dump_only=True)

    class Meta:
        exclude = ("order_date",)


class PaymentInSchema(xrm.Schema):
    amount = fields.Decimal(required=True, places=2)
    paid_on = fields.Date(required=True)
    method = fields.String(load_default="", validate=validate.Length(max=40))
    reference = fields.String(load_default="", validate=validate.Length(max=100))


class CreditInSchema(xrm.Schema):
    reason = fields.String(load_default="", validate=validate.Length(max=200))


QUOTES = xrm.Listing(Quote, QuoteSchema, sortable=("number", "created_at", "valid_until"),
                     filterable={"status": ("eq",), "customer_id": ("eq",), "opportunity_id": ("eq",)},
                     default_sort="number")
ORDERS = xrm.Listing(Order, OrderSchema, sortable=("number", "order_date"),
                     filterable={"customer_id": ("eq",), "status": ("eq",), "order_date": ("gte", "lt")},
                     default_sort="number")
INVOICES = xrm.Listing(Invoice, InvoiceSchema, sortable=("number", "issue_date", "due_date"),
                       filterable={"customer_id": ("eq",), "status": ("eq",), "kind": ("eq",)},
                       default_sort="number")


@blueprint.route("/quotes")
class Quotes(MethodView):
    @blueprint.list_response(QUOTES)
    def get(self, query):
        """List the quotes the caller may see."""
        return xrm.cursor_paginate(select(Quote), query)

    @blueprint.arguments(QuoteInSchema)
    @blueprint.record_response(QuoteSchema, 201)
    def post(self, data):
        """Create a draft quote: lines are priced by the applicable price lists and taxed."""
        session = xrm.db_session()
        quote = create_quote_service(session, data["customer_id"], line_requests(data["lines"]),
                                     currency=data["currency"], opportunity_id=data.get("opportunity_id"),
                                     language=data.get("language"), note=data.get("note", ""))
        session.commit()
        return quote, {"Location": url_for(".QuoteDetail", quote_id=quote.id)}


@blueprint.route("/quotes/<int:quote_id>")
class QuoteDetail(MethodView):
    @blueprint.record_response(QuoteSchema)
    def get(self, quote_id):
        """One quote with its current version."""
        return xrm.get_or_404(Quote, quote_id)


@blueprint.route("/quotes/<int:quote_id>/versions/<int:number>")
class QuoteVersionDetail(MethodView):
    @blueprint.response(200, QuoteVersionSchema)
    def get(self, quote_id, number):
        """One version of a quote, as it was written (older versions stay readable)."""
        quote = xrm.get_or_404(Quote, quote_id)
        version = next((v for v in quote.versions if v.number == number), None)
        if version is None:
            raise xrm.NotFound(f"Quote {quote.number} has no version {number}.")
        return version


@blueprint.route("/quotes/<int:quote_id>/revisions")
class QuoteRevisions(MethodView):
    @blueprint.arguments(RevisionSchema)
    @blueprint.response(201, QuoteVersionSchema)
    def post(self, data, quote_id):
        """Revise a quote: a new version with these lines; the quote goes back to draft."""
        session = xrm.db_session()
        revision = revise_quote(session, xrm.get_for_update(Quote, quote_id, "*"), line_requests(data["lines"]),
                                note=data["note"])
        session.commit()
        return revision


@blueprint.route("/quotes/<int:quote_id>/send")
class QuoteSend(MethodView):
    @blueprint.record_response(QuoteSchema)
    def post(self, quote_id):
        """Send the current version: records its signed public link and publishes ``sales.quote.sent``."""
        session = xrm.db_session()
        quote = xrm.get_for_update(Quote, quote_id, "*")
        send_quote(session, quote, public_quote_url(session, quote, xrm.current_tenant().slug, request.host_url))
        session.commit()
        return quote


@blueprint.route("/quotes/<int:quote_id>/decision")
class QuoteDecision(MethodView):
    @blueprint.arguments(DecisionSchema)
    @blueprint.record_response(QuoteSchema)
    def post(self, data, quote_id):
        """Record the customer's answer given outside the public page (by phone, say)."""
        session = xrm.db_session()
        quote = xrm.get_for_update(Quote, quote_id, "*")
        decide_quote(session, quote, quote.current_version, data["accepted"], actor=xrm.principal_of(session).name)
        session.commit()
        return quote


@blueprint.route("/quotes/<int:quote_id>/order")
class QuoteOrder(MethodView):
    @blueprint.record_response(OrderSchema, 201)
    def post(self, quote_id):
        """Create the order of an accepted quote."""
        session = xrm.db_session()
        order = order_from_quote(session, xrm.get_for_update(Quote, quote_id, "*"))
        session.commit()
        return order, {"Location": url_for(".OrderDetail", order_id=order.id)}


@blueprint.route("/orders")
class Orders(MethodView):
    @blueprint.list_response(ORDERS)
    def get(self, query):
        """List the orders the caller may see."""
        return xrm.cursor_paginate(select(Order), query)


def _refuse_changes(record, data) -> None:
    """Issued documents take no change: a PATCH naming any field is a 409 naming them."""
    if data:
        raise xrm.Conflict(f"{type(record).__name__} {record.number} is issued and immutable: "
                           f"{', '.join(sorted(data))} cannot change. Issue a new document (a credit note) instead.")


@blueprint.route("/orders/<int:order_id>")
class OrderDetail(MethodView):
    @blueprint.record_response(OrderSchema)
    def get(self, order_id):
        """One order with its lines."""
        return xrm.get_or_404(Order, order_id)

    @blueprint.arguments(OrderSchema(partial=True))
    @blueprint.record_response(OrderSchema)
    def patch(self, data, order_id):
        """Orders are immutable once issued: always a 409 naming the fields."""
        order = xrm.get_or_404(Order, order_id)
        _refuse_changes(order, data)
        return order


@blueprint.route("/orders/<int:order_id>/invoice")
class OrderInvoice(MethodView):
    @blueprint.record_response(InvoiceSchema, 201)
    def post(self, order_id):
        """Issue the order's invoice (409 when the tenant invoices through an external system)."""
        session = xrm.db_session()
        invoice = invoice_order(session, xrm.get_for_update(Order, order_id, "*"))
        session.commit()
        return invoice, {"Location": url_for(".InvoiceDetail", invoice_id=invoice.id)}


@blueprint.route("/invoices")
class Invoices(MethodView):
    @blueprint.list_response(INVOICES)
    def get(self, query):
        """List the invoices and credit notes the caller may see."""
        return xrm.cursor_paginate(select(Invoice), query)


@blueprint.route("/invoices/<int:invoice_id>")
class InvoiceDetail(MethodView):
    @blueprint.record_response(InvoiceSchema)
    def get(self, invoice_id):
        """One invoice or credit note."""
        return xrm.get_or_404(Invoice, invoice_id)

    @blueprint.arguments(InvoiceSchema(partial=True))
    @blueprint.record_response(InvoiceSchema)
    def patch(self, data, invoice_id):
        """Invoices are immutable once issued: always a 409 naming the fields."""
        invoice = xrm.get_or_404(Invoice, invoice_id)
        _refuse_changes(invoice, data)
        return invoice


@blueprint.route("/invoices/<int:invoice_id>/payments")
class InvoicePayments(MethodView):
    @blueprint.arguments(PaymentInSchema)
    @blueprint.record_response(InvoiceSchema, 201)
    def post(self, data, invoice_id):
        """Record a payment received."""
        session = xrm.db_session()
        invoice = xrm.get_for_update(Invoice, invoice_id, "*")
        record_payment(session, invoice, data["amount"], data["paid_on"], method=data["method"],
                       reference=data["reference"])
        session.commit()
        return invoice


@blueprint.route("/invoices/<int:invoice_id>/credit-note")
class InvoiceCredit(MethodView):
    @blueprint.arguments(CreditInSchema)
    @blueprint.record_response(InvoiceSchema, 201)
    def post(self, data, invoice_id):
        """Cancel an invoice with a credit note (a new document with negative amounts)."""
        session = xrm.db_session()
        note = credit_invoice(session, xrm.get_for_update(Invoice, invoice_id, "*"), reason=data["reason"])
        session.commit()
        return note, {"Location": url_for(".InvoiceDetail", invoice_id=note.id)}



class DocumentSettingsSchema(xrm.Schema):
    company_name = fields.String(validate=validate.Length(max=200))
    company_address = fields.String(validate=validate.Length(max=2_000))
    legal_mentions = fields.String(validate=validate.Length(max=5_000))
    payment_terms_days = fields.Integer(validate=validate.Range(min=0, max=365))
    quote_validity_days = fields.Integer(validate=validate.Range(min=1, max=365))
    external_invoicing = fields.Boolean()
    #: Numbering pattern per document type (``quote``, ``order``, ``invoice``, ``credit_note``).
    numbering = fields.Dict(keys=fields.String(validate=validate.OneOf(DEFAULT_PATTERNS)),
                            values=fields.String(validate=validate.Length(min=1, max=100)))
    has_logo = fields.Boolean(dump_only=True, metadata={
        "description": "Whether documents print a logo (set it at /document-settings/logo)."})


def _settings(session) -> dict:
    profile = document_profile(session)
    patterns = dict(DEFAULT_PATTERNS)
    patterns.update({s.document_type: s.pattern for s in session.scalars(select(DocumentSequence))})
    return {**{name: getattr(profile, name) for name in DocumentSettingsSchema().fields
               if name not in ("numbering", "has_logo")},
            "numbering": patterns, "has_logo": profile.logo is not None}


SETTINGS_ETAG = {"ETag": {"description": "The settings' ETag: send it back in If-Match to change them.",
                           "schema": {"type": "string"}}}


@blueprint.route("/document-settings")
class DocumentSettings(MethodView):
    @blueprint.response(200, DocumentSettingsSchema, headers=SETTINGS_ETAG)
    def get(self):
        """The letterhead, terms and numbering patterns of the tenant's documents, with their ETag."""
        session = xrm.db_session()
        require(session, "sales.document_settings.read")
        profile = document_profile(session)
        session.commit()  # a profile created on this first read keeps its id, and so its ETag
        return _settings(session), {"ETag": xrm.record_etag(profile)}

    @blueprint.requires_if_match
    @blueprint.arguments(DocumentSettingsSchema)
    @blueprint.response(200, DocumentSettingsSchema, headers=SETTINGS_ETAG)
    def patch(self, data):
        """Change some settings (send their ETag in If-Match); a numbering pattern applies from the next number on."""
        session = xrm.db_session()
        require(session, "sales.document_settings.update")
        profile = document_profile(session)
        xrm.check_etag(profile)
        numbering = data.pop("numbering", {})
        for document_type, pattern in numbering.items():
            try:
                set_pattern(session, document_type, pattern)
            except NumberingError as exc:
                raise xrm.ValidationError({"numbering": {document_type: [str(exc)]}}) from None
        update_letterhead(session, data)
        if numbering and not session.is_modified(profile):
            # The patterns are part of these settings: changing only them is a new version too.
            flag_modified(profile, "company_name")
        session.commit()
        return _settings(session), {"ETag": xrm.record_etag(profile)}


@blueprint.route("/document-settings/logo")
class DocumentLogo(MethodView):
    @blueprint.response(200, content_type="image/png", description="The logo (PNG or JPEG).")
    @blueprint.alt_response(404, response="NOT_FOUND")
    def get(self):
        """The logo printed at the top of the documents (404 when there is none)."""
        session = xrm.db_session()
        require(session, "sales.document_settings.read")
        logo = document_profile(session).logo
        if logo is None:
            raise xrm.NotFound("The documents have no logo.")
        return Response(logo, mimetype=stored_logo_type(logo))

    @blueprint.response(204)
    def put(self):
        """Set the logo: a PNG or JPEG up to 1 MB, as the ``file`` of a multipart form or as the body.

        The image is decoded in full before it is kept; anything else is a 422 on ``logo``.
        """
        if request.content_length and request.content_length > MAX_LOGO_BYTES + 64 * 1024:
            raise xrm.ValidationError({"logo": [f"The logo must be at most {MAX_LOGO_BYTES // 1024} KB."]})
        request.max_content_length = MAX_LOGO_BYTES + 64 * 1024  # a chunked body has no length to check first
        upload = request.files.get("file")
        session = xrm.db_session()
        set_logo(session, upload.read() if upload is not None else request.get_data())
        session.commit()

    @blueprint.response(204)
    def delete(self):
        """Print the documents without a logo."""
        session = xrm.db_session()
        remove_logo(session)
        session.commit()
