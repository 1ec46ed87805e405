"""``/api/v1/workflows`` and ``xrm workflows``: definitions, versions, runs, manual triggers, YAML."""

from __future__ import annotations

import pytest
import yaml
from click.testing import CliRunner
from flask.cli import ScriptInfo
from plugin_dists import CORE, Dist
from sqlalchemy import func, select
from xrm_sdk.testing import administrator_headers

from xrm_core import migrate, tenants
from xrm_core.app import create_app
from xrm_core.cli import cli
from xrm_core.events import get_bus, load_event_settings
from xrm_core.graph.service import create_party
from xrm_core.identity import admin
from xrm_core.identity.models import Scope
from xrm_core.identity.tokens import create_token
from xrm_core.workflows.models import Workflow, WorkflowVersion

FLOW = Dist("xrm-fx-flow", "0.1.0", "flow", "xrm_fx_flow.plugin", (CORE,))
URL = "/api/v1/workflows"
#: Written as saved: defaults (description, retries) are filled in when a definition is checked.
TAGGER = {
    "description": "Tag the record with who asked.",
    "trigger": {"kind": "manual"},
    "permissions": {"core.party.read": "tenant", "core.party.update": "tenant"},
    "steps": [{"action": "core.update_party", "params": {"add_tags": ["{{ event.actor }}"]}, "retries": 0}],
}


@pytest.fixture
def world(make_platform):
    platform = make_platform(FLOW)
    migrate.upgrade(platform)
    with platform.db.transaction(all_tenants=True) as session:
        acme = tenants.create_tenant(session, "acme", "ACME")
        tenants.enable_plugin(platform, session, acme, "flow")
        acme_id = acme.id
        other_id = tenants.create_tenant(session, "other", "Other").id
    with platform.db.transaction(acme_id) as session:
        party_id = create_party(session, "organization", "Key Corp").id
        # A reader: may read parties and workflows, nothing else.
        role = admin.define_role(session, "reader", {"core.party.read": Scope.TENANT, "core.workflow.read": Scope.TENANT},
                                 {"core.party.read", "core.workflow.read"})
        reader = admin.create_user(session, "reader@acme.test", "a long and unusual passphrase 42")
        admin.assign_role(session, reader, role)
        _, reader_token = create_token(session, reader, "tests")
    app = create_app(platform=platform)
    app.config["TESTING"] = True
    bus = get_bus(platform, load_event_settings(environ={}))
    yield {"platform": platform, "client": app.test_client(), "bus": bus, "party": party_id, "acme": acme_id,
           "admin": administrator_headers(platform, acme_id), "other": administrator_headers(platform, other_id),
           "reader": {"Authorization": f"Bearer {reader_token}"}}
    bus.stop()


def stored(platform):
    with platform.db.session(all_tenants=True, read_only=True) as session:
        return (session.scalar(select(func.count()).select_from(Workflow)),
                session.scalar(select(func.count()).select_from(WorkflowVersion)))


def create(world, name="Tagger", definition=TAGGER):
    response = world["client"].post(URL, json={"name": name, "definition": definition}, headers=world["admin"])
    assert response.status_code == 201, response.json
    return response


def test_create_read_and_every_edit_is_a_version(world):
    client, headers = world["client"], world["admin"]
    created = create(world)
    body = created.json
    assert created.headers["Location"].endswith(f"{URL}/{body['id']}")
    assert (body["current_version"], body["trigger_kind"], body["enabled"]) == (1, "manual", True)
    item = f"{URL}/{body['id']}"
    assert client.get(item, headers=headers).json["definition"]["steps"] == TAGGER["steps"]

    changed = {**TAGGER, "steps": TAGGER["steps"] * 2}
    assert client.put(item, json={"name": "Tagger", "definition": changed}, headers=headers).status_code == 428
    stale = {**headers, "If-Match": '"nope"'}
    assert client.put(item, json={"name": "Tagger", "definition": changed}, headers=stale).status_code == 412
    fresh = {**headers, "If-Match": created.headers["ETag"]}
    updated = client.put(item, json={"name": "Tagger", "definition": changed}, headers=fresh)
    assert updated.status_code == 200 and updated.json["current_version"] == 2
    renamed = client.patch(item, json={"name": "Tag twice"}, headers={**headers, "If-Match": updated.headers["ETag"]})
    assert renamed.json["name"] == "Tag twice" and renamed.json["current_version"] == 2  # no new definition
    versions = client.get(f"{item}/versions", headers=headers).json["items"]
    assert [v["number"] for v in versions] == [2, 1] and versions[1]["definition"]["steps"] == TAGGER["steps"]
    listed = client.get(URL, headers=headers).json["items"]
    assert [w["name"] for w in listed] == ["Tag twice"]


