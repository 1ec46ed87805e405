"""Customer lifetime value and RFM segmentation, from the customers' orders.

Both use the orders' net totals (``Order.subtotal``: the sum of their lines before tax), per
customer, over all of the customer's orders the reader may see.

**Historic CLV** is the revenue a customer has brought so far: the sum of their orders' net totals.

**Predicted CLV** is a simple, explainable model::

    average order value  = revenue / number of orders
    purchase frequency   = number of orders / observed years
    predicted CLV        = average order value × purchase frequency × expected lifespan
                         = revenue / observed years × expected lifespan

where *observed years* is the time from the customer's first order to the reference day, counted
as at least one year (so a customer who ordered last week is not extrapolated from one week),
and *expected lifespan* is how many more years a customer is expected to keep buying
(:data:`EXPECTED_LIFESPAN_YEARS`, 3 by default). It assumes a customer keeps buying at their
average yearly rate; it ignores churn and discounting, which is why it is called simple.

**RFM**: each customer gets three scores from 1 to 5, by quintile among the customers:
R (recency: the more recent the last order, the higher), F (frequency: number of orders) and M
(monetary: revenue). Quintiles are SQL ``NTILE(5)`` over the customers sorted by the measure,
ties broken by customer id. The named segment comes from the first matching rule of
:data:`SEGMENT_RULES`.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from decimal import ROUND_HALF_UP, Decimal

from sqlalchemy import Date, Numeric, Select, and_, case, func, literal, select
from sqlalchemy.ext.compiler import compiles
from sqlalchemy.orm import Session
from sqlalchemy.sql.functions import FunctionElement

from .documents import Order

EXPECTED_LIFESPAN_YEARS = Decimal(3)
DAYS_PER_YEAR = Decimal("365.25")
CENT = Decimal("0.01")

#: (segment, minimum R, maximum R, minimum F, maximum F, minimum M), first match wins.
SEGMENT_RULES = (
    ("champions", 4, 5, 4, 5, 4),
    ("loyal", 3, 5, 3, 5, 1),
    ("new", 4, 5, 1, 2, 1),
    ("at_risk", 1, 2, 3, 5, 1),
    ("hibernating", 1, 2, 1, 2, 1),
    ("needs_attention", 1, 5, 1, 5, 1),
)
SEGMENTS = tuple(rule[0] for rule in SEGMENT_RULES)


@dataclass(frozen=True)
class CustomerValue:
    customer_id: int
    orders: int
    revenue: Decimal
    first_order: date
    last_order: date
    average_order_value: Decimal
    purchase_frequency: Decimal
    predicted_clv: Decimal

    @property
    def historic_clv(self) -> Decimal:
        return self.revenue


@dataclass(frozen=True)
class RfmScore:
    customer_id: int
    last_order: date
    orders: int
    revenue: Decimal
    recency: int
    frequency: int
    monetary: int
    segment: str


def customer_totals_query() -> Select:
    """``(customer_id, orders, revenue, first_order, last_order)`` per customer."""
    return (
        select(Order.customer_id.label("customer_id"), func.count(Order.id).label("orders"),
               func.sum(Order.subtotal).label("revenue"), func.min(Order.order_date).label("first_order"),
               func.max(Order.order_date).label("last_order"))
        .group_by(Order.customer_id)
    )


def observed_years(first_order: date, today: date) -> Decimal:
    """Years from the first order to ``today``, at least one."""
    return max(Decimal((today - first_order).days) / DAYS_PER_YEAR, Decimal(1))


def predict(revenue: Decimal, orders: int, first_order: date, today: date,
            lifespan_years: Decimal = EXPECTED_LIFESPAN_YEARS) -> tuple[Decimal, Decimal, Decimal]:
    """``(average order value, purchase frequency per year, predicted CLV)`` as in the module docstring."""
    average = revenue / orders
    frequency = orders / observed_years(first_order, today)
    return (average.quantize(CENT, ROUND_HALF_UP), frequency.quantize(Decimal("0.0001"), ROUND_HALF_UP),
            (average * frequency * lifespan_years).quantize(CENT, ROUND_HALF_UP))


def customer_values(session: Session, today: date, lifespan_years: Decimal = EXPECTED_LIFESPAN_YEARS,
                    customer_id: int | None = None) -> list[CustomerValue]:
    """Historic and predicted CLV of every customer (or one), highest predicted value first."""
    query = customer_totals_query()
    if customer_id is not None:
        query = query.where(Order.customer_id == customer_id)
    values = []
    for row in session.execute(query):
        revenue = Decimal(row.revenue)
        average, frequency, predicted = predict(revenue, row.orders, _as_date(row.first_order), today, lifespan_years)
        values.append(CustomerValue(row.customer_id, row.orders, revenue, _as_date(row.first_order),
                                    _as_date(row.last_order), average, frequency, predicted))
    return sorted(values, key=lambda v: (-v.predicted_clv, v.customer_id))


def _as_date(value) -> date:
    # SQLite returns MIN()/MAX() of a date column as text.
    return value if isinstance(value, date) else date.fromisoformat(str(value))


def rfm_query() -> Select:
    """``(customer_id, last_order, orders, revenue, recency, frequency, monetary, segment)`` per customer."""
    totals = customer_totals_query().subquery("totals")
    scored = select(
        totals,
        func.ntile(5).over(order_by=(totals.c.last_order, totals.c.customer_id)).label("recency"),
        func.ntile(5).over(order_by=(totals.c.orders, totals.c.customer_id)).label("frequency"),
        func.ntile(5).over(order_by=(totals.c.revenue, totals.c.customer_id)).label("monetary"),
    ).subquery("scored")
    segment = case(
        *[(and_(scored.c.recency.between(r_min, r_max), scored.c.frequency.between(f_min, f_max),
                scored.c.monetary >= m_min), literal(name))
          for name, r_min, r_max, f_min, f_max, m_min in SEGMENT_RULES],
    ).label("segment")
    return select(scored.c.customer_id, scored.c.last_order, scored.c.orders, scored.c.revenue,
                  scored.c.recency, scored.c.frequency, scored.c.monetary, segment)


def rfm_scores(session: Session) -> list[RfmScore]:
    """Every customer's R, F, M scores and segment, by customer id."""
    rows = session.execute(rfm_query().order_by("customer_id")).all()
    return [RfmScore(row.customer_id, _as_date(row.last_order), row.orders, Decimal(row.revenue), row.recency,
                     row.frequency, row.monetary, row.segment) for row in rows]


