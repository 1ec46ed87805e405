"""The sales plugin's revenue report and quote PDF (scale 1.0 = 1,000,000 order lines, 100,000 customers).

The data set adds to the ``sales_book`` tenant of :mod:`bench.cases_sales_forecast` (its
``100,000 × scale`` customers) two orders per customer of five lines each, over two years and two
currencies. The sales plugin's tables are created on the bench database from its models (the
bench platform runs only the core's migrations).

``sales.revenue_per_customer``: :func:`xrm_sales.revenue.revenue_per_customer` through a
permission-scoped session (every customer, with names, biggest first) vs the same GROUP BY written
by hand (both sum the orders' frozen subtotals, the sums of their lines; the check compares them). Issue target: within 3× and under 1 s on SQLite at scale 1.0.

``sales.quote_pdf``: a 20-line quote read and rendered to PDF by :mod:`xrm_sales.pdf` (letterhead,
labels in the customer's language, totals) vs fpdf2 writing the same 20 rows, fetched by hand, as a
bare table. Issue target: under 300 ms median.
"""

from __future__ import annotations

import io
import random
from collections.abc import Iterator
from datetime import date, timedelta
from decimal import Decimal
from typing import Any

from fpdf import FPDF
from sqlalchemy import select
from xrm_sales import catalogue, documents, numbering
from xrm_sales.documents import Order, OrderLine, Quote, QuoteLine, QuoteVersion
from xrm_sales.documents_service import document_profile
from xrm_sales.pdf import printed_quote, render_pdf
from xrm_sales.revenue import CustomerRevenue, revenue_per_customer

from xrm_core.db import Model, utcnow
from xrm_core.graph.models import Party
from xrm_core.identity.models import Scope
from xrm_core.identity.principal import service_principal
from xrm_core.identity.scoping import act_as

from .cases_sales_forecast import CUSTOMERS, sales_book
from .harness import Context, Pair, case, console, dataset

ORDERS_PER_CUSTOMER = 2
LINES_PER_ORDER = 5
QUOTE_LINES = 20
LOAD_BATCH = 10_000

RAW_REVENUE = (
    "SELECT t.customer_id, p.display_name, t.currency, t.revenue, t.orders "
    "FROM (SELECT customer_id, currency, sum(subtotal) AS revenue, count(*) AS orders FROM sales_orders "
    "WHERE tenant_id = ? GROUP BY customer_id, currency) t "
    "LEFT JOIN core_parties p ON p.id = t.customer_id ORDER BY t.revenue DESC, t.customer_id"
)
RAW_QUOTE_LINES = (
    "SELECT l.description, l.quantity, l.unit_price, l.net_amount FROM sales_quote_lines l "
    "JOIN sales_quote_versions v ON v.id = l.quote_version_id JOIN sales_quotes q ON q.id = v.quote_id "
    "WHERE q.tenant_id = ? AND q.id = ? AND v.number = q.current_version ORDER BY l.position"
)


def _create_tables(ctx: Context) -> None:
    tables = [model.__table__ for model in (*catalogue.MODELS, *documents.MODELS, numbering.DocumentSequence)]
    Model.metadata.create_all(ctx.engine, tables=tables, checkfirst=True)


@dataset("sales_order_book")
def sales_order_book(ctx: Context) -> int:
    """Orders and order lines for every customer of the ``sales_book`` tenant; returns the tenant id."""
    tenant_id = ctx.need(sales_book)
    _create_tables(ctx)
    with ctx.engine.begin() as connection:
        first_customer, customers = connection.exec_driver_sql(ctx.sql(
            "SELECT min(id), count(*) FROM core_parties WHERE tenant_id = ?"), (tenant_id,)).one()
        first_order = (connection.exec_driver_sql("SELECT max(id) FROM sales_orders").scalar() or 0) + 1
        orders = customers * ORDERS_PER_CUSTOMER
        headers, lines = _orders(random.Random(ctx.seed), tenant_id, first_customer, customers, first_order)
        ctx.bulk_insert(Order.__table__, headers, orders, LOAD_BATCH, connection, "orders")
        ctx.bulk_insert(OrderLine.__table__, lines, orders * LINES_PER_ORDER, LOAD_BATCH, connection, "order lines")
    ctx.analyze()
    console.log(f"order book: {customers:,} customers, {orders:,} orders, {orders * LINES_PER_ORDER:,} lines")
    return tenant_id


def _orders(rng: random.Random, tenant_id: int, first_customer: int, customers: int,
            first_order: int) -> tuple[Iterator[dict[str, Any]], Iterator[dict[str, Any]]]:
    """The order rows and the line rows (the lines' nets drawn first, so the totals match them)."""
    now = utcnow()
    nets = [[Decimal(rng.randint(100, 500_000)) / 100 for _ in range(LINES_PER_ORDER)]
            for _ in range(customers * ORDERS_PER_CUSTOMER)]

    def headers() -> Iterator[dict[str, Any]]:
        for n, order_nets in enumerate(nets):
            subtotal = sum(order_nets)
            yield {"id": first_order + n, "tenant_id": tenant_id, "number": f"O-B-{first_order + n:08d}",
                   "customer_id": first_customer + n // ORDERS_PER_CUSTOMER, "quote_id": None,
                   "quote_version": None, "currency": "EUR" if n % 7 else "USD", "language": "en",
                   "order_date": date(2025, 1, 1) + timedelta(days=n % 700), "status": "open",
                   "created_at": now, "version": 1, "subtotal": subtotal, "tax_total": Decimal("0.00"),
                   "total": subtotal, "owner_user_id": None, "owner_team_id": None, "department_id": None}

    def lines() -> Iterator[dict[str, Any]]:
        for n, order_nets in enumerate(nets):
            for position, net in enumerate(order_nets, 1):
                yield {"tenant_id": tenant_id, "order_id": first_order + n, "position": position,
                       "product_id": None, "description": f"Item {position}", "quantity": Decimal(1),
                       "unit_price": net, "discount_percent": Decimal(0), "tax_rate": Decimal(0),
                       "net_amount": net, "tax_amount": Decimal("0.00"), "price_rule": ""}

    return headers(), lines()


