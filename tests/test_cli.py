"""The ``xrm`` command, run through click's CliRunner with its configuration from the environment."""

from __future__ import annotations

import dataclasses
import json
import re
import zipfile

import click
import pytest
import yaml
from click.testing import CliRunner, Result
from plugin_dists import DISTS
from sqlalchemy import func, select, text
from werkzeug.security import check_password_hash
from xrm_fx_notes.plugin import Note

from xrm_core import demo as core_demo
from xrm_core.events.models import OutboxEvent
from xrm_core.graph.models import Party, Relationship
from xrm_core.cli import DEMO_ADMIN, DEMO_PASSWORD, DEMO_TENANT, cli
from xrm_core.config import PREFIX, Settings, load_settings
from xrm_core.models import AuditEntry, Tenant, User
from xrm_core.platform import Platform


@pytest.fixture
def instance(tmp_path):
    return tmp_path / "instance"


@pytest.fixture
def xrm(instance, database_url, monkeypatch):
    """Run ``xrm ARGS…`` against this test's instance folder and database."""
    for setting in dataclasses.fields(Settings):
        monkeypatch.delenv(PREFIX + setting.name.upper(), raising=False)
    monkeypatch.setenv("XRM_INSTANCE_PATH", str(instance))
    # Only the fixture plugins a test installs: not the first-party plugins installed in the venv.
    monkeypatch.setenv("XRM_PLUGINS", "none")
    if database_url:
        monkeypatch.setenv("XRM_DATABASE_URL", database_url)
    runner = CliRunner()

    def run(*args: str, input: str | None = None) -> Result:
        return runner.invoke(cli, list(args), input=input, prog_name="xrm")

    return run


@pytest.fixture
def inspect_db(instance, database_url):
    """A platform on the same database as the CLI, to check what the commands did."""
    platform = Platform(load_settings(environ={}, instance_path=instance, database_url=database_url), plugins=[])
    yield platform
    platform.db.dispose()


@pytest.fixture
def install(tmp_path, monkeypatch):
    """Install fixture plugin distributions where the CLI's plugin discovery looks (sys.path)."""
    site = tmp_path / "site-packages"

    installed: set[str] = set()

    def install_(*names: str) -> None:
        site.mkdir(exist_ok=True)
        for name in names:
            DISTS[name].write(site)
            installed.add(DISTS[name].entry_point)
        monkeypatch.syspath_prepend(str(site))
        monkeypatch.setenv("XRM_PLUGINS", ",".join(sorted(installed)))

    return install_


def ok(result: Result) -> str:
    """Assert the command succeeded; return its standard output with whitespace (and wrapping) folded."""
    assert result.exit_code == 0, f"exit {result.exit_code}: {result.output}\n{result.exception!r}"
    return " ".join(result.stdout.split())


def one_line_error(result: Result) -> str:
    """Assert the command failed the deliberate way: exit code 1 and a single ``Error: …`` line."""
    assert result.exit_code == 1, result.output
    assert isinstance(result.exception, SystemExit), f"unhandled {result.exception!r}"
    assert "Traceback" not in result.output
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("Error: "), result.stderr
    return lines[0]


def table_rows(output: str) -> list[list[str]]:
    """The body rows of a table printed by the CLI, as lists of cell texts."""
    rows = [line for line in output.splitlines() if line.startswith("│")]
    return [[cell.strip() for cell in row.strip("│").split("│")] for row in rows]


def exported(xrm, slug: str) -> dict:
    result = xrm("tenants", "export", slug)
    ok(result)
    return yaml.safe_load(result.stdout)


# -- help ----------------------------------------------------------------------------------------


def _walk(group: click.Group, ctx: click.Context, path: tuple[str, ...] = ()):
    for name in group.list_commands(ctx):
        command = group.get_command(ctx, name)
        yield (*path, name), command
        if isinstance(command, click.Group):
            yield from _walk(command, click.Context(command, info_name=name, parent=ctx), (*path, name))


def _all_commands() -> list[tuple[tuple[str, ...], click.Command]]:
    with cli.make_context("xrm", [], resilient_parsing=True) as ctx:
        return list(_walk(cli, ctx))


def test_every_command_and_subcommand_has_help(xrm):
    commands = _all_commands()
    assert {"init", "serve", "demo", "db", "tenants", "plugins", "users"} <= {path[0] for path, _ in commands}
    assert ("tenants", "apply") in {path for path, _ in commands}

    for path, command in commands:
        assert (command.help or "").strip(), f"xrm {' '.join(path)} has no help text"
        result = xrm(*path, "--help")
        text = ok(result)
        assert f"Usage: xrm {' '.join(path)}" in text
        assert " ".join(command.help.split("\n\n")[0].split()) in text


