"""The audit log: field-level history of records, request context, read API, export, and immutability."""

from __future__ import annotations

import csv
import io
import json
import re
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import delete, inspect, select, update

from xrm_core import migrate, tenants
from xrm_core.audit import AuditImmutable, record
from xrm_core.graph.models import Party
from xrm_core.identity import admin
from xrm_core.identity.catalogue import all_permissions
from xrm_core.identity.models import Scope
from xrm_core.identity.passwords import hash_password
from xrm_core.identity.tokens import create_token
from xrm_core.models import AuditEntry, User
from xrm_core.problems import PROBLEM_JSON

PASSWORD = "correct horse battery staple 42"


@pytest.fixture
def platform(make_platform):
    platform = make_platform("vault")
    migrate.upgrade(platform)
    with platform.db.transaction(all_tenants=True) as session:
        for slug in ("acme", "globex"):
            tenants.enable_plugin(platform, session, tenants.create_tenant(session, slug, slug.title()), "vault")
    return platform


def tenant_id(platform, slug: str) -> int:
    with platform.db.session(all_tenants=True) as session:
        return tenants.get_tenant(session, slug).id


@pytest.fixture
def acme(platform):
    return tenant_id(platform, "acme")


def person(platform, tenant: int, email: str, grants: dict[str, Scope]) -> tuple[int, dict[str, str]]:
    """A user holding ``grants``, and headers carrying a token of theirs."""
    with platform.db.transaction(tenant) as session:
        user = User(email=email, display_name=email, password_hash=hash_password(PASSWORD, email=email))
        session.add(user)
        session.flush()
        if grants:
            role = admin.define_role(session, email, grants, set(all_permissions(platform)))
            admin.assign_role(session, user, role)
        _, token = create_token(session, user, "tests")
        return user.id, {"Authorization": f"Bearer {token}"}


def entries(platform, tenant: int, **where) -> list[AuditEntry]:
    with platform.db.session(tenant) as session:
        statement = select(AuditEntry).order_by(AuditEntry.id)
        for name, value in where.items():
            statement = statement.where(getattr(AuditEntry, name) == value)
        return list(session.scalars(statement))


# -- field-level history ------------------------------------------------------------------------


def test_each_change_of_a_record_is_recorded_field_by_field(platform, acme):
    with platform.db.transaction(acme) as session:
        session.info["audit_actor"] = "job:import"
        party = Party(kind="person", display_name="Bob", tags=["vip"])
        session.add(party)
        session.flush()
        party_id = party.id
    target = f"core.party#{party_id}"
    [created] = entries(platform, acme, target=target)
    assert (created.action, created.actor, created.user_id) == ("core.party.created", "job:import", None)
    assert created.changes["display_name"] == [None, "Bob"] and created.changes["tags"] == [None, ["vip"]]
    at = created.at if created.at.tzinfo else created.at.replace(tzinfo=UTC)  # SQLite gives naive UTC
    assert datetime.now(UTC) - timedelta(minutes=1) < at <= datetime.now(UTC)

    with platform.db.transaction(acme) as session:
        party = session.get(Party, party_id)
        party.display_name = "Robert"
        party.tags = ["vip", "b2b"]
    with platform.db.transaction(acme) as session:
        party = session.get(Party, party_id)
        party.display_name = "Robert"  # the same value: not a change
    with platform.db.transaction(acme) as session:
        session.delete(session.get(Party, party_id))
    history = entries(platform, acme, target=target)
    assert [e.action for e in history] == ["core.party.created", "core.party.updated", "core.party.deleted"]
    assert history[1].changes == {"display_name": ["Bob", "Robert"], "tags": [["vip"], ["vip", "b2b"]]}
    assert history[2].changes["display_name"] == ["Robert", None]


def test_a_change_rolled_back_leaves_no_audit_entry(platform, acme):
    before = len(entries(platform, acme))
    with pytest.raises(RuntimeError), platform.db.transaction(acme) as session:
        session.add(Party(kind="person", display_name="Ghost", tags=[]))
        session.flush()
        raise RuntimeError("abort")
    assert len(entries(platform, acme)) == before


def test_secrets_and_protected_fields_are_masked(platform, acme, client):
    _, headers = person(platform, acme, "vic@acme.test", {
        "vault.dossier.read": Scope.TENANT, "vault.dossier.create": Scope.TENANT,
        "vault.dossier.update": Scope.TENANT, "vault.fee.read": Scope.TENANT})
    created = client.post("/api/v1/vault/dossiers", json={"title": "Merger", "fee": 125000}, headers=headers)
    assert created.status_code == 201, created.get_json()
    dossier = created.get_json()
    client.patch(f"/api/v1/vault/dossiers/{dossier['id']}", json={"fee": 130000, "title": "Merger B"},
                 headers={**headers, "If-Match": dossier["etag"]})
    history = entries(platform, acme, target=f"vault.dossier#{dossier['id']}")
    assert [e.changes["fee"] for e in history] == [[None, "***"], ["***", "***"]]
    assert history[1].changes["title"] == ["Merger", "Merger B"]
    assert "125000" not in json.dumps([e.changes for e in history])
    [user_created] = entries(platform, acme, action="core.user.created")
    assert user_created.changes["password_hash"] == [None, "***"]
    assert user_created.changes["email"] == [None, "vic@acme.test"]
    token = entries(platform, acme, action="core.token.created")[0]
    assert token.changes["token_hash"] == [None, "***"]


