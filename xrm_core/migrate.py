"""Schema migrations for the core and every plugin, through one Alembic environment.

Each plugin has its own Alembic branch, labelled with its name, whose revisions live in its package.
An upgrade is planned completely (plugins resolved, every branch found) before anything runs, runs
branch by branch in dependency order inside one transaction, and on failure leaves the database as
it was: PostgreSQL rolls the DDL back; SQLite is also restored from a copy taken just before.
"""

from __future__ import annotations

import logging
import os
import sqlite3
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from alembic.util import CommandError
from sqlalchemy import Connection, inspect

from .db import Model
from .errors import MigrationError
from .platform import Platform

log = logging.getLogger("xrm.migrate")
MIGRATIONS = Path(__file__).parent / "migrations"
CORE = "core"


@dataclass(frozen=True)
class Step:
    """One revision that an upgrade will apply."""

    branch: str
    revision: str
    description: str


def branches(platform: Platform) -> dict[str, Path]:
    """Branch label -> revisions folder, core first, then plugins in dependency order."""
    found = {CORE: MIGRATIONS / "versions"}
    for plugin, location in platform.host.call("xrm_migrations"):
        if location:
            found[plugin] = Path(location)
    return found


def _config(platform: Platform, connection: Connection | None = None, on_apply: Callable | None = None) -> Config:
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    config.set_main_option("path_separator", "os")
    config.set_main_option("version_locations", os.pathsep.join(str(p) for p in branches(platform).values()))
    config.attributes.update(connection=connection, target_metadata=Model.metadata, on_version_apply=on_apply)
    return config


def _script(platform: Platform) -> ScriptDirectory:
    script = ScriptDirectory.from_config(_config(platform))
    try:
        labels = {label for rev in script.walk_revisions() for label in rev.branch_labels}
    except CommandError as exc:
        raise MigrationError(f"the migration scripts are inconsistent: {exc}") from None
    missing = [b for b in branches(platform) if b not in labels]
    if missing:
        raise MigrationError(
            "no revision carries the branch label of " + ", ".join(repr(m) for m in missing)
            + ": a plugin's first revision needs branch_labels = ('<plugin>',)"
        )
    return script


def _check_resolved(platform: Platform) -> None:
    if platform.refused:
        reasons = "; ".join(f"{name}: {why}" for name, why in sorted(platform.refused.items()))
        raise MigrationError(f"fix or uninstall the refused plugins before migrating ({reasons})")


def current(platform: Platform, connection: Connection) -> dict[str, str | None]:
    """Branch -> the revision the database is at (``None`` for a branch not installed yet)."""
    script = _script(platform)
    applied = _applied(script, connection)
    return {
        branch: next((rev for rev in _chain(script, branch) if rev in applied), None)
        for branch in branches(platform)
    }


def _applied(script: ScriptDirectory, connection: Connection) -> set[str]:
    """Every revision in the database, including those the recorded heads depend on."""
    applied: set[str] = set()
    for head in MigrationContext.configure(connection).get_current_heads():
        applied |= {rev.revision for rev in script.iterate_revisions(head, "base")}
    return applied


def _chain(script: ScriptDirectory, branch: str) -> list[str]:
    """The branch's own revisions, newest first (dependencies on other branches excluded)."""
    chain: list[str] = []
    rev = script.get_revision(f"{branch}@head")
    while rev is not None:
        chain.append(rev.revision)
        rev = script.get_revision(rev.down_revision) if isinstance(rev.down_revision, str) else None
    return chain


def plan(platform: Platform, connection: Connection) -> list[Step]:
    """The revisions ``upgrade`` would apply, in the order it would apply them."""
    _check_resolved(platform)
    script = _script(platform)
    applied = _applied(script, connection)
    steps: list[Step] = []
    for branch in branches(platform):
        for rev in reversed(list(script.iterate_revisions(f"{branch}@head", "base"))):
            if rev.revision not in applied:
                applied.add(rev.revision)
                steps.append(Step(branch, rev.revision, (rev.doc or "").strip()))
    return steps


def upgrade(platform: Platform, progress: Callable[[Step], None] | None = None) -> list[Step]:
    """Bring the core and every plugin to their latest revision, atomically."""
    with platform.db.engine.connect() as connection:
        steps = plan(platform, connection)
    if not steps:
        return []
    by_revision = {s.revision: s for s in steps}

    def on_apply(*, step, **_):
        if progress and step.up_revision_id in by_revision:
            progress(by_revision[step.up_revision_id])

    todo = [b for b in branches(platform) if any(s.branch == b for s in steps)]
    _run_atomically(platform, lambda config: [command.upgrade(config, f"{b}@head") for b in todo], on_apply)
    return steps


def downgrade(platform: Platform, branch: str, target: str = "base") -> None:
    """Take one branch down to ``target`` (``base`` removes the plugin's tables entirely)."""
    if branch not in branches(platform):
        raise MigrationError(f"no migrations are installed for {branch!r}")
    if target == "base":
        with platform.db.engine.connect() as connection:
            installed = [b for b, rev in current(platform, connection).items() if rev and b != branch]
        dependents = installed if branch == CORE else [
            b for b in installed if b in platform.plugins and branch in platform.plugins[b].requires
        ]
        if dependents:
            raise MigrationError(f"downgrade {', '.join(dependents)} before taking {branch!r} to base")
    destination = f"{branch}@{target}" if target == "base" else target
    _script(platform)
    _run_atomically(platform, lambda config: command.downgrade(config, destination), None)


def current_heads(platform: Platform) -> tuple[str, ...]:
    with platform.db.engine.connect() as connection:
        return MigrationContext.configure(connection).get_current_heads()


def _run_atomically(platform: Platform, run: Callable[[Config], object], on_apply: Callable | None) -> None:
    backup = _sqlite_backup(platform) if platform.db.is_sqlite else None
    try:
        with platform.db.engine.connect() as connection, connection.begin():
            run(_config(platform, connection, on_apply))
    except Exception as exc:
        if backup is not None:
            _sqlite_restore(platform, backup)
        reason = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
        raise MigrationError(
            f"migration failed, the database is unchanged: {type(exc).__name__}: {reason}"
        ) from exc
    if backup is not None:
        log.info("pre-migration copy kept at %s", backup)


def _sqlite_path(platform: Platform) -> Path:
    return Path(platform.db.engine.url.database)


def _sqlite_backup(platform: Platform) -> Path:
    backups = platform.settings.instance_path / "backups"
    backups.mkdir(parents=True, exist_ok=True)
    target = backups / f"before-migration-{datetime.now():%Y%m%dT%H%M%S%f}.sqlite3"
    with sqlite3.connect(_sqlite_path(platform)) as source, sqlite3.connect(target) as copy:
        source.backup(copy)
    return target


def _sqlite_restore(platform: Platform, backup: Path) -> None:
    platform.db.engine.dispose()
    with sqlite3.connect(backup) as source, sqlite3.connect(_sqlite_path(platform)) as live:
        source.backup(live)


def table_names(platform: Platform) -> set[str]:
    return set(inspect(platform.db.engine).get_table_names())
