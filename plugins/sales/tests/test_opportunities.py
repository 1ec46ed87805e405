"""Pipelines, opportunities and their transitions: required fields per stage, events, won/lost, assignment."""

from decimal import Decimal

import pytest
import xrm_sdk as xrm
from xrm_sales import opportunities
from xrm_sales.actions import ASSIGN_OPPORTUNITY, MOVE_STAGE
from xrm_sales.pipeline import Opportunity

API = "/api/v1/sales"
STAGES = [
    {"name": "New", "probability": "10"},
    {"name": "Proposal", "probability": "50", "required_fields": ["amount", "expected_close_date"]},
    {"name": "Won", "probability": "100", "outcome": "won"},
    {"name": "Lost", "probability": "0", "outcome": "lost"},
]


@pytest.fixture
def setup(xrm_client, xrm_session):
    customer = xrm.create_party(xrm_session, "organization", "Atlas Industries")
    xrm_session.commit()
    pipeline = xrm_client.post(f"{API}/pipelines", json={"name": "Direct", "stages": STAGES})
    assert pipeline.status_code == 201, pipeline.get_json()
    stages = {s["name"]: s["id"] for s in pipeline.get_json()["stages"]}
    return customer.id, pipeline.get_json()["id"], stages


def create(client, customer_id, pipeline_id, **extra):
    response = client.post(f"{API}/opportunities", json={
        "title": "120 licences", "customer_id": customer_id, "currency": "EUR", "pipeline_id": pipeline_id, **extra})
    assert response.status_code == 201, response.get_json()
    return response.get_json()


def test_a_pipeline_refuses_unknown_required_fields_and_needs_an_open_stage(xrm_client):
    bad = xrm_client.post(f"{API}/pipelines", json={"name": "Bad", "stages": [
        {"name": "Won", "probability": "100", "outcome": "won", "required_fields": ["colour"]}]})
    assert bad.status_code == 422
    assert "stages.0.required_fields.0" in bad.get_json()["errors"]
    closed_only = xrm_client.post(f"{API}/pipelines", json={"name": "Bad", "stages": [
        {"name": "Won", "probability": "100", "outcome": "won"}]})
    assert closed_only.status_code == 422 and "stages" in closed_only.get_json()["errors"]
    assert [p["name"] for p in xrm_client.get(f"{API}/pipelines").get_json()] == ["Sales"]  # the default one


def test_entering_a_stage_without_its_required_fields_is_a_422_naming_them(xrm_client, setup, xrm_events):
    customer_id, pipeline_id, stages = setup
    opportunity = create(xrm_client, customer_id, pipeline_id)
    assert opportunity["stage_id"] == stages["New"] and opportunity["status"] == "open"
    xrm_events.clear()
    refused = xrm_client.post(f"{API}/opportunities/{opportunity['id']}/move", json={"stage_id": stages["Proposal"]})
    assert refused.status_code == 422
    assert set(refused.get_json()["errors"]) == {"amount", "expected_close_date"}
    assert xrm_client.get(f"{API}/opportunities/{opportunity['id']}").get_json()["stage_id"] == stages["New"]
    assert xrm_events == []


def test_transitions_publish_their_events_and_closing_needs_a_reason(xrm_client, setup, xrm_events):
    customer_id, pipeline_id, stages = setup
    opportunity = create(xrm_client, customer_id, pipeline_id, amount="1000.00", expected_close_date="2026-09-30",
                         source="referral")
    assert [e.type for e in xrm_events] == ["sales.opportunity.created"]
    assert xrm_events[0].payload["amount"] == "1000.00"
    moved = xrm_client.post(f"{API}/opportunities/{opportunity['id']}/move", json={"stage_id": stages["Proposal"]})
    assert moved.status_code == 200, moved.get_json()
    assert moved.get_json()["weighted_amount"] == "500.00"
    changed = xrm_events[-1]
    assert changed.type == "sales.opportunity.stage_changed"
    assert (changed.payload["from_stage"], changed.payload["stage"]) == ("New", "Proposal")
    no_reason = xrm_client.post(f"{API}/opportunities/{opportunity['id']}/close", json={"outcome": "won", "reason": ""})
    assert no_reason.status_code == 422 and "reason" in no_reason.get_json()["errors"]
    won = xrm_client.post(f"{API}/opportunities/{opportunity['id']}/close", json={"outcome": "won", "reason": "Best fit"})
    assert won.status_code == 200, won.get_json()
    assert (won.get_json()["status"], won.get_json()["close_reason"]) == ("won", "Best fit")
    assert [e.type for e in xrm_events][-2:] == ["sales.opportunity.stage_changed", "sales.opportunity.won"]
    assert xrm_events[-1].payload["reason"] == "Best fit"
    again = xrm_client.post(f"{API}/opportunities/{opportunity['id']}/move", json={"stage_id": stages["New"]})
    assert again.status_code == 422


