"""Tenant setup (a default pipeline) and demo data that goes with the core demo.

The demo adds a small catalogue (VAT, products and services), a general EUR price list and one
for resellers, a USD rate, and opportunities of Nora North (Sales North) and Sam South (Sales
South) on the core demo's customers, a few of them won or lost. Running it again adds nothing.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from decimal import Decimal

import xrm_sdk as xrm
from sqlalchemy import select
from sqlalchemy.orm import Session

from . import opportunities
from .catalogue import ExchangeRate, PriceList, PriceListItem, Product, ProductCategory, TaxCategory

#: code, name, kind, unit, category, cost price, list price (EUR), reseller price (EUR)
PRODUCTS = (
    ("LIC-STD", "XRM licence, standard (per user and year)", "service", "user/year", "Licences", "40", "240", "190"),
    ("LIC-PRO", "XRM licence, professional (per user and year)", "service", "user/year", "Licences", "70", "420", "330"),
    ("CONS-DAY", "Consulting day", "service", "day", "Services", "450", "950", "950"),
    ("SUP-PLAN", "Premium support plan (per year)", "service", "year", "Services", "900", "3600", "3000"),
    ("SCAN-01", "Barcode scanner", "product", "unit", "Hardware", "85", "169", "139"),
)

#: customer, owner email, title, amount, stage, months to close (open) or days ago closed, source, partner
OPPORTUNITIES = (
    ("Atlas Industries", "nora.north@demo.example", "Atlas: 120 professional licences", "50400", "Proposal", 1, "existing customer", None),
    ("Atlas Industries", "nora.north@demo.example", "Atlas: support renewal", "3600", "Negotiation", 0, "existing customer", None),
    ("Atlas Logistics", "nora.north@demo.example", "Atlas Logistics: rollout consulting", "19000", "Needs analysis", 2, "referral", None),
    ("Alice Martin", "nora.north@demo.example", "Scanners for the warehouse", "3380", "Won", 20, "web_form", None),
    ("Corvid Analytics", "sam.south@demo.example", "Corvid: upgrade to professional", "21600", "Proposal", 1, "referral", "Dunmore Consulting"),
    ("Bellamy & Sons", "sam.south@demo.example", "Bellamy: first 25 licences", "6000", "Qualification", 3, "trade_fair", "Dunmore Consulting"),
    ("Diego Ramírez", "sam.south@demo.example", "Analytics workshop", "2850", "Lost", 35, "web_form", None),
)
#: The people involved on each customer's side (employees in the core demo).
CONTACTS = {"Atlas Industries": "Alice Martin", "Atlas Logistics": "Bruno Keller", "Corvid Analytics": "Diego Ramírez",
            "Bellamy & Sons": "Chloé Dubois"}


def setup(session: Session) -> None:
    """Give the tenant its default pipeline when it has none (idempotent)."""
    opportunities.ensure_default_pipeline(session)


def add_demo_data(session: Session) -> None:
    """Add the demo catalogue and opportunities unless the catalogue already has the demo products."""
    if session.scalar(select(Product.id).where(Product.code == PRODUCTS[0][0])) is not None:
        return
    pipeline = opportunities.ensure_default_pipeline(session)
    _catalogue(session)
    _opportunities(session, pipeline)
    session.flush()


def _catalogue(session: Session) -> None:
    vat = TaxCategory(code="VAT20", name="VAT 20 %", rate=Decimal("0.2"))
    session.add(vat)
    categories = {name: ProductCategory(name=name) for name in sorted({p[4] for p in PRODUCTS})}
    session.add_all(categories.values())
    standard = PriceList(name="Standard EUR", currency="EUR", priority=0, valid_from=date(2026, 1, 1))
    reseller = PriceList(name="Resellers EUR", currency="EUR", party_tag="reseller", priority=10,
                         valid_from=date(2026, 1, 1))
    for code, name, kind, unit, category, cost, price, reseller_price in PRODUCTS:
        product = Product(code=code, name=name, kind=kind, unit=unit, category=categories[category], tax_category=vat,
                          cost_price=Decimal(cost))
        session.add(product)
        standard.items.append(PriceListItem(product=product, unit_price=Decimal(price)))
        reseller.items.append(PriceListItem(product=product, unit_price=Decimal(reseller_price)))
        if code.startswith("LIC-"):  # volume licensing: 10 % off from 100 users
            standard.items.append(PriceListItem(product=product, min_quantity=Decimal(100), unit_price=Decimal(price),
                                                discount_percent=Decimal(10)))
    session.add_all([standard, reseller, ExchangeRate(base_currency="EUR", quote_currency="USD",
                                                      rate=Decimal("1.08"), valid_on=date(2026, 1, 1))])


def _opportunities(session: Session, pipeline) -> None:
    parties = {p.display_name: p for p in session.scalars(select(xrm.Party))}
    users = {u.email: u for u in session.scalars(select(xrm.User))}
    stages = {stage.name: stage for stage in pipeline.stages}
    today = xrm.utcnow().date()
    for customer, owner, title, amount, stage_name, when, source, partner in OPPORTUNITIES:
        if customer not in parties or owner not in users:
            continue  # the core demo's parties and staff are not there (a bare tenant)
        user, stage = users[owner], stages[stage_name]
        closed = stage.outcome is not None
        opportunity = opportunities.create_opportunity(
            session, title=title, customer=parties[customer], currency="EUR", pipeline=pipeline,
            stage=pipeline.open_stages[0] if closed else stage, amount=Decimal(amount), source=source,
            expected_close_date=today - timedelta(days=when) if closed else _months_ahead(today, when),
            referring_partner_id=parties[partner].id if partner in parties else None,
            contact_party_ids=[parties[CONTACTS[customer]].id] if CONTACTS.get(customer) in parties else [],
            owner_user_id=user.id, department_id=user.department_id,
        )
        if closed:
            opportunity.created_at = datetime.now(UTC) - timedelta(days=when + 30)
            reason = "Chose us for the support" if stage.outcome == "won" else "Budget moved to next year"
            opportunities.move_stage(session, opportunity, stage, reason=reason)
            opportunity.closed_on = today - timedelta(days=when)


def _months_ahead(today: date, months: int) -> date:
    month = today.month - 1 + months
    return date(today.year + month // 12, month % 12 + 1, 15)
