"""Price resolution: which price list gives a product's price for a customer, quantity, currency and day.

The rules, in order:

1. A list applies when it is active, valid on the day (``valid_from``/``valid_to`` inclusive, open
   ends allowed), is general or targets a tag the party carries, and has an item for the product
   with ``min_quantity`` at most the quantity asked.
2. Lists in the requested currency are preferred; only when none applies is a list in another
   currency used, converted with the exchange rate valid on the day (the latest rate of the pair
   dated on or before it; the inverse pair is used when only that one is stored).
3. Among the remaining lists: one targeting the party's tag beats a general one, then the higher
   ``priority``, then the latest ``valid_from``, then the newest list.
4. In the chosen list, the item with the largest ``min_quantity`` not above the quantity (the
   quantity break) gives the unit price and the discount.

Everything is :class:`~decimal.Decimal`; a missing price or rate raises :class:`PriceNotFound`
naming what is missing.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from decimal import ROUND_HALF_UP, Decimal

import xrm_sdk as xrm
from sqlalchemy import and_, or_, select
from sqlalchemy.orm import Session

from .catalogue import ExchangeRate, PriceList, PriceListItem, Product

UNIT_PRICE_STEP = Decimal("0.0001")
AMOUNT_STEP = Decimal("0.01")
HUNDRED = Decimal(100)


class PriceNotFound(xrm.NotFound):
    """No price list (or no exchange rate) gives a price; the message says which is missing."""


@dataclass(frozen=True)
class PriceResolution:
    """A resolved price: ``net`` is the line amount for the quantity after the discount."""

    unit_price: Decimal
    discount: Decimal
    net: Decimal
    currency: str
    rule: str
    price_list_id: int


def resolve_price(
    session: Session,
    product: Product,
    *,
    party: xrm.Party | None = None,
    quantity: Decimal | int | str = 1,
    currency: str,
    on_date: date,
) -> PriceResolution:
    """The price of ``quantity`` × ``product`` for ``party`` in ``currency`` on ``on_date``, and why.

    :raises PriceNotFound: no list applies, or no exchange rate converts the one that does.
    """
    quantity = Decimal(str(quantity))
    currency = currency.upper()
    if quantity <= 0:
        raise xrm.ValidationError({"quantity": ["Must be greater than 0."]})
    tags = set(party.tags or ()) if party is not None else set()
    candidates = _applicable_items(session, product, quantity, on_date, tags)
    if not candidates:
        raise PriceNotFound(
            f"No price for product {product.code} (quantity {quantity}) on {on_date.isoformat()}: "
            f"no active price list valid that day has it{_for_whom(party, tags)}."
        )
    in_currency = [c for c in candidates if c[0].currency == currency]
    pool = in_currency or candidates
    price_list, item = max(pool, key=lambda c: _precedence(c[0], c[1], tags))
    unit_price = item.unit_price
    rule = _explain(price_list, item, product, tags)
    if price_list.currency != currency:
        rate = exchange_rate(session, price_list.currency, currency, on_date)
        unit_price = unit_price * rate
        rule += f"; converted {price_list.currency}→{currency} at {_plain(rate)} (rate valid on {on_date.isoformat()})"
    unit_price = unit_price.quantize(UNIT_PRICE_STEP, ROUND_HALF_UP)
    discount = item.discount_percent
    net = (unit_price * quantity * (HUNDRED - discount) / HUNDRED).quantize(AMOUNT_STEP, ROUND_HALF_UP)
    return PriceResolution(unit_price, discount, net, currency, rule, price_list.id)


def exchange_rate(session: Session, base: str, quote: str, on_date: date) -> Decimal:
    """How many ``quote`` one ``base`` is worth on ``on_date`` (the latest rate dated on or before it).

    :raises PriceNotFound: no rate of the pair (either direction) is dated on or before the day.
    """
    if base == quote:
        return Decimal(1)
    direct = _latest_rate(session, base, quote, on_date)
    inverse = _latest_rate(session, quote, base, on_date)
    if direct is None and inverse is None:
        raise PriceNotFound(f"No exchange rate {base}→{quote} valid on {on_date.isoformat()}.")
    # The more recent of the two quotations wins; the direct one on a tie.
    if inverse is None or (direct is not None and direct.valid_on >= inverse.valid_on):
        return direct.rate
    return (Decimal(1) / inverse.rate).quantize(Decimal("0.00000001"), ROUND_HALF_UP)


def _latest_rate(session: Session, base: str, quote: str, on_date: date) -> ExchangeRate | None:
    return session.scalars(
        select(ExchangeRate)
        .where(ExchangeRate.base_currency == base, ExchangeRate.quote_currency == quote,
               ExchangeRate.valid_on <= on_date)
        .order_by(ExchangeRate.valid_on.desc())
        .limit(1)
    ).first()


def _applicable_items(session, product, quantity, on_date, tags) -> list[tuple[PriceList, PriceListItem]]:
    """(list, best quantity-break item) for every list that applies."""
    audience = PriceList.party_tag.is_(None)
    if tags:
        audience = or_(audience, PriceList.party_tag.in_(sorted(tags)))
    rows = session.execute(
        select(PriceList, PriceListItem)
        .join(PriceListItem, PriceListItem.price_list_id == PriceList.id)
        .where(
            PriceListItem.product_id == product.id,
            PriceListItem.min_quantity <= quantity,
            PriceList.active.is_(True),
            or_(PriceList.valid_from.is_(None), PriceList.valid_from <= on_date),
            or_(PriceList.valid_to.is_(None), PriceList.valid_to >= on_date),
            and_(audience),
        )
    ).all()
    best: dict[int, tuple[PriceList, PriceListItem]] = {}
    for price_list, item in rows:
        kept = best.get(price_list.id)
        if kept is None or item.min_quantity > kept[1].min_quantity:
            best[price_list.id] = (price_list, item)
    return list(best.values())


def _precedence(price_list: PriceList, _item: PriceListItem, tags: set[str]) -> tuple:
    targeted = price_list.party_tag is not None and price_list.party_tag in tags
    return (targeted, price_list.priority, price_list.valid_from or date.min, price_list.id)


def _explain(price_list: PriceList, item: PriceListItem, product: Product, tags: set[str]) -> str:
    audience = f"for parties tagged '{price_list.party_tag}'" if price_list.party_tag else "general"
    validity = f"valid {price_list.valid_from or '…'} to {price_list.valid_to or '…'}"
    text = (f"price list '{price_list.name}' ({audience}, {price_list.currency}, priority {price_list.priority}, "
            f"{validity}): {product.code} at {_plain(item.unit_price)} from quantity {_plain(item.min_quantity)}")
    if item.discount_percent:
        text += f", discount {_plain(item.discount_percent)} %"
    return text


def _for_whom(party, tags) -> str:
    if party is None:
        return " (general lists only: no customer given)"
    return f" for {party.display_name}" + (f" (tags: {', '.join(sorted(tags))})" if tags else "")


def _plain(value: Decimal) -> str:
    """``10.0000`` as ``10`` and ``0.5000`` as ``0.5``, never in exponent notation."""
    return format(value.normalize(), "f")
