"""The ``xrm`` command: one entry point for integrators, operators and plugin commands.

Every error the platform raises on purpose is printed as one line (``Error: …``) with exit code 1.
"""

from __future__ import annotations

import getpass
import logging
import sys
from pathlib import Path

import click
from flask import Flask
from flask.cli import FlaskGroup, ScriptInfo
from rich.console import Console
from rich.progress import Progress
from rich.table import Table
from rich.text import Text
from sqlalchemy import select
from sqlalchemy.exc import DBAPIError

from . import __version__, manifests, migrate, tenants
from . import demo as core_demo
from .app import create_app
from .audit import record
from .cli_support import pass_info, platform_of, tenant_id_of, tenant_option
from .dataio.cli import register as register_dataio_commands
from .errors import ConfigurationError, XrmError
from .events import deadletter
from .events.bus import get_bus
from .events.cli import register as register_event_commands
from .identity import cli as identity_cli
from .identity.bootstrap import ensure_administrator
from .identity.passwords import hash_password
from .models import Tenant, TenantStatus, User
from .platform import Platform
from .privacy_cli import privacy_group
from .scaffold_cli import plugin_group
from .workflows.cli import workflows_group as workflows_cli

console = Console(stderr=True)
#: Output names tenants, users and plugins chose: print it as-is, never as Rich markup or emoji codes.
out = Console(markup=False, emoji=False)

DEMO_TENANT = "demo"
DEMO_ADMIN = "admin@demo.example"
#: Documented in the README; ``xrm demo`` refuses to run in production.
DEMO_PASSWORD = "xrm-demo-password"


class XrmGroup(FlaskGroup):
    """Flask's CLI group, turning platform errors into one-line messages and adding plugin commands."""

    def invoke(self, ctx: click.Context):
        try:
            return super().invoke(ctx)
        except XrmError as exc:
            raise click.ClickException(str(exc)) from None
        except DBAPIError as exc:
            reason = str(exc.orig).strip().splitlines()[0] if exc.orig else type(exc).__name__
            raise click.ClickException(f"the database cannot be used: {reason}") from None

    def list_commands(self, ctx: click.Context) -> list[str]:
        try:
            plugin_groups = _plugin_groups(ctx)
        except XrmError:
            # The configuration error is reported when a command runs; FlaskGroup's listing
            # would load the app again and print the error's traceback.
            return sorted(click.Group.list_commands(self, ctx))
        return sorted(set(super().list_commands(ctx)) | set(plugin_groups))

    def get_command(self, ctx: click.Context, name: str) -> click.Command | None:
        return super().get_command(ctx, name) or _plugin_groups(ctx).get(name)


def _plugin_groups(ctx: click.Context) -> dict[str, click.Group]:
    platform = _platform_from(ctx)
    groups: dict[str, click.Group] = {}
    for plugin, commands in platform.host.call("xrm_cli_commands"):
        group = click.Group(plugin, help=f"Commands of the {platform.plugins[plugin].title} plugin.")
        for command in commands or ():
            group.add_command(command)
        groups[plugin] = group
    return groups


def _platform_from(ctx: click.Context) -> Platform:
    return ctx.ensure_object(ScriptInfo).load_app().extensions["xrm"]


def _app() -> Flask:
    return create_app()


@click.group(
    cls=XrmGroup,
    create_app=_app,
    add_version_option=False,
    load_dotenv=False,
    set_debug_flag=False,
    help="XRM platform: run the server, manage tenants, plugins, users and the database.\n\n"
    "Configuration comes from XRM_* environment variables (XRM_DATABASE_URL, XRM_INSTANCE_PATH, "
    "XRM_SECRET_KEY, XRM_BROKER_URL, XRM_ENV).",
)
@click.version_option(__version__, prog_name="xrm")
def cli() -> None:
    logging.basicConfig(level=logging.WARNING, format="%(levelname)s %(name)s: %(message)s")


# -- init, serve, demo --------------------------------------------------------------------------


@cli.command()
@pass_info
def init(info: ScriptInfo) -> None:
    """Create the instance folder and bring the database schema up to date."""
    platform = platform_of(info)
    _upgrade(platform)
    out.print(f"Instance ready in {platform.settings.instance_path} ({platform.db.engine.url.render_as_string()})")