def test_losing_publishes_lost(xrm_client, setup, xrm_events):
    customer_id, pipeline_id, _stages = setup
    opportunity = create(xrm_client, customer_id, pipeline_id)
    lost = xrm_client.post(f"{API}/opportunities/{opportunity['id']}/close", json={"outcome": "lost", "reason": "Price"})
    assert lost.get_json()["status"] == "lost"
    assert xrm_events[-1].type == "sales.opportunity.lost"


def test_a_stage_of_another_pipeline_or_an_unknown_customer_is_refused(xrm_client, setup):
    customer_id, pipeline_id, _stages = setup
    other = xrm_client.post(f"{API}/pipelines", json={"name": "Partners", "stages": [{"name": "Start", "probability": "5"}]})
    opportunity = create(xrm_client, customer_id, pipeline_id)
    foreign = other.get_json()["stages"][0]["id"]
    moved = xrm_client.post(f"{API}/opportunities/{opportunity['id']}/move", json={"stage_id": foreign})
    assert moved.status_code == 422 and "stage_id" in moved.get_json()["errors"]
    unknown = xrm_client.post(f"{API}/opportunities", json={"title": "X", "customer_id": 999999, "currency": "EUR"})
    assert unknown.status_code == 422 and "customer_id" in unknown.get_json()["errors"]


def test_workflow_actions_move_and_assign(xrm_client, setup, xrm_session, xrm_events):
    customer_id, pipeline_id, stages = setup
    opportunity = create(xrm_client, customer_id, pipeline_id, amount="10", expected_close_date="2026-10-01")
    params = MOVE_STAGE.params().load({"opportunity_id": opportunity["id"], "stage": "Proposal"})
    result = MOVE_STAGE.run(params=params, session=xrm_session)
    xrm_session.commit()
    assert result["stage_id"] == stages["Proposal"]
    assert xrm_events[-1].type == "sales.opportunity.stage_changed"
    with pytest.raises(xrm.NotFound, match="no stage 'Nowhere'"):
        MOVE_STAGE.run(params=MOVE_STAGE.params().load({"stage": "Nowhere"}), session=xrm_session,
                       subject={"id": opportunity["id"]})
    department = xrm.Department(name="Sales South", path="/")
    xrm_session.add(department)
    xrm_session.flush()
    assigned = ASSIGN_OPPORTUNITY.run(params=ASSIGN_OPPORTUNITY.params().load({"department_id": department.id}),
                                      session=xrm_session, subject={"id": opportunity["id"]})
    xrm_session.commit()
    assert xrm_session.get(Opportunity, opportunity["id"]).department_id == department.id == assigned["department_id"]