def test_plugin_command_groups_have_help_and_run(xrm, install):
    install("notes")

    assert ("notes", "count") in {path for path, _ in _all_commands()}
    assert "Commands of the Notes plugin." in ok(xrm("notes", "--help"))
    assert "Print how many notes exist in every tenant." in ok(xrm("notes", "count", "--help"))
    assert ok(xrm("notes", "count")) == "notes: ok"


def test_help_works_even_when_the_configuration_is_unusable(xrm, monkeypatch):
    monkeypatch.setenv("XRM_ENV", "production")  # and no XRM_SECRET_KEY

    result = xrm("--help")

    assert "tenants" in ok(result)
    assert "Traceback" not in result.output and result.stderr == ""


def test_version_option_prints_the_core_version(xrm):
    from xrm_core import __version__

    assert ok(xrm("--version")) == f"xrm, version {__version__}"


# -- init and db ---------------------------------------------------------------------------------


def test_upgrade_plan_lists_the_core_revisions_without_applying_them(xrm):
    plan = xrm("db", "upgrade", "--plan")
    lines = [line.split() for line in plan.stdout.splitlines() if line.startswith("core ")]
    revisions = [line[1] for line in lines]

    assert revisions and f"{len(revisions)} revision(s) to apply" in ok(plan)
    assert ok(xrm("db", "current")) == "core (not installed)"


def test_init_brings_the_core_to_its_latest_revision(xrm):
    plan = xrm("db", "upgrade", "--plan")
    latest = [line.split()[1] for line in plan.stdout.splitlines() if line.startswith("core ")][-1]

    assert "Instance ready in" in ok(xrm("init"))

    assert ok(xrm("db", "current")) == f"core {latest}"
    assert ok(xrm("db", "upgrade", "--plan")) == "Nothing to do: the schema is current"
    assert ok(xrm("db", "upgrade")) == "Nothing to do: the schema is current"
    assert ok(xrm("init")).startswith("Instance ready in")  # running it again is harmless


def test_db_upgrade_migrates_installed_plugins_too(xrm, install):
    install("notes", "tasks")

    plan = ok(xrm("db", "upgrade", "--plan"))
    assert "notes notes_0001" in plan and "tasks tasks_0001" in plan
    assert plan.index("core ") < plan.index("notes notes_0001") < plan.index("tasks tasks_0001")

    planned = int(re.search(r"(\d+) revision\(s\) to apply", plan).group(1))
    assert planned >= 3
    assert ok(xrm("db", "upgrade")).startswith(f"Applied {planned} revision(s)")
    current = ok(xrm("db", "current"))
    assert "notes notes_0001" in current and "tasks tasks_0001" in current


def test_downgrading_a_plugin_enabled_somewhere_is_refused(xrm, install):
    install("notes")
    ok(xrm("init"))
    ok(xrm("tenants", "create", "acme"))
    ok(xrm("plugins", "enable", "notes", "--tenant", "acme"))

    error = one_line_error(xrm("db", "downgrade", "notes", "--yes"))

    assert "notes" in error and "acme" in error
    assert "notes notes_0001" in ok(xrm("db", "current"))


# -- tenants -------------------------------------------------------------------------------------


def test_tenant_lifecycle_create_list_rename_suspend_resume(xrm):
    ok(xrm("init"))

    assert ok(xrm("tenants", "create", "acme", "--name", "ACME Corp")) == "Created tenant acme (ACME Corp)"
    assert ok(xrm("tenants", "create", "globex")) == "Created tenant globex (globex)"
    assert table_rows(xrm("tenants", "list").stdout) == [
        ["acme", "ACME Corp", "active", ""],
        ["globex", "globex", "active", ""],
    ]

    assert ok(xrm("tenants", "rename", "globex", "Globex Inc")) == "Renamed globex"
    assert ok(xrm("tenants", "suspend", "acme")) == "Suspended acme"
    assert table_rows(xrm("tenants", "list").stdout) == [
        ["acme", "ACME Corp", "suspended", ""],
        ["globex", "Globex Inc", "active", ""],
    ]

    assert ok(xrm("tenants", "resume", "acme")) == "Resumed acme"
    assert exported(xrm, "acme")["status"] == "active"


def test_creating_a_duplicate_tenant_is_a_one_line_error(xrm):
    ok(xrm("init"))
    ok(xrm("tenants", "create", "acme"))

    assert one_line_error(xrm("tenants", "create", "acme")) == "Error: tenant 'acme' already exists"


