"""Reports in the reporting currency: figures against conversions computed here, unconverted amounts
kept apart, and the sales settings (reporting currency) behind If-Match and a versioned form."""

import random
import re
from collections import defaultdict
from datetime import UTC, date, datetime, timedelta
from decimal import ROUND_HALF_UP, Decimal

import pytest
import xrm_sdk as xrm
from xrm_sales import analytics, opportunities
from xrm_sales.catalogue import ExchangeRate, Product
from xrm_sales.documents import Order, OrderLine
from xrm_sales.pipeline import Opportunity
from xrm_sales.revenue import converted_revenue_per_customer, converted_revenue_per_product

API = "/api/v1/sales"
CENT = Decimal("0.01")
#: (base, quote, rate, valid_on): USD quoted into EUR (multiply), GBP quoted from EUR (divide), both
#: directions for CHF (the more recent wins, the direct one on a tie); no JPY rate at all.
RATES = [
    ("USD", "EUR", "0.91230000", date(2025, 1, 1)), ("USD", "EUR", "0.88770000", date(2025, 4, 1)),
    ("USD", "EUR", "0.93010000", date(2025, 9, 15)),
    ("EUR", "GBP", "0.84120000", date(2025, 2, 1)), ("EUR", "GBP", "0.86660000", date(2025, 7, 1)),
    ("CHF", "EUR", "1.04000000", date(2025, 1, 1)), ("EUR", "CHF", "0.95000000", date(2025, 6, 1)),
    ("CHF", "EUR", "1.06000000", date(2025, 6, 1)), ("EUR", "CHF", "0.97000000", date(2025, 10, 1)),
]
CURRENCIES = ("EUR", "USD", "GBP", "CHF", "JPY")


def to_eur(amount: Decimal, currency: str, on: date) -> Decimal | None:
    """``amount`` in EUR cents-rounded, worked out from RATES (None: no rate on or before ``on``)."""
    if currency == "EUR":
        return amount
    quotes = [(valid_on, base == "EUR", Decimal(rate)) for base, quote, rate, valid_on in RATES
              if {base, quote} == {currency, "EUR"} and valid_on <= on]
    if not quotes:
        return None
    _valid_on, inverse, rate = max(quotes, key=lambda q: (q[0], not q[1]))
    return ((amount / rate) if inverse else (amount * rate)).quantize(CENT, ROUND_HALF_UP)


@pytest.fixture(autouse=True)
def _today(xrm_clock):
    xrm_clock.set(datetime(2026, 11, 22, 10, 0, tzinfo=UTC))


@pytest.fixture
def book(xrm_session):
    """Orders in five currencies over 2025 (some before any rate), their lines, and open opportunities."""
    rng = random.Random(20261123)
    xrm_session.add_all([ExchangeRate(base_currency=b, quote_currency=q, rate=Decimal(r), valid_on=d)
                         for b, q, r, d in RATES])
    products = [Product(code=f"P{n}", name=f"Product {n}") for n in range(3)]
    xrm_session.add_all(products)
    customers = [xrm.create_party(xrm_session, "organization", f"Customer {n}") for n in range(5)]
    xrm_session.flush()
    lines = []
    for n in range(40):
        customer, currency = rng.choice(customers), rng.choice(CURRENCIES)
        day = date(2024, 12, 1) + timedelta(days=rng.randrange(380))
        order_lines = []
        for position in range(1, rng.randint(1, 3) + 1):
            product, net = rng.choice(products), Decimal(rng.randint(100, 500_000)) / 100
            order_lines.append(OrderLine(position=position, product_id=product.id, description=product.name,
                                         quantity=Decimal(1), unit_price=net, net_amount=net,
                                         tax_amount=Decimal("0.00")))
            lines.append((customer.id, product.id, currency, day, net))
        subtotal = sum(line.net_amount for line in order_lines)
        xrm_session.add(Order(number=f"O-{n}", customer_id=customer.id, currency=currency, order_date=day,
                              lines=order_lines, subtotal=subtotal, tax_total=Decimal("0.00"), total=subtotal))
    pipeline = opportunities.ensure_default_pipeline(xrm_session)
    deals = []
    for n in range(30):
        stage = rng.choice(pipeline.open_stages)
        deals.append(Opportunity(
            title=f"Deal {n}", customer_id=rng.choice(customers).id, currency=rng.choice(CURRENCIES),
            amount=Decimal(rng.randint(1_000, 900_000)) / 100, pipeline_id=pipeline.id, stage=stage, status="open",
            probability=Decimal(rng.randint(0, 100)) if n % 3 else None,
            expected_close_date=date(2024, 12, 15) + timedelta(days=rng.randrange(400))))
    xrm_session.add_all(deals)
    xrm_session.commit()
    return lines, deals


