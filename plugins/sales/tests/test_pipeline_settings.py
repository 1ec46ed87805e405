"""Pipelines configured per tenant: the settings pages and ``PUT /pipelines/<id>``, one service behind both."""

import re
from decimal import Decimal

import pytest
import xrm_sdk as xrm

API = "/api/v1/sales"
STAGES = [
    {"name": "New", "probability": "10"},
    {"name": "Proposal", "probability": "50", "required_fields": ["amount"]},
    {"name": "Won", "probability": "100", "outcome": "won"},
]


@pytest.fixture
def direct(xrm_client):
    created = xrm_client.post(f"{API}/pipelines", json={"name": "Direct", "stages": STAGES})
    assert created.status_code == 201, created.get_json()
    return created.get_json()


def _opportunity_in(client, session, pipeline, stage_name):
    customer = xrm.create_party(session, "organization", "Atlas Industries")
    session.commit()
    stage_id = next(s["id"] for s in pipeline["stages"] if s["name"] == stage_name)
    created = client.post(f"{API}/opportunities", json={
        "title": "Deal", "customer_id": customer.id, "currency": "EUR", "pipeline_id": pipeline["id"],
        "stage_id": stage_id, "amount": "100"})
    assert created.status_code == 201, created.get_json()
    return created.get_json()


def test_put_reorders_renames_adds_and_removes_stages_and_needs_the_current_etag(xrm_client, direct):
    new, proposal, _won = direct["stages"]
    changed = xrm_client.put(f"{API}/pipelines/{direct['id']}", headers={"If-Match": direct["etag"]}, json={
        "name": "Direct sales", "stages": [
            {"id": proposal["id"], "name": "Offer", "probability": "60", "required_fields": ["amount", "currency"]},
            {"id": new["id"], "name": "Proposal", "probability": "15"},  # takes the name the other stage gave up
            {"name": "Lost", "probability": "0", "outcome": "lost"},
        ]})
    assert changed.status_code == 200, changed.get_json()
    body = changed.get_json()
    assert body["name"] == "Direct sales" and body["etag"] != direct["etag"]
    assert [(s["id"], s["name"], s["position"], Decimal(s["probability"]), s["outcome"])
            for s in body["stages"]][:2] == [(proposal["id"], "Offer", 0, 60, None), (new["id"], "Proposal", 1, 15, None)]
    assert [s["name"] for s in body["stages"]] == ["Offer", "Proposal", "Lost"]  # Won removed
    stale = xrm_client.put(f"{API}/pipelines/{direct['id']}", headers={"If-Match": direct["etag"]},
                           json={"name": "Stale", "stages": STAGES})
    assert stale.status_code == 412
    assert xrm_client.put(f"{API}/pipelines/{direct['id']}", json={"name": "X", "stages": STAGES}).status_code == 428
    assert xrm_client.get(f"{API}/pipelines/{direct['id']}").get_json()["name"] == "Direct sales"


def test_put_refuses_bad_stages_naming_each_and_changes_nothing(xrm_client, xrm_session, direct):
    _opportunity_in(xrm_client, xrm_session, direct, "Proposal")
    new, proposal, _won = direct["stages"]
    refused = xrm_client.put(f"{API}/pipelines/{direct['id']}", headers={"If-Match": direct["etag"]}, json={
        "name": "Direct", "stages": [
            {"id": new["id"], "name": "New", "probability": "10"},
            {"id": 999_999, "name": "Ghost", "probability": "10"},
            {"name": "Won", "probability": "100", "outcome": "won"},
        ]})  # Proposal (holding the deal) left out
    assert refused.status_code == 422
    assert refused.headers["Content-Type"].startswith("application/problem+json")
    errors = refused.get_json()["errors"]
    assert "stages.1.id" in errors and "'Proposal'" in errors["stages"][0]
    closing = xrm_client.put(f"{API}/pipelines/{direct['id']}", headers={"If-Match": direct["etag"]}, json={
        "name": "Direct", "stages": [{"id": new["id"], "name": "New", "probability": "10"},
                                     {"id": proposal["id"], "name": "Proposal", "probability": "100", "outcome": "won"}]})
    assert closing.status_code == 422 and "holds opportunities" in closing.get_json()["errors"]["stages.1.outcome"][0]
    taken = xrm_client.post(f"{API}/pipelines", json={"name": "Partners", "stages": STAGES}).get_json()
    clash = xrm_client.put(f"{API}/pipelines/{taken['id']}", headers={"If-Match": taken["etag"]},
                           json={"name": "Direct", "stages": STAGES})
    assert clash.status_code == 409
    unchanged = xrm_client.get(f"{API}/pipelines/{direct['id']}").get_json()
    assert unchanged["etag"] == direct["etag"] and [s["name"] for s in unchanged["stages"]] == ["New", "Proposal", "Won"]


