"""``xrm privacy export|erase``: a person's data rights from the command line (operators, audited)."""

from __future__ import annotations

from pathlib import Path

import click
from flask.cli import ScriptInfo

from .cli_support import pass_info, platform_of, tenant_id_of, tenant_option
from .errors import XrmError
from .privacy import erase_personal_data, personal_data_archive

ACTOR = "cli"


@click.group("privacy")
def privacy_group() -> None:
    """Data-access and erasure requests about a party."""


@privacy_group.command("export")
@tenant_option
@click.argument("party_id", type=int)
@click.option("-o", "--output", required=True, type=click.Path(dir_okay=False, path_type=Path),
              help="The zip archive to write.")
@pass_info
def privacy_export(info: ScriptInfo, tenant_slug: str, party_id: int, output: Path) -> None:
    """Write everything held about party PARTY_ID (core and plugins) to a zip archive."""
    platform = platform_of(info)
    with platform.db.transaction(tenant_id_of(platform, tenant_slug)) as session:
        archive = personal_data_archive(session, platform, party_id, ACTOR)
    output.write_bytes(archive)
    click.echo(f"Wrote the personal data of party {party_id} to {output}")


@privacy_group.command("erase")
@tenant_option
@click.argument("party_id", type=int)
@click.option("--yes", is_flag=True, help="Do not ask for confirmation.")
@pass_info
def privacy_erase(info: ScriptInfo, tenant_slug: str, party_id: int, yes: bool) -> None:
    """Erase party PARTY_ID's personal data in every plugin and anonymise the party."""
    if not yes and not click.confirm(f"Erase the personal data of party {party_id}? This cannot be undone"):
        raise XrmError("nothing erased")
    platform = platform_of(info)
    with platform.db.transaction(tenant_id_of(platform, tenant_slug)) as session:
        report = erase_personal_data(session, platform, party_id, ACTOR)
    plugins = ", ".join(report["plugins"]) or "no plugin"
    click.echo(f"Erased the personal data of party {party_id} (core, {plugins})")