@cli.command()
@click.option("--host", default="127.0.0.1", show_default=True, help="Address to listen on.")
@click.option("--port", default=5000, show_default=True, help="Port to listen on.")
@click.option("--threads", default=8, show_default=True, help="Worker threads of the web server.")
@pass_info
def serve(info: ScriptInfo, host: str, port: int, threads: int) -> None:
    """Serve the web application and API with a production-grade WSGI server (waitress)."""
    import waitress

    app = info.load_app()
    pending = _pending_steps(app.extensions["xrm"])
    if pending:
        raise XrmError(f"the database needs {len(pending)} migration(s): run 'xrm db upgrade' first")
    bus = get_bus(app.extensions["xrm"])
    bus.start()  # embedded: delivers events in-process; with XRM_BROKER_URL: relays them to the workers
    mode = "relayed to 'xrm worker' processes" if bus.scale_out else "delivered in-process"
    out.print(f"XRM {__version__} serving on http://{host}:{port}/ (events {mode}; Ctrl+C to stop)")
    try:
        waitress.serve(app, host=host, port=port, threads=threads, ident="xrm")
    finally:
        bus.stop()


@cli.command()
@click.option("--concurrency", default=4, show_default=True, help="Deliveries run at once (threads).")
@click.option("--loglevel", default="INFO", show_default=True, help="Celery log level.")
@pass_info
def worker(info: ScriptInfo, concurrency: int, loglevel: str) -> None:
    """Run a Celery worker delivering events (scale-out: needs XRM_BROKER_URL).

    Start as many as needed, on as many machines as needed; each also relays the outbox, so events
    committed by a web process that died before relaying them are still delivered.
    """
    platform = platform_of(info)
    if not platform.settings.broker_url:
        raise ConfigurationError(
            "XRM_BROKER_URL is not set: without a broker, 'xrm serve' delivers events itself "
            "(set XRM_BROKER_URL=redis://host:6379/0 to run workers)"
        )
    from .events.tasks import run_worker

    run_worker(get_bus(platform), concurrency=concurrency, loglevel=loglevel.upper())


def _pending_steps(platform: Platform) -> list[migrate.Step]:
    with platform.db.engine.connect() as connection:
        return migrate.plan(platform, connection)


@cli.command()
@pass_info
def demo(info: ScriptInfo) -> None:
    """Create or refresh the demo tenant: every installed plugin enabled, with sample data.

    Idempotent: running it again enables plugins installed since, and adds their sample data.
    """
    platform = platform_of(info)
    if platform.settings.is_production:
        raise ConfigurationError("refusing to create demo data in production (XRM_ENV=production)")
    _upgrade(platform)
    with platform.db.transaction(all_tenants=True) as session:
        try:
            tenant = tenants.get_tenant(session, DEMO_TENANT)
        except XrmError:
            tenant = tenants.create_tenant(session, DEMO_TENANT, "Demo Company", actor="cli")
        tenant_id = tenant.id
        newly: list[str] = []
        for name in platform.plugins:
            newly += tenants.enable_plugin(platform, session, tenant, name, actor="cli")
    with platform.db.transaction(tenant_id) as session:
        tenant = session.get(Tenant, tenant_id)
        ensure_administrator(session, platform, DEMO_ADMIN, DEMO_PASSWORD, "Demo Admin")
        if core_demo.seed(session, platform, DEMO_PASSWORD):
            out.print(f"Sample parties, departments and staff added (staff sign in with {DEMO_PASSWORD})")
        else:
            core_demo.define_staff_roles(session, platform)  # plugins installed since get their grants
        with Progress(console=console, transient=True) as progress:
            task = progress.add_task("Sample data", total=len(newly))
            for name in newly:
                progress.update(task, description=f"Sample data: {name}")
                with session.begin_nested():
                    platform.host.call_plugin(name, "xrm_demo_data", tenant=tenant, session=session)
                progress.advance(task)
    out.print(f"Demo tenant {DEMO_TENANT!r} ready with {len(platform.plugins)} plugin(s) enabled "
              f"({', '.join(newly) or 'none newly'}); admin {DEMO_ADMIN} / {DEMO_PASSWORD}")


# -- db -----------------------------------------------------------------------------------------


