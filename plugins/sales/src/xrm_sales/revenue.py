"""Revenue reports on order lines: per customer and per product, over a period.

Revenue is the net amount (before tax) of order lines, in the orders' currency: each row is per
currency, so amounts in different currencies are never added together, unless the report is
asked in a reporting currency (the ``converted_*`` functions: every amount converted at the rate
of its order's date, the amounts without a rate listed apart; see :mod:`xrm_sales.conversion`). Orders are the source
(an order is a firm sale; invoices follow them, and credit notes are corrections kept apart).
Every query goes through the caller's session with the ORM entities, so a user only sums the
orders they may read (their own, their department's…), like every other list.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from typing import NamedTuple

import xrm_sdk as xrm
from openpyxl import Workbook
from sqlalchemy import Select, String, cast, func, literal, select
from sqlalchemy.orm import Session

from .catalogue import Product
from .conversion import Converted, amount_of_cents, cents, converted_cents, unconverted_currency
from .documents import Order, OrderLine


@dataclass(frozen=True)
class Period:
    """Orders dated from ``start`` (inclusive) to ``end`` (exclusive); ``None`` leaves that end open."""

    start: date | None = None
    end: date | None = None

    def filter(self, query: Select) -> Select:
        if self.start is not None:
            query = query.where(Order.order_date >= self.start)
        if self.end is not None:
            query = query.where(Order.order_date < self.end)
        return query


class CustomerRevenue(NamedTuple):
    """The shape of :func:`revenue_per_customer`'s rows."""

    customer_id: int
    customer_name: str
    currency: str
    revenue: Decimal
    orders: int


@dataclass(frozen=True)
class ProductRevenue:
    product_id: int | None
    code: str
    name: str
    currency: str
    quantity: Decimal
    revenue: Decimal


def revenue_per_customer_query(session: Session, period: Period = Period(), customer_id: int | None = None) -> Select:
    """``(customer_id, customer_name, currency, revenue, orders)`` per customer and currency, biggest first.

    Sums the orders' ``subtotal`` (the frozen sum of their lines' net amounts), so the lines are
    never read: a tenth of the rows at five lines an order. The sums are exact integers of cents
    (SQLite keeps NUMERIC values as binary floats). The customer's name is joined after the
    aggregation and outside its filter: a reader who may see an order but not its customer still
    counts it (under the customer's id, named ``#id``). ``customer_id`` keeps one customer's rows.
    """
    orders = period.filter(
        select(Order.customer_id, Order.currency, func.sum(cents(Order.subtotal)).label("revenue_cents"),
               func.count().label("orders"))
        .group_by(Order.customer_id, Order.currency))
    if customer_id is not None:
        orders = orders.where(Order.customer_id == customer_id)
    return _named_and_ranked(session, orders.subquery("per_customer"))


def _named_and_ranked(session: Session, per_customer) -> Select:
    """The rows of ``per_customer`` with their customers' names (``#id`` when unreadable), biggest first."""
    name = func.coalesce(xrm.Party.display_name, literal("#").concat(cast(per_customer.c.customer_id, String)))
    return (
        select(per_customer.c.customer_id, name.label("customer_name"), per_customer.c.currency,
               amount_of_cents(session, per_customer.c.revenue_cents).label("revenue"), per_customer.c.orders)
        .outerjoin(xrm.Party, xrm.Party.id == per_customer.c.customer_id)
        .order_by(per_customer.c.revenue_cents.desc(), per_customer.c.customer_id)
    )


def revenue_per_customer(session: Session, period: Period = Period(), limit: int | None = None, *,
                         customer_id: int | None = None) -> Sequence[CustomerRevenue]:
    """Revenue per customer (and currency) over ``period``, biggest first, with the customers' names.

    At 100,000 customers, handling the rows costs more than the database's work: they are the
    query's own rows (named like :class:`CustomerRevenue`'s fields, and equal to such tuples),
    read as plain rows (:func:`xrm_sdk.plain_rows`, scoped like any read, without the ORM's row
    loading), each amount becoming a :class:`~decimal.Decimal` once, as the row is built.
    """
    ranked = revenue_per_customer_query(session, period, customer_id)
    if limit is not None:
        ranked = ranked.limit(limit)
    return xrm.plain_rows(session, ranked)