def _orders(lines):
    """Per order (customer, currency, day) its subtotal, rebuilt from the generated lines."""
    totals = defaultdict(Decimal)
    for customer_id, _product, currency, day, net in lines:
        totals[(customer_id, currency, day)] += net
    return totals


def test_revenue_in_the_reporting_currency_matches_rates_worked_out_here(xrm_session, book):
    lines, _ = book
    converted, unconverted = defaultdict(Decimal), defaultdict(Decimal)
    for (customer_id, currency, day), subtotal in _orders(lines).items():
        eur = to_eur(subtotal, currency, day)
        if eur is None:
            unconverted[(customer_id, currency)] += subtotal
        else:
            converted[customer_id] += eur
    report = converted_revenue_per_customer(xrm_session, "EUR")
    assert report.currency == "EUR" and {r.currency for r in report.rows} == {"EUR"}
    assert {r.customer_id: r.revenue for r in report.rows} == dict(converted)
    assert {(r.customer_id, r.currency): r.revenue for r in report.unconverted} == dict(unconverted)
    # JPY has no rate at all; GBP orders dated before its first rate stay unconverted too.
    assert {r.currency for r in report.unconverted} == {"JPY", "GBP"}
    assert [r.revenue for r in report.rows] == sorted((r.revenue for r in report.rows), reverse=True)

    by_product, missing = defaultdict(Decimal), defaultdict(Decimal)
    for _customer, product_id, currency, day, net in lines:
        eur = to_eur(net, currency, day)
        if eur is None:
            missing[(product_id, currency)] += net
        else:
            by_product[product_id] += eur
    products = converted_revenue_per_product(xrm_session, "EUR")
    assert {r.product_id: r.revenue for r in products.rows} == dict(by_product)
    assert {(r.product_id, r.currency): r.revenue for r in products.unconverted} == dict(missing)


def test_the_forecast_in_the_reporting_currency_matches_rates_worked_out_here(xrm_session, book):
    _, deals = book
    converted, unconverted = defaultdict(lambda: [0, Decimal(0), Decimal(0)]), defaultdict(Decimal)
    for deal in deals:
        probability = deal.probability if deal.probability is not None else deal.stage.probability
        month = deal.expected_close_date.strftime("%Y-%m")
        eur = to_eur(deal.amount, deal.currency, deal.expected_close_date)
        if eur is None:
            unconverted[(month, deal.currency)] += deal.amount
            continue
        figures = converted[month]
        figures[0] += 1
        figures[1] += eur
        figures[2] += eur * probability / 100
    report = analytics.converted_forecast(xrm_session, "EUR")
    got = {r.month: [r.count, r.amount, r.weighted] for r in report.rows}
    assert got == {m: [n, a, w.quantize(CENT, ROUND_HALF_UP)] for m, (n, a, w) in converted.items()}
    assert {(r.month, r.currency): r.amount for r in report.unconverted} == dict(unconverted)


