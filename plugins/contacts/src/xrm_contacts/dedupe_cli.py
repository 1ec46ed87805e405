"""``xrm contacts dedupe --tenant SLUG``: scan for duplicates and refresh the review queue."""

from __future__ import annotations

import click
import xrm_sdk as xrm

from . import dedupe_queue


@click.command("dedupe")
@click.option("--tenant", "tenant_slug", required=True, help="Tenant slug.")
def dedupe_command(tenant_slug: str) -> None:
    """Scan the contacts for duplicates and refresh the review queue (dismissed pairs stay dismissed)."""
    # An unknown tenant is an XrmError: the ``xrm`` command prints it as one ``Error: …`` line.
    with xrm.tenant_transaction(tenant_slug) as session:
        session.info["audit_actor"] = "cli"
        with click.progressbar(length=1, label="Comparing", show_pos=True) as bar:

            def progress(done: int, total: int) -> None:
                bar.length = total
                bar.update(done - bar.pos)

            report = dedupe_queue.scan(session, progress)
    click.echo(f"{tenant_slug}: {report.parties} parties, {report.found} new pairs, {report.refreshed} refreshed, "
               f"{report.closed} closed, {report.dismissed_kept} dismissed kept")
