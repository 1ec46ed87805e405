"""The pages ``/contacts/segments``, rendered for a signed-in administrator."""

from __future__ import annotations

import json

from contacts_testing import create_person


def test_the_segment_editor_counts_live_and_creates_a_segment(xrm_client):
    for given in ("Ada", "Alan", "Grace"):
        create_person(xrm_client, given_name=given, family_name="Tester", tags=["vip"] if given != "Alan" else [])
    page = xrm_client.get("/contacts/segments/")
    assert page.status_code == 200
    assert b'hx-post="/contacts/segments/count"' in page.data

    vip = json.dumps({"field": "tags", "op": "has", "value": "vip"})
    counted = xrm_client.post("/contacts/segments/count", data={"definition": vip})
    assert b'data-count="2"' in counted.data
    wrong = xrm_client.post("/contacts/segments/count", data={"definition": '{"field": "colour"}'})
    assert b"definition.field: Unknown field" in wrong.data
    broken = xrm_client.post("/contacts/segments/count", data={"definition": "{"})
    assert b"Not valid JSON" in broken.data

    created = xrm_client.post("/contacts/segments/", data={"name": "VIPs", "kind": "dynamic", "definition": vip})
    assert created.status_code == 302
    shown = xrm_client.get(created.headers["Location"])
    assert shown.status_code == 200
    assert b"2 members" in shown.data and b"Ada Tester" in shown.data and b"Alan Tester" not in shown.data
    exported = xrm_client.get(created.headers["Location"] + "/export.csv")
    assert exported.status_code == 200 and exported.data.count(b" Tester,") == 2
