"""Tenant administration from the ``xrm`` command, run through click's CliRunner on a real database."""

from __future__ import annotations

import csv
import dataclasses
import hashlib
import io
import json

import pytest
from click.testing import CliRunner, Result
from sqlalchemy import select

from xrm_core.cli import cli
from xrm_core.config import PREFIX, Settings, load_settings
from xrm_core.identity.models import ApiToken, Department, Role, Team, TeamMember
from xrm_core.identity.principal import load_principal
from xrm_core.models import AuditEntry, Tenant, User
from xrm_core.platform import Platform

PASSWORD = "correct horse battery staple 42"


@pytest.fixture
def xrm(tmp_path, database_url, monkeypatch):
    """Run ``xrm ARGS…`` against this test's instance and database, with tenant ``acme`` and a user."""
    for setting in dataclasses.fields(Settings):
        monkeypatch.delenv(PREFIX + setting.name.upper(), raising=False)
    monkeypatch.setenv("XRM_INSTANCE_PATH", str(tmp_path / "instance"))
    if database_url:
        monkeypatch.setenv("XRM_DATABASE_URL", database_url)
    runner = CliRunner()

    def run(*args: str, input: str | None = None) -> Result:
        return runner.invoke(cli, list(args), input=input, prog_name="xrm")

    assert run("init").exit_code == 0
    assert run("tenants", "create", "acme").exit_code == 0
    assert run("tenants", "create", "globex").exit_code == 0
    for email in ("ann@acme.test", "bob@acme.test"):
        created = run("users", "create", "--tenant", "acme", "--email", email, "--password-stdin", input=PASSWORD + "\n")
        assert created.exit_code == 0, created.output
    return run


@pytest.fixture
def db(tmp_path, database_url):
    platform = Platform(load_settings(environ={}, instance_path=tmp_path / "instance", database_url=database_url),
                        plugins=[])
    yield platform
    platform.db.dispose()


def acme_session(db):
    with db.db.session(all_tenants=True) as session:
        tenant_id = session.scalar(select(Tenant.id).where(Tenant.slug == "acme"))
    return db.db.session(tenant_id)


def ok(result: Result) -> str:
    assert result.exit_code == 0, result.output
    return result.output


def fails(result: Result, message: str) -> None:
    """The command failed with one line ``Error: …`` containing ``message``, and no traceback."""
    assert result.exit_code != 0
    lines = [line for line in result.output.splitlines() if line.strip()]
    assert lines[-1].startswith("Error:") and message in lines[-1], result.output
    assert "Traceback" not in result.output


def test_roles_are_defined_granted_revoked_and_listed(xrm, db):
    ok(xrm("roles", "define", "Sales", "--grant", "core.party.read@department", "--grant", "core.party.update@own",
           "--description", "Sales people", "--tenant", "acme"))
    ok(xrm("users", "grant-role", "ann@acme.test", "Sales", "--tenant", "acme"))
    with acme_session(db) as session:
        ann = session.scalar(select(User).where(User.email == "ann@acme.test"))
        assert set(load_principal(session, ann).grants) == {"core.party.read", "core.party.update"}
        assert session.scalar(select(Role.description).where(Role.name == "Sales")) == "Sales people"
    listed = ok(xrm("roles", "list", "--tenant", "acme"))
    assert "Sales" in listed and "core.party.read@department" in listed
    assert "Sales" in ok(xrm("users", "list", "--tenant", "acme"))
    ok(xrm("users", "revoke-role", "ann@acme.test", "Sales", "--tenant", "acme"))
    with acme_session(db) as session:
        assert load_principal(session, session.scalar(select(User).where(User.email == "ann@acme.test"))).grants == {}
    fails(xrm("roles", "define", "Bad", "--grant", "core.party.fly@own", "--tenant", "acme"),
          "unknown permission 'core.party.fly'")
    fails(xrm("roles", "define", "Bad", "--grant", "core.party.read", "--tenant", "acme"), "permission@scope")
    fails(xrm("users", "grant-role", "ann@acme.test", "Nope", "--tenant", "acme"), "no role 'Nope'")
    fails(xrm("users", "grant-role", "zed@acme.test", "Sales", "--tenant", "acme"), "no user 'zed@acme.test'")


