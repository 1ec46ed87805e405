"""Demo quotes, orders and invoices on the demo catalogue and opportunities (see :mod:`xrm_sales.demo`).

Each open proposal gets a sent quote; the won opportunity goes all the way to a paid invoice; and
the demo's customers get a history of orders over the last two years, so that the revenue,
lifetime value and RFM reports have something to show. Running it again adds nothing.
"""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal

import xrm_sdk as xrm
from sqlalchemy import select
from sqlalchemy.orm import Session

from .catalogue import Product
from .documents import Quote
from .documents_service import (
    LineRequest,
    create_quote,
    decide_quote,
    invoice_order,
    order_from_quote,
    public_quote_url,
    quote_from_opportunity,
    record_payment,
    send_quote,
)
from .pipeline import Opportunity

#: Opportunity title -> the lines of its quote (product code, quantity).
QUOTED = {
    "Atlas: 120 professional licences": (("LIC-PRO", 120), ("CONS-DAY", 3)),
    "Corvid: upgrade to professional": (("LIC-PRO", 50), ("SUP-PLAN", 1)),
    "Scanners for the warehouse": (("SCAN-01", 20),),
}
#: Customer -> past orders: (days ago, product code, quantity).
HISTORY = {
    "Atlas Industries": ((700, "LIC-STD", 100), (400, "SUP-PLAN", 1), (30, "CONS-DAY", 5)),
    "Corvid Analytics": ((500, "LIC-STD", 40), (90, "CONS-DAY", 2)),
    "Bellamy & Sons": ((300, "SCAN-01", 4),),
    "Atlas Logistics": ((650, "CONS-DAY", 2),),
}


def add_demo_documents(session: Session, tenant_slug: str) -> None:
    """Add the demo documents once, when the demo catalogue is there and no quote exists yet."""
    products = {p.code: p.id for p in session.scalars(select(Product))}
    if "LIC-PRO" not in products or session.scalar(select(Quote.id).limit(1)) is not None:
        return
    today = xrm.utcnow().date()
    parties = {p.display_name: p.id for p in session.scalars(select(xrm.Party))}
    for customer, orders in HISTORY.items():
        if customer not in parties:
            continue
        for days_ago, code, quantity in orders:
            day = today - timedelta(days=days_ago)
            # Priced today (the demo price lists start this year), ordered and invoiced in the past.
            quote = create_quote(session, parties[customer], [LineRequest(products[code], Decimal(quantity))],
                                 currency="EUR")
            _accept(session, quote, tenant_slug)
            invoice = invoice_order(session, order_from_quote(session, quote, on_date=day), on_date=day)
            record_payment(session, invoice, invoice.total, day + timedelta(days=20), method="transfer")
    for opportunity in session.scalars(select(Opportunity).where(Opportunity.title.in_(QUOTED))):
        lines = [LineRequest(products[code], Decimal(quantity)) for code, quantity in QUOTED[opportunity.title]]
        quote = quote_from_opportunity(session, opportunity, lines)
        if opportunity.status == "won":
            _accept(session, quote, tenant_slug)
            invoice_order(session, order_from_quote(session, quote))
        else:
            send_quote(session, quote, public_quote_url(session, quote, tenant_slug))
    session.flush()


def _accept(session: Session, quote: Quote, tenant_slug: str) -> None:
    send_quote(session, quote, public_quote_url(session, quote, tenant_slug))
    decide_quote(session, quote, quote.current_version, True, actor="demo")