def test_invalid_definitions_are_422_with_paths_and_positions(world):
    client = world["client"]
    before = stored(world["platform"])
    bad = {**TAGGER, "steps": [{"if": 'subject.tags.exists(t, t == "a"'}, {"action": "flow.escalate", "params": {}}]}
    response = client.post(URL, json={"name": "Bad", "definition": bad}, headers=world["admin"])
    assert response.status_code == 422 and response.mimetype == "application/problem+json"
    errors = response.json["errors"]
    assert errors["definition.steps.0.if"][0].startswith("line 1, column 32: Syntax error: missing ')'")
    assert errors["definition.steps.1.params.level"] == ["Missing data for required field."]
    assert stored(world["platform"]) == before


def test_enable_disable_keeps_history(world):
    client, headers = world["client"], world["admin"]
    item = f"{URL}/{create(world).json['id']}"
    assert client.post(f"{item}/disable", headers=headers).json["enabled"] is False
    refused = client.post(f"{item}/runs", json={"subject_type": "core_parties", "subject_id": str(world["party"])},
                          headers=headers)
    assert refused.status_code == 409 and "disabled" in refused.json["detail"]
    assert client.post(f"{item}/enable", headers=headers).json["enabled"] is True
    assert len(client.get(f"{item}/versions", headers=headers).json["items"]) == 1


def test_manual_trigger_runs_through_the_bus_and_shows_its_steps(world):
    client, headers = world["client"], world["admin"]
    item = f"{URL}/{create(world).json['id']}"
    subject = {"subject_type": "core_parties", "subject_id": str(world["party"])}
    accepted = client.post(f"{item}/runs", json=subject, headers=headers)
    assert accepted.status_code == 202 and accepted.json["event_id"]
    world["bus"].run_until_idle()
    [run] = client.get(f"{item}/runs", headers=headers).json["items"]
    assert (run["status"], run["version"], run["trigger_event_id"]) == ("succeeded", 1, accepted.json["event_id"])
    [step] = run["steps"]
    assert step["action"] == "core.update_party" and step["output"]["tags"] == [step["input"]["add_tags"][0]]
    assert step["input"]["add_tags"][0].startswith("user:")  # the template saw who asked
    assert client.get(f"{item}/runs/{run['id']}", headers=headers).json["steps"] == [step]
    per_record = client.get(f"{URL}/runs", query_string=subject, headers=headers).json["items"]
    assert [r["id"] for r in per_record] == [run["id"]]


def test_manual_trigger_on_a_record_out_of_reach_is_404(world):
    item = f"{URL}/{create(world).json['id']}"
    response = world["client"].post(f"{item}/runs", json={"subject_type": "core_parties", "subject_id": "999"},
                                    headers=world["admin"])
    assert response.status_code == 404


def test_permissions_and_tenants(world):
    client = world["client"]
    item = f"{URL}/{create(world).json['id']}"
    assert client.get(item, headers=world["reader"]).status_code == 200
    denied = client.post(URL, json={"name": "Mine", "definition": TAGGER}, headers=world["reader"])
    assert denied.status_code == 403 and "core.workflow.create" in denied.json["detail"]
    assert client.post(f"{item}/runs", json={"subject_type": "core_parties", "subject_id": "1"},
                       headers=world["reader"]).status_code == 403
    assert client.get(item, headers=world["other"]).status_code == 404
    assert client.get(URL).status_code == 401


def run_cli(platform, *args):
    info = ScriptInfo(create_app=lambda: create_app(platform=platform))
    return CliRunner().invoke(cli, list(args), obj=info, prog_name="xrm")


