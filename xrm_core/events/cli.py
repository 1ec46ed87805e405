"""The event bus's commands: ``xrm webhooks …``, ``xrm events prune`` and ``xrm beat``.

:func:`register` adds them to the ``xrm`` command (``xrm_core.cli``), next to ``xrm events
list/failed/retry/replay``. Errors are ``XrmError``s, which the ``xrm`` group prints as one line.
"""

from __future__ import annotations

import click
from flask.cli import ScriptInfo
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn
from sqlalchemy import select

from ..cli_support import pass_info, platform_of, tenant_id_of, tenant_option
from ..errors import ConfigurationError, NotFound, XrmError
from .bus import get_bus
from .models import WebhookSubscription
from .retention import KINDS, count_prunable, prune
from .webhooks import (
    attempts,
    create_webhook,
    delete_webhook,
    pause_webhook,
    resume_webhook,
    rotate_secret,
    send_test,
)

#: Output names tenants chose: printed as-is, never as Rich markup, one line per item (for grep).
out = Console(markup=False, emoji=False, soft_wrap=True)
console = Console(stderr=True)


def register(cli: click.Group, events_group: click.Group) -> None:
    """Add ``webhooks`` and ``beat`` to ``cli``, and ``prune`` to its ``events`` group."""
    cli.add_command(webhooks_group)
    cli.add_command(beat)
    events_group.add_command(events_prune)


def _hook(session, webhook_id: int) -> WebhookSubscription:
    hook = session.get(WebhookSubscription, webhook_id)
    if hook is None:
        raise NotFound(f"no webhook {webhook_id} in this tenant")
    return hook


# -- xrm webhooks ----------------------------------------------------------------------------------


@click.group("webhooks")
def webhooks_group() -> None:
    """A tenant's webhook subscriptions: list, create, delete, rotate-secret, attempts, pause, resume, test."""


@webhooks_group.command("list")
@tenant_option
@pass_info
def webhooks_list(info: ScriptInfo, tenant_slug: str) -> None:
    """The tenant's subscriptions: id, state, pattern, URL, consecutive failures."""
    platform = platform_of(info)
    with platform.db.session(tenant_id_of(platform, tenant_slug), read_only=True) as session:
        hooks = list(session.scalars(select(WebhookSubscription).order_by(WebhookSubscription.id)))
        for hook in hooks:
            reason = f"  ({hook.disabled_reason})" if hook.disabled_reason else ""
            out.print(f"{hook.id}  {hook.state}  {hook.pattern}  {hook.url}  failures={hook.failures}{reason}")
    if not hooks:
        out.print("No webhooks")


@webhooks_group.command("create")
@tenant_option
@click.option("--url", required=True, help="http(s) URL to POST events to.")
@click.option("--pattern", required=True, help="Event types to send: 'sales.*', '*.party.created', …")
@pass_info
def webhooks_create(info: ScriptInfo, tenant_slug: str, url: str, pattern: str) -> None:
    """Subscribe URL to the events matching PATTERN; prints the signing secret, this once."""
    platform = platform_of(info)
    with platform.db.transaction(tenant_id_of(platform, tenant_slug)) as session:
        hook = create_webhook(session, url, pattern, get_bus(platform).settings, actor="cli")
        hook_id, secret = hook.id, hook.secret
    out.print(f"Created webhook {hook_id} for {pattern} -> {url}")
    out.print(f"Signing secret (shown once): {secret}")


@webhooks_group.command("delete")
@tenant_option
@click.argument("webhook_id", type=int)
@pass_info
def webhooks_delete(info: ScriptInfo, tenant_slug: str, webhook_id: int) -> None:
    """Delete subscription WEBHOOK_ID, its delivery log and its queued deliveries."""
    platform = platform_of(info)
    with platform.db.transaction(tenant_id_of(platform, tenant_slug)) as session:
        delete_webhook(session, _hook(session, webhook_id), actor="cli")
    out.print(f"Deleted webhook {webhook_id}")


@webhooks_group.command("rotate-secret")
@tenant_option
@click.argument("webhook_id", type=int)
@pass_info
def webhooks_rotate(info: ScriptInfo, tenant_slug: str, webhook_id: int) -> None:
    """Give WEBHOOK_ID a new signing secret (printed once); the old one stops at once."""
    platform = platform_of(info)
    with platform.db.transaction(tenant_id_of(platform, tenant_slug)) as session:
        secret = rotate_secret(session, _hook(session, webhook_id), actor="cli")
    out.print(f"New signing secret of webhook {webhook_id} (shown once): {secret}")