def test_using_a_token_is_not_a_change(platform, acme, client):
    _, headers = person(platform, acme, "wes@acme.test", {"core.audit.read": Scope.TENANT})
    before = len(entries(platform, acme))
    for _ in range(3):
        assert client.get("/api/v1/audit", headers=headers).status_code == 200
    assert len(entries(platform, acme)) == before


# -- who, where, which request ------------------------------------------------------------------


def test_an_api_change_records_the_user_address_agent_and_request_id(platform, acme, client):
    user_id, headers = person(platform, acme, "xia@acme.test", {"core.team.create": Scope.TENANT})
    response = client.post("/api/v1/teams", json={"name": "Ops"}, headers={
        **headers, "User-Agent": "xrm-tests/1.0", "X-Request-ID": "req-42"}, environ_base={"REMOTE_ADDR": "10.1.2.3"})
    assert response.status_code == 201 and response.headers["X-Request-ID"] == "req-42"
    for entry in entries(platform, acme, request_id="req-42"):
        assert (entry.actor, entry.user_id, entry.ip, entry.user_agent) == (
            f"user:{user_id}", user_id, "10.1.2.3", "xrm-tests/1.0")
    assert {e.action for e in entries(platform, acme, request_id="req-42")} == {"team.created", "core.team.created"}


def test_a_request_id_is_made_when_missing_or_malformed(client):
    made = client.get("/api/v1/health").headers["X-Request-ID"]
    assert re.fullmatch(r"[0-9a-f]{32}", made)
    assert client.get("/api/v1/health", headers={"X-Request-ID": "bad id with spaces"}).headers["X-Request-ID"] != \
        "bad id with spaces"
    assert client.get("/api/v1/health").headers["X-Request-ID"] != made


def test_failed_sign_ins_and_refusals_are_recorded(platform, acme, client):
    page = client.get("/login").get_data(as_text=True)
    csrf = re.search(r'name="csrf_token" value="([^"]+)"', page).group(1)
    person(platform, acme, "yan@acme.test", {})
    response = client.post("/login", data={"csrf_token": csrf, "tenant": "acme", "email": "yan@acme.test",
                                           "password": "wrong password here"}, headers={"User-Agent": "curl/8"})
    assert response.status_code == 401
    [failed] = entries(platform, acme, action="auth.login_failed")
    assert (failed.actor, failed.target, failed.ip, failed.user_agent) == ("anonymous", "yan@acme.test", "127.0.0.1",
                                                                           "curl/8")
    user_id, headers = person(platform, acme, "zoe@acme.test", {"vault.dossier.read": Scope.OWN})
    assert client.post("/api/v1/vault/dossiers", json={"title": "x"}, headers=headers).status_code == 403
    [denied] = entries(platform, acme, action="auth.denied")
    assert (denied.user_id, denied.target) == (user_id, "POST /api/v1/vault/dossiers")
    assert "may not create vault.dossier" in denied.details["detail"]


# -- append-only --------------------------------------------------------------------------------


def test_the_orm_refuses_to_change_or_delete_an_audit_entry(platform, acme):
    with platform.db.transaction(acme) as session:
        record(session, "cli", "test.recorded", "x")
    with platform.db.session(acme) as session:
        entry_id = session.scalar(select(AuditEntry.id).where(AuditEntry.action == "test.recorded"))
        entry = session.get(AuditEntry, entry_id)
        entry.action = "test.forged"
        with pytest.raises(AuditImmutable, match="cannot be changed"):
            session.flush()
        session.rollback()
        session.delete(session.get(AuditEntry, entry_id))
        with pytest.raises(AuditImmutable, match="cannot be deleted"):
            session.flush()
        session.rollback()
        with pytest.raises(AuditImmutable, match="append-only"):
            session.execute(update(AuditEntry).where(AuditEntry.id == entry_id).values(actor="nobody"))
        with pytest.raises(AuditImmutable, match="append-only"):
            session.execute(delete(AuditEntry))
    with platform.db.session(acme) as session:
        kept = session.get(AuditEntry, entry_id)
        assert (kept.action, kept.actor) == ("test.recorded", "cli")
        assert not inspect(kept).modified


def test_the_api_has_no_way_to_change_the_log(platform, acme, client):
    _, headers = person(platform, acme, "ada@acme.test", {"core.audit.read": Scope.TENANT})
    entry_id = entries(platform, acme)[0].id
    for method in ("put", "patch", "delete", "post"):
        response = getattr(client, method)("/api/v1/audit", json={}, headers=headers)
        assert response.status_code == 405 and response.mimetype == PROBLEM_JSON
        assert getattr(client, method)(f"/api/v1/audit/{entry_id}", json={}, headers=headers).status_code == 404


# -- read API and export ------------------------------------------------------------------------