@cli.group()
def db() -> None:
    """Database schema: upgrade, downgrade, current revisions."""


def _upgrade(platform: Platform) -> list[migrate.Step]:
    with platform.db.engine.connect() as connection:
        total = len(migrate.plan(platform, connection))
    with Progress(console=console, transient=True) as progress:
        task = progress.add_task("Migrating", total=total)
        return migrate.upgrade(
            platform, lambda step: progress.update(task, advance=1, description=f"{step.branch}: {step.revision}")
        )


@db.command("upgrade")
@click.option("--plan", "show_plan", is_flag=True, help="Only show what would run, in order.")
@pass_info
def db_upgrade(info: ScriptInfo, show_plan: bool) -> None:
    """Bring the core and every installed plugin to their latest schema, atomically.

    Plugins are resolved and checked before anything runs; migrations run in dependency order;
    a failure leaves the database at its previous state.
    """
    platform = platform_of(info)
    if show_plan:
        steps = _pending_steps(platform)
        for step in steps:
            out.print(f"{step.branch:<16} {step.revision:<24} {step.description}")
        out.print(f"{len(steps)} revision(s) to apply" if steps else "Nothing to do: the schema is current")
        return
    steps = _upgrade(platform)
    out.print(f"Applied {len(steps)} revision(s)" if steps else "Nothing to do: the schema is current")


@db.command("downgrade")
@click.argument("branch")
@click.option("--to", "target", default="base", show_default=True, help="Revision to go down to.")
@click.option("--yes", is_flag=True, help="Do not ask for confirmation.")
@pass_info
def db_downgrade(info: ScriptInfo, branch: str, target: str, yes: bool) -> None:
    """Downgrade BRANCH (a plugin name or 'core'); to base, it removes the plugin's tables."""
    platform = platform_of(info)
    with platform.db.session(all_tenants=True) as session:
        if branch in platform.plugins:
            users = [t.slug for t in tenants.list_tenants(session) if _enabled(session, t, branch)]
            if users:
                raise XrmError(f"plugin {branch!r} is enabled for {', '.join(users)}: disable it there first")
    if target == "base" and not yes:
        click.confirm(f"This removes every table of {branch!r} and its data. Continue?", abort=True)
    migrate.downgrade(platform, branch, target)
    out.print(f"{branch} downgraded to {target}")


def _enabled(session, tenant: Tenant, plugin: str) -> bool:
    row = tenants.plugin_states(session, tenant).get(plugin)
    return bool(row and row.enabled)


@db.command("current")
@pass_info
def db_current(info: ScriptInfo) -> None:
    """Show the revision each branch (core, plugins) is at."""
    platform = platform_of(info)
    with platform.db.engine.connect() as connection:
        for branch, revision in migrate.current(platform, connection).items():
            out.print(f"{branch:<16} {revision or '(not installed)'}")


# -- tenants ------------------------------------------------------------------------------------


@cli.group("tenants")
def tenants_group() -> None:
    """Create, list, rename, suspend tenants; apply and export tenant manifests."""


@tenants_group.command("create")
@click.argument("slug")
@click.option("--name", default="", help="Display name (defaults to the slug).")
@pass_info
def tenants_create(info: ScriptInfo, slug: str, name: str) -> None:
    """Create the tenant SLUG."""
    with platform_of(info).db.transaction(all_tenants=True) as session:
        tenant = tenants.create_tenant(session, slug, name or slug)
    out.print(f"Created tenant {tenant.slug} ({tenant.name})")


@tenants_group.command("list")
@pass_info
def tenants_list(info: ScriptInfo) -> None:
    """List tenants with their status and enabled plugins."""
    platform = platform_of(info)
    table = Table("slug", "name", "status", "enabled plugins")
    with platform.db.session(all_tenants=True) as session:
        for tenant in tenants.list_tenants(session):
            enabled = [n for n, row in tenants.plugin_states(session, tenant).items() if row.enabled]
            table.add_row(tenant.slug, tenant.name, tenant.status.value, ", ".join(sorted(enabled)))
    out.print(table)


