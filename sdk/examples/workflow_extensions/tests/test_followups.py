"""The ``followups`` example's contributions, exercised together as an administrator would use them."""

import pytest
from xrm_followups.plugin import ScheduleParams

pytestmark = pytest.mark.xrm_plugins("followups")  # see hello_page/tests/test_hello.py

WORKFLOWS = "/api/v1/workflows"

#: "When a party is created, follow up in two days" (uses the plugin's action).
FOLLOW_NEW_PARTIES = {
    "trigger": {"kind": "event", "event": "core.party.created"},
    # What the workflow may do (never more than whoever saves it): read its subject, add follow-ups.
    "permissions": {"core.party.read": "tenant", "followups.followup.create": "tenant"},
    "steps": [{"action": "followups.schedule", "params": {"days": 2, "note": "Call {{ subject.display_name }}"}}],
}
#: "When a follow-up falls due, tag the party" (starts from the plugin's trigger).
TAG_WHEN_DUE = {
    "trigger": {"kind": "plugin", "name": "followups.followup_due"},
    "permissions": {"core.party.read": "tenant", "core.party.update": "tenant"},
    "steps": [{"action": "core.update_party", "params": {"add_tags": ["follow-up due"]}}],
}


def test_xrm_workflow_actions_xrm_periodic_jobs_and_xrm_workflow_triggers(
        xrm_client, xrm_clock, xrm_deliver_events, xrm_run_periodic_jobs):
    """A workflow's action schedules a follow-up; the job announces it when due (an event of
    ``xrm_event_types``, written with the plugin's ``xrm_permissions``); a workflow starts from it."""
    # The action's parameters are checked when a workflow is saved: a bad one is refused, naming them.
    assert ScheduleParams().load({"days": 2, "note": "Call"}) == {"days": 2, "note": "Call"}
    bad = {**FOLLOW_NEW_PARTIES, "steps": [{"action": "followups.schedule", "params": {"days": 0, "note": ""}}]}
    refused = xrm_client.post(WORKFLOWS, json={"name": "Bad", "definition": bad})
    assert refused.status_code == 422 and "days" in str(refused.get_json()["errors"])

    for name, definition in (("Follow new parties", FOLLOW_NEW_PARTIES), ("Tag when due", TAG_WHEN_DUE)):
        saved = xrm_client.post(WORKFLOWS, json={"name": name, "definition": definition})
        assert saved.status_code == 201, saved.get_json()
    tagger = saved.get_json()["id"]
    party = xrm_client.post("/api/v1/parties", json={"kind": "organization", "display_name": "ACME"}).get_json()
    xrm_deliver_events()  # the first workflow runs the action: a follow-up in two days

    def tags():
        return xrm_client.get(f"/api/v1/parties/{party['id']}").get_json()["tags"]

    xrm_run_periodic_jobs("followups.announce_due")
    xrm_deliver_events()
    assert tags() == []  # not due yet
    xrm_clock.advance(days=2, minutes=1)
    xrm_run_periodic_jobs("followups.announce_due")
    xrm_deliver_events()  # the job's event starts the second workflow
    assert tags() == ["follow-up due"]

    xrm_run_periodic_jobs("followups.announce_due")  # running again announces nothing twice
    xrm_deliver_events()
    assert len(xrm_client.get(f"{WORKFLOWS}/{tagger}/runs").get_json()["items"]) == 1


def test_xrm_workflow_functions_answer_conditions(xrm_client, xrm_deliver_events):
    """``followups.pending(subject.id)`` in a condition: its arguments checked when the workflow is
    saved, its answer computed as the workflow when the condition runs."""
    def asking(condition):
        return {"trigger": {"kind": "manual"},
                "permissions": {"core.party.read": "tenant", "followups.followup.read": "tenant"},
                "steps": [{"if": condition, "then": [], "else": []}]}

    refused = xrm_client.post(WORKFLOWS, json={"name": "Bad", "definition": asking('followups.pending("ACME")')})
    assert refused.status_code == 422 and "takes a party's id" in str(refused.get_json()["errors"])
    # Created before the workflow that schedules follow-ups: it has none.
    other = xrm_client.post("/api/v1/parties", json={"kind": "organization", "display_name": "Other"}).get_json()
    assert xrm_client.post(WORKFLOWS, json={"name": "Follow", "definition": FOLLOW_NEW_PARTIES}).status_code == 201
    saved = xrm_client.post(WORKFLOWS, json={"name": "Pending?", "definition": asking("followups.pending(subject.id)")})
    assert saved.status_code == 201, saved.get_json()
    followed = xrm_client.post("/api/v1/parties", json={"kind": "organization", "display_name": "ACME"}).get_json()
    xrm_deliver_events()  # the first workflow schedules a follow-up for the new party

    def pending(party_id):
        report = xrm_client.post(f"{WORKFLOWS}/{saved.get_json()['id']}/dry-run", json={"event": {
            "type": "manual", "subject_type": "core_parties", "subject_id": str(party_id)}}).get_json()
        return report["steps"][0]["output"]["result"]

    assert pending(followed["id"]) is True
    assert pending(other["id"]) is False
