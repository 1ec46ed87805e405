"""What happens to sales documents: quoting, revising, sending, deciding, ordering, invoicing.

Every function works in the caller's tenant- and permission-scoped session, publishes its event
in the same transaction and leaves the commit to the caller. Numbers come from
:mod:`xrm_sales.numbering` in that same transaction, so a rolled-back document leaves no gap.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import date, timedelta
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

import xrm_sdk as xrm
from sqlalchemy import select
from sqlalchemy.orm import Session

from .catalogue import Product
from .documents import (
    LANGUAGES,
    DocumentProfile,
    Invoice,
    InvoiceLine,
    LineAmounts,
    Order,
    OrderLine,
    Payment,
    Quote,
    QuoteLine,
    QuoteVersion,
)
from .numbering import next_number
from .pricing import resolve_price
from .tenant_rows import tenant_row

CENT = Decimal("0.01")
#: What public quote links are signed for (a token signed for anything else is refused).
PUBLIC_LINK_PURPOSE = "sales.quote"


class DocumentStateError(xrm.Conflict):
    """The document is not in a state that allows this (accepting a refused quote, say)."""


@dataclass(frozen=True)
class LineRequest:
    """A line to quote: ``quantity`` of the product, optionally with a description of its own."""

    product_id: int
    quantity: Decimal
    description: str | None = None


def document_profile(session: Session) -> DocumentProfile:
    """The tenant's letterhead and document rules, created with defaults on first use."""
    return tenant_row(session, DocumentProfile)


def _actor(session: Session) -> str:
    principal = xrm.principal_of(session)
    return principal.name if principal else "plugin:sales"


#: Document amounts are ``Numeric(14, 2)``: a total from this value up cannot be stored.
AMOUNT_LIMIT = Decimal(10) ** 12


def _money(value: Decimal) -> Decimal:
    return value.quantize(CENT, ROUND_HALF_UP)


def _totals(lines: Iterable[LineAmounts]) -> dict[str, Decimal]:
    lines = list(lines)
    subtotal = sum((line.net_amount for line in lines), Decimal("0.00"))
    tax_total = sum((line.tax_amount for line in lines), Decimal("0.00"))
    return {"subtotal": subtotal, "tax_total": tax_total, "total": subtotal + tax_total}


def _priced_lines(session: Session, customer: xrm.Party, currency: str, on_date: date,
                  requests: Iterable[LineRequest]) -> list[QuoteLine]:
    lines = []
    for position, request in enumerate(requests, start=1):
        product = session.get(Product, request.product_id)
        if product is None or not product.active:
            raise xrm.ValidationError({"lines": {position - 1: {"product_id": [
                f"There is no active product {request.product_id}."]}}})
        quantity = Decimal(str(request.quantity))
        price = resolve_price(session, product, party=customer, quantity=quantity, currency=currency,
                              on_date=on_date)
        tax_rate = product.tax_category.rate if product.tax_category else Decimal(0)
        lines.append(QuoteLine(
            position=position, product_id=product.id, description=request.description or product.name,
            quantity=quantity, unit_price=price.unit_price, discount_percent=price.discount,
            tax_rate=tax_rate, net_amount=price.net, tax_amount=_money(price.net * tax_rate),
            price_rule=price.rule,
        ))
    if not lines:
        raise xrm.ValidationError({"lines": ["A quote needs at least one line."]})
    totals = _totals(lines)
    if totals["total"] >= AMOUNT_LIMIT:
        too_much = f"The quote's total ({totals['total']} {currency}) is more than a document can hold."
        raise xrm.ValidationError({"lines": [too_much]})
    return lines


def _language(customer: xrm.Party, language: str | None) -> str:
    wanted = language or (customer.custom or {}).get("language") or "en"
    if wanted not in LANGUAGES:
        raise xrm.ValidationError({"language": [f"Must be one of: {', '.join(LANGUAGES)}."]})
    return wanted