def test_the_board_moves_through_the_stage_service_and_a_refusal_names_the_required_fields(xrm_client, setup,
                                                                                           xrm_events):
    customer_id, pipeline_id, stages = setup
    opportunity = create(xrm_client, customer_id, pipeline_id, title="Board deal")
    board = f"/sales/pipelines/{pipeline_id}/board"
    page = xrm_client.get(board)
    assert page.status_code == 200
    html = page.get_data(as_text=True)
    assert "Board deal" in html and "Proposal" in html and "Requires: amount, expected_close_date" in html
    assert f'<option value="{stages["Proposal"]}">Proposal</option>' in html
    assert 'data-board-column="{}"'.format(stages["Won"]) not in html  # closed from the opportunity's page
    xrm_events.clear()
    refused = xrm_client.post(f"{board}/move", data={"card": opportunity["id"], "column": stages["Proposal"]},
                              headers={"Accept": "application/json"})
    assert refused.status_code == 422 and set(refused.get_json()["errors"]) == {"amount", "expected_close_date"}
    assert refused.get_json()["detail"].startswith("Not moved: amount: Required to enter the stage 'Proposal'.")
    assert "Not moved: amount: Required" in xrm_client.post(f"{board}/move", data={
        "card": opportunity["id"], "column": stages["Proposal"]}).get_data(as_text=True)
    assert xrm_events == []
    changed = xrm_client.patch(f"{API}/opportunities/{opportunity['id']}",
                               json={"amount": "10", "expected_close_date": "2026-12-01"},
                               headers={"If-Match": opportunity["etag"]})
    assert changed.status_code == 200, changed.get_json()
    moved = xrm_client.post(f"{board}/move", data={"card": opportunity["id"], "column": stages["Proposal"]})
    assert moved.status_code == 303 and moved.headers["Location"].endswith(board)
    assert xrm_client.get(f"{API}/opportunities/{opportunity['id']}").get_json()["stage_id"] == stages["Proposal"]
    assert [e.type for e in xrm_events] == ["sales.opportunity.stage_changed"]
    index = xrm_client.get("/sales/", follow_redirects=True).get_data(as_text=True)  # the core's list page
    assert "Board deal" in index and board in index


def test_default_pipeline_is_created_once(xrm_session):
    first = opportunities.ensure_default_pipeline(xrm_session)
    again = opportunities.ensure_default_pipeline(xrm_session)
    assert first.id == again.id and [s.name for s in first.stages][:2] == ["Qualification", "Needs analysis"]
    assert first.stages[0].probability == Decimal(10)


def test_opportunities_follow_a_party_merge(xrm_client, setup, xrm_session):
    customer_id, pipeline_id, _stages = setup
    duplicate = xrm.create_party(xrm_session, "organization", "Atlas Industries (old)")
    xrm_session.commit()
    opportunity = create(xrm_client, duplicate.id, pipeline_id, contact_party_ids=[duplicate.id, customer_id])
    survivor = xrm_session.get(xrm.Party, customer_id)
    xrm.merge_parties(xrm_session, survivor, xrm_session.get(xrm.Party, duplicate.id), actor="test")
    xrm_session.commit()
    moved = xrm_client.get(f"{API}/opportunities/{opportunity['id']}").get_json()
    assert (moved["customer_id"], moved["contact_party_ids"]) == (customer_id, [customer_id])


def test_the_pages_add_and_show_an_opportunity_and_list_products(xrm_client, setup):
    customer_id, pipeline_id, _stages = setup
    form = xrm_client.get(f"/sales/opportunities/new?party={customer_id}")
    assert form.status_code == 200 and f'value="{customer_id}"' in form.get_data(as_text=True)
    refused = xrm_client.post("/sales/opportunities/new", data={"title": "", "customer_id": str(customer_id)})
    assert refused.status_code == 422 and "Give the opportunity a title" in refused.get_data(as_text=True)
    added = xrm_client.post("/sales/opportunities/new", data={
        "title": "From the page", "customer_id": str(customer_id), "pipeline_id": str(pipeline_id),
        "amount": "250.50", "currency": "EUR", "expected_close_date": "2026-11-30"})
    assert added.status_code == 302
    shown = xrm_client.get(added.headers["Location"]).get_data(as_text=True)
    assert "From the page" in shown and "250.50 EUR" in shown and "Atlas Industries" in shown
    xrm_client.post(f"{API}/products", json={"code": "SCAN", "name": "Scanner", "cost_price": "80"})
    products = xrm_client.get("/sales/products").get_data(as_text=True)
    assert "SCAN" in products and "80.0000" in products