@tenants_group.command("rename")
@click.argument("slug")
@click.argument("name")
@pass_info
def tenants_rename(info: ScriptInfo, slug: str, name: str) -> None:
    """Give tenant SLUG a new display NAME."""
    with platform_of(info).db.transaction(all_tenants=True) as session:
        tenants.rename_tenant(session, tenants.get_tenant(session, slug), name)
    out.print(f"Renamed {slug}")


@tenants_group.command("suspend")
@click.argument("slug")
@pass_info
def tenants_suspend(info: ScriptInfo, slug: str) -> None:
    """Suspend tenant SLUG: its users and API clients are refused, its data is kept."""
    with platform_of(info).db.transaction(all_tenants=True) as session:
        tenants.set_status(session, tenants.get_tenant(session, slug), TenantStatus.SUSPENDED)
    out.print(f"Suspended {slug}")


@tenants_group.command("resume")
@click.argument("slug")
@pass_info
def tenants_resume(info: ScriptInfo, slug: str) -> None:
    """Make the suspended tenant SLUG active again."""
    with platform_of(info).db.transaction(all_tenants=True) as session:
        tenants.set_status(session, tenants.get_tenant(session, slug), TenantStatus.ACTIVE)
    out.print(f"Resumed {slug}")


@tenants_group.command("apply")
@click.argument("manifest", type=click.File("r"))
@pass_info
def tenants_apply(info: ScriptInfo, manifest) -> None:
    """Make a tenant match MANIFEST (YAML); idempotent, all or nothing."""
    platform = platform_of(info)
    data = manifests.load(manifest.read())
    with platform.db.transaction(all_tenants=True) as session:
        report = manifests.apply(platform, session, data)
    out.print("\n".join(report.changes) if report.changes else "No change: the tenant already matches")


@tenants_group.command("export")
@click.argument("slug")
@click.option("-o", "--output", type=click.Path(dir_okay=False, path_type=Path), help="File to write (default: stdout).")
@pass_info
def tenants_export(info: ScriptInfo, slug: str, output: Path | None) -> None:
    """Write tenant SLUG's manifest as YAML."""
    platform = platform_of(info)
    with platform.db.session(all_tenants=True) as session:
        text = manifests.export(platform, session, tenants.get_tenant(session, slug))
    if output:
        output.write_text(text)
    else:
        click.echo(text, nl=False)


# -- plugins ------------------------------------------------------------------------------------


@cli.group("plugins")
def plugins_group() -> None:
    """Installed plugins: list, inspect, enable, disable and purge per tenant."""


@plugins_group.command("list")
@pass_info
def plugins_list(info: ScriptInfo) -> None:
    """Each installed plugin's version, dependencies, compatibility and tenants where it is enabled."""
    platform = platform_of(info)
    table = Table("plugin", "version", "requires", "status", "enabled for")
    with platform.db.session(all_tenants=True) as session:
        all_tenants = tenants.list_tenants(session)
        states = {t.slug: tenants.plugin_states(session, t) for t in all_tenants}
    for name, plugin in platform.plugins.items():
        requires = ", ".join(f"{r}" for r in plugin.requires) or "-"
        where = [slug for slug, rows in states.items() if name in rows and rows[name].enabled]
        table.add_row(name, str(plugin.version), requires, "ok", ", ".join(where) or "-")
    for name, reason in platform.refused.items():
        table.add_row(name, "", "", Text(f"refused: {reason}", style="red"), "")
    out.print(table)


@plugins_group.command("info")
@click.argument("name")
@pass_info
def plugins_info(info: ScriptInfo, name: str) -> None:
    """Details of plugin NAME: distribution, version constraints, hooks implemented."""
    platform = platform_of(info)
    plugin = platform.plugins.get(name)
    if plugin is None:
        raise XrmError(f"plugin {name!r} " + (f"was refused: {platform.refused[name]}" if name in platform.refused else "is not installed"))
    hooks = sorted(c.name for c in platform.host.pm.get_hookcallers(plugin.module) or ())
    out.print(Text.assemble((plugin.title, "bold"), f" ({name}) {plugin.version}"))
    out.print(plugin.description)
    out.print(f"distribution: {plugin.distribution}")
    out.print("requires: " + (", ".join(str(r) for r in plugin.requirements) or "-"))
    out.print("plugins required: " + (", ".join(plugin.requires) or "-"))
    out.print("hooks: " + ", ".join(hooks))


