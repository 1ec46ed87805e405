"""Consents per channel with their history, and the consent question every plugin asks (``may_contact``)."""

from __future__ import annotations

import pytest
import xrm_sdk as xrm
from contacts_testing import create_person
from xrm_contacts import plugin


def consents(client, party_id):
    return client.get(f"/api/v1/contacts/parties/{party_id}/consents").get_json()


def test_consents_are_recorded_per_channel_with_their_history(xrm_client, xrm_events):
    person = create_person(xrm_client)
    url = f"/api/v1/contacts/parties/{person['id']}/consents"
    granted = xrm_client.put(f"{url}/email", json={"status": "granted", "source": "web form",
                                                    "proof": "submission 42", "decided_at": "2026-01-02T10:00:00"})
    assert granted.status_code == 200, granted.get_json()
    assert granted.get_json()["decided_at"] == "2026-01-02T10:00:00+00:00"  # no offset given: UTC
    xrm_client.put(f"{url}/email", json={"status": "refused", "source": "unsubscribe link"})
    xrm_client.put(f"{url}/sms", json={"status": "granted"})
    recorded = consents(xrm_client, person["id"])
    assert {c: v["status"] for c, v in recorded["current"].items()} == {"email": "refused", "sms": "granted"}
    assert [(h["channel"], h["status"], h["source"]) for h in recorded["history"]] == [
        ("sms", "granted", ""), ("email", "refused", "unsubscribe link"), ("email", "granted", "web form")]
    assert recorded["history"][-1]["proof"] == "submission 42"
    assert recorded["history"][-1]["decided_at"] == "2026-01-02T10:00:00+00:00"  # read back with its offset
    assert recorded["history"][-1]["recorded_at"].endswith("+00:00")
    changed = [e for e in xrm_events if e.type == "contacts.consent.changed"]
    assert [e.payload["status"] for e in changed] == ["granted", "refused", "granted"]
    assert all(list(e.related) == [person["id"]] for e in changed)


def test_bad_consents_are_refused_naming_the_field(xrm_client):
    person = create_person(xrm_client)
    url = f"/api/v1/contacts/parties/{person['id']}/consents"
    assert list(xrm_client.put(f"{url}/pigeon", json={"status": "granted"}).get_json()["errors"]) == ["channel"]
    assert list(xrm_client.put(f"{url}/email", json={"status": "maybe"}).get_json()["errors"]) == ["status"]
    assert consents(xrm_client, person["id"]) == {"current": {}, "history": []}
    assert xrm_client.put("/api/v1/contacts/parties/999999/consents/email", json={"status": "granted"}).status_code == 404


def test_hook_xrm_contact_consent(xrm_client, xrm_platform, xrm_tenant, xrm_session):
    """Only a recorded "granted" allows contacting; refused says no, no answer is no opinion."""
    person = create_person(xrm_client)
    xrm_client.put(f"/api/v1/contacts/parties/{person['id']}/consents/email", json={"status": "granted"})
    xrm_client.put(f"/api/v1/contacts/parties/{person['id']}/consents/sms", json={"status": "refused"})
    answers = {channel: plugin.xrm_contact_consent(session=xrm_session, party_id=person["id"], channel=channel)
               for channel in ("email", "sms", "post")}
    assert answers == {"email": True, "sms": False, "post": None}
    assert [xrm.may_contact(xrm_session, person["id"], c) for c in ("email", "sms", "post")] == [True, False, False]
    with pytest.raises(ValueError, match="unknown contact channel"):
        xrm.may_contact(xrm_session, person["id"], "pigeon")
    xrm_session.rollback()
    may = xrm_client.get(f"/api/v1/contacts/parties/{person['id']}/may-contact", query_string={"channel": "email"})
    assert may.get_json() == {"channel": "email", "may_contact": True}
    assert xrm_client.get(f"/api/v1/contacts/parties/{person['id']}/may-contact",
                          query_string={"channel": "fax"}).status_code == 422


def test_a_plugin_that_fails_to_answer_counts_as_a_refusal(xrm_client, xrm_platform, xrm_session, monkeypatch):
    person = create_person(xrm_client)
    xrm_client.put(f"/api/v1/contacts/parties/{person['id']}/consents/email", json={"status": "granted"})
    assert xrm.may_contact(xrm_session, person["id"], "email") is True
    (impl,) = [i for i in xrm_platform.host.pm.hook.xrm_contact_consent.get_hookimpls() if i.plugin_name == "contacts"]

    def broken(**_kwargs):
        raise RuntimeError("consent store unreachable")

    monkeypatch.setattr(impl, "function", broken)
    assert xrm.may_contact(xrm_session, person["id"], "email") is False


def test_a_disabled_plugin_gives_no_consent(xrm_client, xrm_platform, xrm_tenant, xrm_session):
    from xrm_core import tenants

    person = create_person(xrm_client)
    xrm_client.put(f"/api/v1/contacts/parties/{person['id']}/consents/email", json={"status": "granted"})
    with xrm_platform.db.transaction(all_tenants=True) as session:
        tenants.disable_plugin(xrm_platform, session, session.merge(xrm_tenant), "contacts")
    assert xrm.may_contact(xrm_session, person["id"], "email") is False
