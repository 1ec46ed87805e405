"""Demo data: a catalogue, price lists and opportunities of the core demo's reps, added once."""

from decimal import Decimal

from sqlalchemy import func, select
from xrm_sales import demo, plugin
from xrm_sales.catalogue import PriceList, Product
from xrm_sales.pipeline import Opportunity
from xrm_sales.pricing import resolve_price


def test_demo_data_is_added_once_and_prices_resolve(xrm_tenant, xrm_session):
    plugin.xrm_demo_data(tenant=xrm_tenant, session=xrm_session)
    plugin.xrm_demo_data(tenant=xrm_tenant, session=xrm_session)
    xrm_session.commit()
    assert xrm_session.scalar(select(func.count()).select_from(Product)) == len(demo.PRODUCTS)
    assert sorted(xrm_session.scalars(select(PriceList.name))) == ["Resellers EUR", "Standard EUR"]
    licence = xrm_session.scalar(select(Product).where(Product.code == "LIC-PRO"))
    volume = resolve_price(xrm_session, licence, quantity=120, currency="EUR", on_date=xrm_session.scalar(
        select(PriceList.valid_from).where(PriceList.name == "Standard EUR")))
    assert (volume.unit_price, volume.discount, volume.net) == (Decimal(420), Decimal(10), Decimal("45360.00"))
    # Without the core demo's parties and staff, no opportunity is invented.
    assert xrm_session.scalar(select(func.count()).select_from(Opportunity)) == 0