def create_quote(session: Session, customer_id: int, lines: Iterable[LineRequest], *, currency: str,
                 opportunity_id: int | None = None, language: str | None = None,
                 note: str = "", on_date: date | None = None) -> Quote:
    """A draft quote (version 1) for ``customer_id``, its lines priced by the price lists.

    :raises xrm.NotFound: the customer is not visible; a product has no price.
    :raises xrm.ValidationError: no lines, an unknown product, an unsupported language.
    """
    customer = session.get(xrm.Party, customer_id)
    if customer is None:
        raise xrm.NotFound(f"There is no party {customer_id} here.")
    on_date = on_date or xrm.utcnow().date()
    currency = currency.upper()
    priced = _priced_lines(session, customer, currency, on_date, lines)
    valid_until = on_date + timedelta(days=document_profile(session).quote_validity_days)
    quote = Quote(
        number=next_number(session, "quote", on_date), customer_id=customer.id, opportunity_id=opportunity_id,
        currency=currency, language=_language(customer, language), valid_until=valid_until,
        current_version=1,
    )
    quote.versions.append(QuoteVersion(number=1, valid_until=valid_until, note=note, lines=priced, **_totals(priced)))
    session.add(quote)
    session.flush()
    _publish_quote(session, "sales.quote.created", quote)
    return quote


def quote_from_opportunity(session: Session, opportunity: Any, lines: Iterable[LineRequest], **options) -> Quote:
    """A quote for an opportunity's customer, in its currency, linked back to it."""
    options.setdefault("currency", opportunity.currency)
    return create_quote(session, opportunity.customer_id, lines, opportunity_id=opportunity.id, **options)


def revise_quote(session: Session, quote: Quote, lines: Iterable[LineRequest], *, note: str = "",
                 on_date: date | None = None) -> QuoteVersion:
    """Add the next version of ``quote`` with new lines; earlier versions stay as they were.

    A sent quote goes back to draft (it must be sent again); an accepted or refused one cannot
    be revised.
    """
    if quote.status not in ("draft", "sent", "expired"):
        raise DocumentStateError(f"Quote {quote.number} is {quote.status}: it can no longer be revised.")
    on_date = on_date or xrm.utcnow().date()
    priced = _priced_lines(session, quote.customer, quote.currency, on_date, lines)
    valid_until = on_date + timedelta(days=document_profile(session).quote_validity_days)
    revision = QuoteVersion(number=quote.current_version + 1, valid_until=valid_until, note=note, lines=priced,
                            **_totals(priced))
    quote.versions.append(revision)
    quote.current_version = revision.number
    quote.valid_until = valid_until
    quote.status, quote.public_link, quote.sent_at = "draft", None, None
    session.flush()
    return revision


def public_link_token(session: Session, quote: Quote) -> str:
    """The signed token of the quote's public page: it binds the tenant, the quote and its current version."""
    data = {"tenant": session.info["tenant_id"], "quote": quote.id, "version": quote.current_version}
    return xrm.sign_token(session, PUBLIC_LINK_PURPOSE, data)


def public_quote_url(session: Session, quote: Quote, tenant_slug: str, base_url: str = "") -> str:
    """The URL of the quote's signed acceptance page (site-relative unless ``base_url`` is given).

    The platform has no setting for its own public address, so outside a request (a workflow) the
    link is a path to put after the site's address.
    """
    return f"{base_url.rstrip('/')}/sales/public/{tenant_slug}/quotes/{public_link_token(session, quote)}"


def send_quote(session: Session, quote: Quote, public_url: str) -> Quote:
    """Mark the current version as sent, record its public link and publish ``sales.quote.sent``.

    ``public_url`` is the full URL of the acceptance page (with the token of
    :func:`public_link_token`). No mail is sent: the event carries the link for whatever delivers
    it (a workflow, a mail channel).
    """
    if quote.status not in ("draft", "sent"):
        raise DocumentStateError(f"Quote {quote.number} is {quote.status}: it cannot be sent.")
    quote.status, quote.public_link, quote.sent_at = "sent", public_url, xrm.utcnow()
    session.flush()
    _publish_quote(session, "sales.quote.sent", quote, public_url=public_url)
    return quote


