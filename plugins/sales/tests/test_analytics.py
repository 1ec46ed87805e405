"""Reports against figures computed independently here, and department scoping everywhere."""

import io
import random
from collections import defaultdict
from datetime import UTC, date, datetime, timedelta
from decimal import ROUND_HALF_UP, Decimal

import pytest
import xrm_sdk as xrm
from openpyxl import load_workbook
from sqlalchemy import select
from xrm_sales import analytics, opportunities
from xrm_sales.pipeline import Opportunity

API = "/api/v1/sales"
CENT = Decimal("0.01")


def make_users(session, *names):
    users = [xrm.User(email=f"{name}@test.example", display_name=name, password_hash="") for name in names]
    session.add_all(users)
    session.flush()
    return users


@pytest.fixture
def generated(xrm_session):
    """120 opportunities over 3 owners, 2 currencies, explicit or stage probabilities; some closed."""
    rng = random.Random(20261122)
    pipeline = opportunities.ensure_default_pipeline(xrm_session)
    open_stages = pipeline.open_stages
    won, lost = (next(s for s in pipeline.stages if s.outcome == o) for o in ("won", "lost"))
    owners = make_users(xrm_session, "Ada", "Ben", "Cy")
    customer = xrm.create_party(xrm_session, "organization", "Customer")
    made = []
    for index in range(120):
        stage = rng.choice(open_stages + [won, lost])
        opportunity = Opportunity(
            title=f"Deal {index}", customer_id=customer.id, currency=rng.choice(["EUR", "USD"]),
            amount=Decimal(rng.randint(100, 100_000)) / 100 if rng.random() > 0.05 else None,
            probability=Decimal(rng.randint(0, 100)) if rng.random() < 0.4 else None,
            expected_close_date=date(2026, rng.randint(1, 12), rng.randint(1, 28)) if rng.random() > 0.1 else None,
            source=rng.choice(["web_form", "referral", None]), pipeline_id=pipeline.id, stage=stage,
            status=stage.outcome or "open", owner_user_id=rng.choice(owners).id if rng.random() > 0.1 else None,
            created_at=datetime(2026, 1, 1, tzinfo=UTC) + timedelta(days=rng.randint(0, 60)),
        )
        if stage.outcome:
            opportunity.closed_on = date(2026, 3, 1) + timedelta(days=rng.randint(0, 90))
            opportunity.close_reason = "test"
        made.append(opportunity)
    xrm_session.add_all(made)
    xrm_session.flush()
    return made, {u.id: u.display_name for u in owners}


def test_the_forecast_matches_figures_computed_independently(xrm_session, generated):
    made, names = generated
    expected = defaultdict(lambda: [0, Decimal(0), Decimal(0)])
    for o in made:
        if o.status != "open" or o.expected_close_date is None:
            continue
        probability = o.probability if o.probability is not None else o.stage.probability
        key = (o.expected_close_date.strftime("%Y-%m"), names.get(o.owner_user_id, "(unassigned)"), o.currency)
        expected[key][0] += 1
        expected[key][1] += o.amount or 0
        expected[key][2] += (o.amount or 0) * probability / 100
    rows = analytics.forecast(xrm_session)
    assert {(r.month, r.owner, r.currency): (r.count, r.amount, r.weighted) for r in rows} == {
        key: (n, amount.quantize(CENT), weighted.quantize(CENT, ROUND_HALF_UP)) for key, (n, amount, weighted) in expected.items()}
    assert len(rows) > 10
    summer = analytics.forecast(xrm_session, date(2026, 6, 1), date(2026, 9, 1))
    assert {r.month for r in summer} == {"2026-06", "2026-07", "2026-08"}


def test_pipeline_by_stage_and_win_rates_match_independent_figures(xrm_session, generated):
    made, _names = generated
    by_stage = defaultdict(lambda: [0, Decimal(0)])
    for o in made:
        if o.status == "open":
            by_stage[(o.stage.name, o.currency)][0] += 1
            by_stage[(o.stage.name, o.currency)][1] += o.amount or 0
    rows = analytics.pipeline_by_stage(xrm_session)
    assert {(r.stage, r.currency): (r.count, r.amount) for r in rows} == {k: (n, a) for k, (n, a) in by_stage.items()}
    assert [r.position for r in rows] == sorted(r.position for r in rows)

    outcomes = defaultdict(lambda: {"won": 0, "lost": 0, "days": []})
    for o in made:
        if o.status in ("won", "lost"):
            entry = outcomes[o.source or "(no source)"]
            entry[o.status] += 1
            if o.status == "won":
                entry["days"].append((o.closed_on - o.created_at.date()).days)
    rates = {r.key: r for r in analytics.win_rates(xrm_session, "source")}
    assert set(rates) == set(outcomes)
    for key, entry in outcomes.items():
        row = rates[key]
        assert (row.won, row.lost) == (entry["won"], entry["lost"])
        assert row.win_rate == (Decimal(100 * entry["won"]) / (entry["won"] + entry["lost"])).quantize(Decimal("0.1"), ROUND_HALF_UP)
        if entry["days"]:
            assert row.average_cycle_days == (Decimal(sum(entry["days"])) / len(entry["days"])).quantize(Decimal("0.1"), ROUND_HALF_UP)
    with pytest.raises(xrm.ValidationError):
        analytics.win_rates(xrm_session, "colour")


