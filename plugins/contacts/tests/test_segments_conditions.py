"""``contacts.in_segment(party, "segment")`` in workflow conditions: dynamic and static segments,
checked when the workflow is saved, evaluated as the workflow."""

from __future__ import annotations

import pytest

SEGMENTS = "/api/v1/contacts/segments"
WORKFLOWS = "/api/v1/workflows"
#: What a workflow reading segments and parties holds.
READS = {"core.party.read": "tenant", "contacts.segment.read": "tenant"}


def _branching(condition: str, permissions: dict[str, str] | None = None) -> dict:
    """A manual workflow whose one step is ``if condition`` (the dry run reports its result)."""
    return {"trigger": {"kind": "manual"}, "permissions": READS if permissions is None else permissions,
            "steps": [{"if": condition, "then": [], "else": []}]}


@pytest.fixture
def world(xrm_client):
    """Two organizations, ``VIP customers`` (dynamic: tagged vip) holding the first, and the static
    list ``Call back`` holding the second."""
    vip = xrm_client.post("/api/v1/parties", json={"kind": "organization", "display_name": "Vip Corp",
                                                   "tags": ["vip"]}).get_json()["id"]
    plain = xrm_client.post("/api/v1/parties", json={"kind": "organization", "display_name": "Plain Ltd"}).get_json()["id"]
    dynamic = xrm_client.post(SEGMENTS, json={"name": "VIP customers", "kind": "dynamic",
                                              "definition": {"field": "tags", "op": "has", "value": "vip"}})
    assert dynamic.status_code == 201, dynamic.get_json()
    static = xrm_client.post(SEGMENTS, json={"name": "Call back", "kind": "static"}).get_json()
    added = xrm_client.post(f"{SEGMENTS}/{static['id']}/members", json={"party_ids": [plain]})
    assert added.status_code == 200, added.get_json()
    return {"vip": vip, "plain": plain, "static": static["id"], "dynamic": dynamic.get_json()["id"]}


def _save(client, name: str, definition: dict):
    return client.post(WORKFLOWS, json={"name": name, "definition": definition})


def _result(client, workflow_id: int, party_id: int) -> dict:
    """The dry run of the workflow on the party: its status, error and the ``if`` step's result."""
    report = client.post(f"{WORKFLOWS}/{workflow_id}/dry-run", json={"event": {
        "type": "core.party.updated", "subject_type": "core_parties", "subject_id": str(party_id)}})
    assert report.status_code == 200, report.get_json()
    body = report.get_json()
    return {"status": body["status"], "error": body["error"],
            "result": body["steps"][0]["output"].get("result") if body["steps"] else None}


def test_a_party_in_and_out_of_a_dynamic_segment_and_a_static_list(xrm_client, world):
    checks = {"dynamic": 'contacts.in_segment(subject, "VIP customers")',
              "static": "contacts.in_segment(subject.id, 'Call back')"}
    ids = {}
    for kind, condition in checks.items():
        saved = _save(xrm_client, f"Is {kind}", _branching(condition))
        assert saved.status_code == 201, saved.get_json()
        ids[kind] = saved.get_json()["id"]
    assert _result(xrm_client, ids["dynamic"], world["vip"]) == {"status": "succeeded", "error": None, "result": True}
    assert _result(xrm_client, ids["dynamic"], world["plain"])["result"] is False
    assert _result(xrm_client, ids["static"], world["plain"])["result"] is True
    assert _result(xrm_client, ids["static"], world["vip"])["result"] is False

    # A dynamic segment follows its definition: untagged, the party is out.
    untagged = xrm_client.patch(f"/api/v1/parties/{world['vip']}", json={"tags": []},
                                headers={"If-Match": xrm_client.get(f"/api/v1/parties/{world['vip']}").headers["ETag"]})
    assert untagged.status_code == 200, untagged.get_json()
    assert _result(xrm_client, ids["dynamic"], world["vip"])["result"] is False

    # A segment deleted after the workflow was saved fails the run with the reason (not a 500).
    etag = xrm_client.get(f"{SEGMENTS}/{world['dynamic']}").headers["ETag"]
    assert xrm_client.delete(f"{SEGMENTS}/{world['dynamic']}", headers={"If-Match": etag}).status_code == 204
    outcome = _result(xrm_client, ids["dynamic"], world["vip"])
    assert outcome["status"] == "failed"
    assert "contacts.in_segment: no segment named 'VIP customers'" in outcome["error"]


def test_a_trigger_condition_on_a_segment_and_unknown_segments_refused_when_saved(
        xrm_client, world, xrm_deliver_events):
    definition = {"trigger": {"kind": "event", "event": "core.party.updated",
                              "condition": 'contacts.in_segment(subject, "Call back")'},
                  "permissions": {**READS, "core.party.update": "tenant"},
                  "steps": [{"action": "core.update_party", "params": {"add_tags": ["to call"]}}]}
    saved = _save(xrm_client, "Tag lists", definition)
    assert saved.status_code == 201, saved.get_json()
    for party in (world["vip"], world["plain"]):
        etag = xrm_client.get(f"/api/v1/parties/{party}").headers["ETag"]
        renamed = xrm_client.patch(f"/api/v1/parties/{party}", json={"display_name": f"Renamed {party}"},
                                   headers={"If-Match": etag})
        assert renamed.status_code == 200, renamed.get_json()
    xrm_deliver_events()
    assert xrm_client.get(f"/api/v1/parties/{world['plain']}").get_json()["tags"] == ["to call"]
    assert xrm_client.get(f"/api/v1/parties/{world['vip']}").get_json()["tags"] == ["vip"]
    runs = xrm_client.get(f"{WORKFLOWS}/{saved.get_json()['id']}/runs").get_json()["items"]
    assert [run["status"] for run in runs] == ["succeeded"]

    # Saving checks every call as the workflow: an unknown segment is refused at the condition's path.
    refused = _save(xrm_client, "Typo", _branching('event.type != "" && contacts.in_segment(subject, "VIP customer")'))
    assert refused.status_code == 422
    message = str(refused.get_json()["errors"]["definition.steps.0.if"])  # at the condition's path
    assert "no segment named 'VIP customer'" in message and "'VIP customers'" in message  # the hint
    # The workflow acts as itself: without contacts.segment.read it sees no segment, and is told why.
    blind = _save(xrm_client, "Blind", _branching('contacts.in_segment(subject, "VIP customers")',
                                                  {"core.party.read": "tenant"}))
    assert blind.status_code == 422 and "contacts.segment.read" in str(blind.get_json()["errors"])
    # A misspelt function, or a wrong number of arguments, is refused too.
    for condition, expected in (('contacts.in_segmnt(subject, "VIP customers")', "unknown function"),
                                ('contacts.in_segment("VIP customers")', "takes 2 argument(s), not 1")):
        answer = _save(xrm_client, "Bad call", _branching(condition))
        assert answer.status_code == 422 and expected in str(answer.get_json()["errors"]), answer.get_json()
    assert [w["name"] for w in xrm_client.get(WORKFLOWS).get_json()["items"]] == ["Tag lists"]  # nothing else saved

