"""Pruning the event log: old delivered events go, undelivered ones and dead letters always stay."""

from __future__ import annotations

import dataclasses
from datetime import timedelta

import pytest
from click.testing import CliRunner
from sqlalchemy import func, select, update

from xrm_core import migrate, tenants
from xrm_core.cli import cli
from xrm_core.config import PREFIX, Settings
from xrm_core.db import utcnow
from xrm_core.errors import ConfigurationError
from xrm_core.events import get_bus, load_event_settings, publish
from xrm_core.events.models import DEAD, PENDING, Delivery, OutboxEvent, ProcessedEvent, WebhookAttempt
from xrm_core.events.retention import count_prunable, prune
from xrm_core.events.webhooks import create_webhook, pause_webhook, send_test

FAST = {"retry_base_s": 0.01, "retry_cap_s": 0.04, "max_attempts": 1, "poll_s": 0.05, "webhooks_timeout_s": 2.0}
OK, FAILING = "core.prune_ok", "core.prune_failing"
#: A loopback port nothing listens on: every attempt there fails at once (connection refused).
CLOSED = "http://127.0.0.1:9/hook"


def _fail(event):
    raise RuntimeError(f"cannot handle {event.type}")


@pytest.fixture
def history(make_platform):
    """Events of every fate, all but one aged 40 days:

    ``party``: delivered; ``role``: dead-lettered (a failing subscriber); ``relationship``: pending
    (for a paused webhook); ``plugin``: dead-lettered after a failed webhook attempt; ``user``:
    published and never relayed; ``recent``: delivered today. Plus a 40-day-old webhook test attempt.
    """
    platform = make_platform()
    migrate.upgrade(platform)
    with platform.db.transaction(all_tenants=True) as session:
        acme = tenants.create_tenant(session, "acme", "ACME").id
    bus = get_bus(platform, load_event_settings(environ={}, webhooks_allow_private=True, **FAST))
    bus.subscribe(OK, "core.party.*", lambda event: None)
    bus.subscribe(FAILING, "core.role.*", _fail)
    with platform.db.transaction(acme) as session:
        paused = create_webhook(session, CLOSED, "core.relationship.*", bus.settings)
        pause_webhook(session, paused)
        failing_hook = create_webhook(session, CLOSED, "core.plugin.*", bus.settings).id
    events = {}
    with platform.db.transaction(acme) as session:
        events["party"] = publish(session, "core.party.updated", ("core_parties", 1), {"changed": ["tags"]}, "cli")
        events["role"] = publish(session, "core.role.assigned", ("core_parties", 2), {"party_id": 2, "role": "x"}, "cli")
        events["relationship"] = publish(session, "core.relationship.created", ("core_relationships", 3),
                                         {"type": "knows", "from_party_id": 1, "to_party_id": 2}, "cli")
        events["plugin"] = publish(session, "core.plugin.enabled", ("core_tenants", acme), {"plugin": "x"}, "cli")
    bus.run_until_idle()
    test_attempt = send_test(bus, acme, failing_hook, "cli")
    with platform.db.transaction(acme) as session:
        events["user"] = publish(session, "core.user.created", ("core_users", 9), {}, "cli")
    old = utcnow() - timedelta(days=40)
    with platform.db.transaction(all_tenants=True) as session:
        session.execute(update(OutboxEvent).values(occurred_at=old))
        session.execute(update(ProcessedEvent).values(processed_at=old))
        session.execute(update(WebhookAttempt).values(at=old))
    with platform.db.transaction(acme) as session:
        events["recent"] = publish(session, "core.party.updated", ("core_parties", 4), {"changed": ["tags"]}, "cli")
    bus.run_until_idle(timeout=30)
    with platform.db.transaction(all_tenants=True) as session:  # as if its relay had not run yet
        session.execute(update(OutboxEvent).where(OutboxEvent.event_id == events["user"].id).values(relayed_at=None))
    yield platform, bus, acme, {name: e.id for name, e in events.items()}, test_attempt.event_id


def _state(platform):
    with platform.db.session(all_tenants=True, read_only=True) as session:
        events = set(session.scalars(select(OutboxEvent.event_id)))
        processed = {tuple(r) for r in session.execute(select(ProcessedEvent.event_id, ProcessedEvent.subscriber))}
        attempts = set(session.scalars(select(WebhookAttempt.event_id)))
        deliveries = {tuple(r) for r in session.execute(
            select(OutboxEvent.event_id, Delivery.status).join(OutboxEvent, OutboxEvent.id == Delivery.event_pk))}
    return events, processed, attempts, deliveries


