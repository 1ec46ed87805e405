"""``xrm import`` / ``xrm export`` on a real database: one-line errors, exit codes, error reports."""

from __future__ import annotations

import dataclasses
import shutil
from pathlib import Path

import openpyxl
import pytest
from click.testing import CliRunner, Result

from xrm_core.cli import cli
from xrm_core.config import PREFIX, Settings

PASSWORD = "correct horse battery staple 42"
DATA = Path(__file__).parent / "data"
AS_ADMIN = ("--tenant", "acme", "--as", "admin@acme.test")


@pytest.fixture
def xrm(tmp_path, database_url, monkeypatch):
    """``xrm ARGS…`` on this test's instance: tenant ``acme`` with an administrator and a plain user."""
    for setting in dataclasses.fields(Settings):
        monkeypatch.delenv(PREFIX + setting.name.upper(), raising=False)
    monkeypatch.setenv("XRM_INSTANCE_PATH", str(tmp_path / "instance"))
    if database_url:
        monkeypatch.setenv("XRM_DATABASE_URL", database_url)
    runner = CliRunner()

    def run(*args: str, input: str | None = None) -> Result:
        return runner.invoke(cli, [str(a) for a in args], input=input, prog_name="xrm")

    assert run("init").exit_code == 0
    assert run("tenants", "create", "acme").exit_code == 0
    for email, admin in (("admin@acme.test", ("--admin",)), ("bob@acme.test", ())):
        created = run("users", "create", "--tenant", "acme", "--email", email, *admin, "--password-stdin",
                      input=PASSWORD + "\n")
        assert created.exit_code == 0, created.output
    return run


def ok(result: Result) -> str:
    assert result.exit_code == 0, result.output
    return result.output


def fails(result: Result, message: str) -> None:
    assert result.exit_code != 0
    lines = [line for line in result.output.splitlines() if line.strip()]
    assert lines[-1].startswith("Error:") and message in lines[-1], result.output
    assert "Traceback" not in result.output


def test_import_list_export_and_undo(xrm, tmp_path):
    contacts = tmp_path / "contacts.csv"
    shutil.copy(DATA / "google_contacts.csv", contacts)
    output = ok(xrm("import", contacts, "--target", "core.party", *AS_ADMIN, "--mapping", "google",
                    "--match-on", "identifier.email"))
    assert "batch 1: 2 row(s) read, created 2, updated 0, skipped 0, failed 0" in output
    assert "1\tcompleted\tcore.party\tcontacts.csv\tcreated 2" in ok(xrm("import", "list", "--tenant", "acme"))
    again = ok(xrm("import", contacts, *AS_ADMIN, "--mapping", "google", "--match-on", "identifier.email",
                   "--on-match", "skip"))
    assert "created 0, updated 0, skipped 2" in again
    exported = tmp_path / "parties.xlsx"
    assert "Exported 2 record(s)" in ok(xrm("export", exported, *AS_ADMIN))
    sheet = openpyxl.load_workbook(exported).active
    rows = list(sheet.iter_rows(values_only=True))
    assert rows[0][:3] == ("id", "display_name", "kind") and {r[1] for r in rows[1:]} == {"Ada Lovelace", "Grace Hopper"}
    assert "Undid import batch 1" in ok(xrm("import", "undo", "1", *AS_ADMIN))
    assert "Exported 0 record(s)" in ok(xrm("export", exported, *AS_ADMIN))
    fails(xrm("import", "undo", "1", *AS_ADMIN), "import batch 1 is already undone")


def test_failed_rows_are_written_to_a_report_and_exit_non_zero(xrm, tmp_path):
    people = tmp_path / "people.csv"
    people.write_text("display_name,identifier.email\nAda,ada@example.org\nBob,not-an-email\n,x@example.org\n")
    fails(xrm("import", people, *AS_ADMIN, "--dry-run"), "2 error(s), e.g. row 2, column identifier.email")
    report = (tmp_path / "people.csv.errors.csv").read_text().splitlines()
    assert report[0] == "row,column,reason" and report[1].startswith("2,identifier.email,") and report[2].startswith("3,display_name,")
    fails(xrm("import", people, *AS_ADMIN), "Nothing was changed.")
    assert "Exported 0 record(s)" in ok(xrm("export", tmp_path / "out.csv", *AS_ADMIN))
    fails(xrm("import", people, *AS_ADMIN, "--skip-errors"), "2 error(s)")
    assert "Exported 1 record(s)" in ok(xrm("export", tmp_path / "out.csv", *AS_ADMIN))


def test_one_line_errors(xrm, tmp_path):
    people = tmp_path / "people.csv"
    people.write_text("display_name\nAda\n")
    fails(xrm("import", people, "--tenant", "acme", "--as", "bob@acme.test"), "may not create core.party")
    fails(xrm("import", people, "--tenant", "acme", "--as", "nobody@acme.test"), "no active user nobody@acme.test")
    fails(xrm("import", people, *AS_ADMIN, "--target", "core.nothing"), "no import target 'core.nothing'")
    fails(xrm("import", people, *AS_ADMIN, "--map", "display_name=nickname"), "core.party has no field 'nickname'")
    fails(xrm("import", people, *AS_ADMIN, "--map", "display_name"), "use COLUMN=FIELD")
    fails(xrm("import", "resume", "7", people, *AS_ADMIN), "no import batch 7")
    fails(xrm("export", tmp_path / "out.doc", *AS_ADMIN), "cannot tell the format")
    fake = tmp_path / "fake.xlsx"
    fake.write_bytes(b"not a workbook")
    fails(xrm("import", fake, *AS_ADMIN), "not an XLSX workbook")
    assert not (tmp_path / "out.doc").exists()
