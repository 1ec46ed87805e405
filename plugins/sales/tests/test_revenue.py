"""Revenue per customer and per product, checked against sums computed here from the generated data."""

import csv
import io
import random
from collections import defaultdict
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal

import pytest
import xrm_sdk as xrm
from openpyxl import load_workbook
from xrm_sales.catalogue import Product
from xrm_sales.documents import Order, OrderLine
from xrm_sales.revenue import Period, revenue_per_customer, revenue_per_product

CUSTOMERS = 12
ORDERS = 80
START = date(2025, 1, 1)


@pytest.fixture(autouse=True)
def _today(xrm_clock):
    xrm_clock.set(datetime(2026, 11, 22, 10, 0, tzinfo=UTC))


@pytest.fixture
def book(xrm_session):
    """Random orders of random lines (two departments, two currencies), and what was generated."""
    from xrm_core.identity.models import Department  # the harness's core, to make departments

    rng = random.Random(20261122)
    north, south = Department(name="North"), Department(name="South")
    products = [Product(code=f"P{n}", name=f"Product {n}") for n in range(4)]
    xrm_session.add_all([north, south, *products])
    customers = [xrm.create_party(xrm_session, "organization", f"Customer {n:02d}") for n in range(CUSTOMERS)]
    xrm_session.flush()
    generated = []
    for n in range(ORDERS):
        customer = rng.choice(customers)
        department = rng.choice((north, south))
        currency = "EUR" if rng.random() < 0.85 else "USD"
        day = START + timedelta(days=rng.randrange(600))
        lines = []
        for position in range(1, rng.randint(1, 4) + 1):
            product = rng.choice(products)
            quantity = Decimal(rng.randint(1, 9))
            net = Decimal(rng.randint(100, 99_999)) / 100
            lines.append(OrderLine(position=position, product_id=product.id, description=product.name,
                                   quantity=quantity, unit_price=(net / quantity).quantize(Decimal("0.0001")),
                                   net_amount=net, tax_amount=Decimal("0.00")))
            generated.append((customer.id, department.id, currency, day, product.id, quantity, net))
        subtotal = sum(line.net_amount for line in lines)
        xrm_session.add(Order(number=f"O-{n}", customer_id=customer.id, currency=currency, order_date=day,
                              department_id=department.id, lines=lines, subtotal=subtotal,
                              tax_total=Decimal("0.00"), total=subtotal))
    xrm_session.commit()
    return generated, north, south, customers


def _expected(generated, key, *, department=None, start=None, end=None):
    sums = defaultdict(Decimal)
    for customer_id, department_id, currency, day, product_id, quantity, net in generated:
        if department is not None and department_id != department:
            continue
        if (start and day < start) or (end and day >= end):
            continue
        sums[key(customer_id, currency, product_id)] += net
    return dict(sums)


def test_revenue_per_customer_matches_the_generated_orders(xrm_session, book):
    generated, *_ = book
    rows = revenue_per_customer(xrm_session)
    assert {(r.customer_id, r.currency): r.revenue for r in rows} == _expected(generated, lambda c, cur, p: (c, cur))
    assert [r.revenue for r in rows] == sorted((r.revenue for r in rows), reverse=True)
    assert all(r.orders >= 1 and r.customer_name.startswith("Customer ") for r in rows)

    period = Period(date(2025, 6, 1), date(2026, 1, 1))
    within = revenue_per_customer(xrm_session, period)
    assert {(r.customer_id, r.currency): r.revenue for r in within} == _expected(
        generated, lambda c, cur, p: (c, cur), start=period.start, end=period.end)


def test_revenue_per_product_matches_the_generated_orders(xrm_session, book):
    generated, *_ = book
    rows = revenue_per_product(xrm_session)
    assert {(r.product_id, r.currency): r.revenue for r in rows} == _expected(generated, lambda c, cur, p: (p, cur))
    quantities = defaultdict(Decimal)
    for _, _, currency, _, product_id, quantity, _ in generated:
        quantities[(product_id, currency)] += quantity
    assert {(r.product_id, r.currency): r.quantity for r in rows} == dict(quantities)


def test_a_department_scoped_reader_only_sums_their_department(xrm_session, xrm_platform, xrm_tenant, book):
    from xrm_core.identity import admin  # the harness's core, to give a user a department-scoped role
    from xrm_core.identity.catalogue import all_permissions
    from xrm_core.identity.models import Scope

    generated, north, _, _ = book
    user = xrm.User(email="rep@test.example", display_name="Rep", password_hash="", department_id=north.id)
    xrm_session.add(user)
    role = admin.define_role(xrm_session, "north reps", {"sales.order.read": Scope.DEPARTMENT},
                             set(all_permissions(xrm_platform)))
    xrm_session.flush()
    admin.assign_role(xrm_session, user, role)
    xrm_session.commit()
    with xrm_platform.db.session(xrm_tenant.id) as session:
        xrm.act_as_user(session, user.id)
        rows = revenue_per_customer(session)
    expected = _expected(generated, lambda c, cur, p: (c, cur), department=north.id)
    assert {(r.customer_id, r.currency): r.revenue for r in rows} == expected
    assert expected != _expected(generated, lambda c, cur, p: (c, cur))


