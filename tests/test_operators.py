"""Platform operators over real HTTP: they run tenants, and read one only while it grants them access.

The operator's rights inside a tenant are read-only, time-limited, revocable by the tenant, and
every request they make there (allowed or refused) lands in that tenant's audit log.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from click.testing import CliRunner
from flask.cli import ScriptInfo
from sqlalchemy import select, update
from xrm_sdk.testing import administrator_headers

from xrm_core import migrate, tenants
from xrm_core.app import create_app
from xrm_core.cli import cli
from xrm_core.graph import service
from xrm_core.identity import operators
from xrm_core.identity.operators import SupportGrant
from xrm_core.models import AuditEntry, TenantStatus


@pytest.fixture
def platform(make_platform):
    platform = make_platform()
    migrate.upgrade(platform)
    with platform.db.transaction(all_tenants=True) as session:
        for slug in ("acme", "globex"):
            tenants.create_tenant(session, slug, slug.title())
    return platform


@pytest.fixture
def client(platform):
    app = create_app(platform=platform)
    app.config["TESTING"] = True
    return app.test_client()


@pytest.fixture
def acme(platform):
    with platform.db.transaction(all_tenants=True) as session:
        acme = tenants.get_tenant(session, "acme")
    with platform.db.transaction(acme.id) as session:
        service.create_party(session, "organization", "Secret Customer Ltd")
    return acme


@pytest.fixture
def operator(platform):
    with platform.db.transaction(all_tenants=True) as session:
        _, token = operators.create_operator(session, "ops@platform.example", "Olga Ops")
    return {"Authorization": f"Bearer {token}"}


def in_tenant(headers: dict[str, str], slug: str) -> dict[str, str]:
    return {**headers, operators.TENANT_HEADER: slug}


def audit(platform, tenant_id: int, action: str) -> list[AuditEntry]:
    with platform.db.session(tenant_id) as session:
        return session.scalars(select(AuditEntry).where(AuditEntry.action == action).order_by(AuditEntry.id)).all()


def test_operators_manage_tenants_but_the_platform_api_shows_no_tenant_data(client, platform, operator, acme):
    listed = client.get("/api/v1/platform/tenants", headers=operator)
    assert listed.status_code == 200
    assert {t["slug"]: t["status"] for t in listed.get_json()} == {"acme": "active", "globex": "active"}
    assert "Secret Customer" not in listed.get_data(as_text=True)

    created = client.post("/api/v1/platform/tenants", headers=operator, json={"slug": "initech", "name": "Initech"})
    assert created.status_code == 201, created.get_json()
    assert created.headers["Location"].endswith("/api/v1/platform/tenants/initech")
    assert client.patch("/api/v1/platform/tenants/initech", headers=operator,
                        json={"status": "suspended"}).get_json()["status"] == "suspended"
    with platform.db.session(all_tenants=True) as session:
        assert tenants.get_tenant(session, "initech").status is TenantStatus.SUSPENDED

    duplicate = client.post("/api/v1/platform/tenants", headers=operator, json={"slug": "acme", "name": "Again"})
    assert duplicate.status_code == 422 and "slug" in duplicate.get_json()["errors"]
    bad = client.post("/api/v1/platform/tenants", headers=operator, json={"slug": "Not A Slug!", "name": "x"})
    assert bad.status_code == 422 and "slug" in bad.get_json()["errors"]
    assert client.get("/api/v1/platform/tenants/nowhere", headers=operator).status_code == 404


def test_the_platform_api_refuses_tenant_users_and_unknown_tokens(client, platform, acme):
    assert client.get("/api/v1/platform/tenants").status_code == 401
    assert client.get("/api/v1/platform/tenants", headers={"Authorization": "Bearer xrm_op_forged"}).status_code == 401
    tenant_admin = administrator_headers(platform, acme.id)
    refused = client.get("/api/v1/platform/tenants", headers=tenant_admin)
    assert refused.status_code == 403
    assert refused.headers["Content-Type"] == "application/problem+json"


def test_without_a_grant_an_operator_reads_nothing_and_the_attempt_is_audited(client, platform, operator, acme):
    refused = client.get("/api/v1/parties", headers=in_tenant(operator, "acme"))
    assert refused.status_code == 403
    assert "no support access" in refused.get_json()["detail"]
    [entry] = audit(platform, acme.id, "support.denied")
    assert entry.actor == "operator:ops@platform.example" and entry.target == "GET /api/v1/parties"
    # Without naming a tenant the operator token is no one's inside tenants.
    assert client.get("/api/v1/parties", headers=operator).status_code == 401


def test_a_grant_gives_read_only_audited_access_until_revoked(client, platform, operator, acme):
    boss = administrator_headers(platform, acme.id)
    granted = client.post("/api/v1/support-access", headers=boss,
                          json={"operator_email": "ops@platform.example", "hours": 2, "reason": "Ticket 4711"})
    assert granted.status_code == 201, granted.get_json()
    grant = granted.get_json()
    assert grant["live"] is True and grant["reason"] == "Ticket 4711"

    parties = client.get("/api/v1/parties", headers=in_tenant(operator, "acme"))
    assert parties.status_code == 200
    assert [p["display_name"] for p in parties.get_json()["items"]] == ["Secret Customer Ltd"]
    [request_entry] = audit(platform, acme.id, "support.request")
    assert request_entry.details["grant_id"] == grant["id"]

    write = client.post("/api/v1/parties", headers=in_tenant(operator, "acme"),
                        json={"kind": "person", "display_name": "Planted"})
    assert write.status_code == 403 and "read-only" in write.get_json()["detail"]
    # The grant is acme's alone: globex stays closed.
    assert client.get("/api/v1/parties", headers=in_tenant(operator, "globex")).status_code == 403

    assert client.delete(f"/api/v1/support-access/{grant['id']}", headers=boss).status_code == 204
    assert client.get("/api/v1/parties", headers=in_tenant(operator, "acme")).status_code == 403
    actions = [e.action for e in audit(platform, acme.id, "support.granted") + audit(platform, acme.id, "support.revoked")]
    assert actions == ["support.granted", "support.revoked"]


def test_an_expired_grant_or_a_deactivated_operator_opens_nothing(client, platform, operator, acme):
    with platform.db.transaction(acme.id) as session:
        grant = operators.grant_support_access(session, "ops@platform.example", timedelta(hours=1), "case 1", None)
    assert client.get("/api/v1/parties", headers=in_tenant(operator, "acme")).status_code == 200
    with platform.db.transaction(acme.id) as session:
        session.execute(update(SupportGrant).where(SupportGrant.id == grant.id)
                        .values(expires_at=datetime.now(UTC) - timedelta(seconds=1)))
    assert client.get("/api/v1/parties", headers=in_tenant(operator, "acme")).status_code == 403

    with platform.db.transaction(acme.id) as session:
        operators.grant_support_access(session, "ops@platform.example", timedelta(hours=1), "case 2", None)
    with platform.db.transaction(all_tenants=True) as session:
        operators.get_operator(session, "ops@platform.example").active = False
    assert client.get("/api/v1/parties", headers=in_tenant(operator, "acme")).status_code == 401
    assert client.get("/api/v1/platform/tenants", headers=operator).status_code == 401


def test_grants_are_bounded_and_need_the_support_access_right(client, platform, operator, acme):
    boss = administrator_headers(platform, acme.id)
    too_long = client.post("/api/v1/support-access", headers=boss,
                           json={"operator_email": "ops@platform.example", "hours": 100, "reason": "forever"})
    assert too_long.status_code == 422 and "hours" in too_long.get_json()["errors"]
    nobody = client.post("/api/v1/support-access", headers=boss,
                         json={"operator_email": "who@nowhere.example", "hours": 1, "reason": "case"})
    assert nobody.status_code == 422 and "operator_email" in nobody.get_json()["errors"]
    with platform.db.session(acme.id) as session:
        assert session.scalars(select(SupportGrant)).all() == []


def test_operators_cli_creates_rotates_and_deactivates(platform):
    runner = CliRunner()
    info = ScriptInfo(create_app=lambda: create_app(platform=platform))
    created = runner.invoke(cli, ["operators", "create", "Ops@Platform.example"], obj=info)
    assert created.exit_code == 0, created.output
    token = created.output.rsplit(" ", 1)[-1].strip()
    with platform.db.transaction(all_tenants=True) as session:
        assert operators.authenticate_operator(session, token).email == "ops@platform.example"
    again = runner.invoke(cli, ["operators", "create", "ops@platform.example"], obj=info)
    assert again.exit_code != 0 and "already exists" in again.output
    assert runner.invoke(cli, ["operators", "rotate", "ops@platform.example"], obj=info).exit_code == 0
    with platform.db.transaction(all_tenants=True) as session, pytest.raises(operators.InvalidOperatorToken):
        operators.authenticate_operator(session, token)
    listed = runner.invoke(cli, ["operators", "list"], obj=info)
    assert "ops@platform.example" in listed.output
