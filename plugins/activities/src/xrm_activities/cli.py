"""``xrm activities …`` commands."""

from __future__ import annotations

import click
import xrm_sdk as xrm
from sqlalchemy import func, select

from .ics import import_events
from .service import InvalidActivity


@click.command("import-ics")
@click.argument("file", type=click.File("rb"))
@click.option("--tenant", "tenant_slug", required=True, help="Tenant slug.")
@click.option("--user", "email", required=True, help="E-mail of the user who organises the imported events.")
def import_ics_command(file, tenant_slug: str, email: str):
    """Import the events of an iCalendar FILE as meetings organised by --user (same UID: skipped)."""
    content = file.read()
    with xrm.tenant_transaction(tenant_slug) as session:
        user = session.scalar(select(xrm.User).where(func.lower(xrm.User.email) == email.lower()))
        if user is None:
            raise InvalidActivity("--user", f"there is no user {email} in tenant {tenant_slug}")
        result = import_events(session, content, organiser_user_id=user.id)
    click.echo(f"Imported {result['added']} event(s), skipped {result['skipped']} already imported.")
