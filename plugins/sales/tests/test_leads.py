"""Leads: the API, qualification matching an existing party, and the public web form (key, honeypot, rate limit)."""

import pytest
import xrm_sdk as xrm
from sqlalchemy import func, select
from xrm_sales import webforms
from xrm_sales.pipeline import Lead, LeadForm, Opportunity

API = "/api/v1/sales"


def test_the_api_adds_a_lead_and_publishes_it(xrm_client, xrm_events):
    created = xrm_client.post(f"{API}/leads", json={"name": "Ann Lee", "company": "Lee Ltd", "email": "ANN@lee.example"})
    assert created.status_code == 201, created.get_json()
    assert (created.get_json()["email"], created.get_json()["status"]) == ("ann@lee.example", "new")
    assert [(e.type, e.payload["company"]) for e in xrm_events] == [("sales.lead.created", "Lee Ltd")]
    bad = xrm_client.post(f"{API}/leads", json={"name": "", "email": "not-an-email"})
    assert bad.status_code == 422 and set(bad.get_json()["errors"]) == {"name", "email"}


def test_qualifying_matches_an_existing_party_by_email_instead_of_duplicating(xrm_client, xrm_session, xrm_events):
    existing = xrm.create_party(xrm_session, "organization", "Atlas Industries", identifiers={"email": "buy@atlas.example"})
    xrm_session.commit()
    lead = xrm_client.post(f"{API}/leads", json={"name": "Bob", "company": "Atlas Ind.", "email": "buy@atlas.example"})
    qualified = xrm_client.post(f"{API}/leads/{lead.get_json()['id']}/qualify", json={"amount": "5000"})
    assert qualified.status_code == 201, qualified.get_json()
    body = qualified.get_json()
    assert (body["party_id"], body["matched_existing_party"]) == (existing.id, True)
    assert xrm_session.scalar(select(func.count()).select_from(xrm.Party)) == 1
    xrm_session.rollback()
    opportunity = xrm_client.get(f"{API}/opportunities/{body['opportunity_id']}").get_json()
    assert (opportunity["customer_id"], opportunity["amount"], opportunity["source"]) == (existing.id, "5000.00", "api")
    assert [e.type for e in xrm_events][-2:] == ["sales.opportunity.created", "sales.lead.qualified"]
    assert xrm_events[-1].payload["matched_existing_party"] is True
    xrm_session.expire_all()
    assert "prospect" in {role.role for role in xrm_session.get(xrm.Party, existing.id).roles}
    xrm_session.rollback()
    again = xrm_client.post(f"{API}/leads/{lead.get_json()['id']}/qualify", json={})
    assert again.status_code == 409


def test_qualifying_matches_by_name_or_creates_the_party_with_its_email(xrm_client, xrm_session):
    named = xrm.create_party(xrm_session, "organization", "Corvid Analytics")
    xrm_session.commit()
    by_name = xrm_client.post(f"{API}/leads", json={"name": "Dee", "company": "corvid analytics"}).get_json()
    result = xrm_client.post(f"{API}/leads/{by_name['id']}/qualify", json={}).get_json()
    assert (result["party_id"], result["matched_existing_party"]) == (named.id, True)
    xrm_session.rollback()
    fresh = xrm_client.post(f"{API}/leads", json={"name": "Eve Stone", "email": "eve@stone.example"}).get_json()
    created = xrm_client.post(f"{API}/leads/{fresh['id']}/qualify", json={}).get_json()
    assert created["matched_existing_party"] is False
    party = xrm_session.get(xrm.Party, created["party_id"])
    assert (party.kind, party.display_name) == ("person", "Eve Stone")
    assert {(i.source, i.value) for i in party.identifiers} == {("email", "eve@stone.example")}


@pytest.fixture
def form_url(xrm_session, xrm_tenant):
    form = webforms.create_form(xrm_session, "Website contact")
    xrm_session.commit()
    return f"/sales/forms/{xrm_tenant.slug}/{webforms.form_key(xrm_session, form)}", form


def leads_in(session):
    """(name, email, source, message) of the stored leads; the read transaction is ended so requests can write."""
    session.expire_all()
    rows = session.execute(select(Lead.name, Lead.email, Lead.source, Lead.message, Lead.id).order_by(Lead.id)).all()
    session.rollback()
    return [tuple(row) for row in rows]


def test_the_web_form_takes_a_lead_without_signing_in(xrm_app, xrm_session, form_url, xrm_events):
    url, _form = form_url
    visitor = xrm_app.test_client()
    response = visitor.post(url, data={"name": "Fay", "email": "fay@example.org", "message": "Call me", "submit": "Send"})
    assert response.status_code == 201
    assert "Thank you" in response.get_data(as_text=True)
    [lead] = leads_in(xrm_session)
    assert lead[:4] == ("Fay", "fay@example.org", "web_form", "Call me")
    assert [e.type for e in xrm_events] == ["sales.lead.created"]
    invalid = visitor.post(url, json={"name": "", "email": "nope"})
    assert invalid.status_code == 422 and set(invalid.get_json()["errors"]) == {"name", "email"}
    assert len(leads_in(xrm_session)) == 1


def test_the_honeypot_answers_like_a_success_and_stores_nothing(xrm_app, xrm_session, form_url):
    url, _form = form_url
    response = xrm_app.test_client().post(url, data={"name": "Bot", "email": "bot@spam.example", "website": "http://spam"})
    assert response.status_code == 201
    assert leads_in(xrm_session) == []


def test_a_tampered_key_another_tenant_or_a_switched_off_form_is_404(xrm_app, xrm_session, form_url, xrm_tenant):
    url, form = form_url
    visitor = xrm_app.test_client()
    lead = {"name": "Gus", "email": "gus@example.org"}
    assert visitor.post(url[:-2] + ("AA" if not url.endswith("AA") else "BB"), data=lead).status_code == 404
    assert visitor.post(url.replace(xrm_tenant.slug, "nobody"), data=lead).status_code == 404
    xrm_session.get(LeadForm, form.id).active = False
    xrm_session.commit()
    assert visitor.post(url, data=lead).status_code == 404
    assert leads_in(xrm_session) == []


def test_the_web_form_is_rate_limited(xrm_app, xrm_session, form_url):
    url, _form = form_url
    visitor = xrm_app.test_client()
    statuses = [visitor.post(url, data={"name": f"N{i}", "email": f"n{i}@example.org"}).status_code for i in range(7)]
    assert statuses == [201] * 5 + [429, 429]
    assert len(leads_in(xrm_session)) == 5


def test_the_leads_page_qualifies_into_an_opportunity(xrm_client, xrm_session):
    xrm_client.post(f"{API}/leads", json={"name": "Hal", "company": "Hal Corp"})
    page = xrm_client.get("/sales/leads").get_data(as_text=True)
    assert "Hal Corp" in page and "Qualify" in page
    [lead] = leads_in(xrm_session)
    response = xrm_client.post(f"/sales/leads/{lead[4]}/qualify")
    assert response.status_code == 302
    assert xrm_session.scalar(select(func.count()).select_from(Opportunity)) == 1
