"""``xrm import`` and ``xrm export``: files in and out of a tenant, acting as one of its users.

``xrm import FILE --target core.party --tenant acme --as ada@acme.example`` imports (``--dry-run``
only checks); ``xrm import resume BATCH FILE`` goes on with an interrupted import; ``xrm import
undo BATCH`` undoes one; ``xrm import list`` shows the tenant's batches. Failed rows are written to
``FILE.errors.csv`` (row, column, reason) and the command exits with status 1.
"""

from __future__ import annotations

import csv
from pathlib import Path

import click
from flask.cli import ScriptInfo
from rich.console import Console
from rich.progress import Progress, SpinnerColumn, TextColumn, TimeElapsedColumn
from sqlalchemy import select
from sqlalchemy.orm import Session

from ..cli_support import pass_info, platform_of, tenant_id_of, tenant_option
from ..errors import NotFound
from ..identity.principal import load_principal
from ..identity.scoping import act_as
from ..models import User
from . import engine
from .engine import ImportOptions, MappingError, Report
from .models import ImportBatch

console = Console(stderr=True)
out = Console(markup=False, emoji=False)


class ImportGroup(click.Group):
    """``xrm import FILE …`` runs an import; ``xrm import undo|list|resume …`` are subcommands."""

    def parse_args(self, ctx: click.Context, args: list[str]) -> list[str]:
        if args and args[0] not in self.commands and args[0] not in ("--help", "-h"):
            args = ["run", *args]
        return super().parse_args(ctx, args)


def as_option(f):
    return click.option("--as", "user_email", required=True, metavar="USER_EMAIL",
                        help="The user it acts as: their rights decide what it may read and change.")(f)


def _user_session(info: ScriptInfo, tenant_slug: str, user_email: str) -> Session:
    platform = platform_of(info)
    session = platform.db.session(tenant_id_of(platform, tenant_slug))
    user = session.scalar(select(User).where(User.email == user_email.strip().lower()))
    if user is None or not user.active:
        session.close()
        raise NotFound(f"no active user {user_email} in tenant {tenant_slug}")
    act_as(session, load_principal(session, user))
    return session


def _progress() -> Progress:
    return Progress(SpinnerColumn(), TextColumn("{task.description}"), TextColumn("{task.completed:,} rows"),
                    TimeElapsedColumn(), console=console, transient=True)


def _parse_map(pairs: tuple[str, ...]) -> dict[str, str] | None:
    if not pairs:
        return None
    mapping = {}
    for pair in pairs:
        column, sep, field = pair.partition("=")
        if not sep or not field.strip():
            raise MappingError(f"--map {pair!r}: use COLUMN=FIELD")
        mapping[column.strip()] = field.strip()
    return mapping


def _finish(report: Report, file: Path) -> None:
    """Print the outcome; write the failed rows next to the file and exit 1 when there are some."""
    verb = "would create" if report.dry_run else "created"
    batch = f"batch {report.batch_id}: " if report.batch_id else ""
    out.print(f"{batch}{report.rows} row(s) read, {verb} {report.created}, updated {report.updated}, "
              f"skipped {report.skipped}, failed {report.failed}"
              + (f" (ignored columns: {', '.join(report.ignored_columns)})" if report.ignored_columns else ""))
    if not report.errors:
        return
    errors_file = file.with_name(file.name + ".errors.csv")
    with errors_file.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle)
        writer.writerow(["row", "column", "reason"])
        writer.writerows([e["row"], e["column"] or "", e["reason"]] for e in report.errors)
    first = report.errors[0]
    nothing = " Nothing was changed." if report.status == "failed" else ""
    raise click.ClickException(
        f"{len(report.errors)} error(s), e.g. row {first['row']}"
        + (f", column {first['column']}" if first["column"] else "")
        + f": {first['reason']}.{nothing} All errors: {errors_file}")


@click.group("import", cls=ImportGroup)
def import_group() -> None:
    """Import a file (CSV, XLSX, vCard, JSON lines) into a tenant; undo, resume or list imports."""