def test_an_invalid_slug_is_a_one_line_error(xrm):
    ok(xrm("init"))

    assert "'Not Valid'" in one_line_error(xrm("tenants", "create", "Not Valid"))


@pytest.mark.parametrize("command", [("rename", "ghost", "Ghost"), ("suspend", "ghost"), ("resume", "ghost"),
                                     ("export", "ghost")])
def test_commands_on_an_unknown_tenant_are_one_line_errors(xrm, command):
    ok(xrm("init"))

    assert one_line_error(xrm("tenants", *command)) == "Error: no tenant 'ghost'"


def test_tenant_names_are_printed_verbatim(xrm):
    ok(xrm("init"))

    assert ok(xrm("tenants", "create", "odd", "--name", "[/odd] [bold]name :smile:")) == (
        "Created tenant odd ([/odd] [bold]name :smile:)"
    )
    assert table_rows(xrm("tenants", "list").stdout) == [["odd", "[/odd] [bold]name :smile:", "active", ""]]


def test_export_writes_a_manifest_that_apply_accepts_without_change(xrm, tmp_path):
    ok(xrm("init"))
    ok(xrm("tenants", "create", "acme", "--name", "ACME"))
    ok(xrm("tenants", "suspend", "acme"))
    manifest = tmp_path / "acme.yaml"

    assert ok(xrm("tenants", "export", "acme", "-o", str(manifest))) == ""

    assert yaml.safe_load(manifest.read_text()) == exported(xrm, "acme")
    assert yaml.safe_load(manifest.read_text()) | {"plugins": None} == {
        "version": 1, "tenant": "acme", "name": "ACME", "status": "suspended", "plugins": None
    }
    assert ok(xrm("tenants", "apply", str(manifest))) == "No change: the tenant already matches"


def test_apply_creates_and_changes_a_tenant_and_reports_each_change(xrm, tmp_path):
    ok(xrm("init"))
    manifest = tmp_path / "globex.yaml"
    manifest.write_text("tenant: globex\nname: Globex\n")

    assert ok(xrm("tenants", "apply", str(manifest))) == "created tenant globex"

    manifest.write_text("tenant: globex\nname: Globex Inc\nstatus: suspended\n")
    assert xrm("tenants", "apply", str(manifest)).stdout.splitlines() == ["renamed to 'Globex Inc'", "status suspended"]
    assert table_rows(xrm("tenants", "list").stdout) == [["globex", "Globex Inc", "suspended", ""]]


@pytest.mark.parametrize("text, named", [
    ("tenant: acme\nflavour: mint\n", "flavour"),
    ("tenant: acme\nplugins:\n  nope: {}\n", "plugins.nope"),
    ("tenant: acme\nname: a: b\n", "line 2"),
])
def test_an_invalid_manifest_is_a_one_line_error_and_changes_nothing(xrm, tmp_path, text, named):
    ok(xrm("init"))
    manifest = tmp_path / "bad.yaml"
    manifest.write_text(text)

    assert named in one_line_error(xrm("tenants", "apply", str(manifest)))
    assert table_rows(xrm("tenants", "list").stdout) == []


# -- plugins -------------------------------------------------------------------------------------


def test_enabling_an_unknown_plugin_is_a_one_line_error_naming_it(xrm):
    ok(xrm("init"))
    ok(xrm("tenants", "create", "acme"))

    error = one_line_error(xrm("plugins", "enable", "nope", "--tenant", "acme"))

    assert "'nope'" in error and "not installed" in error


def test_enabling_a_plugin_enables_what_it_requires_and_shows_where(xrm, install):
    install("notes", "tasks")
    ok(xrm("init"))
    ok(xrm("tenants", "create", "acme"))

    assert ok(xrm("plugins", "enable", "tasks", "--tenant", "acme")) == "Enabled notes, tasks for acme"
    assert ok(xrm("plugins", "enable", "tasks", "--tenant", "acme")) == "tasks was already enabled for acme"

    rows = {row[0]: row for row in table_rows(xrm("plugins", "list").stdout)}
    assert rows["notes"][1] == "0.1.0" and rows["notes"][4] == "acme"
    assert table_rows(xrm("tenants", "list").stdout) == [["acme", "acme", "active", "notes, tasks"]]

    error = one_line_error(xrm("plugins", "disable", "notes", "--tenant", "acme"))
    assert "tasks" in error
    assert ok(xrm("plugins", "disable", "tasks", "--tenant", "acme")).startswith("Disabled tasks for acme")
    assert table_rows(xrm("tenants", "list").stdout) == [["acme", "acme", "active", "notes"]]