def test_departments_are_created_moved_and_assigned_by_name_or_path(xrm, db):
    ok(xrm("departments", "create", "HQ", "--tenant", "acme"))
    ok(xrm("departments", "create", "Sales", "--parent", "HQ", "--tenant", "acme"))
    ok(xrm("departments", "create", "Europe", "--tenant", "acme"))
    ok(xrm("departments", "create", "Sales", "--parent", "Europe", "--tenant", "acme"))
    fails(xrm("users", "set-department", "ann@acme.test", "Sales", "--tenant", "acme"), "give its path")
    ok(xrm("users", "set-department", "ann@acme.test", "HQ/Sales", "--tenant", "acme"))
    ok(xrm("departments", "create", "North", "--parent", "HQ/Sales", "--tenant", "acme"))
    fails(xrm("departments", "move", "HQ", "--to", "HQ/Sales/North", "--tenant", "acme"), "below itself")
    ok(xrm("departments", "move", "HQ/Sales", "--to", "Europe/Sales", "--tenant", "acme"))
    tree = ok(xrm("departments", "list", "--tenant", "acme"))
    assert tree.splitlines() == [
        "Europe  (0 user(s))", "  Sales  (0 user(s))", "    Sales  (1 user(s))", "      North  (0 user(s))",
        "HQ  (0 user(s))"]
    ok(xrm("departments", "move", "Europe/Sales/Sales", "--top", "--tenant", "acme"))
    fails(xrm("departments", "move", "HQ", "--tenant", "acme"), "either --to PARENT or --top")
    fails(xrm("departments", "create", "HQ", "--tenant", "acme"), "already a department 'HQ'")
    with acme_session(db) as session:
        ann = session.scalar(select(User).where(User.email == "ann@acme.test"))
        assert session.get(Department, ann.department_id).path == f"/{ann.department_id}/"
    ok(xrm("users", "set-department", "ann@acme.test", "--tenant", "acme"))
    with acme_session(db) as session:
        assert session.scalar(select(User.department_id).where(User.email == "ann@acme.test")) is None


def test_teams_are_created_and_get_members(xrm, db):
    ok(xrm("teams", "create", "Key accounts", "--member", "ann@acme.test", "--tenant", "acme"))
    ok(xrm("teams", "add-member", "Key accounts", "bob@acme.test", "--tenant", "acme"))
    ok(xrm("teams", "add-member", "Key accounts", "bob@acme.test", "--tenant", "acme"))
    assert "ann@acme.test, bob@acme.test" in ok(xrm("teams", "list", "--tenant", "acme"))
    with acme_session(db) as session:
        team = session.scalar(select(Team).where(Team.name == "Key accounts"))
        assert len(session.scalars(select(TeamMember).where(TeamMember.team_id == team.id)).all()) == 2
    fails(xrm("teams", "create", "Key accounts", "--tenant", "acme"), "already exists")
    fails(xrm("teams", "add-member", "Nope", "bob@acme.test", "--tenant", "acme"), "no team 'Nope'")


def test_tokens_are_printed_once_stored_hashed_and_revoked(xrm, db):
    ok(xrm("roles", "define", "Reader", "--grant", "core.party.read@own", "--tenant", "acme"))
    ok(xrm("users", "grant-role", "ann@acme.test", "Reader", "--tenant", "acme"))
    created = xrm("tokens", "create", "--user", "ann@acme.test", "--name", "laptop", "--permission", "core.party.read",
                  "--expires", "2999-01-01", "--tenant", "acme")
    token = ok(created).strip().splitlines()[-1]
    assert token.startswith("xrm_")
    with acme_session(db) as session:
        row = session.scalar(select(ApiToken).where(ApiToken.name == "laptop"))
        assert row.token_hash == hashlib.sha256(token.encode()).hexdigest() and row.permissions == ["core.party.read"]
    listed = ok(xrm("tokens", "list", "--tenant", "acme"))
    assert "laptop" in listed and token not in listed
    fails(xrm("tokens", "create", "--user", "ann@acme.test", "--name", "x", "--permission", "core.user.delete",
              "--tenant", "acme"), "does not hold core.user.delete")
    fails(xrm("tokens", "create", "--user", "ann@acme.test", "--name", "x", "--expires", "2001-01-01",
              "--tenant", "acme"), "must be in the future")
    fails(xrm("tokens", "create", "--user", "ann@acme.test", "--name", "x", "--expires", "soon", "--tenant", "acme"),
          "not a date")
    ok(xrm("tokens", "revoke", str(row.id), "--tenant", "acme"))
    with acme_session(db) as session:
        assert session.get(ApiToken, row.id).revoked_at is not None
    fails(xrm("tokens", "revoke", str(row.id), "--tenant", "globex"), f"no token {row.id}")


