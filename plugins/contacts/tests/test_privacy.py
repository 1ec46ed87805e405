"""Data-access archives and erasure across plugins (the core service, its API and CLI, and the hooks)."""

from __future__ import annotations

import io
import json
import zipfile

import xrm_sdk as xrm
from click.testing import CliRunner
from contacts_testing import INTERACTIONS, create_person
from flask.cli import ScriptInfo
from sqlalchemy import select
from xrm_contacts import plugin
from xrm_contacts.consents import ConsentChange
from xrm_contacts.interactions import Interaction
from xrm_contacts.profiles import ContactPoint, Profile

from xrm_core.cli import cli
from xrm_core.models import AuditEntry


def _rich_person(client) -> dict:
    person = create_person(client, emails=["ada@example.com"], phones=["+44 20 7946 0958"], notes="Likes engines")
    base = f"/api/v1/contacts/parties/{person['id']}"
    client.post(f"{base}/addresses", json={"kind": "home", "street": "12 St James's Square", "city": "London"})
    client.put(f"{base}/consents/email", json={"status": "granted", "source": "web form", "proof": "form #7"})
    client.post(INTERACTIONS, json={"party_id": person["id"], "channel": "call", "direction": "inbound",
                                    "occurred_at": "2026-11-20T09:30:00Z", "subject": "Asked about engines"})
    return person


def test_hook_xrm_personal_data(xrm_client, xrm_session):
    person = _rich_person(xrm_client)
    data = plugin.xrm_personal_data(session=xrm_session, party_id=person["id"])
    json.dumps(data)  # JSON-able as is
    assert data["profile"]["given_name"] == "Ada" and data["profile"]["notes"] == "Likes engines"
    assert [p["value"] for p in data["contact_points"]] == ["ada@example.com", "+442079460958"]
    assert data["addresses"][0]["city"] == "London"
    assert [(c["channel"], c["status"], c["proof"]) for c in data["consents"]] == [("email", "granted", "form #7")]
    assert data["interactions"][0]["subject"] == "Asked about engines"
    assert plugin.xrm_personal_data(session=xrm_session, party_id=999999) is None


def test_the_archive_holds_the_core_and_every_plugin_file_and_is_audited(xrm_client, xrm_session):
    person = _rich_person(xrm_client)
    response = xrm_client.get(f"/api/v1/parties/{person['id']}/personal-data")
    assert response.status_code == 200, response.get_data(as_text=True)
    assert response.mimetype == "application/zip"
    archive = zipfile.ZipFile(io.BytesIO(response.data))
    assert sorted(archive.namelist()) == ["contacts.json", "core.json", "manifest.json"]
    core = json.loads(archive.read("core.json"))
    assert core["party"]["display_name"] == "Ada Lovelace"
    contacts = json.loads(archive.read("contacts.json"))
    assert contacts["profile"]["family_name"] == "Lovelace"
    assert json.loads(archive.read("manifest.json"))["files"] == ["contacts.json", "core.json"]
    audit = xrm_session.scalars(select(AuditEntry).where(AuditEntry.action == "party.personal_data_exported")).all()
    assert [entry.target for entry in audit] == [f"core.party:{person['id']}"]
    xrm_session.rollback()
    assert xrm_client.get("/api/v1/parties/999999/personal-data").status_code == 404


def test_hook_xrm_erase_personal_data(xrm_client, xrm_session):
    person = _rich_person(xrm_client)
    plugin.xrm_erase_personal_data(session=xrm_session, party_id=person["id"])
    profile = xrm_session.get(Profile, person["id"])
    assert (profile.given_name, profile.family_name, profile.notes, profile.birthday) == ("", "", "", None)
    assert xrm_session.scalars(select(ContactPoint)).all() == []
    assert xrm_session.scalars(select(ConsentChange)).all() == []
    (interaction,) = xrm_session.scalars(select(Interaction))
    assert (interaction.channel, interaction.subject) == ("call", "[erased]")