def test_xrm_plugins_loads_only_the_named_plugins_and_what_they_require(xrm, install, monkeypatch):
    install("notes", "tasks", "ledger")
    ok(xrm("init"))
    monkeypatch.setenv("XRM_PLUGINS", "tasks")
    assert sorted(row[0] for row in table_rows(xrm("plugins", "list").stdout)) == ["notes", "tasks"]
    monkeypatch.setenv("XRM_PLUGINS", "none")
    assert "ledger" not in xrm("plugins", "list").stdout
    monkeypatch.setenv("XRM_PLUGINS", "tasks, nosuch")
    error = one_line_error(xrm("plugins", "list"))
    assert "XRM_PLUGINS names nosuch, which is not installed" in error and "ledger" in error


def test_plugin_info_describes_an_installed_plugin_and_refuses_an_unknown_one(xrm, install):
    install("notes")

    info = ok(xrm("plugins", "info", "notes"))

    assert info.startswith("Notes (notes) 0.1.0 Free-text notes.")
    assert "distribution: xrm-fx-notes" in info and "xrm_navigation" in info
    assert one_line_error(xrm("plugins", "info", "nope")) == "Error: plugin 'nope' is not installed"


# -- users ---------------------------------------------------------------------------------------


def test_users_create_reads_the_password_from_stdin_and_stores_only_a_hash(xrm, inspect_db):
    ok(xrm("init"))
    ok(xrm("tenants", "create", "acme"))

    result = xrm("users", "create", "--tenant", "acme", "--email", "Ann@Example.COM", "--admin",
                 "--password-stdin", input="correct horse battery\n")

    assert ok(result) == "Created user ann@example.com in acme"
    with inspect_db.db.session(all_tenants=True) as session:
        acme = session.scalar(select(Tenant).where(Tenant.slug == "acme"))
        user = session.scalar(select(User).where(User.tenant_id == acme.id))
        assert (user.email, user.display_name, user.is_admin) == ("ann@example.com", "ann@example.com", True)
        assert "correct horse" not in user.password_hash
        assert check_password_hash(user.password_hash, "correct horse battery")
        assert session.scalar(select(AuditEntry.actor).where(AuditEntry.action == "user.created")) == "cli"


def test_creating_the_same_user_twice_is_a_one_line_error(xrm):
    ok(xrm("init"))
    ok(xrm("tenants", "create", "acme"))
    args = ("users", "create", "--tenant", "acme", "--email", "ann@example.com", "--password-stdin")
    ok(xrm(*args, input="long enough to pass\n"))

    assert one_line_error(xrm(*args, input="long enough to pass\n")) == "Error: user ann@example.com already exists in acme"


@pytest.mark.parametrize("email, password, expected", [
    ("ann@example.com", "short\n", "Error: the password must have at least 12 characters"),
    ("not-an-address", "long enough\n", "Error: 'not-an-address' is not an e-mail address"),
    ("ann@example.com", "password1234\n", "Error: this password is among the most common ones: choose another"),
    ("annabelle@example.com", "annabelle-in-2026\n", "Error: the password must not contain your e-mail address"),
])
def test_users_create_refuses_bad_input_and_creates_nobody(xrm, inspect_db, email, password, expected):
    ok(xrm("init"))
    ok(xrm("tenants", "create", "acme"))

    result = xrm("users", "create", "--tenant", "acme", "--email", email, "--password-stdin", input=password)

    assert one_line_error(result) == expected
    with inspect_db.db.session(all_tenants=True) as session:
        assert session.scalar(select(func.count(User.id))) == 0


def test_users_create_in_an_unknown_tenant_is_a_one_line_error(xrm):
    ok(xrm("init"))

    result = xrm("users", "create", "--tenant", "ghost", "--email", "a@b.example", "--password-stdin",
                 input="long enough to pass\n")

    assert one_line_error(result) == "Error: no tenant 'ghost'"


# -- demo ----------------------------------------------------------------------------------------


def test_demo_is_idempotent(xrm, inspect_db):
    first = ok(xrm("demo"))
    second = ok(xrm("demo"))

    assert DEMO_ADMIN in first and DEMO_PASSWORD in first and "none newly" in second
    assert [row[0] for row in table_rows(xrm("tenants", "list").stdout)] == [DEMO_TENANT]
    with inspect_db.db.session(all_tenants=True) as session:
        assert session.scalar(select(func.count(User.id)).where(User.email == DEMO_ADMIN)) == 1
        # The core's sample data came once: staff in departments, a party graph, its timeline events.
        assert session.scalar(select(func.count(User.id))) == 1 + len(core_demo.STAFF)
        assert session.scalar(select(func.count(Party.id))) == len(core_demo.PARTIES)
        assert session.scalar(select(func.count(Relationship.id))) == len(core_demo.RELATIONSHIPS)
        assert session.scalar(select(func.count(OutboxEvent.id)).where(OutboxEvent.type == "core.party.created")) \
            == len(core_demo.PARTIES)
    assert "Sample parties" in first and "Sample parties" not in second