@case(
    "sales.revenue_per_customer",
    "revenue per customer and currency over every order line (scale 1.0 = 1,000,000 lines, 100,000 customers; "
    "issue target < 1 s on SQLite and within 3x): revenue.revenue_per_customer through a permission-scoped "
    "session vs one hand-written GROUP BY",
)
def revenue_per_customer_case(ctx: Context) -> Pair:
    tenant_id = ctx.need(sales_order_book)
    principal = service_principal(tenant_id, "bench", {"sales.order.read": Scope.TENANT,
                                                       "core.party.read": Scope.TENANT})

    def platform() -> list[CustomerRevenue]:
        with ctx.platform.db.session(tenant_id, read_only=True) as session:
            return revenue_per_customer(act_as(session, principal))

    def raw() -> list[tuple]:
        return ctx.raw(RAW_REVENUE, (tenant_id,))

    def check(rows: list[CustomerRevenue], raw_rows: list[tuple]) -> bool:
        # The raw sums are floats on SQLite: compare to the cent.
        expected = {(c, cur): (Decimal(str(revenue)), orders) for c, _name, cur, revenue, orders in raw_rows}
        got = {(r.customer_id, r.currency): (r.revenue, r.orders) for r in rows}
        return got.keys() == expected.keys() and all(
            abs(got[k][0] - expected[k][0]) < Decimal("0.01") and got[k][1] == expected[k][1] for k in got)

    lines = ctx.scaled(CUSTOMERS, minimum=1_000) * ORDERS_PER_CUSTOMER * LINES_PER_ORDER
    return Pair(platform, raw, check, work=(lines, "order lines"))


@dataset("sales_quote_20")
def sales_quote_20(ctx: Context) -> tuple[int, int]:
    """A 20-line quote (20 % tax) in French in the ``sales_book`` tenant, written directly (no events)."""
    tenant_id = ctx.need(sales_book)
    _create_tables(ctx)
    with ctx.platform.db.transaction(tenant_id) as session:
        profile = document_profile(session)
        profile.company_name, profile.legal_mentions = "Bench Ltd", "Registered in Benchshire, no. 12345."
        customer = session.scalar(select(Party.id).order_by(Party.id).limit(1))
        lines = []
        for n in range(QUOTE_LINES):
            quantity, unit_price = Decimal(n + 1), Decimal(10 + n) + Decimal("0.99")
            net = quantity * unit_price
            lines.append(QuoteLine(position=n + 1, description=f"Bench product {n}", quantity=quantity,
                                   unit_price=unit_price, tax_rate=Decimal("0.2"), net_amount=net,
                                   tax_amount=(net * Decimal("0.2")).quantize(Decimal("0.01"))))
        subtotal = sum(line.net_amount for line in lines)
        tax = sum(line.tax_amount for line in lines)
        valid_until = date(2026, 12, 31)
        quote = Quote(number="Q-BENCH-1", customer_id=customer, currency="EUR", language="fr", status="draft",
                      current_version=1, valid_until=valid_until,
                      versions=[QuoteVersion(number=1, valid_until=valid_until, lines=lines, subtotal=subtotal,
                                             tax_total=tax, total=subtotal + tax)])
        session.add(quote)
        session.flush()
        return tenant_id, quote.id


@case("sales.quote_pdf", "a 20-line quote read and rendered to PDF (issue target < 300 ms median) vs fpdf2 "
                         "writing the same rows, fetched by hand, as a bare table")
def quote_pdf_case(ctx: Context) -> Pair:
    tenant_id, quote_id = ctx.need(sales_quote_20)

    def platform() -> bytes:
        with ctx.platform.db.session(tenant_id, read_only=True) as session:
            quote = session.get(Quote, quote_id)
            return render_pdf(printed_quote(quote), document_profile(session))

    def raw() -> bytes:
        pdf = FPDF(format="A4")
        pdf.add_page()
        pdf.set_font("Helvetica", "", 9)
        for description, quantity, unit_price, net in ctx.raw(RAW_QUOTE_LINES, (tenant_id, quote_id)):
            for text in (description, str(quantity), str(unit_price), str(net)):
                pdf.cell(45, 6, text)
            pdf.ln()
        out = io.BytesIO()
        pdf.output(out)
        return out.getvalue()

    def check(document: bytes, bare: bytes) -> bool:
        return document.startswith(b"%PDF") and bare.startswith(b"%PDF")

    return Pair(platform, raw, check, work=(QUOTE_LINES, "lines"))