READ = ("sales.opportunity.read", "sales.opportunity.create", "sales.opportunity.update", "sales.opportunity.export",
        "sales.pipeline.read", "core.party.read")


def test_a_sales_north_rep_never_sees_sales_souths_opportunity(xrm_client, xrm_login, xrm_session):
    north = xrm_login(*READ, scope="department", department="Sales North")
    xrm_login(*READ, scope="department", department="Sales South")
    departments = {d.name: d.id for d in xrm_session.scalars(select(xrm.Department))}
    customer = xrm.create_party(xrm_session, "organization", "Shared Customer")
    xrm_session.commit()
    pipeline_id = xrm_client.get(f"{API}/pipelines").get_json()[0]["id"]
    made = {}
    for name, amount in (("Sales North", "1111.00"), ("Sales South", "7777.00")):
        response = xrm_client.post(f"{API}/opportunities", json={
            "title": f"{name} deal", "customer_id": customer.id, "currency": "EUR", "amount": amount,
            "expected_close_date": "2026-07-15", "department_id": departments[name], "pipeline_id": pipeline_id})
        assert response.status_code == 201, response.get_json()
        made[name] = response.get_json()["id"]

    listed = north.get(f"{API}/opportunities").get_json()["items"]
    assert [o["title"] for o in listed] == ["Sales North deal"]
    assert north.get(f"{API}/opportunities/{made['Sales South']}").status_code == 404
    assert north.post(f"{API}/opportunities/{made['Sales South']}/close",
                      json={"outcome": "lost", "reason": "sabotage"}).status_code == 404
    board = north.get(f"/sales/pipelines/{pipeline_id}/board").get_data(as_text=True)
    assert "Sales North deal" in board and "Sales South deal" not in board
    reports = north.get("/sales/reports/").get_data(as_text=True)
    assert "1111.00" in reports and "7777.00" not in reports
    exported = north.get("/sales/reports/forecast.csv").get_data(as_text=True)
    assert "1111.00" in exported and "7777.00" not in exported
    everything = xrm_client.get("/sales/reports/forecast.csv").get_data(as_text=True)
    assert ",2,8888.00," in everything  # both deals, one month, one owner
    forecast = north.get(f"{API}/reports/forecast?start=2026-07-01&end=2026-08-01").get_json()["items"]
    assert [(r["month"], r["count"], r["amount"]) for r in forecast] == [("2026-07", 1, "1111.00")]
    assert [r["amount"] for r in north.get(f"{API}/reports/pipeline").get_json()["items"]] == ["1111.00"]
    assert xrm_client.get(f"{API}/reports/forecast").get_json()["items"][0]["amount"] == "8888.00"
    assert north.get(f"{API}/reports/win-rates?by=colour").status_code == 422


def test_reports_page_draws_charts_and_exports_xlsx(xrm_client, xrm_session, generated):
    xrm_session.commit()
    page = xrm_client.get("/sales/reports/")
    assert page.status_code == 200
    html = page.get_data(as_text=True)
    assert html.count("<svg") >= 3 and "Weighted forecast by month and owner" in html
    xlsx = xrm_client.get("/sales/reports/pipeline.xlsx")
    assert xlsx.status_code == 200 and xlsx.data[:2] == b"PK"
    sheet = load_workbook(io.BytesIO(xlsx.data)).active
    assert [c.value for c in sheet[1]] == ["pipeline", "stage", "position", "currency", "count", "amount", "weighted"]
    assert xrm_client.get("/sales/reports/forecast.pdf").status_code == 404
    assert xrm_client.get("/sales/reports/?from=yesterday").status_code == 422


def test_the_party_panel_shows_open_opportunities_and_weighted_amount(xrm_client, xrm_session):
    customer = xrm.create_party(xrm_session, "organization", "Panel Customer")
    xrm_session.commit()
    for amount in ("1000", "3000"):
        xrm_client.post(f"{API}/opportunities", json={"title": f"Deal {amount}", "customer_id": customer.id,
                                                      "currency": "EUR", "amount": amount, "probability": "50"})
    html = xrm_client.get(f"/parties/{customer.id}/panels/sales.opportunities").get_data(as_text=True)
    assert "Deal 1000" in html and "Deal 3000" in html and "2000.00 EUR" in html