def revenue_since_query(since: date) -> Select:
    """``(customer_id, revenue)`` of the orders dated on or after ``since``."""
    return (select(Order.customer_id, func.sum(Order.subtotal).label("revenue"))
            .where(Order.order_date >= since).group_by(Order.customer_id))


def predicted_clv_query(today: date, lifespan_years: Decimal = EXPECTED_LIFESPAN_YEARS) -> Select:
    """``(customer_id, predicted_clv)`` computed by the database, as in the module docstring."""
    totals = customer_totals_query().subquery("totals")
    days = DaysBetween(totals.c.first_order, today)
    observed_days = case((days < DAYS_PER_YEAR, literal(DAYS_PER_YEAR)), else_=days)
    predicted = totals.c.revenue * DAYS_PER_YEAR / observed_days * lifespan_years
    return select(totals.c.customer_id, predicted.label("predicted_clv"))


class DaysBetween(FunctionElement):
    """Whole days from a date column to a given day; each database has its own date arithmetic."""

    type = Numeric(12, 2)
    inherit_cache = True

    def __init__(self, column, day: date):
        super().__init__(column, literal(day, Date))


@compiles(DaysBetween, "sqlite")
def _days_sqlite(element, compiler, **kw):
    column, day = list(element.clauses)
    return f"(julianday({compiler.process(day, **kw)}) - julianday({compiler.process(column, **kw)}))"


@compiles(DaysBetween, "postgresql")
def _days_postgresql(element, compiler, **kw):
    column, day = list(element.clauses)
    return f"({compiler.process(day, **kw)} - {compiler.process(column, **kw)})"
