"""``/api/v1/imports`` and ``/api/v1/exports``: dry runs, imports, status, report, undo, refusals."""

from __future__ import annotations

import io
import json

import pytest
from sqlalchemy import select

from xrm_core import migrate, tenants
from xrm_core.app import create_app
from xrm_core.graph.models import Party
from xrm_core.identity import admin
from xrm_core.identity.catalogue import all_permissions
from xrm_core.identity.models import Scope
from xrm_core.identity.tokens import create_token
from xrm_core.models import User
from xrm_core.problems import PROBLEM_JSON

IMPORTS = "/api/v1/imports"
PEOPLE = b"display_name,identifier.email\nAda Lovelace,ada@example.org\nGrace Hopper,grace@example.org\n"


@pytest.fixture
def world(make_platform):
    """Tenant acme: an importer (parties, tenant-wide), a clerk (create own), a reader."""
    platform = make_platform()
    migrate.upgrade(platform)
    with platform.db.transaction(all_tenants=True) as session:
        tenant_id = tenants.create_tenant(session, "acme", "ACME").id
    headers = {}
    with platform.db.transaction(tenant_id) as session:
        known = set(all_permissions(platform))
        roles = {
            "importer": {f"core.party.{a}": Scope.TENANT for a in ("read", "create", "update", "delete")},
            "clerk": {"core.party.read": Scope.OWN, "core.party.create": Scope.OWN, "core.party.export": Scope.OWN},
            "reader": {"core.party.read": Scope.TENANT, "core.party.export": Scope.TENANT},
        }
        for name, grants in roles.items():
            role = admin.define_role(session, name, grants, known)
            user = User(email=f"{name}@acme.test", display_name=name, password_hash="")
            session.add(user)
            session.flush()
            admin.assign_role(session, user, role)
            headers[name] = {"Authorization": f"Bearer {create_token(session, user, 'tests')[1]}"}
    client = create_app(platform=platform).test_client()
    return platform, tenant_id, client, headers


def upload(client, headers, data=PEOPLE, name="people.csv", **form):
    fields = {"file": (io.BytesIO(data), name), **{k: str(v).lower() if isinstance(v, bool) else v
                                                  for k, v in form.items()}}
    return client.post(IMPORTS, data=fields, headers=headers, content_type="multipart/form-data")


def names(world) -> set[str]:
    platform, tenant_id, _client, _headers = world
    with platform.db.session(tenant_id) as session:
        return set(session.scalars(select(Party.display_name)))


def problem(response, status):
    assert response.status_code == status, response.get_data(as_text=True)
    assert response.mimetype == PROBLEM_JSON
    return response.get_json()


def test_dry_run_then_import_then_undo(world):
    _platform, _tenant, client, headers = world
    dry = upload(client, headers["importer"], match_on="identifier.email")
    assert dry.status_code == 200
    body = dry.get_json()
    assert (body["dry_run"], body["status"], body["created"]) == (True, "valid", 2)
    assert [o["outcome"] for o in body["outcomes"]] == ["created", "created"]
    assert names(world) == set()
    done = upload(client, headers["importer"], match_on="identifier.email", dry_run=False)
    assert done.status_code == 201, done.get_json()
    batch = done.get_json()["batch"]
    assert done.headers["Location"].endswith(f"/api/v1/imports/{batch['id']}")
    assert (batch["status"], batch["created"], batch["rows_done"]) == ("completed", 2, 2)
    assert names(world) == {"Ada Lovelace", "Grace Hopper"}
    status = client.get(f"{IMPORTS}/{batch['id']}", headers=headers["importer"]).get_json()
    assert status["status"] == "completed"
    assert [b["id"] for b in client.get(IMPORTS, headers=headers["importer"]).get_json()["items"]] == [batch["id"]]
    undone = client.post(f"{IMPORTS}/{batch['id']}/undo", headers=headers["importer"])
    assert undone.status_code == 200 and undone.get_json()["status"] == "undone"
    assert names(world) == set()
    assert "already undone" in problem(client.post(f"{IMPORTS}/{batch['id']}/undo", headers=headers["importer"]),
                                       409)["detail"]


