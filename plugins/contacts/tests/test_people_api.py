"""People and organizations over ``/api/v1/contacts``: profiles, employment, addresses, contact points."""

from __future__ import annotations

import xrm_sdk as xrm
from contacts_testing import ORGANIZATIONS, PEOPLE, create_person
from sqlalchemy import select
from xrm_contacts.profiles import ContactPoint, Profile


def test_creating_a_person_makes_a_party_with_its_profile_and_normalised_contact_points(xrm_client, xrm_events,
                                                                                       xrm_session):
    created = xrm_client.post(PEOPLE, json={
        "prefix": "Dr", "given_name": "Ada", "family_name": "Lovelace", "job_title": "Analyst",
        "preferred_channel": "email", "preferred_language": "en-GB", "birthday": "1815-12-10",
        "tags": ["vip"], "emails": ["Ada@Example.COM"], "phones": ["01 42 68 53 00"], "region": "fr"})
    assert created.status_code == 201, created.get_json()
    person = created.get_json()
    assert person["display_name"] == "Dr Ada Lovelace"
    assert (person["emails"], person["phones"]) == (["ada@example.com"], ["+33142685300"])
    assert (person["kind"], person["tags"], person["birthday"]) == ("person", ["vip"], "1815-12-10")
    assert created.headers["Location"].endswith(f"{PEOPLE}/{person['id']}")
    party = xrm_session.get(xrm.Party, person["id"])
    assert (party.kind, party.display_name) == ("person", "Dr Ada Lovelace")
    xrm_session.rollback()  # SQLite: end the test's transaction before the next request writes
    assert [e.type for e in xrm_events] == ["core.party.created", "contacts.person.created"]
    assert xrm_events[1].related == (person["id"],) or list(xrm_events[1].related) == [person["id"]]

    fetched = xrm_client.get(created.headers["Location"])
    assert fetched.headers["ETag"] == person["etag"]
    assert xrm_client.get(created.headers["Location"], headers={"If-None-Match": person["etag"]}).status_code == 304


def test_an_invalid_phone_is_a_422_on_its_field_and_nothing_is_created(xrm_client, xrm_events, xrm_session):
    response = xrm_client.post(PEOPLE, json={"given_name": "Bad", "phones": ["+33 12"]})
    assert response.status_code == 422
    assert response.mimetype == "application/problem+json"
    assert "phones.0" in response.get_json()["errors"]
    assert "not a valid phone number" in str(response.get_json()["errors"]["phones.0"])
    national = xrm_client.post(PEOPLE, json={"given_name": "Bad", "phones": ["01 42 68 53 00"]})
    assert "international format" in str(national.get_json()["errors"])
    unknown = xrm_client.post(PEOPLE, json={"given_name": "Bad", "colour": "red", "preferred_channel": "pigeon"})
    assert set(unknown.get_json()["errors"]) == {"colour", "preferred_channel"}
    assert xrm_session.scalars(select(xrm.Party)).all() == []
    assert xrm_events == []


def test_a_person_needs_a_name(xrm_client):
    response = xrm_client.post(PEOPLE, json={"job_title": "Nobody"})
    assert response.status_code == 422
    assert "family_name" in response.get_json()["errors"]


def test_list_filters_sorts_and_pages_with_cursors(xrm_client):
    for given, family in (("Ada", "Lovelace"), ("Alan", "Turing"), ("Grace", "Hopper")):
        create_person(xrm_client, given_name=given, family_name=family)
    xrm_client.post(ORGANIZATIONS, json={"display_name": "Analytical Engines Ltd"})
    page = xrm_client.get(PEOPLE, query_string={"limit": 2, "sort": "family_name"}).get_json()
    assert [p["family_name"] for p in page["items"]] == ["Hopper", "Lovelace"]
    rest = xrm_client.get(PEOPLE, query_string={"limit": 2, "sort": "family_name", "cursor": page["next_cursor"]})
    assert [p["family_name"] for p in rest.get_json()["items"]] == ["Turing"]
    assert rest.get_json()["next_cursor"] is None
    found = xrm_client.get(PEOPLE, query_string={"display_name__contains": "gra"}).get_json()["items"]
    assert [p["display_name"] for p in found] == ["Grace Hopper"]
    organizations = xrm_client.get(ORGANIZATIONS).get_json()["items"]
    assert [o["display_name"] for o in organizations] == ["Analytical Engines Ltd"]
    refused = xrm_client.get(PEOPLE, query_string={"shoe_size": 3})
    assert refused.status_code == 422


def test_changes_need_the_current_etag_and_rename_the_party(xrm_client, xrm_events, xrm_session):
    person = create_person(xrm_client)
    url = f"{PEOPLE}/{person['id']}"
    assert xrm_client.patch(url, json={"given_name": "Augusta"}).status_code == 428
    changed = xrm_client.patch(url, json={"given_name": "Augusta"}, headers={"If-Match": person["etag"]})
    assert changed.status_code == 200, changed.get_json()
    assert changed.get_json()["display_name"] == "Augusta Lovelace"
    stale = xrm_client.patch(url, json={"job_title": "Countess"}, headers={"If-Match": person["etag"]})
    assert stale.status_code == 412
    assert xrm_session.get(xrm.Party, person["id"]).display_name == "Augusta Lovelace"
    xrm_session.rollback()
    assert xrm_events[-1].type == "contacts.person.updated"
    assert xrm_events[-1].payload["changed"] == ["display_name", "given_name"]
    refused = xrm_client.patch(url, json={"emails": ["x@example.com"]}, headers={"If-Match": changed.get_json()["etag"]})
    assert refused.status_code == 422 and "emails" in refused.get_json()["errors"]


