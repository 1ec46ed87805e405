"""Amounts converted to the reporting currency in SQL, at the exchange rate valid on each record's date.

The rate is the one :func:`xrm_sales.pricing.exchange_rate` would use: the latest quotation of the
pair dated on or before the day, either direction (``currency→target`` multiplies, ``target→currency``
divides), the more recent winning and the direct one on a tie. It is picked per row by a correlated
subquery on the stored rates (read through the caller's tenant-scoped session like any entity), so
the reports still aggregate in one statement.

Each converted amount is rounded to the cent (half away from zero) *before* it is summed, and the
sums are exact integers of cents on every database. A row with no rate on or before its date has
no converted amount (``NULL``): the reports list such amounts apart, in their own currency, rather
than dropping them or adding them at a wrong rate.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal
from typing import Generic, TypeVar

from sqlalchemy import (
    BigInteger,
    Numeric,
    TypeDecorator,
    and_,
    case,
    cast,
    func,
    literal,
    or_,
    select,
    type_coerce,
)
from sqlalchemy.orm import Session

from .catalogue import ExchangeRate

Row = TypeVar("Row")


def cents(amount):
    """``amount`` × 100 as an exact integer (SQLite keeps NUMERIC values as binary floats)."""
    return cast(func.round(amount * 100), BigInteger)


def converted_cents(amount, currency, on_date, target: str):
    """SQL for ``amount`` (in ``currency``) in ``target`` cents at the rate valid on ``on_date``; NULL without a rate."""
    inverse = ExchangeRate.base_currency == target
    rated = (
        select(case((inverse, func.round(amount * 100 / ExchangeRate.rate)),
                    else_=func.round(amount * 100 * ExchangeRate.rate)))
        .where(or_(and_(ExchangeRate.base_currency == currency, ExchangeRate.quote_currency == target),
                   and_(inverse, ExchangeRate.quote_currency == currency)),
               ExchangeRate.valid_on <= on_date)
        .order_by(ExchangeRate.valid_on.desc(), case((inverse, 1), else_=0))
        .limit(1)
        .scalar_subquery()
    )
    return cast(case((currency == target, func.round(amount * 100)), else_=rated), BigInteger)


class _Amount(TypeDecorator):
    """An amount :func:`amount_of_cents` wrote: exact text on SQLite, a numeric on PostgreSQL."""

    impl = Numeric(20, 2)
    cache_ok = True

    def result_processor(self, dialect, coltype):
        # SQLite gives the text "1234.50": Decimal itself is the whole conversion, one C call a row.
        # PostgreSQL's driver already gives a Decimal.
        return Decimal if dialect.name == "sqlite" else None


def amount_of_cents(session: Session, cents_expression):
    """SQL: an integer of cents (a sum of :func:`cents`, say) as the amount it stands for, read as a
    :class:`~decimal.Decimal` with two places, made while the driver's row becomes a result row (no
    second pass over the rows of a large report)."""
    if session.get_bind().dialect.name == "sqlite":
        # The float nearest to cents / 100 prints back exactly to the cent below 10¹³.
        return type_coerce(func.printf("%.2f", cents_expression / 100.0), _Amount())
    return type_coerce(cents_expression * literal(Decimal("0.01"), Numeric(3, 2)), _Amount())


def unconverted_currency(rows):
    """SQL: the currency of a row of ``rows`` (a subquery with ``currency`` and ``converted``) that no
    rate converted, NULL for a converted one; grouping on it keeps the unconverted amounts apart, per
    currency. (It holds no bound value: PostgreSQL matches a grouped expression by its text.)"""
    return case((rows.c.converted.is_(None), rows.c.currency)).label("unconverted_currency")


@dataclass
class Converted(Generic[Row]):
    """A report in the reporting ``currency``: ``rows`` converted, ``unconverted`` in their own currency
    (the amounts no stored rate converts on their date), never added to the converted ones."""

    currency: str
    rows: list[Row]
    unconverted: list[Row]