def test_the_api_converts_on_request_and_the_setting_needs_if_match(xrm_client, xrm_login, book):
    lines, _ = book
    refused = xrm_client.get(f"{API}/reports/revenue?currency=reporting")
    assert refused.status_code == 422 and "currency" in refused.get_json()["errors"]
    fetched = xrm_client.get(f"{API}/settings")
    assert fetched.status_code == 200 and fetched.get_json()["reporting_currency"] is None
    tag = fetched.headers["ETag"]
    assert xrm_client.put(f"{API}/settings", json={"reporting_currency": "EUR"}).status_code == 428
    bad = xrm_client.put(f"{API}/settings", json={"reporting_currency": "euro"}, headers={"If-Match": tag})
    assert bad.status_code == 422 and "reporting_currency" in bad.get_json()["errors"]
    saved = xrm_client.put(f"{API}/settings", json={"reporting_currency": "EUR"}, headers={"If-Match": tag})
    assert saved.status_code == 200 and saved.get_json()["reporting_currency"] == "EUR"
    assert xrm_client.put(f"{API}/settings", json={"reporting_currency": "USD"},
                          headers={"If-Match": tag}).status_code == 412
    assert xrm_login("sales.revenue.read").put(f"{API}/settings", json={"reporting_currency": "USD"},
                                               headers={"If-Match": "*"}).status_code == 403

    body = xrm_client.get(f"{API}/reports/revenue?currency=reporting&limit=100").get_json()
    total = sum((Decimal(r["revenue"]) for r in body["items"]), Decimal(0))
    expected = sum((eur for (_, cur, day), s in _orders(lines).items() if (eur := to_eur(s, cur, day)) is not None),
                   Decimal(0))
    assert body["currency"] == "EUR" and total == expected
    assert {r["currency"] for r in body["unconverted"]} >= {"JPY"}
    plain = xrm_client.get(f"{API}/reports/revenue").get_json()
    assert "unconverted" not in plain and {r["currency"] for r in plain["items"]} >= {"USD", "JPY"}
    forecast = xrm_client.get(f"{API}/reports/forecast?currency=reporting").get_json()
    assert forecast["currency"] == "EUR" and {r["currency"] for r in forecast["items"]} == {"EUR"}
    assert xrm_client.get(f"{API}/reports/forecast?currency=euros").status_code == 422
    spec = xrm_client.get("/api/v1/openapi.json").get_json()
    parameters = spec["paths"]["/api/v1/sales/reports/revenue"]["get"]["parameters"]
    assert any(p["name"] == "currency" and "reporting" in p["schema"]["enum"] for p in parameters)


def test_the_pages_toggle_the_conversion_and_the_settings_form_refuses_a_stale_version(xrm_client, book):
    page = xrm_client.get("/sales/settings/reporting")
    assert page.status_code == 200
    opened = re.search(r'name="version" value="(\d+)"', page.get_data(as_text=True)).group(1)
    assert 'id="currency-reporting"' in xrm_client.get("/sales/revenue/").get_data(as_text=True)
    bad = xrm_client.post("/sales/settings/reporting", data={"reporting_currency": "EU", "version": opened})
    assert bad.status_code == 422 and 'id="reporting_currency-error"' in bad.get_data(as_text=True)
    assert xrm_client.post("/sales/settings/reporting",
                           data={"reporting_currency": "eur", "version": opened}).status_code == 302
    stale = xrm_client.post("/sales/settings/reporting", data={"reporting_currency": "USD", "version": opened})
    assert stale.status_code == 409 and "Someone else changed these settings" in stale.get_data(as_text=True)
    assert xrm_client.get(f"{API}/settings").get_json()["reporting_currency"] == "EUR"

    revenue = xrm_client.get("/sales/revenue/?currency=reporting").get_data(as_text=True)
    assert 'id="conversion-note"' in revenue and 'data-testid="revenue-customers-unconverted"' in revenue
    assert " JPY</td>" in revenue
    exported = xrm_client.get("/sales/revenue/customers.csv?currency=reporting").get_data(as_text=True)
    assert ",EUR," in exported and ",JPY," in exported and ",USD," not in exported  # USD always had a rate
    reports = xrm_client.get("/sales/reports/?currency=reporting").get_data(as_text=True)
    assert 'data-testid="forecast-unconverted"' in reports and 'id="conversion-note"' in reports


def test_another_tenants_orders_and_rates_count_for_nothing(xrm_platform, xrm_session, book):
    from xrm_sales.revenue import revenue_per_customer

    from xrm_core import tenants  # the harness's own platform API, to make a second tenant

    before = {(r.customer_id, r.currency): r.revenue for r in revenue_per_customer(xrm_session)}
    unconverted_before = converted_revenue_per_customer(xrm_session, "EUR").unconverted
    xrm_session.commit()  # ends the test session's transaction (SQLite: its write lock)
    with xrm_platform.db.transaction(all_tenants=True) as session:
        other = tenants.create_tenant(session, "other", "Other tenant")
    with xrm_platform.db.transaction(other.id) as session:
        stranger = xrm.create_party(session, "organization", "Stranger")
        session.add(ExchangeRate(base_currency="JPY", quote_currency="EUR", rate=Decimal("0.0062"),
                                 valid_on=date(2020, 1, 1)))
        session.flush()
        session.add(Order(number="O-X", customer_id=stranger.id, currency="EUR", order_date=date(2025, 5, 5),
                          subtotal=Decimal("99.00"), tax_total=Decimal("0.00"), total=Decimal("99.00")))
    xrm_session.expire_all()
    assert {(r.customer_id, r.currency): r.revenue for r in revenue_per_customer(xrm_session)} == before
    assert converted_revenue_per_customer(xrm_session, "EUR").unconverted == unconverted_before