def test_deleting_a_person_deletes_the_party_and_its_details(xrm_client, xrm_session, xrm_events):
    person = create_person(xrm_client, emails=["ada@example.com"])
    url = f"{PEOPLE}/{person['id']}"
    assert xrm_client.delete(url, headers={"If-Match": person["etag"]}).status_code == 204
    assert xrm_client.get(url).status_code == 404
    assert xrm_session.get(xrm.Party, person["id"]) is None
    assert xrm_session.scalars(select(ContactPoint)).all() == []
    assert [e.type for e in xrm_events][-2:] == ["contacts.person.deleted", "core.party.deleted"]


def test_employment_is_a_dated_works_for_relationship(xrm_client, xrm_session):
    first = xrm_client.post(ORGANIZATIONS, json={"display_name": "Babbage & Co"}).get_json()
    second = xrm_client.post(ORGANIZATIONS, json={"display_name": "Engines plc"}).get_json()
    person = create_person(xrm_client, organization_id=first["id"], works_since="2020-01-01")
    assert person["organization_id"] == first["id"]
    links = xrm_session.scalars(select(xrm.Relationship)).all()
    assert [(link.type.code, link.to_party_id, str(link.valid_from), link.valid_to) for link in links] == [
        ("works_for", first["id"], "2020-01-01", None)]
    xrm_session.rollback()
    moved = xrm_client.patch(f"{PEOPLE}/{person['id']}", json={"organization_id": second["id"]},
                             headers={"If-Match": person["etag"]})
    assert moved.get_json()["organization_id"] == second["id"]
    xrm_session.expire_all()
    ended = {link.to_party_id: link.valid_to for link in xrm_session.scalars(select(xrm.Relationship))}
    assert ended[first["id"]] is not None and ended[second["id"]] is None
    xrm_session.rollback()
    not_an_organization = create_person(xrm_client, given_name="Other")
    refused = xrm_client.post(PEOPLE, json={"given_name": "X", "organization_id": not_an_organization["id"]})
    assert refused.status_code == 422 and "organization_id" in refused.get_json()["errors"]


def test_addresses_and_contact_points_of_a_party(xrm_client, xrm_session):
    person = create_person(xrm_client)
    base = f"/api/v1/contacts/parties/{person['id']}"
    home = xrm_client.post(f"{base}/addresses", json={"kind": "home", "street": "12 St James's Square",
                                                     "city": "London", "country": "GB"})
    assert home.status_code == 201, home.get_json()
    work = xrm_client.post(f"{base}/addresses", json={"kind": "work", "city": "Paris", "country": "FR",
                                                     "is_primary": True})
    assert [(a["kind"], a["is_primary"]) for a in xrm_client.get(f"{base}/addresses").get_json()] == [
        ("work", True), ("home", False)]
    bad = xrm_client.post(f"{base}/addresses", json={"kind": "moon", "country": "france"})
    assert set(bad.get_json()["errors"]) == {"kind", "country"}
    changed = xrm_client.patch(work.headers["Location"], json={"city": "Lyon"}, headers={"If-Match": work.get_json()["etag"]})
    assert changed.get_json()["city"] == "Lyon"
    # Making "work" primary changed "home" too: its first ETag is stale.
    assert xrm_client.delete(home.headers["Location"], headers={"If-Match": home.get_json()["etag"]}).status_code == 412
    current = {a["kind"]: a["etag"] for a in xrm_client.get(f"{base}/addresses").get_json()}
    assert xrm_client.delete(home.headers["Location"], headers={"If-Match": current["home"]}).status_code == 204

    phone = xrm_client.post(f"{base}/contact-points", json={"kind": "phone", "value": "030 901820", "region": "DE",
                                                           "label": "mobile"})
    assert phone.status_code == 201 and phone.get_json()["value"] == "+4930901820"
    invalid = xrm_client.post(f"{base}/contact-points", json={"kind": "phone", "value": "+49 1"})
    assert invalid.status_code == 422 and list(invalid.get_json()["errors"]) == ["value"]
    twice = xrm_client.post(f"{base}/contact-points", json={"kind": "phone", "value": "+49 30 901820"})
    assert twice.status_code == 409
    social = xrm_client.post(f"{base}/contact-points", json={"kind": "social", "value": "@ada", "service": "mastodon"})
    assert social.status_code == 201
    points = xrm_client.get(f"{base}/contact-points").get_json()
    assert [(p["kind"], p["value"]) for p in points] == [("phone", "+4930901820"), ("social", "@ada")]
    profile = xrm_session.get(Profile, person["id"])
    assert profile.version > 1  # the profile's ETag moves with its details


def test_details_of_a_party_made_elsewhere_get_it_a_profile(xrm_client, xrm_session):
    party = xrm_client.post("/api/v1/parties", json={"kind": "organization", "display_name": "Core Org"}).get_json()
    added = xrm_client.post(f"/api/v1/contacts/parties/{party['id']}/contact-points",
                            json={"kind": "website", "value": "https://core.example"})
    assert added.status_code == 201
    assert xrm_client.get(f"{ORGANIZATIONS}/{party['id']}").get_json()["display_name"] == "Core Org"
    assert xrm_client.get("/api/v1/contacts/parties/999999/contact-points").status_code == 404