def test_cli_export_import_list_runs(world, tmp_path):
    platform = world["platform"]
    create(world)
    exported = run_cli(platform, "workflows", "export", "--tenant", "acme")
    assert exported.exit_code == 0, exported.output
    documents = yaml.safe_load(exported.output)
    assert documents == [{"name": "Tagger", "enabled": True, "definition": TAGGER}]

    documents[0]["definition"]["steps"].append({"wait": {"hours": 1}})
    documents.append({"name": "Copy", "enabled": False, "definition": TAGGER})
    path = tmp_path / "workflows.yaml"
    path.write_text(yaml.safe_dump(documents))
    imported = run_cli(platform, "workflows", "import", "--tenant", "acme", str(path))
    assert imported.exit_code == 0, imported.output
    assert imported.output.split("\n")[:2] == ["updated\tTagger", "created\tCopy"]
    again = run_cli(platform, "workflows", "import", "--tenant", "acme", str(path))
    assert "unchanged\tTagger" in again.output and "unchanged\tCopy" in again.output
    listed = run_cli(platform, "workflows", "list", "--tenant", "acme").output.splitlines()
    assert listed == ["Copy\tdisabled\tv1\tmanual", "Tagger\tenabled\tv2\tmanual"]
    assert run_cli(platform, "workflows", "runs", "--tenant", "acme", "Tagger").output == ""


def test_cli_refuses_bad_files_with_one_line(world, tmp_path):
    platform = world["platform"]
    before = stored(platform)
    path = tmp_path / "bad.yaml"
    path.write_text(yaml.safe_dump([{"name": "Good", "definition": TAGGER},
                                    {"name": "Bad", "definition": {**TAGGER, "trigger": {"kind": "event", "event": "x",
                                                                                         "condition": "1 +"}}}]))
    result = run_cli(platform, "workflows", "import", "--tenant", "acme", str(path))
    assert result.exit_code == 1
    assert result.output.startswith("Error: ") and result.output.count("\n") == 1
    assert "workflow 1.definition.trigger.condition: line 1, column" in result.output
    assert stored(platform) == before  # all or nothing: "Good" was not kept either
    path.write_text("name: [unclosed")
    assert run_cli(platform, "workflows", "import", "--tenant", "acme", str(path)).output.startswith("Error: ")
    missing = run_cli(platform, "workflows", "runs", "--tenant", "acme", "Nope")
    assert missing.exit_code == 1 and "no workflow named 'Nope'" in missing.output


def test_dry_run_and_backtest_endpoints(world):
    client, headers = world["client"], world["admin"]
    watcher = {**TAGGER, "trigger": {"kind": "event", "event": "flow.complaint.*"}}
    item = f"{URL}/{create(world, 'Watcher', watcher).json['id']}"
    sample = {"type": "flow.complaint.opened", "payload": {"number": "C-1", "severity": "high"},
              "subject_type": "core_parties", "subject_id": str(world["party"])}
    report = client.post(f"{item}/dry-run", json={"event": sample}, headers=headers)
    assert report.status_code == 200, report.json
    assert report.json["matched"] and report.json["status"] == "succeeded"
    assert report.json["steps"][0]["output"]["tags"][0].startswith("user:")
    assert client.post(f"{item}/dry-run", json={}, headers=headers).status_code == 422
    assert client.post(f"{item}/dry-run", json={"event_id": "nope"}, headers=headers).status_code == 404
    assert client.post(f"{item}/dry-run", json={"event": sample}, headers=world["reader"]).status_code == 403
    assert client.post(f"{item}/backtest", json={"limit": 5}, headers=headers).json == {"items": []}
    manual = f"{URL}/{create(world).json['id']}"
    refused = client.post(f"{manual}/backtest", json={}, headers=headers)
    assert refused.status_code == 409 and "manual trigger" in refused.json["detail"]
    with world["platform"].db.session(world["acme"], read_only=True) as session:
        from xrm_core.graph.models import Party
        assert session.get(Party, world["party"]).tags == []  # the dry run changed nothing