def decide_quote(session: Session, quote: Quote, version: int, accepted: bool, *, actor: str) -> Quote:
    """The customer accepts or refuses ``version`` of the quote; only once, only the current version.

    :raises DocumentStateError: already decided, expired, revised since, or never sent.
    """
    if quote.status in ("accepted", "refused"):
        raise DocumentStateError(f"Quote {quote.number} was already {quote.status}.")
    if version != quote.current_version:
        raise DocumentStateError(f"Quote {quote.number} has been revised since this link was sent.")
    if quote.status != "sent":
        raise DocumentStateError(f"Quote {quote.number} is {quote.status}: it cannot be decided.")
    if quote.valid_until < xrm.utcnow().date():
        raise DocumentStateError(f"Quote {quote.number} expired on {quote.valid_until.isoformat()}.")
    quote.status, quote.decided_at = ("accepted" if accepted else "refused"), xrm.utcnow()
    session.flush()
    _publish_quote(session, f"sales.quote.{quote.status}", quote, actor=actor)
    return quote


def expire_quotes(session: Session, today: date | None = None) -> int:
    """Mark the sent quotes whose validity has passed as ``expired`` and publish ``sales.quote.expired``.

    The periodic job ``sales.quote_expiry`` runs it; a second run the same day finds nothing left
    to expire (only ``sent`` quotes are looked at), so each quote expires, and is announced, once.
    Returns how many expired.
    """
    today = today or xrm.utcnow().date()
    overdue = session.scalars(select(Quote).where(Quote.status == "sent", Quote.valid_until < today)
                              .order_by(Quote.id)).all()
    for quote in overdue:
        quote.status = "expired"
    session.flush()
    for quote in overdue:
        _publish_quote(session, "sales.quote.expired", quote, valid_until=quote.valid_until.isoformat())
    return len(overdue)


#: Hourly is often enough for a validity counted in days, and soon enough after midnight.
QUOTE_EXPIRY_SECONDS = 3600
PERIODIC_JOBS = [xrm.PeriodicJob("sales.quote_expiry", seconds=QUOTE_EXPIRY_SECONDS,
                                 run=lambda session, now: expire_quotes(session, now.date()))]


def _publish_quote(session: Session, type: str, quote: Quote, *, actor: str | None = None, **extra: Any) -> None:
    current = quote.current
    payload = {"number": quote.number, "quote_version": current.number, "customer_id": quote.customer_id,
               "currency": quote.currency, "total": str(current.total), "status": quote.status, **extra}
    xrm.publish(session, type, quote, payload, actor or _actor(session), related=[quote.customer_id])


def _copy_lines(lines: Iterable[LineAmounts], model: type, sign: int = 1) -> list:
    return [model(position=line.position, product_id=line.product_id, description=line.description,
                  quantity=line.quantity * sign, unit_price=line.unit_price, discount_percent=line.discount_percent,
                  tax_rate=line.tax_rate, net_amount=line.net_amount * sign, tax_amount=line.tax_amount * sign,
                  price_rule=line.price_rule)
            for line in lines]


def order_from_quote(session: Session, quote: Quote, on_date: date | None = None) -> Order:
    """The order of an accepted quote's current version (one order per quote)."""
    if quote.status != "accepted":
        raise DocumentStateError(f"Quote {quote.number} is {quote.status}: only an accepted quote is ordered.")
    if session.scalar(select(Order.id).where(Order.quote_id == quote.id)) is not None:
        raise DocumentStateError(f"Quote {quote.number} has already been ordered.")
    on_date = on_date or xrm.utcnow().date()
    lines = _copy_lines(quote.current.lines, OrderLine)
    order = Order(number=next_number(session, "order", on_date), customer_id=quote.customer_id, quote_id=quote.id,
                  quote_version=quote.current_version, currency=quote.currency, language=quote.language,
                  order_date=on_date, lines=lines, department_id=quote.department_id, **_totals(lines))
    session.add(order)
    session.flush()
    xrm.publish(session, "sales.order.created", order,
                {"number": order.number, "customer_id": order.customer_id, "currency": order.currency,
                 "total": str(order.total), "quote_number": quote.number}, _actor(session),
                related=[order.customer_id])
    return order