@import_group.command("run")
@click.argument("file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--target", default="core.party", show_default=True, help="What the rows are (core.party, …).")
@tenant_option
@as_option
@click.option("--format", "format_name", help="csv, xlsx, vcard, jsonl or a plugin's format (default: from the extension).")
@click.option("--mapping", "preset", help="A ready mapping of the target (google, outlook, vcard…).")
@click.option("--map", "pairs", multiple=True, metavar="COLUMN=FIELD", help="Map a column to a field (repeatable).")
@click.option("--match-on", help="Natural key to find existing records by (e.g. identifier.email).")
@click.option("--on-match", type=click.Choice(["update", "skip"]), default="update", show_default=True)
@click.option("--skip-errors", is_flag=True, help="Import the valid rows and report the others (default: all or nothing).")
@click.option("--dry-run", is_flag=True, help="Check every row and report; change nothing.")
@click.option("--locale", default="en", show_default=True, help="Locale dates are written in (fr, en_GB…).")
@click.option("--region", help="Country of phone numbers written without a country code (GB, FR…).")
@click.option("--batch-size", default=engine.DEFAULT_BATCH_SIZE, show_default=True, help="Rows committed at a time.")
@pass_info
def import_run(info: ScriptInfo, file: Path, target: str, tenant_slug: str, user_email: str, format_name: str | None,
               preset: str | None, pairs: tuple[str, ...], match_on: str | None, on_match: str, skip_errors: bool,
               dry_run: bool, locale: str, region: str | None, batch_size: int) -> None:
    """Import FILE into the tenant (``xrm import FILE …``)."""
    options = ImportOptions(mapping=_parse_map(pairs), preset=preset, match_on=match_on, on_match=on_match,
                            skip_errors=skip_errors, batch_size=batch_size, locale=locale, region=region)
    platform = platform_of(info)
    with _user_session(info, tenant_slug, user_email) as session, file.open("rb") as stream, _progress() as bar:
        task = bar.add_task("Checking" if dry_run else "Importing", total=None)
        report = engine.start(session, platform, target, stream, file.name, options, format_name=format_name,
                              dry_run=dry_run, progress=lambda rows: bar.update(task, completed=rows))
    _finish(report, file)


@import_group.command("resume")
@click.argument("batch_id", type=int)
@click.argument("file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@tenant_option
@as_option
@pass_info
def import_resume(info: ScriptInfo, batch_id: int, file: Path, tenant_slug: str, user_email: str) -> None:
    """Go on with interrupted import BATCH_ID, reading the same FILE again."""
    with _user_session(info, tenant_slug, user_email) as session, file.open("rb") as stream, _progress() as bar:
        task = bar.add_task("Resuming", total=None)
        report = engine.resume(session, platform_of(info), batch_id, stream,
                               progress=lambda rows: bar.update(task, completed=rows))
    _finish(report, file)


@import_group.command("undo")
@click.argument("batch_id", type=int)
@tenant_option
@as_option
@pass_info
def import_undo(info: ScriptInfo, batch_id: int, tenant_slug: str, user_email: str) -> None:
    """Undo import BATCH_ID: delete what it created, restore what it updated."""
    with _user_session(info, tenant_slug, user_email) as session:
        engine.undo_batch(session, platform_of(info), batch_id)
    out.print(f"Undid import batch {batch_id}")


@import_group.command("list")
@tenant_option
@pass_info
def import_list(info: ScriptInfo, tenant_slug: str) -> None:
    """The tenant's import batches, newest first."""
    platform = platform_of(info)
    with platform.db.session(tenant_id_of(platform, tenant_slug), read_only=True) as session:
        for batch in session.scalars(select(ImportBatch).order_by(ImportBatch.id.desc())):
            click.echo(f"{batch.id}\t{batch.status.value}\t{batch.target}\t{batch.file_name}\t"
                      f"created {batch.created}, updated {batch.updated}, skipped {batch.skipped}, "
                      f"failed {batch.failed}\t{batch.started_at:%Y-%m-%d %H:%M}")


@click.command("export")
@click.argument("output", type=click.Path(dir_okay=False, writable=True, path_type=Path))
@click.option("--target", default="core.party", show_default=True)
@click.option("--format", "format_name", help="csv, xlsx, vcard, jsonl or a plugin's format (default: from OUTPUT).")
@tenant_option
@as_option
@pass_info
def export_command(info: ScriptInfo, output: Path, target: str, format_name: str | None, tenant_slug: str,
                   user_email: str) -> None:
    """Export the records of a target the user may read to OUTPUT."""
    platform = platform_of(info)
    name = format_name or engine.formats.find(platform, filename=output.name).name
    partial = output.with_name(output.name + ".partial")
    with _user_session(info, tenant_slug, user_email) as session:
        try:
            with partial.open("wb") as stream:
                count = engine.export(session, platform, target, name, stream)
        except BaseException:
            partial.unlink(missing_ok=True)
            raise
    partial.replace(output)
    out.print(f"Exported {count} record(s) to {output}")


def register(cli: click.Group) -> None:
    """Add ``xrm import`` and ``xrm export`` to the ``xrm`` command."""
    cli.add_command(import_group)
    cli.add_command(export_command)