def test_erasure_anonymises_the_party_in_every_plugin_and_is_audited(xrm_client, xrm_session, xrm_events):
    person = _rich_person(xrm_client)
    xrm_client.post(f"/api/v1/parties/{person['id']}/identifiers", json={"source": "crm", "value": "A-1"})
    erased = xrm_client.post(f"/api/v1/parties/{person['id']}/erase")
    assert erased.status_code == 200, erased.get_json()
    assert erased.get_json() == {"party_id": person["id"], "plugins": ["contacts"]}
    party = xrm_session.get(xrm.Party, person["id"])
    assert (party.display_name, party.tags, party.custom, party.identifiers) == (
        f"Erased person #{person['id']}", [], {}, [])
    assert xrm_session.scalars(select(ContactPoint)).all() == []
    audit = xrm_session.scalars(select(AuditEntry).where(AuditEntry.action == "party.personal_data_erased")).all()
    assert [(entry.target, entry.details["plugins"]) for entry in audit] == [(f"core.party:{person['id']}",
                                                                               ["contacts"])]
    assert "contacts.person.erased" in [e.type for e in xrm_events]


def test_a_plugin_failing_to_erase_stops_the_erasure(xrm_client, xrm_platform, xrm_session, monkeypatch):
    person = _rich_person(xrm_client)
    (impl,) = [i for i in xrm_platform.host.pm.hook.xrm_erase_personal_data.get_hookimpls()
               if i.plugin_name == "contacts"]

    def broken(**_kwargs):
        raise RuntimeError("disk full")

    monkeypatch.setattr(impl, "function", broken)
    refused = xrm_client.post(f"/api/v1/parties/{person['id']}/erase")
    assert refused.status_code == 409
    assert "plugin contacts could not erase" in refused.get_json()["detail"]
    assert xrm_session.get(xrm.Party, person["id"]).display_name == "Ada Lovelace"
    assert xrm_session.scalars(select(ContactPoint)).all() != []  # nothing was half-erased


def test_privacy_needs_the_export_and_delete_rights(xrm_client, xrm_login):
    person = _rich_person(xrm_client)
    reader = xrm_login("core.party.read", "contacts.person.read")
    assert reader.get(f"/api/v1/parties/{person['id']}/personal-data").status_code == 403
    assert reader.post(f"/api/v1/parties/{person['id']}/erase").status_code == 403
    exporter = xrm_login("core.party.read", "core.party.export", "contacts.person.read")
    archive = zipfile.ZipFile(io.BytesIO(exporter.get(f"/api/v1/parties/{person['id']}/personal-data").data))
    contacts = json.loads(archive.read("contacts.json"))
    # The exporter may read profiles but not consents nor interactions: those stay out of their archive.
    assert contacts["profile"]["given_name"] == "Ada"
    assert (contacts["consents"], contacts["interactions"]) == ([], [])


def test_the_cli_exports_and_erases(xrm_client, xrm_app, xrm_platform, tmp_path):
    person = _rich_person(xrm_client)
    runner = CliRunner()
    info = ScriptInfo(create_app=lambda: xrm_app)
    output = tmp_path / "ada.zip"
    exported = runner.invoke(cli, ["privacy", "export", "--tenant", "test", str(person["id"]), "-o", str(output)],
                             obj=info)
    assert exported.exit_code == 0, exported.output
    assert "contacts.json" in zipfile.ZipFile(output).namelist()
    missing = runner.invoke(cli, ["privacy", "export", "--tenant", "test", "999999", "-o", str(output)], obj=info)
    assert missing.exit_code == 1 and missing.output.strip() == "Error: There is no party 999999 here."
    erased = runner.invoke(cli, ["privacy", "erase", "--tenant", "test", str(person["id"]), "--yes"], obj=info)
    assert erased.exit_code == 0, erased.output
    assert "contacts" in erased.output
    assert xrm_client.get(f"/api/v1/parties/{person['id']}").get_json()["display_name"].startswith("Erased")
