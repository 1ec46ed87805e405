"""Interactions: logged by API and by the workflow action, shown on every involved party's timeline."""

from __future__ import annotations

import pytest
import xrm_sdk as xrm
from contacts_testing import INTERACTIONS, ORGANIZATIONS, PEOPLE, create_person
from sqlalchemy import select
from xrm_contacts.actions import LOG_INTERACTION, LogInteractionParams
from xrm_contacts.interactions import Interaction

from xrm_core.graph.timeline import record_event


def test_logging_an_interaction_publishes_it_for_every_party_involved(xrm_client, xrm_events, xrm_platform,
                                                                       xrm_tenant):
    person = create_person(xrm_client)
    company = xrm_client.post(ORGANIZATIONS, json={"display_name": "Engines plc"}).get_json()
    logged = xrm_client.post(INTERACTIONS, json={
        "party_id": person["id"], "channel": "call", "direction": "outbound", "occurred_at": "2026-11-20T09:30:00Z",
        "duration_minutes": 25, "subject": "Renewal", "outcome": "Quote requested", "other_party_ids": [company["id"]]})
    assert logged.status_code == 201, logged.get_json()
    interaction = logged.get_json()
    assert (interaction["channel"], interaction["duration_minutes"], interaction["other_party_ids"]) == (
        "call", 25, [company["id"]])
    stored = xrm_client.get(logged.headers["Location"]).get_json()  # read back from the database
    assert (stored["subject"], stored["occurred_at"]) == ("Renewal", "2026-11-20T09:30:00+00:00")
    assert xrm_client.get(f"{PEOPLE}/{person['id']}").get_json()["created_at"].endswith("+00:00")
    event = xrm_events[-1]
    assert event.type == "contacts.interaction.logged"
    assert list(event.related) == [person["id"], company["id"]]
    # The core's timeline subscriber puts it on both parties' timelines.
    with xrm_platform.db.transaction(xrm_tenant.id) as session:
        assert sorted(record_event(event, session)) == sorted([person["id"], company["id"]])
    for party_id in (person["id"], company["id"]):
        timeline = xrm_client.get(f"/api/v1/parties/{party_id}/timeline").get_json()["items"]
        assert "contacts.interaction.logged" in [entry["event_type"] for entry in timeline]


def test_interactions_are_listed_newest_first_and_filtered(xrm_client):
    person = create_person(xrm_client)
    for day, channel in ((1, "email"), (3, "meeting"), (2, "sms")):
        xrm_client.post(INTERACTIONS, json={"party_id": person["id"], "channel": channel, "direction": "inbound",
                                            "occurred_at": f"2026-11-0{day}T10:00:00Z"})
    listed = xrm_client.get(INTERACTIONS).get_json()["items"]
    assert [i["channel"] for i in listed] == ["meeting", "sms", "email"]
    only = xrm_client.get(INTERACTIONS, query_string={"channel": "sms"}).get_json()["items"]
    assert [i["channel"] for i in only] == ["sms"]


def test_bad_interactions_are_refused_and_nothing_is_logged(xrm_client, xrm_events):
    person = create_person(xrm_client)
    xrm_events.clear()
    bad = xrm_client.post(INTERACTIONS, json={"party_id": person["id"], "channel": "telepathy", "direction": "up",
                                              "duration_minutes": -5})
    assert set(bad.get_json()["errors"]) == {"channel", "direction", "duration_minutes", "occurred_at"}
    unknown = xrm_client.post(INTERACTIONS, json={"party_id": 999999, "channel": "call", "direction": "inbound",
                                                  "occurred_at": "2026-11-20T09:30:00Z"})
    assert unknown.status_code == 422 and list(unknown.get_json()["errors"]) == ["party_id"]
    strangers = xrm_client.post(INTERACTIONS, json={"party_id": person["id"], "channel": "call", "direction": "inbound",
                                                    "occurred_at": "2026-11-20T09:30:00Z", "user_ids": [999999]})
    assert list(strangers.get_json()["errors"]) == ["user_ids"]
    assert xrm_client.get(INTERACTIONS).get_json()["items"] == []
    assert xrm_events == []


def test_the_workflow_action_logs_an_interaction_with_the_runs_party(xrm_client, xrm_session, xrm_events):
    person = create_person(xrm_client)
    with pytest.raises(xrm.ValidationError) as refused:
        LogInteractionParams().load({"direction": "sideways"})
    assert set(refused.value.messages) == {"channel", "direction"}
    params = LOG_INTERACTION.params().load({"channel": "email", "subject": "Welcome pack sent"})
    result = LOG_INTERACTION.run(params=params, session=xrm_session,
                                 subject={"id": person["id"], "kind": "person", "display_name": "Ada Lovelace"})
    xrm_session.commit()
    interaction = xrm_session.get(Interaction, result["interaction_id"])
    assert (interaction.party_id, interaction.channel, interaction.direction, interaction.subject) == (
        person["id"], "email", "outbound", "Welcome pack sent")
    assert xrm_events[-1].type == "contacts.interaction.logged"
    named = LOG_INTERACTION.run(params={**params, "party": person["id"]}, session=xrm_session,
                                subject={"entity": "x"})
    assert named["party_id"] == person["id"]
    with pytest.raises(xrm.XrmError, match="no party"):
        LOG_INTERACTION.run(params=params, session=xrm_session, subject=None)
    xrm_session.rollback()
    assert len(xrm_session.scalars(select(Interaction)).all()) == 1
