"""The page ``/contacts/duplicates``, rendered for a signed-in administrator."""

from __future__ import annotations

from contacts_testing import create_person


def test_the_duplicates_page_shows_pairs_side_by_side_and_merges(xrm_client):
    first = create_person(xrm_client, given_name="Jonathan", family_name="Smithson", emails=["js@example.com"])
    second = create_person(xrm_client, given_name="Jonathon", family_name="Smithson", emails=["JS@example.com"])
    assert xrm_client.post("/contacts/duplicates/scan").status_code == 302
    page = xrm_client.get("/contacts/duplicates/")
    assert page.status_code == 200
    assert b"Jonathan Smithson" in page.data and b"Jonathon Smithson" in page.data and b"same email" in page.data
    pair_id = xrm_client.get("/api/v1/contacts/duplicates").get_json()["items"][0]["id"]
    merged = xrm_client.post(f"/contacts/duplicates/{pair_id}/merge", data={"survivor_id": str(first["id"])})
    assert merged.status_code == 302
    assert xrm_client.get(f"/api/v1/contacts/people/{second['id']}").status_code in (301, 302, 308, 404)
    assert b"No suspected duplicates" in xrm_client.get("/contacts/duplicates/").data