def _form(page_html: str) -> dict[str, object]:
    """The fields of the settings form as a browser would post them (checked boxes only)."""
    data: dict[str, object] = {}
    for tag in re.findall(r"<input[^>]*>", page_html):
        name = re.search(r'name="([^"]+)"', tag)
        if not name or 'type="checkbox"' in tag and "checked" not in tag:
            continue
        value = re.search(r'value="([^"]*)"', tag)
        text = value.group(1) if value else "on"
        data.setdefault(name.group(1), []).append(text)  # type: ignore[union-attr]
    for select in re.finditer(r'<select name="([^"]+)".*?</select>', page_html, re.DOTALL):
        chosen = re.search(r'<option value="([^"]*)" selected', select.group(0))
        data[select.group(1)] = [chosen.group(1) if chosen else ""]
    return data


def test_the_settings_page_changes_stages_through_the_service_and_refuses_stale_forms(xrm_client, direct):
    listing = xrm_client.get("/sales/settings/pipelines")
    assert listing.status_code == 200 and "Direct" in listing.get_data(as_text=True)
    url = f"/sales/settings/pipelines/{direct['id']}"
    opened = _form(xrm_client.get(url).get_data(as_text=True))
    assert opened["stage-1-name"] == ["Proposal"] and opened["stage-1-required"] == ["amount"]
    assert opened["stage-3-name"] == [""]  # an empty row to add a stage
    wrong = {**opened, "stage-1-probability": ["150"], "stage-0-position": ["first"]}
    refused = xrm_client.post(url, data=wrong)
    assert refused.status_code == 422 and "A whole number" in refused.get_data(as_text=True)
    wrong = {**opened, "stage-1-probability": ["150"]}
    refused = xrm_client.post(url, data=wrong)
    html = refused.get_data(as_text=True)
    assert refused.status_code == 422 and 'id="stage-1-probability-error">A percentage between 0 and 100.' in html
    assert 'value="150"' in html  # what was typed is kept
    changed = {**opened, "name": ["Direct B2B"], "stage-1-required": ["amount", "expected_close_date"],
               "stage-0-position": ["2"], "stage-1-position": ["1"], "stage-2-remove": ["on"],
               "stage-3-name": ["Lost"], "stage-3-probability": ["0"], "stage-3-outcome": ["lost"]}
    saved = xrm_client.post(url, data=changed)
    assert saved.status_code == 302, saved.get_data(as_text=True)
    after = xrm_client.get(f"{API}/pipelines/{direct['id']}").get_json()
    assert after["name"] == "Direct B2B"
    assert [(s["name"], s["required_fields"], s["outcome"]) for s in after["stages"]] == [
        ("Proposal", ["amount", "expected_close_date"], None), ("New", [], None), ("Lost", [], "lost")]
    again = xrm_client.post(url, data={**opened, "name": ["Overwritten"]})  # opened before the save above
    assert again.status_code == 409 and "Someone else changed this pipeline" in again.get_data(as_text=True)
    assert xrm_client.get(f"{API}/pipelines/{direct['id']}").get_json()["name"] == "Direct B2B"


def test_a_new_pipeline_from_the_page_and_the_pages_need_the_configuration_right(xrm_client, xrm_login):
    blank = _form(xrm_client.get("/sales/settings/pipelines/new").get_data(as_text=True))
    closed_only = {**blank, "name": ["Renewals"], "stage-0-name": ["Won"], "stage-0-probability": ["100"],
                   "stage-0-outcome": ["won"]}
    refused = xrm_client.post("/sales/settings/pipelines/new", data=closed_only)
    assert refused.status_code == 422 and "at least one open stage" in refused.get_data(as_text=True)
    added = xrm_client.post("/sales/settings/pipelines/new", data={
        **closed_only, "stage-1-name": ["Renewal due"], "stage-1-probability": ["80"], "stage-1-position": ["1"]})
    assert added.status_code == 302
    renewals = next(p for p in xrm_client.get(f"{API}/pipelines").get_json() if p["name"] == "Renewals")
    assert [s["name"] for s in renewals["stages"]] == ["Renewal due", "Won"]
    rep = xrm_login("sales.pipeline.read", "sales.opportunity.read")
    assert rep.get("/sales/settings/pipelines").status_code == 403
    assert rep.post(f"/sales/settings/pipelines/{renewals['id']}", data={"name": "Mine"}).status_code == 403
    opportunities = "/lists/sales.opportunities"
    assert "/sales/settings/pipelines" not in rep.get(opportunities).get_data(as_text=True)
    assert "/sales/settings/pipelines" in xrm_client.get(opportunities).get_data(as_text=True)