@webhooks_group.command("attempts")
@tenant_option
@click.argument("webhook_id", type=int)
@click.option("--limit", default=20, show_default=True, help="Most attempts shown, newest last.")
@pass_info
def webhooks_attempts(info: ScriptInfo, tenant_slug: str, webhook_id: int, limit: int) -> None:
    """The delivery log of WEBHOOK_ID: time, event, attempt, response code or error, duration."""
    platform = platform_of(info)
    with platform.db.session(tenant_id_of(platform, tenant_slug), read_only=True) as session:
        _hook(session, webhook_id)
        rows = attempts(session, webhook_id)[-limit:] if limit > 0 else []
        for row in rows:
            outcome = f"HTTP {row.status_code}" if row.status_code is not None else "no answer"
            error = f"  {row.error}" if row.error and row.status_code is None else ""
            out.print(f"{row.at:%Y-%m-%d %H:%M:%S}  {row.event_id}  attempt={row.attempt}  {outcome}  "
                      f"{row.duration_ms}ms{error}")
    if not rows:
        out.print("No attempts")


@webhooks_group.command("pause")
@tenant_option
@click.argument("webhook_id", type=int)
@pass_info
def webhooks_pause(info: ScriptInfo, tenant_slug: str, webhook_id: int) -> None:
    """Stop sending to WEBHOOK_ID; its events wait until it is resumed."""
    platform = platform_of(info)
    with platform.db.transaction(tenant_id_of(platform, tenant_slug)) as session:
        pause_webhook(session, _hook(session, webhook_id), actor="cli")
    out.print(f"Paused webhook {webhook_id}")


@webhooks_group.command("resume")
@tenant_option
@click.argument("webhook_id", type=int)
@pass_info
def webhooks_resume(info: ScriptInfo, tenant_slug: str, webhook_id: int) -> None:
    """Send to WEBHOOK_ID again (also re-enables one disabled after failures)."""
    platform = platform_of(info)
    with platform.db.transaction(tenant_id_of(platform, tenant_slug)) as session:
        resume_webhook(session, _hook(session, webhook_id), actor="cli")
    out.print(f"Resumed webhook {webhook_id}")


@webhooks_group.command("test")
@tenant_option
@click.argument("webhook_id", type=int)
@pass_info
def webhooks_test(info: ScriptInfo, tenant_slug: str, webhook_id: int) -> None:
    """POST a signed test event to WEBHOOK_ID now and print the outcome (fails unless 2xx)."""
    platform = platform_of(info)
    attempt = send_test(get_bus(platform), tenant_id_of(platform, tenant_slug), webhook_id, "cli")
    if attempt.error is not None:
        raise XrmError(f"webhook {webhook_id} test failed: {attempt.error}")
    out.print(f"Webhook {webhook_id} answered HTTP {attempt.status_code} in {attempt.duration_ms}ms")


# -- xrm events prune ------------------------------------------------------------------------------


@click.command("prune")
@click.option("--days", type=int, help="Keep this many days (default: XRM_EVENTS_RETENTION_DAYS).")
@click.option("--dry-run", is_flag=True, help="Only count what would be removed.")
@pass_info
def events_prune(info: ScriptInfo, days: int | None, dry_run: bool) -> None:
    """Remove delivered events, processed records and webhook attempts older than the retention.

    Undelivered events and dead letters are always kept.
    """
    platform = platform_of(info)
    settings = get_bus(platform).settings
    days = settings.retention_days if days is None else days
    if days < 1:
        raise ConfigurationError("--days must be at least 1")
    expected = count_prunable(platform, days)
    if dry_run:
        out.print(f"Would remove {expected.events} event(s), {expected.processed} processed record(s) and "
                  f"{expected.attempts} webhook attempt(s) older than {days} day(s)")
        return
    with Progress(TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(),
                  console=console, transient=True) as progress:
        tasks = {kind: progress.add_task(f"pruning {kind}", total=getattr(expected, kind) or None) for kind in KINDS}
        done = prune(platform, days, settings.batch, progress=lambda kind, rows: progress.advance(tasks[kind], rows))
    out.print(f"Removed {done.events} event(s), {done.processed} processed record(s) and "
              f"{done.attempts} webhook attempt(s) older than {days} day(s)")


# -- xrm beat --------------------------------------------------------------------------------------


@click.command("beat")
@click.option("--loglevel", default="INFO", show_default=True, help="Celery log level.")
@pass_info
def beat(info: ScriptInfo, loglevel: str) -> None:
    """Run Celery beat: the periodic jobs (pruning, sweeps, workflow timers…) for 'xrm worker' to run.

    Scale-out only (XRM_BROKER_URL); run exactly one. Without a broker, 'xrm serve' runs the jobs itself.
    """
    platform = platform_of(info)
    if not platform.settings.broker_url:
        raise ConfigurationError(
            "XRM_BROKER_URL is not set: without a broker, 'xrm serve' runs the periodic jobs itself")
    from .tasks import run_beat

    run_beat(get_bus(platform), loglevel=loglevel.upper())
