"""Price resolution: which list wins, quantity breaks, currency conversion, validity, missing prices."""

from datetime import date
from decimal import Decimal

import pytest
import xrm_sdk as xrm
from xrm_sales.catalogue import ExchangeRate, PriceList, PriceListItem, Product
from xrm_sales.pricing import PriceNotFound, exchange_rate, resolve_price

D = Decimal
DAY = date(2026, 6, 15)


@pytest.fixture
def product(xrm_session):
    product = Product(code="LIC", name="Licence", unit="user")
    xrm_session.add(product)
    xrm_session.flush()
    return product


def price_list(session, product, name, unit_price, *, currency="EUR", tag=None, priority=0, valid_from=None,
               valid_to=None, breaks=(), discount="0", active=True):
    price_list = PriceList(name=name, currency=currency, party_tag=tag, priority=priority, valid_from=valid_from,
                           valid_to=valid_to, active=active)
    price_list.items.append(PriceListItem(product=product, unit_price=D(unit_price), discount_percent=D(discount)))
    for min_quantity, break_price in breaks:
        price_list.items.append(PriceListItem(product=product, min_quantity=D(min_quantity), unit_price=D(break_price)))
    session.add(price_list)
    session.flush()
    return price_list


def party(session, name="Atlas", tags=()):
    return xrm.create_party(session, "organization", name, tags=tags)


def test_a_single_general_list_gives_price_discount_and_net_with_the_rule(xrm_session, product):
    general = price_list(xrm_session, product, "Standard", "100.00", discount="12.5")
    result = resolve_price(xrm_session, product, quantity=3, currency="EUR", on_date=DAY)
    assert (result.unit_price, result.discount, result.net) == (D("100.0000"), D("12.50"), D("262.50"))
    assert isinstance(result.net, Decimal)
    assert result.price_list_id == general.id and result.currency == "EUR"
    assert "'Standard'" in result.rule and "general" in result.rule and "discount 12.5 %" in result.rule


def test_overlapping_lists_the_higher_priority_then_the_latest_valid_from_wins(xrm_session, product):
    price_list(xrm_session, product, "Old", "100", valid_from=date(2026, 1, 1))
    newer = price_list(xrm_session, product, "Summer", "95", valid_from=date(2026, 6, 1))
    assert resolve_price(xrm_session, product, currency="EUR", on_date=DAY).price_list_id == newer.id
    promo = price_list(xrm_session, product, "Promo", "99", priority=5, valid_from=date(2025, 1, 1))
    assert resolve_price(xrm_session, product, currency="EUR", on_date=DAY).price_list_id == promo.id


def test_a_list_for_the_partys_tier_beats_a_general_one_even_of_higher_priority(xrm_session, product):
    price_list(xrm_session, product, "Standard", "100", priority=50)
    gold = price_list(xrm_session, product, "Gold partners", "80", tag="gold")
    gold_partner, other = party(xrm_session, "Goldy", tags=["gold"]), party(xrm_session, "Plain")
    tiered = resolve_price(xrm_session, product, party=gold_partner, currency="EUR", on_date=DAY)
    assert (tiered.price_list_id, tiered.unit_price) == (gold.id, D("80"))
    assert "parties tagged 'gold'" in tiered.rule
    assert resolve_price(xrm_session, product, party=other, currency="EUR", on_date=DAY).unit_price == D("100")
    assert resolve_price(xrm_session, product, currency="EUR", on_date=DAY).unit_price == D("100")


def test_quantity_breaks_pick_the_largest_minimum_not_above_the_quantity(xrm_session, product):
    price_list(xrm_session, product, "Standard", "10", breaks=[("10", "9"), ("100", "7.5")])
    prices = {q: resolve_price(xrm_session, product, quantity=q, currency="EUR", on_date=DAY).unit_price
              for q in (1, 9, 10, 99, 100, 1000)}
    assert prices == {1: D("10"), 9: D("10"), 10: D("9"), 99: D("9"), 100: D("7.5"), 1000: D("7.5")}
    assert resolve_price(xrm_session, product, quantity=100, currency="EUR", on_date=DAY).net == D("750.00")


def test_a_list_in_the_requested_currency_is_preferred_over_converting(xrm_session, product):
    price_list(xrm_session, product, "Euro", "100", priority=99)
    dollars = price_list(xrm_session, product, "Dollar", "110", currency="USD")
    result = resolve_price(xrm_session, product, currency="USD", on_date=DAY)
    assert (result.price_list_id, result.unit_price, result.currency) == (dollars.id, D("110"), "USD")


def test_without_a_list_in_the_currency_the_rate_valid_on_the_day_converts(xrm_session, product):
    price_list(xrm_session, product, "Euro", "100", discount="10")
    xrm_session.add_all([
        ExchangeRate(base_currency="EUR", quote_currency="USD", rate=D("1.05"), valid_on=date(2026, 1, 1)),
        ExchangeRate(base_currency="EUR", quote_currency="USD", rate=D("1.10"), valid_on=date(2026, 6, 1)),
        ExchangeRate(base_currency="EUR", quote_currency="USD", rate=D("1.20"), valid_on=date(2026, 7, 1)),
    ])
    xrm_session.flush()
    result = resolve_price(xrm_session, product, quantity=2, currency="USD", on_date=DAY)
    assert (result.unit_price, result.net, result.currency) == (D("110.0000"), D("198.00"), "USD")
    assert "converted EUR→USD at 1.1" in result.rule
    assert resolve_price(xrm_session, product, currency="USD", on_date=date(2026, 3, 1)).unit_price == D("105")


