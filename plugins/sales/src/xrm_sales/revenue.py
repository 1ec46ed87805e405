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
from dataclasses import dataclass
from datetime import date
from decimal import Decimal

import xrm_sdk as xrm
from openpyxl import Workbook
from sqlalchemy import Select, func, select
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


@dataclass(frozen=True)
class CustomerRevenue:
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


def revenue_per_customer_query(period: Period = Period()) -> Select:
    """``(customer_id, customer_name, currency, revenue, orders)`` per customer and currency, biggest first.

    The customer's name is joined outside the aggregation's filter: a reader who may see an order
    but not its customer still counts it (under the customer's id).
    """
    # Lines are summed per order first (an index scan in order_id order, no sort), then per customer.
    per_order = (select(OrderLine.order_id, func.sum(OrderLine.net_amount).label("net"))
                 .group_by(OrderLine.order_id).subquery("per_order"))
    revenue = func.sum(per_order.c.net).label("revenue")
    query = (
        select(Order.customer_id, xrm.Party.display_name.label("customer_name"), Order.currency, revenue,
               func.count().label("orders"))
        .join(per_order, per_order.c.order_id == Order.id)
        .outerjoin(xrm.Party, xrm.Party.id == Order.customer_id)
        .group_by(Order.customer_id, xrm.Party.display_name, Order.currency)
        .order_by(revenue.desc(), Order.customer_id)
    )
    return period.filter(query)


def revenue_per_customer(session: Session, period: Period = Period(), limit: int | None = None) -> list[CustomerRevenue]:
    """Revenue per customer (and currency) over ``period``, biggest first, with the customers' names."""
    ranked = revenue_per_customer_query(period)
    if limit is not None:
        ranked = ranked.limit(limit)
    return [CustomerRevenue(row.customer_id, row.customer_name or f"#{row.customer_id}", row.currency,
                            Decimal(row.revenue), row.orders) for row in session.execute(ranked)]


def revenue_per_product(session: Session, period: Period = Period()) -> list[ProductRevenue]:
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