def converted_revenue_per_customer(session: Session, target: str, period: Period = Period(),
                                   limit: int | None = None, *,
                                   customer_id: int | None = None) -> Converted[CustomerRevenue]:
    """Revenue per customer over ``period`` in ``target``, each order converted at its date's rate.

    The orders without a rate on their date are summed apart, per customer and own currency, in
    :attr:`Converted.unconverted`; ``limit`` applies to each list.
    """
    converted = converted_cents(Order.subtotal, Order.currency, Order.order_date, target)
    per_order = period.filter(select(
        Order.customer_id, Order.currency, converted.label("converted"), cents(Order.subtotal).label("own")))
    if customer_id is not None:
        per_order = per_order.where(Order.customer_id == customer_id)
    per_order = per_order.subquery("per_order")
    unconverted = unconverted_currency(per_order)
    per_customer = (
        select(per_order.c.customer_id, unconverted.label("currency"),
               func.sum(func.coalesce(per_order.c.converted, per_order.c.own)).label("revenue_cents"),
               func.count().label("orders"))
        .group_by(per_order.c.customer_id, unconverted)
    ).subquery("per_customer")
    result: Converted[CustomerRevenue] = Converted(target, [], [])
    for customer, name, own_currency, revenue, orders in xrm.plain_rows(session, _named_and_ranked(session, per_customer)):
        found = result.unconverted if own_currency else result.rows
        if limit is None or len(found) < limit:
            found.append(CustomerRevenue(customer, name, own_currency or target, revenue, orders))
    return result


def revenue_per_product(session: Session, period: Period = Period(), limit: int | None = None) -> list[ProductRevenue]:
    """Quantity sold and revenue per product (and currency) over ``period``, biggest first."""
    revenue = func.sum(cents(OrderLine.net_amount))
    query = period.filter(
        select(OrderLine.product_id, Product.code, Product.name, Order.currency,
               func.sum(OrderLine.quantity).label("quantity"), amount_of_cents(session, revenue).label("revenue"))
        .join(Order, Order.id == OrderLine.order_id)
        .outerjoin(Product, Product.id == OrderLine.product_id)
        .group_by(OrderLine.product_id, Product.code, Product.name, Order.currency)
        .order_by(revenue.desc(), OrderLine.product_id)
    )
    if limit is not None:
        query = query.limit(limit)
    return [_product_row(row, row.currency) for row in session.execute(query)]


def converted_revenue_per_product(session: Session, target: str, period: Period = Period(),
                                  limit: int | None = None) -> Converted[ProductRevenue]:
    """Quantity and revenue per product over ``period`` in ``target``, each line converted at its order's date.

    The lines of orders without a rate on their date are summed apart, per product and own
    currency, in :attr:`Converted.unconverted`; ``limit`` applies to each list.
    """
    converted = converted_cents(OrderLine.net_amount, Order.currency, Order.order_date, target)
    per_line = period.filter(
        select(OrderLine.product_id, Order.currency, OrderLine.quantity, converted.label("converted"),
               cents(OrderLine.net_amount).label("own"))
        .join(Order, Order.id == OrderLine.order_id)
    ).subquery("per_line")
    unconverted = unconverted_currency(per_line)
    revenue = func.sum(func.coalesce(per_line.c.converted, per_line.c.own))
    query = (
        select(per_line.c.product_id, Product.code, Product.name, unconverted.label("currency"),
               func.sum(per_line.c.quantity).label("quantity"), amount_of_cents(session, revenue).label("revenue"))
        .outerjoin(Product, Product.id == per_line.c.product_id)
        .group_by(per_line.c.product_id, Product.code, Product.name, unconverted)
        .order_by(revenue.desc(), per_line.c.product_id)
    )
    result: Converted[ProductRevenue] = Converted(target, [], [])
    for row in session.execute(query):
        found = result.unconverted if row.currency else result.rows
        if limit is None or len(found) < limit:
            found.append(_product_row(row, row.currency or target))
    return result


def _product_row(row, currency: str) -> ProductRevenue:
    return ProductRevenue(row.product_id, row.code or "", row.name or "(deleted product)", currency,
                          Decimal(row.quantity), row.revenue)


def to_csv(header: list[str], rows: list[list]) -> str:
    """Rows as CSV text (amounts written exactly, as decimal strings)."""
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(header)
    writer.writerows(rows)
    return out.getvalue()


def to_xlsx(title: str, header: list[str], rows: list[list]) -> bytes:
    """Rows as a one-sheet workbook (amounts as numbers)."""
    book = Workbook()
    sheet = book.active
    sheet.title = title[:31]
    sheet.append(header)
    for row in rows:
        sheet.append(row)
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()