@plugins_group.command("enable")
@click.argument("name")
@tenant_option
@pass_info
def plugins_enable(info: ScriptInfo, name: str, tenant_slug: str) -> None:
    """Enable plugin NAME (and the plugins it requires) for a tenant, without restart."""
    platform = platform_of(info)
    with platform.db.transaction(all_tenants=True) as session:
        newly = tenants.enable_plugin(platform, session, tenants.get_tenant(session, tenant_slug), name)
    out.print(f"Enabled {', '.join(newly)} for {tenant_slug}" if newly else f"{name} was already enabled for {tenant_slug}")


@plugins_group.command("disable")
@click.argument("name")
@tenant_option
@pass_info
def plugins_disable(info: ScriptInfo, name: str, tenant_slug: str) -> None:
    """Disable plugin NAME for a tenant; its data is kept until purged."""
    platform = platform_of(info)
    with platform.db.transaction(all_tenants=True) as session:
        tenants.disable_plugin(platform, session, tenants.get_tenant(session, tenant_slug), name)
    out.print(f"Disabled {name} for {tenant_slug} (data kept; 'xrm plugins purge' removes it)")


@plugins_group.command("purge")
@click.argument("name")
@tenant_option
@click.option("--yes", is_flag=True, help="Do not ask for confirmation.")
@pass_info
def plugins_purge(info: ScriptInfo, name: str, tenant_slug: str, yes: bool) -> None:
    """Archive, then delete, plugin NAME's data for a tenant where it is disabled."""
    platform = platform_of(info)
    if not yes:
        click.confirm(f"Delete every {name} record of tenant {tenant_slug} (after archiving)?", abort=True)
    with platform.db.transaction(all_tenants=True) as session:
        archive = tenants.purge_plugin(
            platform, session, tenants.get_tenant(session, tenant_slug), name,
            platform.settings.instance_path / "archives",
        )
    out.print(f"Purged {name} for {tenant_slug}; archive: {archive}")


# -- events -------------------------------------------------------------------------------------


@cli.group("events")
def events_group() -> None:
    """The event log and the dead-letter list: list, failed, retry, discard, replay."""


def _since(value: str | None):
    if value is None:
        return None
    from datetime import UTC, datetime

    try:
        moment = datetime.fromisoformat(value)
    except ValueError:
        raise XrmError(f"{value!r} is not a date or time (use YYYY-MM-DD or YYYY-MM-DDTHH:MM)") from None
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


@events_group.command("list")
@tenant_option
@click.option("--type", "type_pattern", help="Event type or pattern (sales.*, *.party.created).")
@click.option("--since", help="Only events at or after this date/time (ISO 8601, UTC unless given).")
@click.option("--limit", default=50, show_default=True, help="Most events shown, newest first.")
@pass_info
def events_list(info: ScriptInfo, tenant_slug: str, type_pattern: str | None, since: str | None, limit: int) -> None:
    """The events of a tenant, newest first."""
    platform = platform_of(info)
    tenant_id = tenant_id_of(platform, tenant_slug)
    with platform.db.session(tenant_id, read_only=True) as session:
        rows = deadletter.events(session, type_pattern=type_pattern, since=_since(since), limit=limit)
    # One line per event (wide values, meant for grep): time, type, subject, actor, event id.
    for row in rows:
        out.print(f"{row.occurred_at:%Y-%m-%d %H:%M:%S}  {row.type}  {row.subject_type}:{row.subject_id}  "
                  f"{row.actor}  {row.event_id}", soft_wrap=True)
    if not rows:
        out.print("No events")


@events_group.command("failed")
@click.option("--tenant", "tenant_slug", help="Only this tenant.")
@pass_info
def events_failed(info: ScriptInfo, tenant_slug: str | None) -> None:
    """The dead-letter list: deliveries that failed every attempt."""
    platform = platform_of(info)
    tenant_id = tenant_id_of(platform, tenant_slug) if tenant_slug else None
    with platform.db.session(all_tenants=True, read_only=True) as session:
        rows = deadletter.failed(session, tenant_id)
        slugs = {t.id: t.slug for t in tenants.list_tenants(session)}
    # One line per failed delivery: its id (for 'xrm events retry'), tenant, subscriber, event, error.
    for row in rows:
        out.print(f"{row.id}  {slugs.get(row.tenant_id, row.tenant_id)}  {row.subscriber}  {row.event_type}  "
                  f"{row.event_id}  {row.subject}  attempts={row.attempts}  {row.last_error}", soft_wrap=True)
    if not rows:
        out.print("No failed deliveries")


