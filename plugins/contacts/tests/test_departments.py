"""Permission scoping by department: a Sales North rep never reaches a Sales South person, by any path."""

from __future__ import annotations

from contacts_testing import INTERACTIONS, PEOPLE


def test_a_rep_sees_only_the_people_of_their_department(staff):
    north = staff.north.post(PEOPLE, json={"given_name": "Nils", "family_name": "Nord", "emails": ["nils@n.example"]})
    assert north.status_code == 201, north.get_json()
    assert north.get_json()["department_id"] == staff.north_id
    south = staff.south.post(PEOPLE, json={"given_name": "Sofia", "family_name": "Sud"}).get_json()
    staff.south.post(INTERACTIONS, json={"party_id": south["id"], "channel": "call", "direction": "outbound",
                                         "occurred_at": "2026-11-20T09:30:00Z"})
    staff.south.put(f"/api/v1/contacts/parties/{south['id']}/consents/email", json={"status": "granted"})

    assert [p["display_name"] for p in staff.north.get(PEOPLE).get_json()["items"]] == ["Nils Nord"]
    assert staff.north.get(f"{PEOPLE}/{south['id']}").status_code == 404
    assert staff.north.patch(f"{PEOPLE}/{south['id']}", json={"job_title": "x"},
                             headers={"If-Match": south["etag"]}).status_code == 404
    assert staff.north.get(INTERACTIONS).get_json()["items"] == []
    assert staff.north.get(f"/api/v1/contacts/parties/{south['id']}/consents").status_code == 404
    assert staff.north.get(f"/api/v1/contacts/parties/{south['id']}/contact-points").status_code == 404
    assert staff.north.post(f"/api/v1/contacts/parties/{south['id']}/addresses",
                            json={"kind": "home", "city": "Nice"}).status_code == 404
    # Pages, the party panel and the privacy export answer 404 like for a person that does not exist.
    assert staff.north.get(f"/contacts/people/{south['id']}").status_code == 404
    assert "Sofia" not in staff.north.get("/contacts/").get_data(as_text=True)
    assert staff.north.get(f"/parties/{south['id']}/panels/contacts.contact").status_code == 404
    assert staff.north.get(f"/api/v1/parties/{south['id']}/personal-data").status_code == 404
    assert staff.north.post(f"/api/v1/parties/{south['id']}/erase").status_code == 404
    # Their own person: every path works.
    own = north.get_json()["id"]
    assert staff.north.get(f"/contacts/people/{own}").status_code == 200
    panel = staff.north.get(f"/parties/{own}/panels/contacts.contact")
    assert panel.status_code == 200 and "nils@n.example" in panel.get_data(as_text=True)
    assert staff.north.get(f"/api/v1/parties/{own}/personal-data").status_code == 200


def test_a_rep_cannot_file_a_person_in_another_department(staff):
    refused = staff.north.post(PEOPLE, json={"given_name": "Sneaky", "department_id": staff.south_id})
    assert refused.status_code == 403
    assert staff.south.get(PEOPLE).get_json()["items"] == []