def test_errors_are_reported_with_row_and_column_and_change_nothing(world):
    _platform, _tenant, client, headers = world
    data = PEOPLE + b"Bad,not-an-email\n"
    dry = upload(client, headers["importer"], data).get_json()
    assert dry["errors"] == [{"row": 3, "column": "identifier.email", "reason": "'not-an-email' is not an e-mail address"}]
    failed = upload(client, headers["importer"], data, dry_run=False)
    assert failed.status_code == 201 and failed.get_json()["batch"]["status"] == "failed"
    assert names(world) == set()
    batch_id = failed.get_json()["batch"]["id"]
    report = client.get(f"{IMPORTS}/{batch_id}/report", headers=headers["importer"]).get_json()
    assert report["errors"][0]["row"] == 3


def test_bad_input_is_422_naming_the_field(world):
    _platform, _tenant, client, headers = world
    h = headers["importer"]
    assert "file" in problem(client.post(IMPORTS, data={}, headers=h, content_type="multipart/form-data"), 422)["errors"]
    assert "file" in problem(upload(client, h, b"PK junk", "people.xlsx"), 422)["errors"]
    assert "mapping" in problem(upload(client, h, mapping="{nope"), 422)["errors"]
    assert "has no field 'age'" in problem(upload(client, h, mapping=json.dumps({"display_name": "age"})),
                                           422)["errors"]["mapping"][0]
    assert "on_match" in problem(upload(client, h, on_match="merge"), 422)["errors"]
    assert "format" in problem(client.get("/api/v1/exports?format=dbase", headers=h), 422)["errors"]
    assert names(world) == set()


def test_rights_and_batch_visibility(world):
    _platform, _tenant, client, headers = world
    assert "may not create core.party" in problem(upload(client, headers["reader"], dry_run=False), 403)["detail"]
    answer = upload(client, headers["clerk"], dry_run=False).get_json()
    mine = answer["batch"]["id"]
    # the clerk sees their batch; the importer (tenant-wide create) sees it too; the reader does not
    assert client.get(f"{IMPORTS}/{mine}", headers=headers["clerk"]).status_code == 200
    assert client.get(f"{IMPORTS}/{mine}", headers=headers["importer"]).status_code == 200
    problem(client.get(f"{IMPORTS}/{mine}", headers=headers["reader"]), 404)
    assert client.get(IMPORTS, headers=headers["reader"]).get_json()["items"] == []
    # the clerk cannot delete parties: undo is refused and changes nothing
    assert "may not delete" in problem(client.post(f"{IMPORTS}/{mine}/undo", headers=headers["clerk"]), 403)["detail"]
    assert names(world) == {"Ada Lovelace", "Grace Hopper"}


def test_undo_is_409_naming_a_record_changed_since(world):
    platform, tenant_id, client, headers = world
    batch = upload(client, headers["importer"], dry_run=False).get_json()["batch"]["id"]
    with platform.db.transaction(tenant_id) as session:
        ada = session.scalar(select(Party).where(Party.display_name == "Ada Lovelace"))
        ada.tags = ["edited"]
        ada_id = ada.id
    body = problem(client.post(f"{IMPORTS}/{batch}/undo", headers=headers["importer"]), 409)
    assert f"core.party #{ada_id} changed since import batch {batch}" in body["detail"]
    assert names(world) == {"Ada Lovelace", "Grace Hopper"}


def test_export_downloads_what_the_user_may_read(world):
    _platform, _tenant, client, headers = world
    upload(client, headers["clerk"], dry_run=False)
    upload(client, headers["importer"], b"display_name\nOther\n", dry_run=False)
    clerk = client.get("/api/v1/exports?target=core.party&format=csv", headers=headers["clerk"])
    assert clerk.status_code == 200 and clerk.mimetype == "text/csv"
    lines = clerk.get_data().decode("utf-8-sig").splitlines()
    assert len(lines) == 3 and "Other" not in clerk.get_data().decode()  # the clerk reads only their own
    vcard = client.get("/api/v1/exports?format=vcard", headers=headers["reader"])
    assert vcard.get_data().count(b"BEGIN:VCARD") == 3
    assert 'filename="core-party.vcf"' in vcard.headers["Content-Disposition"]
    # reading every party is not enough to take them out of the platform: that is the export right
    refused = problem(client.get("/api/v1/exports?target=core.party&format=csv", headers=headers["importer"]), 403)
    assert "may not export core.party" in refused["detail"]