@events_group.command("retry")
@click.argument("delivery_id", type=int)
@pass_info
def events_retry(info: ScriptInfo, delivery_id: int) -> None:
    """Put failed delivery DELIVERY_ID (from 'xrm events failed') back in the queue."""
    platform = platform_of(info)
    with platform.db.transaction(all_tenants=True) as session:
        deadletter.retry(session, delivery_id)
    out.print(f"Delivery {delivery_id} queued again")


@events_group.command("discard")
@click.argument("delivery_id", type=int)
@pass_info
def events_discard(info: ScriptInfo, delivery_id: int) -> None:
    """Drop failed delivery DELIVERY_ID (from 'xrm events failed') for good; the event stays in the log."""
    platform = platform_of(info)
    with platform.db.transaction(all_tenants=True) as session:
        deadletter.discard(session, delivery_id)
    out.print(f"Delivery {delivery_id} discarded")


@events_group.command("replay")
@tenant_option
@click.option("--subscriber", required=True, help="Subscriber name (<plugin>.xrm_on_event, <plugin>.<handler>, webhook.<id>).")
@click.option("--since", required=True, help="Replay events at or after this date/time (ISO 8601).")
@pass_info
def events_replay(info: ScriptInfo, tenant_slug: str, subscriber: str, since: str) -> None:
    """Deliver a tenant's past events to SUBSCRIBER again, where it has not processed them yet."""
    platform = platform_of(info)
    tenant_id = tenant_id_of(platform, tenant_slug)
    with platform.db.transaction(all_tenants=True) as session:
        count = deadletter.replay(get_bus(platform), session, tenant_id, subscriber, _since(since))
    out.print(f"Queued {count} event(s) for {subscriber} in {tenant_slug}")


register_event_commands(cli, events_group)  # xrm webhooks …, xrm events prune, xrm beat
cli.add_command(workflows_cli)  # xrm workflows …


# -- users --------------------------------------------------------------------------------------


@cli.group("users")
def users_group() -> None:
    """Users of a tenant."""


@users_group.command("create")
@tenant_option
@click.option("--email", required=True, help="Sign-in e-mail address.")
@click.option("--name", "display_name", default="", help="Display name (defaults to the e-mail).")
@click.option("--admin", is_flag=True, help="Make the user a tenant administrator.")
@click.option("--password-stdin", is_flag=True, help="Read the password from standard input instead of prompting.")
@pass_info
def users_create(info: ScriptInfo, tenant_slug: str, email: str, display_name: str, admin: bool, password_stdin: bool) -> None:
    """Create a user in a tenant; the password is asked for (never passed as an argument)."""
    platform = platform_of(info)
    email = email.strip().lower()
    if "@" not in email:
        raise XrmError(f"{email!r} is not an e-mail address")
    password = sys.stdin.readline().rstrip("\n") if password_stdin else getpass.getpass("Password: ")
    password_hash = hash_password(password, email=email)
    with platform.db.session(all_tenants=True) as session:
        tenant_id = tenants.get_tenant(session, tenant_slug).id
    with platform.db.transaction(tenant_id) as session:
        if session.scalar(select(User.id).where(User.email == email)) is not None:
            raise XrmError(f"user {email} already exists in {tenant_slug}")
        if admin:
            ensure_administrator(session, platform, email, password, display_name)
        else:
            session.add(User(email=email, display_name=display_name or email, password_hash=password_hash))
            session.flush()
        record(session, "cli", "user.created", email, admin=admin)
    out.print(f"Created user {email} in {tenant_slug}")


cli.add_command(plugin_group)
cli.add_command(privacy_group)  # xrm privacy export|erase
register_dataio_commands(cli)  # xrm import …, xrm export

identity_cli.register(cli, users_group)

# Flask's --app/--env-file/--debug options would let a command load some other application.
cli.params = [p for p in cli.params if p.name not in ("app", "env_file", "debug")]


def main() -> None:
    cli(prog_name="xrm")