def seed_log(platform, tenant: int) -> list[int]:
    """Five entries an hour apart, ending an hour ago, about two targets."""
    start = datetime.now(UTC) - timedelta(hours=5)
    with platform.db.transaction(tenant) as session:
        rows = [AuditEntry(at=start + timedelta(hours=i), actor="user:7" if i % 2 else "cli", action=f"thing.{verb}",
                           target=f"thing#{i % 2}", details={"i": i})
                for i, verb in enumerate(("made", "changed", "changed", "shared", "removed"))]
        session.add_all(rows)
        session.flush()
        return [row.id for row in rows]


def test_the_log_is_read_newest_first_filtered_and_keyset_paged(platform, acme, client):
    ids = seed_log(platform, acme)
    seed_log(platform, tenant_id(platform, "globex"))
    _, headers = person(platform, acme, "bea@acme.test", {"core.audit.read": Scope.TENANT})
    seen, url = [], "/api/v1/audit?action__contains=thing.&limit=2"
    while url:
        page = client.get(url, headers=headers)
        assert page.status_code == 200, page.get_json()
        seen += [e["id"] for e in page.get_json()["items"]]
        cursor = page.get_json()["next_cursor"]
        url = f"/api/v1/audit?action__contains=thing.&limit=2&cursor={cursor}" if cursor else None
    assert seen == list(reversed(ids))  # newest first; globex's entries never appear

    def ids_for(query: str) -> list[int]:
        response = client.get(f"/api/v1/audit?{query}", headers=headers)
        assert response.status_code == 200, response.get_json()
        return [e["id"] for e in response.get_json()["items"]]

    assert ids_for("target=thing%231") == [ids[3], ids[1]]
    assert ids_for("actor=cli&action=thing.changed") == [ids[2]]
    assert ids_for("action__in=thing.made,thing.removed") == [ids[4], ids[0]]
    since = (datetime.now(UTC) - timedelta(hours=3, minutes=30)).isoformat()
    until = (datetime.now(UTC) - timedelta(hours=1, minutes=30)).isoformat()
    assert ids_for(f"since={since.replace('+', '%2B')}&until={until.replace('+', '%2B')}") == [ids[3], ids[2]]
    body = client.get("/api/v1/audit?since=yesterday", headers=headers).get_json()
    assert body["status"] == 422 and "since" in body["errors"]
    assert "operation" in client.get("/api/v1/audit?operation=x", headers=headers).get_json()["errors"]
    entry = client.get("/api/v1/audit?target=thing%230&limit=1", headers=headers).get_json()["items"][0]
    assert set(entry) >= {"at", "actor", "user_id", "action", "target", "ip", "user_agent", "request_id", "changes"}


def test_the_log_is_exported_as_csv_or_json_lines_with_its_own_permission(platform, acme, client):
    ids = seed_log(platform, acme)
    with platform.db.transaction(acme) as session:
        session.add(AuditEntry(actor="cli", action="thing.named", target="=HYPERLINK(\"http://x\")", details={}))
    _, reader = person(platform, acme, "cyd@acme.test", {"core.audit.read": Scope.TENANT})
    _, exporter = person(platform, acme, "dan@acme.test", {"core.audit.export": Scope.TENANT})
    assert client.get("/api/v1/audit/export", headers=reader).status_code == 403
    response = client.get("/api/v1/audit/export?action=thing.changed", headers=exporter)
    assert response.status_code == 200 and response.mimetype == "text/csv"
    assert response.is_streamed and "attachment" in response.headers["Content-Disposition"]
    rows = list(csv.DictReader(io.StringIO(response.get_data(as_text=True))))
    assert [int(r["id"]) for r in rows] == [ids[1], ids[2]]  # oldest first
    assert json.loads(rows[0]["details"]) == {"i": 1}
    lines = client.get("/api/v1/audit/export?format=jsonl&action=thing.*", headers=exporter).get_data(as_text=True)
    exported = [json.loads(line) for line in lines.splitlines()]
    assert [e["id"] for e in exported][:5] == ids and exported[-1]["action"] == "thing.named"
    named = list(csv.DictReader(io.StringIO(client.get("/api/v1/audit/export?action=thing.named",
                                                        headers=exporter).get_data(as_text=True))))
    assert named[0]["target"].startswith("'=")  # a spreadsheet shows it, never runs it
    bad = client.get("/api/v1/audit/export?format=xml", headers=exporter)
    assert bad.status_code == 422 and "format" in bad.get_json()["errors"]


# -- migration ----------------------------------------------------------------------------------


def test_the_audit_migration_goes_down_and_up(make_platform):
    from sqlalchemy import inspect as inspect_db

    platform = make_platform()
    migrate.upgrade(platform)
    added = {"ip", "user_agent", "request_id", "changes"}

    def columns() -> set[str]:
        return {c["name"] for c in inspect_db(platform.db.engine).get_columns("core_audit_log")}

    assert added <= columns()
    migrate.downgrade(platform, "core", "core_0010")
    assert not added & columns()
    migrate.upgrade(platform)
    assert added <= columns()