def test_demo_enables_every_installed_plugin_and_adds_sample_data_once(xrm, install, inspect_db):
    install("notes", "tasks")

    assert "(notes, tasks)" in ok(xrm("demo"))
    ok(xrm("demo"))

    assert table_rows(xrm("tenants", "list").stdout) == [[DEMO_TENANT, "Demo Company", "active", "notes, tasks"]]
    with inspect_db.db.session(all_tenants=True) as session:
        demo = session.scalar(select(Tenant).where(Tenant.slug == DEMO_TENANT))
    with inspect_db.db.session(demo.id) as session:
        assert sorted(session.scalars(select(Note.text))) == ["Call ACME back", "Send the catalogue", "Welcome"]


# -- configuration -------------------------------------------------------------------------------


def test_production_without_a_secret_key_is_a_one_line_error(xrm, monkeypatch):
    monkeypatch.setenv("XRM_ENV", "production")

    error = one_line_error(xrm("tenants", "list"))

    assert error.startswith("Error: XRM_SECRET_KEY is not set")


def test_demo_is_refused_in_production(xrm, monkeypatch):
    monkeypatch.setenv("XRM_ENV", "production")
    monkeypatch.setenv("XRM_SECRET_KEY", "a-long-and-properly-random-production-secret")
    ok(xrm("init"))

    assert "production" in one_line_error(xrm("demo"))
    assert table_rows(xrm("tenants", "list").stdout) == []


def test_a_tenant_set_up_by_commands_exports_a_manifest_that_applies_without_change(xrm, install, tmp_path):
    install("notes")
    ok(xrm("init"))
    ok(xrm("tenants", "create", "acme"))
    ok(xrm("plugins", "enable", "notes", "--tenant", "acme"))
    manifest = tmp_path / "acme.yaml"
    ok(xrm("tenants", "export", "acme", "-o", str(manifest)))
    assert yaml.safe_load(manifest.read_text())["plugins"]["notes"]["settings"] == {"label": "Notes", "max_length": 500}
    assert ok(xrm("tenants", "apply", str(manifest))) == "No change: the tenant already matches"


def test_purge_archives_the_plugin_data_then_deletes_it(xrm, install, inspect_db, instance):
    install("notes")
    ok(xrm("init"))
    ok(xrm("tenants", "create", "acme"))
    ok(xrm("tenants", "create", "beta"))
    for slug in ("acme", "beta"):
        ok(xrm("plugins", "enable", "notes", "--tenant", slug))
    assert "disable plugin 'notes'" in one_line_error(xrm("plugins", "purge", "notes", "--tenant", "acme", "--yes"))
    ok(xrm("plugins", "disable", "notes", "--tenant", "acme"))
    output = ok(xrm("plugins", "purge", "notes", "--tenant", "acme", "--yes"))

    [archive] = (instance / "archives").glob("acme-notes-*.zip")
    assert str(archive) in output.replace(" ", "") or archive.name in output
    with zipfile.ZipFile(archive) as zf:
        rows = [json.loads(line) for line in zf.read("notes_notes.jsonl").decode().splitlines()]
        assert json.loads(zf.read("settings.json")) == {"label": "Notes", "max_length": 500}
    assert [row["text"] for row in rows] == ["Welcome"]
    with inspect_db.db.engine.connect() as connection:
        remaining = connection.execute(text(
            "SELECT t.slug FROM notes_notes n JOIN core_tenants t ON t.id = n.tenant_id")).scalars().all()
        plugin_rows = connection.execute(text(
            "SELECT t.slug FROM core_tenant_plugins p JOIN core_tenants t ON t.id = p.tenant_id")).scalars().all()
    assert remaining == ["beta"] and plugin_rows == ["beta"]


def test_an_unusable_database_is_a_one_line_error(xrm, monkeypatch):
    monkeypatch.setenv("XRM_DATABASE_URL", "not a url")
    assert "XRM_DATABASE_URL is not a database URL" in one_line_error(xrm("tenants", "list"))
    monkeypatch.setenv("XRM_DATABASE_URL", "postgresql+psycopg://nobody@127.0.0.1:1/none")
    assert one_line_error(xrm("tenants", "list")).startswith("Error: the database cannot be used: ")