def test_deactivating_a_user_from_the_command_line(xrm, db):
    ok(xrm("users", "deactivate", "bob@acme.test", "--tenant", "acme"))
    with acme_session(db) as session:
        assert session.scalar(select(User.active).where(User.email == "bob@acme.test")) is False
    assert "bob@acme.test" not in ok(xrm("users", "list", "--tenant", "acme"))
    assert "bob@acme.test" in ok(xrm("users", "list", "--inactive", "--tenant", "acme"))
    fails(xrm("users", "deactivate", "bob@acme.test", "--tenant", "nowhere"), "nowhere")


def test_every_change_is_audited_as_cli_and_the_log_is_listed_and_exported(xrm, db, tmp_path):
    ok(xrm("departments", "create", "HQ", "--tenant", "acme"))
    ok(xrm("users", "set-department", "ann@acme.test", "HQ", "--tenant", "acme"))
    with acme_session(db) as session:
        entry = session.scalar(select(AuditEntry).where(AuditEntry.action == "core.user.updated"))
        hq = session.scalar(select(Department.id).where(Department.name == "HQ"))
        ann = session.scalar(select(User.id).where(User.email == "ann@acme.test"))
    assert (entry.actor, entry.target, entry.changes) == ("cli", f"core.user#{ann}", {"department_id": [None, hq]})
    listed = ok(xrm("audit", "list", "--action", "core.user.*", "--tenant", "acme"))
    assert "core.user.updated" in listed and "core.user.created" in listed and "department.created" not in listed
    exported = ok(xrm("audit", "export", "--target", f"core.user#{ann}", "--format", "csv", "--tenant", "acme"))
    rows = list(csv.DictReader(io.StringIO(exported)))
    assert [r["action"] for r in rows] == ["core.user.created", "core.user.updated"]
    assert json.loads(rows[0]["changes"])["password_hash"] == [None, "***"]
    target = tmp_path / "audit.jsonl"
    ok(xrm("audit", "export", "--format", "jsonl", "-o", str(target), "--since", "2000-01-01", "--tenant", "acme"))
    lines = [json.loads(line) for line in target.read_text().splitlines()]
    assert {"department.created", "core.department.created", "user.department_changed"} <= {e["action"] for e in lines}
    assert ok(xrm("audit", "export", "--format", "jsonl", "--until", "2000-01-01", "--tenant", "acme")) == ""
    other = ok(xrm("audit", "list", "--tenant", "globex"))
    assert "tenant.created  globex" in other and "core.user" not in other and "HQ" not in other
    assert "No audit entries" in ok(xrm("audit", "list", "--actor", "user:1", "--tenant", "globex"))
    fails(xrm("audit", "list", "--since", "yesterday", "--tenant", "acme"), "not a date")
    assert xrm("audit", "export", "--format", "xml", "--tenant", "acme").exit_code == 2


def test_commands_explain_themselves():
    runner = CliRunner()
    for group in ("users", "roles", "departments", "teams", "tokens", "audit"):
        result = runner.invoke(cli, [group, "--help"], prog_name="xrm")
        assert result.exit_code == 0
        assert "Commands:" in result.output
    assert "--tenant" in runner.invoke(cli, ["tokens", "create", "--help"], prog_name="xrm").output
