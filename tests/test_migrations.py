"""One Alembic branch per plugin: planned before running, ordered by dependencies, atomic."""

import pytest
from alembic.script import ScriptDirectory
from sqlalchemy import select, text

from xrm_core import migrate, schema, tenants  # noqa: F401
from xrm_core.db import Model
from xrm_core.errors import MigrationError
from xrm_core.identity.bootstrap import ADMINISTRATOR, ensure_administrator
from xrm_core.identity.models import Role, RoleGrant

#: The core's own tables (every model module is loaded by xrm_core.schema), plus Alembic's.
CORE_TABLES = {t.name for t in Model.metadata.sorted_tables if t.name.startswith("core_")} | {"alembic_version"}


def _core_revisions(platform) -> list[str]:
    """The core's revisions, oldest first, as the migration scripts declare them."""
    script = ScriptDirectory.from_config(migrate._config(platform))
    return [rev.revision for rev in reversed(list(script.iterate_revisions("core@head", "base")))]


def _at(platform):
    with platform.db.engine.connect() as connection:
        return migrate.current(platform, connection)


def _plan(platform):
    with platform.db.engine.connect() as connection:
        return [(step.branch, step.revision) for step in migrate.plan(platform, connection)]


def test_plan_runs_core_then_plugins_in_dependency_order(make_platform):
    platform = make_platform("tasks", "notes")
    core = [("core", revision) for revision in _core_revisions(platform)]
    assert core[0] == ("core", "core_0001")
    assert _plan(platform) == [*core, ("notes", "notes_0001"), ("tasks", "tasks_0001")]
    assert migrate.table_names(platform) == set()  # planning changes nothing


def test_upgrade_brings_every_branch_to_head(make_platform):
    platform = make_platform("notes", "tasks")
    applied = []
    steps = migrate.upgrade(platform, progress=applied.append)
    core = _core_revisions(platform)
    assert [s.revision for s in steps] == [s.revision for s in applied] == [*core, "notes_0001", "tasks_0001"]
    assert migrate.table_names(platform) == CORE_TABLES | {"notes_notes", "tasks_tasks"}
    assert _at(platform) == {"core": core[-1], "notes": "notes_0001", "tasks": "tasks_0001"}
    assert _plan(platform) == [] and migrate.upgrade(platform) == []


def test_a_plugin_downgraded_to_base_loses_exactly_its_tables(make_platform):
    platform = make_platform("notes", "tasks", "ledger")
    migrate.upgrade(platform)
    migrate.downgrade(platform, "ledger")
    assert migrate.table_names(platform) == CORE_TABLES | {"notes_notes", "tasks_tasks"}
    migrate.downgrade(platform, "tasks")
    assert migrate.table_names(platform) == CORE_TABLES | {"notes_notes"}
    assert _at(platform) == {"core": _core_revisions(platform)[-1], "notes": "notes_0001", "tasks": None, "ledger": None}
    migrate.upgrade(platform)  # and back up again
    assert {"tasks_tasks", "ledger_entries"} <= migrate.table_names(platform)


def test_core_cannot_go_to_base_under_installed_plugins(make_platform):
    platform = make_platform("notes")
    migrate.upgrade(platform)
    with pytest.raises(MigrationError, match="downgrade notes before taking 'core' to base"):
        migrate.downgrade(platform, "core")


def test_a_required_plugin_cannot_go_to_base_under_its_dependents(make_platform):
    platform = make_platform("notes", "tasks")
    migrate.upgrade(platform)
    with pytest.raises(MigrationError, match="downgrade tasks before taking 'notes' to base"):
        migrate.downgrade(platform, "notes")
    assert "tasks_tasks" in migrate.table_names(platform)


def test_next_plugin_release_migrates_existing_data(make_platform):
    first = make_platform("ledger")
    migrate.upgrade(first)
    with first.db.engine.begin() as connection:
        connection.execute(text("INSERT INTO core_tenants (slug, name, status, created_at) VALUES ('a', 'A', 'active', CURRENT_TIMESTAMP)"))
        connection.execute(text("INSERT INTO ledger_entries (tenant_id, amount) VALUES (1, '12.50'), (1, '0.07'), (1, '100')"))

    second = make_platform("ledger_v2")
    assert _plan(second) == [("ledger", "ledger_0002")]
    migrate.upgrade(second)
    with second.db.engine.connect() as connection:
        cents = connection.execute(text("SELECT amount_cents FROM ledger_entries ORDER BY id")).scalars().all()
        columns = {c["name"] for c in migrate.inspect(connection).get_columns("ledger_entries")}
    assert cents == [1250, 7, 10000]
    assert "amount" not in columns

    migrate.downgrade(second, "ledger", "ledger_0001")  # and the data goes back
    with second.db.engine.connect() as connection:
        assert connection.execute(text("SELECT amount FROM ledger_entries ORDER BY id")).scalars().all() == ["12.50", "0.07", "100.00"]


def test_failing_upgrade_leaves_the_database_as_it_was(make_platform):
    installed = make_platform("notes")
    migrate.upgrade(installed)
    before_tables, before_heads = migrate.table_names(installed), migrate.current_heads(installed)

    upgraded = make_platform("notes", "tasks", "badmig")
    assert _plan(upgraded) == [("tasks", "tasks_0001"), ("badmig", "badmig_0001")]
    with pytest.raises(MigrationError, match="migration failed, the database is unchanged: IntegrityError"):
        migrate.upgrade(upgraded)
    assert migrate.table_names(upgraded) == before_tables  # tasks_tasks, created first, is gone too
    assert migrate.current_heads(upgraded) == before_heads
    if upgraded.db.is_sqlite:
        assert list((upgraded.settings.instance_path / "backups").glob("before-migration-*.sqlite3"))


def test_failing_first_install_leaves_an_empty_database(make_platform):
    platform = make_platform("notes", "tasks", "badmig")
    with pytest.raises(MigrationError):
        migrate.upgrade(platform)
    assert migrate.table_names(platform) == set()


def test_downgrading_an_unknown_branch_is_refused(make_platform):
    platform = make_platform("notes")
    with pytest.raises(MigrationError, match="no migrations are installed for 'sales'"):
        migrate.downgrade(platform, "sales")


def test_existing_administrator_roles_get_the_plugin_permissions(make_platform):
    platform = make_platform()
    migrate.upgrade(platform)
    with platform.db.transaction(all_tenants=True) as session:
        tenant_id = tenants.create_tenant(session, "acme", "ACME").id
    with platform.db.transaction(tenant_id) as session:
        ensure_administrator(session, platform, "admin@acme.test", None)
    migrate.downgrade(platform, "core", "core_0019")  # as the role was before the permission existed

    def plugin_grants() -> list[tuple[str, str]]:
        with platform.db.session(tenant_id) as session:
            return sorted((grant.permission, grant.scope.value) for grant in session.scalars(
                select(RoleGrant).join(Role).where(Role.name == ADMINISTRATOR,
                                                   RoleGrant.permission.startswith("core.plugin."))))

    assert plugin_grants() == []
    migrate.upgrade(platform)
    assert plugin_grants() == [(f"core.plugin.{action}", "tenant") for action in ("create", "delete", "read", "update")]