def invoice_order(session: Session, order: Order, on_date: date | None = None) -> Invoice:
    """The invoice of an order, due after the tenant's payment terms.

    :raises DocumentStateError: the order is already invoiced, or the tenant invoices in an ERP.
    """
    profile = document_profile(session)
    if profile.external_invoicing:
        raise DocumentStateError("Invoicing is done by an external system for this tenant (external_invoicing).")
    if order.status != "open":
        raise DocumentStateError(f"Order {order.number} is {order.status}: it cannot be invoiced again.")
    on_date = on_date or xrm.utcnow().date()
    lines = _copy_lines(order.lines, InvoiceLine)
    invoice = Invoice(number=next_number(session, "invoice", on_date), kind="invoice", customer_id=order.customer_id,
                      order_id=order.id, currency=order.currency, language=order.language, issue_date=on_date,
                      due_date=on_date + timedelta(days=profile.payment_terms_days), lines=lines,
                      department_id=order.department_id, **_totals(lines))
    order.status = "invoiced"
    session.add(invoice)
    session.flush()
    _publish_invoice(session, "sales.invoice.issued", invoice)
    return invoice


def credit_invoice(session: Session, invoice: Invoice, on_date: date | None = None, reason: str = "") -> Invoice:
    """A credit note cancelling ``invoice`` in full: the same lines with negative amounts."""
    if invoice.kind != "invoice" or invoice.status == "credited":
        raise DocumentStateError(f"{invoice.number} cannot be credited (already credited, or a credit note).")
    on_date = on_date or xrm.utcnow().date()
    lines = _copy_lines(invoice.lines, InvoiceLine, sign=-1)
    if reason:
        for line in lines:
            line.price_rule = f"credit: {reason}"
    note = Invoice(number=next_number(session, "credit_note", on_date), kind="credit_note",
                   customer_id=invoice.customer_id, order_id=invoice.order_id, credited_invoice_id=invoice.id,
                   currency=invoice.currency, language=invoice.language, issue_date=on_date, due_date=on_date,
                   lines=lines, department_id=invoice.department_id, **_totals(lines))
    invoice.status = "credited"
    session.add(note)
    session.flush()
    _publish_invoice(session, "sales.invoice.issued", note)
    return note


def record_payment(session: Session, invoice: Invoice, amount: Decimal, paid_on: date, *, method: str = "",
                   reference: str = "") -> Payment:
    """Record money received; the invoice becomes ``partially_paid`` or ``paid``.

    :raises xrm.ValidationError: a non-positive amount, or more than the balance.
    """
    amount = Decimal(str(amount))
    if invoice.kind != "invoice" or invoice.status in ("paid", "credited"):
        raise DocumentStateError(f"{invoice.number} is {invoice.status}: it takes no payment.")
    if amount <= 0 or amount != _money(amount):
        raise xrm.ValidationError({"amount": ["Must be a positive amount with at most 2 decimals."]})
    if amount > invoice.balance:
        raise xrm.ValidationError({"amount": [f"Exceeds the balance of {invoice.balance} {invoice.currency}."]})
    payment = Payment(amount=amount, paid_on=paid_on, method=method, reference=reference)
    invoice.payments.append(payment)
    invoice.paid_amount = invoice.paid_amount + amount
    invoice.status = "paid" if invoice.paid_amount == invoice.total else "partially_paid"
    session.flush()
    _publish_invoice(session, "sales.invoice.paid" if invoice.status == "paid" else "sales.invoice.payment_recorded",
                     invoice)
    return payment


def _publish_invoice(session: Session, type: str, invoice: Invoice) -> None:
    xrm.publish(session, type, invoice,
                {"number": invoice.number, "kind": invoice.kind, "customer_id": invoice.customer_id,
                 "currency": invoice.currency, "total": str(invoice.total), "status": invoice.status},
                _actor(session), related=[invoice.customer_id])


def line_requests(raw: Iterable[Mapping[str, Any]]) -> list[LineRequest]:
    """Line requests from loaded API or workflow parameters."""
    return [LineRequest(item["product_id"], Decimal(str(item["quantity"])), item.get("description")) for item in raw]