def test_old_delivered_events_go_while_undelivered_and_dead_lettered_ones_stay(history):
    platform, bus, _acme, ids, test_event = history
    events, processed, attempts, deliveries = _state(platform)
    assert {(ids["role"], DEAD), (ids["relationship"], PENDING), (ids["plugin"], DEAD)} <= deliveries
    assert (ids["party"], OK) in processed and test_event in attempts and ids["plugin"] in attempts

    expected = count_prunable(platform, 30)
    progress: list[tuple[str, int]] = []
    removed = prune(platform, 30, batch=1, progress=lambda kind, rows: progress.append((kind, rows)))

    events_after, processed_after, attempts_after, deliveries_after = _state(platform)
    gone = events - events_after
    assert removed == expected and removed.events == len(gone) and removed.attempts == 1
    assert ids["party"] in gone  # (with whatever else the platform published about the tenant, delivered)
    assert {ids["role"], ids["relationship"], ids["plugin"], ids["user"], ids["recent"]} <= events_after
    assert deliveries_after == deliveries  # no dead letter and no pending delivery lost
    assert processed_after == {p for p in processed if p[0] not in gone}
    assert removed.processed == len(processed - processed_after) >= 1
    assert sum(rows for kind, rows in progress if kind == "processed") == removed.processed
    assert (ids["recent"], OK) in processed_after
    assert attempts_after == attempts - {test_event} and ids["plugin"] in attempts_after
    assert prune(platform, 30).total == 0  # nothing left to remove

    # The event never relayed is delivered normally after the pruning.
    bus.run_until_idle()
    with platform.db.session(all_tenants=True, read_only=True) as session:
        assert session.scalar(select(func.count()).select_from(OutboxEvent).where(OutboxEvent.relayed_at.is_(None))) == 0


def test_a_longer_retention_keeps_everything(history):
    platform, _bus, _acme, _ids, _test_event = history
    before = _state(platform)
    assert count_prunable(platform, 41).total == 0 and prune(platform, 41).total == 0
    assert _state(platform) == before


def test_retention_settings_are_checked():
    assert load_event_settings(environ={"XRM_EVENTS_RETENTION_DAYS": "7"}).retention_days == 7
    assert load_event_settings(environ={}).retention_days == 30
    for bad in ("0", "-3", "soon"):
        with pytest.raises(ConfigurationError, match="XRM_EVENTS_RETENTION_DAYS"):
            load_event_settings(environ={"XRM_EVENTS_RETENTION_DAYS": bad})


def test_xrm_events_prune_dry_run_changes_nothing_then_prunes(history, monkeypatch):
    platform, _bus, _acme, ids, _test_event = history
    for setting in dataclasses.fields(Settings):
        monkeypatch.delenv(PREFIX + setting.name.upper(), raising=False)
    monkeypatch.setenv("XRM_INSTANCE_PATH", str(platform.settings.instance_path))
    monkeypatch.setenv("XRM_DATABASE_URL", platform.settings.database_url)
    runner = CliRunner()
    before = _state(platform)
    expected = count_prunable(platform, 30)

    dry = runner.invoke(cli, ["events", "prune", "--dry-run"], prog_name="xrm")
    assert dry.exit_code == 0, dry.output
    assert dry.output.strip() == (f"Would remove {expected.events} event(s), {expected.processed} processed record(s) and "
                                  "1 webhook attempt(s) older than 30 day(s)")
    assert _state(platform) == before

    kept = runner.invoke(cli, ["events", "prune", "--days", "45"], prog_name="xrm")
    assert kept.exit_code == 0 and "Removed 0 event(s)" in kept.output and _state(platform) == before
    bad = runner.invoke(cli, ["events", "prune", "--days", "0"], prog_name="xrm")
    assert bad.exit_code == 1 and bad.output.strip() == "Error: --days must be at least 1"

    done = runner.invoke(cli, ["events", "prune"], prog_name="xrm")
    assert done.exit_code == 0, done.output
    assert f"Removed {expected.events} event(s), {expected.processed} processed record(s) and 1 webhook attempt(s)" in done.output
    assert ids["party"] not in _state(platform)[0] and ids["role"] in _state(platform)[0]