def test_the_page_charts_and_exports_the_reports(xrm_session, xrm_client, xrm_login, book):
    generated, *_ = book
    xrm_session.close()
    page = xrm_client.get("/sales/revenue/")
    assert page.status_code == 200
    html = page.get_data(as_text=True)
    assert html.count("<svg") >= 3 and "Customer" in html
    exported = xrm_client.get("/sales/revenue/customers.csv")
    assert exported.status_code == 200 and exported.mimetype == "text/csv"
    rows = list(csv.DictReader(io.StringIO(exported.get_data(as_text=True))))
    assert {(int(r["customer_id"]), r["currency"]): Decimal(r["revenue"]) for r in rows} == _expected(
        generated, lambda c, cur, p: (c, cur))
    xlsx = xrm_client.get("/sales/revenue/products.xlsx?start=2025-06-01")
    sheet = load_workbook(io.BytesIO(xlsx.data)).active
    header, *values = list(sheet.iter_rows(values_only=True))
    assert header == ("product_id", "code", "product", "currency", "quantity", "revenue")
    expected = _expected(generated, lambda c, cur, p: (p, cur), start=date(2025, 6, 1))
    assert {(v[0], v[3]): round(Decimal(str(v[5])), 2) for v in values} == expected
    assert xrm_client.get("/sales/revenue/customers.csv?start=June").status_code == 400
    assert xrm_client.get("/sales/revenue/secrets.csv").status_code == 404
    assert xrm_login("sales.order.read").get("/sales/revenue/").status_code == 403


def test_the_dashboard_widget_charts_the_top_customers(xrm_session, xrm_app, xrm_client, book):
    from xrm_sales.revenue_views import WIDGETS

    generated, _, _, customers = book
    names = {customer.id: customer.display_name for customer in customers}
    xrm_session.close()
    since = date(2026, 11, 22) - timedelta(days=365)
    recent = _expected(generated, lambda c, cur, p: (c, cur), start=since)
    administrator = {"Authorization": xrm_client.environ_base["HTTP_AUTHORIZATION"]}
    with xrm_app.test_request_context("/", headers=administrator):
        html = WIDGETS[0].render(None)
    assert "<svg" in html
    customer_id, currency = max(recent, key=recent.get)
    assert f"{names[customer_id]} ({currency})" in html


def test_the_json_reports_follow_the_api_conventions_and_the_readers_department(xrm_session, xrm_client, xrm_login,
                                                                               book):
    generated, north, _, _ = book
    xrm_session.close()
    everything = xrm_client.get("/api/v1/sales/reports/revenue?limit=1000")
    assert everything.status_code == 200
    assert {(r["customer_id"], r["currency"]): Decimal(r["revenue"]) for r in everything.get_json()["items"]} == (
        _expected(generated, lambda c, cur, p: (c, cur)))
    products = xrm_client.get("/api/v1/sales/reports/revenue?by=product&start=2025-06-01").get_json()["items"]
    assert {(r["product_id"], r["currency"]): Decimal(r["revenue"]) for r in products} == _expected(
        generated, lambda c, cur, p: (p, cur), start=date(2025, 6, 1))
    rep = xrm_login("sales.order.read", "sales.revenue.read", scope="department", department="North")
    scoped = rep.get("/api/v1/sales/reports/revenue?limit=1000").get_json()["items"]
    assert {(r["customer_id"], r["currency"]): Decimal(r["revenue"]) for r in scoped} == _expected(
        generated, lambda c, cur, p: (c, cur), department=north.id)
    for bad, field in (("start=June", "start"), ("by=colour", "by"), ("start=2026-01-01&end=2025-01-01", "end"),
                       ("limit=0", "limit"), ("currency=EUR", "currency")):
        refused = xrm_client.get(f"/api/v1/sales/reports/revenue?{bad}")
        assert refused.status_code == 422 and refused.mimetype == "application/problem+json", bad
        assert field in refused.get_json()["errors"], bad
    assert xrm_login("sales.order.read").get("/api/v1/sales/reports/revenue").status_code == 403
    spec = xrm_client.get("/api/v1/openapi.json").get_json()
    assert {"/api/v1/sales/reports/revenue", "/api/v1/sales/reports/forecast", "/api/v1/sales/reports/pipeline",
            "/api/v1/sales/reports/win-rates"} <= set(spec["paths"])