def test_only_the_inverse_rate_stored_is_inverted(xrm_session):
    xrm_session.add(ExchangeRate(base_currency="USD", quote_currency="EUR", rate=D("0.8"), valid_on=date(2026, 1, 1)))
    xrm_session.flush()
    assert exchange_rate(xrm_session, "EUR", "USD", DAY) == D("1.25")


def test_lists_outside_their_validity_or_inactive_do_not_apply(xrm_session, product):
    price_list(xrm_session, product, "Expired", "50", valid_to=date(2026, 6, 14))
    future = price_list(xrm_session, product, "Future", "60", valid_from=date(2026, 6, 16))
    price_list(xrm_session, product, "Switched off", "70", active=False, priority=100)
    with pytest.raises(PriceNotFound, match="no active price list valid that day"):
        resolve_price(xrm_session, product, currency="EUR", on_date=DAY)
    last_day = price_list(xrm_session, product, "Until today", "90", valid_from=date(2026, 6, 1), valid_to=DAY)
    assert resolve_price(xrm_session, product, currency="EUR", on_date=DAY).price_list_id == last_day.id
    assert resolve_price(xrm_session, product, currency="EUR", on_date=date(2026, 6, 16)).price_list_id == future.id


def test_a_missing_price_or_rate_is_a_clear_error(xrm_session, product):
    tagged = party(xrm_session, "Silvery", tags=["silver"])
    price_list(xrm_session, product, "Gold partners", "80", tag="gold")
    with pytest.raises(PriceNotFound) as missing:
        resolve_price(xrm_session, product, party=tagged, quantity=5, currency="EUR", on_date=DAY)
    assert str(missing.value) == ("No price for product LIC (quantity 5) on 2026-06-15: no active price list valid "
                                  "that day has it for Silvery (tags: silver).")
    price_list(xrm_session, product, "Standard", "100")
    with pytest.raises(PriceNotFound) as no_rate:
        resolve_price(xrm_session, product, currency="CHF", on_date=DAY)
    assert str(no_rate.value) == "No exchange rate EUR→CHF valid on 2026-06-15."


def test_the_api_resolves_a_price_with_decimal_strings_and_names_a_missing_one(xrm_client, xrm_session):
    product = xrm_client.post("/api/v1/sales/products", json={"code": "P1", "name": "Widget", "cost_price": "4.20"})
    assert product.status_code == 201, product.get_json()
    product_id = product.get_json()["id"]
    created = xrm_client.post("/api/v1/sales/price-lists", json={
        "name": "Standard", "currency": "EUR", "items": [
            {"product_id": product_id, "unit_price": "9.90"},
            {"product_id": product_id, "min_quantity": "10", "unit_price": "8.50", "discount_percent": "5"}]})
    assert created.status_code == 201, created.get_json()
    resolved = xrm_client.get(f"/api/v1/sales/prices/resolve?product_id={product_id}&quantity=10&currency=EUR&on=2026-06-15")
    assert resolved.status_code == 200, resolved.get_json()
    body = resolved.get_json()
    assert (body["unit_price"], body["discount"], body["net"]) == ("8.5000", "5.00", "80.75")
    missing = xrm_client.get(f"/api/v1/sales/prices/resolve?product_id={product_id}&currency=CHF&on=2026-06-15")
    assert missing.status_code == 404 and "No exchange rate EUR→CHF" in missing.get_json()["detail"]
    bad = xrm_client.post("/api/v1/sales/price-lists", json={"name": "Bad", "currency": "euro",
                                                             "items": [{"product_id": 999999, "unit_price": "-1"}]})
    assert bad.status_code == 422 and {"currency", "items.0.unit_price"} <= set(bad.get_json()["errors"])


def test_cost_price_is_only_for_those_allowed(xrm_client, xrm_login):
    created = xrm_client.post("/api/v1/sales/products", json={"code": "P2", "name": "Gadget", "cost_price": "3.10"})
    product_id = created.get_json()["id"]
    assert created.get_json()["cost_price"] == "3.1000"
    seller = xrm_login("sales.product.read", "sales.product.create")
    seen = seller.get(f"/api/v1/sales/products/{product_id}").get_json()
    assert "cost_price" not in seen and seen["code"] == "P2"
    refused = seller.post("/api/v1/sales/products", json={"code": "P3", "name": "Other", "cost_price": "1"})
    assert refused.status_code == 403 and "cost_price" in refused.get_json()["detail"]
    controller = xrm_login("sales.product.read", "sales.product_cost.read")
    assert controller.get(f"/api/v1/sales/products/{product_id}").get_json()["cost_price"] == "3.1000"
    assert xrm_login("sales.lead.read").get("/api/v1/sales/products").status_code == 403


def test_amounts_and_rates_too_large_to_store_are_refused_naming_the_field(xrm_client):
    """A value past the column's 14 digits is a 422 on that field, not a database overflow."""
    product_id = xrm_client.post("/api/v1/sales/products", json={"code": "P9", "name": "Big"}).get_json()["id"]
    huge = "100000000000000000000"
    rate = xrm_client.post("/api/v1/sales/exchange-rates", json={
        "base_currency": "EUR", "quote_currency": "USD", "rate": huge, "valid_on": "2026-01-01"})
    assert rate.status_code == 422 and "rate" in rate.get_json()["errors"]
    listed = xrm_client.post("/api/v1/sales/price-lists", json={"name": "Huge", "currency": "EUR", "items": [
        {"product_id": product_id, "min_quantity": huge, "unit_price": huge}]})
    assert listed.status_code == 422
    assert {"items.0.min_quantity", "items.0.unit_price"} <= set(listed.get_json()["errors"])
    largest = xrm_client.post("/api/v1/sales/price-lists", json={"name": "Largest", "currency": "EUR", "items": [
        {"product_id": product_id, "unit_price": "9999999999.9999"}]})
    assert largest.status_code == 201, largest.get_json()
