"""Reports on opportunities: pipeline by stage, weighted forecast by month and owner, win rate and
sales-cycle length by source or department.

Each function runs in the caller's session, so a report only counts the opportunities the caller
may see (a Sales North rep's forecast holds Sales North's deals, not Sales South's). Amounts are
summed per currency, never added across currencies, unless the forecast is asked in the
reporting currency (:func:`converted_forecast`). Rows are plain dataclasses, ready for a table, a
chart or an export.

Definitions:

* weighted amount = amount × probability ÷ 100, the probability being the opportunity's own when
  set, else its stage's; open opportunities only;
* win rate = won ÷ (won + lost) among the opportunities closed in the period (by ``closed_on``);
* sales-cycle length = days from creation to closing, averaged over the won opportunities.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from datetime import date
from decimal import ROUND_HALF_UP, Decimal

import xrm_sdk as xrm
from sqlalchemy import BigInteger, cast, func, select
from sqlalchemy.orm import Session

from .conversion import Converted, converted_cents, unconverted_currency
from .pipeline import Opportunity, Pipeline, Stage

CENT = Decimal("0.01")
UNASSIGNED = "(unassigned)"
NO_SOURCE = "(no source)"


@dataclass(frozen=True)
class StageRow:
    pipeline: str
    stage: str
    position: int
    currency: str
    count: int
    amount: Decimal
    weighted: Decimal


@dataclass(frozen=True)
class ForecastRow:
    month: str  # YYYY-MM of the expected close date
    owner: str
    currency: str
    count: int
    amount: Decimal
    weighted: Decimal


@dataclass(frozen=True)
class WinRateRow:
    key: str  # the source or the department
    won: int
    lost: int
    win_rate: Decimal  # percent, 1 decimal
    average_cycle_days: Decimal | None


def _hundredths(column):
    """``column`` × 100 as an exact integer: SQLite keeps NUMERIC values as binary floats, whose
    sums and products would drift by a cent; integers add and multiply exactly on every database."""
    return cast(func.round(column * 100), BigInteger)


def _amount_cents_sum():
    return func.sum(_hundredths(func.coalesce(Opportunity.amount, 0)))


def _weighted_sum():
    """Σ amount in cents × probability in hundredths of a percent (÷ 10⁶ gives the weighted amount)."""
    probability = func.coalesce(Opportunity.probability, Stage.probability)
    return func.sum(_hundredths(func.coalesce(Opportunity.amount, 0)) * _hundredths(probability))


def _money(cents) -> Decimal:
    return (Decimal(int(cents or 0)) / 100).quantize(CENT)


def _weighted(scaled) -> Decimal:
    return (Decimal(int(scaled or 0)) / 1_000_000).quantize(CENT, ROUND_HALF_UP)


def pipeline_by_stage(session: Session, pipeline_id: int | None = None) -> list[StageRow]:
    """Open opportunities per stage (in pipeline order) and currency: count, amount, weighted amount."""
    query = (
        select(Pipeline.name, Stage.name, Stage.position, Opportunity.currency, func.count(Opportunity.id),
               _amount_cents_sum(), _weighted_sum())
        .join(Stage, Stage.id == Opportunity.stage_id)
        .join(Pipeline, Pipeline.id == Opportunity.pipeline_id)
        .where(Opportunity.status == "open")
        .group_by(Pipeline.name, Stage.name, Stage.position, Opportunity.currency)
        .order_by(Pipeline.name, Stage.position, Opportunity.currency)
    )
    if pipeline_id is not None:
        query = query.where(Opportunity.pipeline_id == pipeline_id)
    return [StageRow(p, s, pos, cur, n, _money(amount), _weighted(weighted))
            for p, s, pos, cur, n, amount, weighted in session.execute(query)]


def forecast(session: Session, start: date | None = None, end: date | None = None) -> list[ForecastRow]:
    """Open opportunities expected to close in ``[start, end)``, per month, owner and currency."""
    month = _month_of(session, Opportunity.expected_close_date)
    query = (
        select(month, Opportunity.owner_user_id, Opportunity.currency, func.count(Opportunity.id),
               _amount_cents_sum(), _weighted_sum())
        .join(Stage, Stage.id == Opportunity.stage_id)
        .where(Opportunity.status == "open", Opportunity.expected_close_date.is_not(None))
        .group_by(month, Opportunity.owner_user_id, Opportunity.currency)
    )
    if start is not None:
        query = query.where(Opportunity.expected_close_date >= start)
    if end is not None:
        query = query.where(Opportunity.expected_close_date < end)
    rows = session.execute(query).all()
    names = _user_names(session, {row[1] for row in rows})
    result = [ForecastRow(month, names.get(owner, UNASSIGNED), cur, n, _money(amount), _weighted(weighted))
              for month, owner, cur, n, amount, weighted in rows]
    return sorted(result, key=lambda r: (r.month, r.owner, r.currency))


def converted_forecast(session: Session, target: str, start: date | None = None,
                       end: date | None = None) -> Converted[ForecastRow]:
    """:func:`forecast` in ``target``: each opportunity's amount converted at the rate of its expected close date.

    The weighted amount is the converted amount (rounded to the cent) × probability. Open
    opportunities without a rate on their date are counted apart, per month, owner and own
    currency, in :attr:`Converted.unconverted`.
    """
    month = _month_of(session, Opportunity.expected_close_date)
    converted = converted_cents(func.coalesce(Opportunity.amount, 0), Opportunity.currency,
                                Opportunity.expected_close_date, target)
    probability = _hundredths(func.coalesce(Opportunity.probability, Stage.probability))
    per_opportunity = (
        select(month.label("month"), Opportunity.owner_user_id, Opportunity.currency, converted.label("converted"),
               _hundredths(func.coalesce(Opportunity.amount, 0)).label("own"), probability.label("probability"))
        .join(Stage, Stage.id == Opportunity.stage_id)
        .where(Opportunity.status == "open", Opportunity.expected_close_date.is_not(None))
    )
    if start is not None:
        per_opportunity = per_opportunity.where(Opportunity.expected_close_date >= start)
    if end is not None:
        per_opportunity = per_opportunity.where(Opportunity.expected_close_date < end)
    rows = per_opportunity.subquery("per_opportunity")
    unconverted = unconverted_currency(rows)
    amount = func.coalesce(rows.c.converted, rows.c.own)
    query = (
        select(rows.c.month, rows.c.owner_user_id, unconverted, func.count(), func.sum(amount),
               func.sum(amount * rows.c.probability))
        .group_by(rows.c.month, rows.c.owner_user_id, unconverted)
    )
    found = session.execute(query).all()
    names = _user_names(session, {row[1] for row in found})
    result: Converted[ForecastRow] = Converted(target, [], [])
    for month_, owner, own_currency, n, amount_cents, weighted in found:
        row = ForecastRow(month_, names.get(owner, UNASSIGNED), own_currency or target, n, _money(amount_cents),
                          _weighted(weighted))
        (result.unconverted if own_currency else result.rows).append(row)
    result.rows.sort(key=lambda r: (r.month, r.owner, r.currency))
    result.unconverted.sort(key=lambda r: (r.month, r.owner, r.currency))
    return result


def _month_of(session: Session, column):
    """``YYYY-MM`` of a date column as one expression (grouping on year and month separately costs
    twice the date formatting per row)."""
    if session.get_bind().dialect.name == "postgresql":
        return func.to_char(column, "YYYY-MM")
    return func.strftime("%Y-%m", column)


def _user_names(session: Session, user_ids: set[int | None]) -> dict[int, str]:
    ids = sorted(i for i in user_ids if i is not None)
    if not ids:
        return {}
    return dict(session.execute(select(xrm.User.id, xrm.User.display_name).where(xrm.User.id.in_(ids))).all())


def win_rates(session: Session, by: str, start: date | None = None, end: date | None = None) -> list[WinRateRow]:
    """Won and lost opportunities closed in ``[start, end)`` per ``by`` (``"source"`` or ``"department"``).

    :raises xrm.ValidationError: ``by`` is neither.
    """
    if by not in ("source", "department"):
        raise xrm.ValidationError({"by": ["Must be 'source' or 'department'."]})
    key_column = Opportunity.source if by == "source" else Opportunity.department_id
    query = select(key_column, Opportunity.status, Opportunity.created_at, Opportunity.closed_on).where(
        Opportunity.status.in_(("won", "lost")))
    if start is not None:
        query = query.where(Opportunity.closed_on >= start)
    if end is not None:
        query = query.where(Opportunity.closed_on < end)
    counts: dict[str, dict[str, int]] = defaultdict(lambda: {"won": 0, "lost": 0})
    cycles: dict[str, list[int]] = defaultdict(list)
    rows = session.execute(query).all()
    labels = _department_names(session, {row[0] for row in rows}) if by == "department" else {}
    for key, status, created_at, closed_on in rows:
        label = labels.get(key, UNASSIGNED) if by == "department" else (key or NO_SOURCE)
        counts[label][status] += 1
        if status == "won":
            cycles[label].append((closed_on - created_at.date()).days)
    result = []
    for label in sorted(counts):
        won, lost = counts[label]["won"], counts[label]["lost"]
        rate = (Decimal(100 * won) / (won + lost)).quantize(Decimal("0.1"), ROUND_HALF_UP)
        days = cycles[label]
        average = (Decimal(sum(days)) / len(days)).quantize(Decimal("0.1"), ROUND_HALF_UP) if days else None
        result.append(WinRateRow(label, won, lost, rate, average))
    return result


def _department_names(session: Session, ids: set[int | None]) -> dict[int, str]:
    wanted = sorted(i for i in ids if i is not None)
    if not wanted:
        return {}
    return dict(session.execute(select(xrm.Department.id, xrm.Department.name).where(xrm.Department.id.in_(wanted))).all())


def open_summary(session: Session, party_id: int) -> tuple[list[Opportunity], dict[str, Decimal]]:
    """A party's open opportunities (soonest close first) and their weighted amount per currency."""
    found = session.scalars(
        select(Opportunity).where(Opportunity.customer_id == party_id, Opportunity.status == "open")
        .order_by(Opportunity.expected_close_date.is_(None), Opportunity.expected_close_date, Opportunity.id)
    ).all()
    weighted: dict[str, Decimal] = defaultdict(Decimal)
    for opportunity in found:
        weighted[opportunity.currency] += opportunity.weighted_amount
    return list(found), dict(weighted)
