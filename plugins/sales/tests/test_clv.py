"""Customer lifetime value and RFM on a worked example, and the facts exposed to segments.

The example, on 2026-11-22, with an expected lifespan of 3 years:

====  ==========================================  =======  ====  ======  =========  ==========
who   orders (date: net total)                    revenue  days  years   AOV        predicted
====  ==========================================  =======  ====  ======  =========  ==========
A     2024-11-22: 500, 2025-11-22: 700,           2000     730   1.9986  666.67     3002.05
      2026-11-01: 800
B     2026-10-01: 1000                            1000     52    1 (min) 1000.00    3000.00
C     2025-05-22: 50, 2025-08-22: 50              100      549   1.5031  50.00      199.59
D     the 15th of June to October 2026: 20 each   100      160   1 (min) 20.00      300.00
E     2024-01-10: 5000                            5000     1047  2.8665  5000.00    5232.81
====  ==========================================  =======  ====  ======  =========  ==========

"days" run from the first order to 2026-11-22; years = days / 365.25, at least 1; predicted =
AOV × (orders / years) × 3, e.g. A: 666.67 × 1.5010 × 3 = 2000 × 365.25 × 3 / 730 = 3002.05.

RFM quintiles over five customers give each a distinct score 1..5:
R by last order (oldest first): E 2024-01-10 → 1, C 2025-08-22 → 2, B 2026-10-01 → 3,
D 2026-10-15 → 4, A 2026-11-01 → 5. F by orders (ties by customer id, B before E): B 1 → 1,
E 1 → 2, C 2 → 3, A 3 → 4, D 5 → 5. M by revenue: C 100 → 1, D 100 → 2, B 1000 → 3, A 2000 → 4,
E 5000 → 5. Segments: A (5, 4, 4) champions; B (3, 1, 3) needs attention; C (2, 3, 1) at risk;
D (4, 5, 2) loyal; E (1, 2, 5) hibernating.
"""

from datetime import UTC, date, datetime
from decimal import Decimal

import pytest
import xrm_sdk as xrm
from xrm_sales.clv import customer_values, predict, rfm_scores
from xrm_sales.documents import Order, OrderLine

TODAY = date(2026, 11, 22)
ORDERS = {
    "A": [(date(2024, 11, 22), "500"), (date(2025, 11, 22), "700"), (date(2026, 11, 1), "800")],
    "B": [(date(2026, 10, 1), "1000")],
    "C": [(date(2025, 5, 22), "50"), (date(2025, 8, 22), "50")],
    "D": [(date(2026, month, 15), "20") for month in range(6, 11)],
    "E": [(date(2024, 1, 10), "5000")],
}


@pytest.fixture(autouse=True)
def _today(xrm_clock):
    xrm_clock.set(datetime(2026, 11, 22, 10, 0, tzinfo=UTC))


@pytest.fixture
def customers(xrm_session):
    ids = {}
    for name, orders in ORDERS.items():  # created in order: A has the smallest id
        party = xrm.create_party(xrm_session, "organization", f"Customer {name}")
        ids[name] = party.id
        for n, (day, amount) in enumerate(orders):
            net = Decimal(amount)
            xrm_session.add(Order(
                number=f"{name}-{n}", customer_id=party.id, currency="EUR", order_date=day, subtotal=net,
                tax_total=Decimal(0), total=net,
                lines=[OrderLine(position=1, description="Work", quantity=Decimal(1), unit_price=net,
                                 net_amount=net, tax_amount=Decimal(0))]))
    xrm_session.commit()
    return ids


def test_lifetime_values_follow_the_worked_example(xrm_session, customers):
    values = {v.customer_id: v for v in customer_values(xrm_session, TODAY)}
    by_name = {name: values[customer_id] for name, customer_id in customers.items()}
    assert {name: (v.orders, v.historic_clv, v.average_order_value, v.purchase_frequency, v.predicted_clv)
            for name, v in by_name.items()} == {
        "A": (3, Decimal("2000.00"), Decimal("666.67"), Decimal("1.5010"), Decimal("3002.05")),
        "B": (1, Decimal("1000.00"), Decimal("1000.00"), Decimal("1.0000"), Decimal("3000.00")),
        "C": (2, Decimal("100.00"), Decimal("50.00"), Decimal("1.3306"), Decimal("199.59")),
        "D": (5, Decimal("100.00"), Decimal("20.00"), Decimal("5.0000"), Decimal("300.00")),
        "E": (1, Decimal("5000.00"), Decimal("5000.00"), Decimal("0.3489"), Decimal("5232.81")),
    }
    assert (by_name["A"].first_order, by_name["A"].last_order) == (date(2024, 11, 22), date(2026, 11, 1))
    # Highest predicted value first.
    assert [v.customer_id for v in customer_values(xrm_session, TODAY)] == [
        customers[n] for n in ("E", "A", "B", "D", "C")]


def test_a_longer_lifespan_scales_the_prediction():
    assert predict(Decimal(1000), 1, date(2026, 10, 1), TODAY, Decimal(5))[2] == Decimal("5000.00")


def test_rfm_scores_and_segments_follow_the_worked_example(xrm_session, customers):
    scores = {s.customer_id: s for s in rfm_scores(xrm_session)}
    assert {name: (scores[i].recency, scores[i].frequency, scores[i].monetary, scores[i].segment)
            for name, i in customers.items()} == {
        "A": (5, 4, 4, "champions"),
        "B": (3, 1, 3, "needs_attention"),
        "C": (2, 3, 1, "at_risk"),
        "D": (4, 5, 2, "loyal"),
        "E": (1, 2, 5, "hibernating"),
    }


def test_the_facts_give_segments_revenue_rfm_and_clv(xrm_session, customers):
    facts = xrm.party_facts(xrm_session)
    assert {"sales.revenue_12m", "sales.rfm_segment", "sales.clv"} <= set(facts)
    assert facts["sales.rfm_segment"].type == "choice" and "champions" in facts["sales.rfm_segment"].choices

    def values(name):
        return {party: value for party, value in xrm_session.execute(facts[name].query(xrm_session))}

    names = {i: name for name, i in customers.items()}
    # Orders on or after 2025-11-22: A 700 + 800, B 1000, D 5 × 20; none for C and E.
    assert {names[p]: Decimal(str(v)) for p, v in values("sales.revenue_12m").items()} == {
        "A": Decimal(1500), "B": Decimal(1000), "D": Decimal(100)}
    assert {names[p]: v for p, v in values("sales.rfm_segment").items()} == {
        "A": "champions", "B": "needs_attention", "C": "at_risk", "D": "loyal", "E": "hibernating"}
    assert {names[p]: Decimal(str(v)).quantize(Decimal("0.01")) for p, v in values("sales.clv").items()} == {
        "A": Decimal("3002.05"), "B": Decimal("3000.00"), "C": Decimal("199.59"), "D": Decimal("300.00"),
        "E": Decimal("5232.81")}
    xrm_session.commit()
