"""Revenue reports on order lines: per customer and per product, over a period.

Revenue is the net amount (before tax) of order lines, in the orders' currency: each row is per
currency, so amounts in different currencies are never added together. Orders are the source
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


def revenue_per_customer_query(period: Period = Period(), customer_id: int | None = None) -> Select:
    """``(customer_id, customer_name, currency, revenue, orders)`` per customer and currency, biggest first.

    Sums the orders' ``subtotal`` (the frozen sum of their lines' net amounts), so the lines are
    never read: a tenth of the rows at five lines an order. The customer's name is joined after the
    aggregation and outside its filter: a reader who may see an order but not its customer still
    counts it (under the customer's id, named ``#id``). ``customer_id`` keeps one customer's rows.
    """
    orders = period.filter(
        select(Order.customer_id, Order.currency, func.sum(Order.subtotal).label("revenue"),
               func.count().label("orders"))
        .group_by(Order.customer_id, Order.currency))
    if customer_id is not None:
        orders = orders.where(Order.customer_id == customer_id)
    per_customer = orders.subquery("per_customer")
    name = func.coalesce(xrm.Party.display_name, literal("#").concat(cast(per_customer.c.customer_id, String)))
    return (
        select(per_customer.c.customer_id, name.label("customer_name"), per_customer.c.currency,
               per_customer.c.revenue, per_customer.c.orders)
        .outerjoin(xrm.Party, xrm.Party.id == per_customer.c.customer_id)
        .order_by(per_customer.c.revenue.desc(), per_customer.c.customer_id)
    )


def revenue_per_customer(session: Session, period: Period = Period(), limit: int | None = None, *,
                         customer_id: int | None = None) -> Sequence[CustomerRevenue]:
    """Revenue per customer (and currency) over ``period``, biggest first, with the customers' names.

    The rows are the query's own (named like :class:`CustomerRevenue`'s fields, and equal to such
    tuples): at 100,000 customers, building a tuple of our own per row cost a sixth of the report.
    """
    ranked = revenue_per_customer_query(period, customer_id)
    if limit is not None:
        ranked = ranked.limit(limit)
    # The sum is already a Decimal (the column's Numeric type processes it on every backend).
    return session.execute(ranked).all()


def revenue_per_product(session: Session, period: Period = Period(), limit: int | None = None) -> list[ProductRevenue]:
    """Quantity sold and revenue per product (and currency) over ``period``, biggest first."""
    revenue = func.sum(OrderLine.net_amount).label("revenue")
    query = period.filter(
        select(OrderLine.product_id, Product.code, Product.name, Order.currency,
               func.sum(OrderLine.quantity).label("quantity"), revenue)
        .join(Order, Order.id == OrderLine.order_id)
        .outerjoin(Product, Product.id == OrderLine.product_id)
        .group_by(OrderLine.product_id, Product.code, Product.name, Order.currency)
        .order_by(revenue.desc(), OrderLine.product_id)
    )
    if limit is not None:
        query = query.limit(limit)
    return [ProductRevenue(row.product_id, row.code or "", row.name or "(deleted product)", row.currency,
                           Decimal(row.quantity), Decimal(row.revenue))
            for row in session.execute(query)]


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
