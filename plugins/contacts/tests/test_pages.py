"""The contacts pages, the party panel, the dashboard widget and the navigation."""

from __future__ import annotations

import re
from datetime import timedelta

import xrm_sdk as xrm
from contacts_testing import INTERACTIONS, PEOPLE, create_person


def test_the_list_and_person_pages_show_the_contact(xrm_client):
    person = create_person(xrm_client, emails=["ada@example.com"], phones=["+44 20 7946 0958"], job_title="Analyst")
    xrm_client.put(f"/api/v1/contacts/parties/{person['id']}/consents/email", json={"status": "granted"})
    xrm_client.post(INTERACTIONS, json={"party_id": person["id"], "channel": "meeting", "direction": "outbound",
                                        "occurred_at": "2026-11-20T09:30:00Z", "subject": "Engine demo"})
    listing = xrm_client.get("/contacts/", query_string={"q": "love"}).get_data(as_text=True)
    assert "Ada Lovelace" in listing and "ada@example.com" in listing
    assert "Ada Lovelace" not in xrm_client.get("/contacts/", query_string={"q": "zzz"}).get_data(as_text=True)
    page = xrm_client.get(f"/contacts/people/{person['id']}")
    assert page.status_code == 200
    html = page.get_data(as_text=True)
    for text in ("Analyst", "+442079460958", "Engine demo", 'data-channel="email"', "consent-granted"):
        assert text in html
    assert 'href="/contacts/"' in xrm_client.get("/").get_data(as_text=True)
    assert xrm_client.get("/contacts/people/999999").status_code == 404


def test_the_create_form_shows_errors_and_saves_nothing(xrm_client):
    bad_date = xrm_client.post("/contacts/people/new", data={"given_name": "Ada", "birthday": "soon"})
    assert bad_date.status_code == 422
    html = bad_date.get_data(as_text=True)
    assert "Nothing was saved" in html and "Not a valid date" in html and 'id="birthday-error"' in html
    bad_phone = xrm_client.post("/contacts/people/new", data={"given_name": "Ada", "phones": "+33 12"})
    assert bad_phone.status_code == 422
    assert 'id="phones-error"' in bad_phone.get_data(as_text=True)
    assert "not a valid phone number" in bad_phone.get_data(as_text=True)
    assert xrm_client.get("/api/v1/contacts/people").get_json()["items"] == []
    good = xrm_client.post("/contacts/people/new", data={"given_name": "Ada", "family_name": "Lovelace",
                                                         "emails": "ada@example.com", "tags": "vip, engines"})
    assert good.status_code == 302
    (person,) = xrm_client.get("/api/v1/contacts/people").get_json()["items"]
    assert (person["display_name"], person["emails"], person["tags"]) == (
        "Ada Lovelace", ["ada@example.com"], ["vip", "engines"])


def test_the_edit_form_changes_the_person_and_refuses_a_stale_form(xrm_client):
    person = create_person(xrm_client)
    url = f"/contacts/people/{person['id']}/edit"
    assert 'value="Lovelace"' in xrm_client.get(url).get_data(as_text=True)
    saved = xrm_client.post(url, data={"version": str(person["version"]), "given_name": "Augusta",
                                       "family_name": "Lovelace", "job_title": "Countess"})
    assert saved.status_code == 302, saved.get_data(as_text=True)
    stale = xrm_client.post(url, data={"version": str(person["version"]), "given_name": "Old"})
    assert stale.status_code == 422 and "Someone else changed" in stale.get_data(as_text=True)
    fetched = xrm_client.get(f"/api/v1/contacts/people/{person['id']}").get_json()
    assert (fetched["display_name"], fetched["job_title"]) == ("Augusta Lovelace", "Countess")


def test_the_person_page_forms_log_interactions_consents_and_contact_points(xrm_client):
    person = create_person(xrm_client)
    base = f"/contacts/people/{person['id']}"
    logged = xrm_client.post(f"{base}/interactions", data={"form": "interaction", "channel": "call",
                                                          "direction": "inbound", "occurred_at": "2026-11-20T10:00",
                                                          "subject": "Called about invoices"})
    assert logged.status_code == 302
    missing_date = xrm_client.post(f"{base}/interactions", data={"form": "interaction", "channel": "call",
                                                                "direction": "inbound", "subject": "No date"})
    assert missing_date.status_code == 422 and "occurred_at" in missing_date.get_data(as_text=True)
    assert xrm_client.post(f"{base}/consents", data={"form": "consent", "channel": "post",
                                                     "status": "refused"}).status_code == 302
    bad_phone = xrm_client.post(f"{base}/contact-points", data={"form": "point", "kind": "phone", "value": "12"})
    assert bad_phone.status_code == 422 and "phone number" in bad_phone.get_data(as_text=True)
    assert xrm_client.post(f"{base}/addresses", data={"form": "address", "kind": "work", "city": "Paris",
                                                      "country": "FR"}).status_code == 302
    html = xrm_client.get(base).get_data(as_text=True)
    assert "Called about invoices" in html and "consent-refused" in html and "Paris" in html
    assert "No date" not in xrm_client.get(base).get_data(as_text=True)


def test_the_party_panel(xrm_client):
    person = create_person(xrm_client, emails=["ada@example.com"])
    xrm_client.put(f"/api/v1/contacts/parties/{person['id']}/consents/sms", json={"status": "refused"})
    xrm_client.post(INTERACTIONS, json={"party_id": person["id"], "channel": "sms", "direction": "outbound",
                                        "occurred_at": "2026-11-20T09:30:00Z", "subject": "Reminder"})
    party_page = xrm_client.get(f"/parties/{person['id']}").get_data(as_text=True)
    assert 'data-panel="contacts.contact"' in party_page
    panel = xrm_client.get(f"/parties/{person['id']}/panels/contacts.contact").get_data(as_text=True)
    assert "ada@example.com" in panel and "Reminder" in panel and "consent-refused" in panel


def test_the_dashboard_widget_counts_the_weeks_visible_interactions(staff):
    for client, name in ((staff.north, "Nils"), (staff.south, "Sofia")):
        person = client.post(PEOPLE, json={"given_name": name}).get_json()
        for days_ago, channel in ((1, "call"), (2, "call"), (3, "email"), (30, "meeting")):
            when = (xrm.utcnow() - timedelta(days=days_ago)).isoformat()
            logged = client.post(INTERACTIONS, json={"party_id": person["id"], "channel": channel,
                                                     "direction": "outbound", "occurred_at": when})
            assert logged.status_code == 201, logged.get_json()
    home = staff.north.get(f"/departments/{staff.north_id}")
    assert home.status_code == 200
    widget = re.search(r'<div class="contacts-widget">.*?</div>', home.get_data(as_text=True), re.DOTALL).group(0)
    # Nils's three interactions of the week; Sofia's (Sales South) are not the reader's to count.
    assert '<strong class="figure">3</strong>' in widget
    assert "call: 2" in widget and "email: 1" in widget and "meeting" not in widget
