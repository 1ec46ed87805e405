"""``xrm workflows``: list, export and import (YAML), enable/disable, and look at runs.

An export is a YAML list of ``{name, enabled, definition}``; importing it into a tenant creates
the missing workflows and saves a new version of those whose definition changed, all or nothing.
"""

from __future__ import annotations

from pathlib import Path

import click
import yaml
from flask.cli import ScriptInfo
from marshmallow import ValidationError

from ..cli_support import pass_info, platform_of, tenant_id_of, tenant_option
from ..errors import XrmError
from . import service


class WorkflowFileError(XrmError):
    """A workflow file cannot be read or holds an invalid workflow."""


def _first_problem(messages, path: str = "") -> str:
    """``definition.steps.0.action: unknown action …``: the first message with its path."""
    if isinstance(messages, dict):
        key, value = next(iter(messages.items()))
        return _first_problem(value, f"{path}.{key}" if path else str(key))
    if isinstance(messages, list) and messages and not isinstance(messages[0], str):
        return _first_problem(messages[0], path)
    text = messages[0] if isinstance(messages, list) else messages
    return f"{path}: {text}" if path else str(text)


@click.group("workflows")
def workflows_group() -> None:
    """A tenant's workflows: list, export, import, enable, disable, runs."""


@workflows_group.command("list")
@tenant_option
@pass_info
def workflows_list(info: ScriptInfo, tenant_slug: str) -> None:
    """Each workflow: name, state, current version, trigger."""
    platform = platform_of(info)
    with platform.db.session(tenant_id_of(platform, tenant_slug), read_only=True) as session:
        for document in service.export_workflows(session):
            workflow = service.find_workflow(session, document["name"])
            trigger = document["definition"]["trigger"]
            what = trigger.get("event") or trigger.get("cron") or trigger.get("name") or ""
            if trigger["kind"] == "date":
                what = f"{trigger['entity']}.{trigger['field']} {trigger.get('offset_days', 0):+d} days"
            click.echo(f"{workflow.name}\t{'enabled' if workflow.enabled else 'disabled'}\t"
                      f"v{workflow.current_version}\t{trigger['kind']} {what}".rstrip())


@workflows_group.command("export")
@tenant_option
@click.option("--output", "-o", type=click.Path(dir_okay=False, path_type=Path), help="File (default: stdout).")
@pass_info
def workflows_export(info: ScriptInfo, tenant_slug: str, output: Path | None) -> None:
    """Write every workflow's current definition as YAML."""
    platform = platform_of(info)
    with platform.db.session(tenant_id_of(platform, tenant_slug), read_only=True) as session:
        text = yaml.safe_dump(service.export_workflows(session), sort_keys=False, allow_unicode=True)
    if output is None:
        click.echo(text, nl=False)
    else:
        output.write_text(text, encoding="utf-8")


@workflows_group.command("import")
@tenant_option
@click.argument("path", type=click.Path(dir_okay=False, path_type=Path))
@pass_info
def workflows_import(info: ScriptInfo, tenant_slug: str, path: Path) -> None:
    """Create or update workflows from a YAML export (all or nothing)."""
    platform = platform_of(info)
    try:
        documents = yaml.safe_load(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError) as exc:
        raise WorkflowFileError(f"cannot read {path}: {exc}") from None
    except yaml.YAMLError as exc:
        raise WorkflowFileError(f"{path} is not YAML: {str(exc).splitlines()[0]}") from None
    if not isinstance(documents, list):
        raise WorkflowFileError(f"{path} must hold a list of workflows (as 'xrm workflows export' writes)")
    try:
        with platform.db.transaction(tenant_id_of(platform, tenant_slug)) as session:
            outcome = service.import_workflows(session, platform, documents, actor="cli")
    except ValidationError as exc:
        raise WorkflowFileError(f"{path}: workflow {_first_problem(exc.messages)}") from None
    for name, what in outcome.items():
        click.echo(f"{what}\t{name}")


def _set_enabled(info: ScriptInfo, tenant_slug: str, name: str, enabled: bool) -> None:
    platform = platform_of(info)
    with platform.db.transaction(tenant_id_of(platform, tenant_slug)) as session:
        service.set_enabled(session, platform, service.find_workflow(session, name), enabled, actor="cli")
    click.echo(f"{name}: {'enabled' if enabled else 'disabled'}")


@workflows_group.command("enable")
@tenant_option
@click.argument("name")
@pass_info
def workflows_enable(info: ScriptInfo, tenant_slug: str, name: str) -> None:
    """Enable a workflow."""
    _set_enabled(info, tenant_slug, name, True)


@workflows_group.command("disable")
@tenant_option
@click.argument("name")
@pass_info
def workflows_disable(info: ScriptInfo, tenant_slug: str, name: str) -> None:
    """Disable a workflow; its versions and runs are kept."""
    _set_enabled(info, tenant_slug, name, False)


@workflows_group.command("runs")
@tenant_option
@click.argument("name")
@click.option("--limit", default=20, show_default=True, type=click.IntRange(1, 100))
@pass_info
def workflows_runs(info: ScriptInfo, tenant_slug: str, name: str, limit: int) -> None:
    """The latest runs of a workflow: id, status, version, subject, start, error."""
    platform = platform_of(info)
    with platform.db.session(tenant_id_of(platform, tenant_slug), read_only=True) as session:
        workflow = service.find_workflow(session, name)
        numbers = {}
        for run in service.runs_of(session, workflow, limit=limit):
            if run.version_id not in numbers:
                numbers[run.version_id] = service.version_number(session, run.version_id)
            subject = f"{run.subject_type}:{run.subject_id}" if run.subject_id else "-"
            click.echo(f"{run.id}\t{run.status}\tv{numbers[run.version_id]}\t{subject}\t"
                      f"{run.started_at:%Y-%m-%d %H:%M:%S}\t{run.error or ''}".rstrip())
