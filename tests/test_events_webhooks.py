"""Webhooks against a real HTTP server on loopback: signed deliveries, retries, disabling, SSRF."""

from __future__ import annotations

import json
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
from plugin_dists import CORE, Dist
from sqlalchemy import func, select

from xrm_core import migrate, tenants
from xrm_core.events import get_bus, load_event_settings, publish
from xrm_core.events.models import DEAD, Delivery, OutboxEvent, ProcessedEvent, WebhookSubscription
from xrm_core.events.webhooks import (
    SIGNATURE_HEADER,
    TIMESTAMP_HEADER,
    WebhookRefused,
    attempts,
    create_webhook,
    resolve_target,
    sign,
    verify_signature,
)
from xrm_core.models import AuditEntry

LISTEN = Dist("xrm-fx-listen", "0.1.0", "listen", "xrm_fx_listen.plugin", (CORE,))
THING = "listen.thing.happened"
FAST = {"retry_base_s": 0.01, "retry_cap_s": 0.04, "max_attempts": 4, "poll_s": 0.05, "webhooks_timeout_s": 5.0}


class Receiver:
    """An HTTP server on 127.0.0.1 recording every request and answering with the given codes."""

    def __init__(self, codes=(200,)):
        self.requests: list[tuple[dict[str, str], bytes, str]] = []
        self.codes = list(codes)
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self):
                body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
                receiver.requests.append((dict(self.headers), body, self.path))
                code = receiver.codes.pop(0) if len(receiver.codes) > 1 else receiver.codes[0]
                self.send_response(code)
                self.send_header("Content-Length", "2")
                self.end_headers()
                self.wfile.write(b"ok")

            def log_message(self, *_args):
                """Quiet: the tests read the requests received, not the server's log."""

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/hooks/xrm?source=test"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    def __enter__(self):
        self.thread.start()
        return self

    def __exit__(self, *_exc):
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def world(make_platform):
    platform = make_platform(LISTEN)
    migrate.upgrade(platform)
    with platform.db.transaction(all_tenants=True) as session:
        acme = tenants.create_tenant(session, "acme", "ACME")
        acme_id = acme.id
    bus = get_bus(platform, load_event_settings(environ={}, webhooks_allow_private=True, **FAST))
    yield platform, bus, acme_id
    bus.stop()


def drain(bus, until, timeout=20.0):
    deadline = time.monotonic() + timeout
    while not until():
        assert time.monotonic() < deadline, "the condition did not hold before the deadline"
        if not bus.step():
            time.sleep(0.005)


def settled(platform) -> bool:
    """Every event relayed and no delivery left to try (dead ones aside)."""
    return scalar(platform, select(func.count()).select_from(OutboxEvent).where(OutboxEvent.relayed_at.is_(None))) == 0 \
        and scalar(platform, select(func.count()).select_from(Delivery).where(Delivery.status != DEAD)) == 0


def scalar(platform, query):
    with platform.db.session(all_tenants=True, read_only=True) as session:
        return session.scalar(query)


def test_a_webhook_receives_signed_events_matching_its_pattern(world):
    platform, bus, acme = world
    with Receiver() as receiver:
        with platform.db.transaction(acme) as session:
            hook = create_webhook(session, receiver.url, "listen.thing.*", bus.settings, secret="s3cret")
            hook_id = hook.id
        with platform.db.transaction(acme) as session:
            event = publish(session, THING, ("thing", 5), {"n": 5}, "user:1", related=[8])
            publish(session, "listen.other.happened", ("other", 1), {}, "cli")  # does not match
        drain(bus, lambda: settled(platform))
        [(headers, body, path)] = receiver.requests
    assert path == "/hooks/xrm?source=test"
    assert verify_signature("s3cret", headers[TIMESTAMP_HEADER], body, headers[SIGNATURE_HEADER])
    assert not verify_signature("wrong", headers[TIMESTAMP_HEADER], body, headers[SIGNATURE_HEADER])
    assert not verify_signature("s3cret", headers[TIMESTAMP_HEADER], body + b" ", headers[SIGNATURE_HEADER])
    stale = str(int(headers[TIMESTAMP_HEADER]) - 3600)
    assert not verify_signature("s3cret", stale, body, sign("s3cret", stale, body))
    assert headers["X-XRM-Event"] == THING and headers["X-XRM-Event-Id"] == event.id
    sent = json.loads(body)
    assert (sent["id"], sent["type"], sent["actor"], sent["related"]) == (event.id, THING, "user:1", [8])
    assert sent["subject"] == {"entity": "thing", "id": "5"} and sent["payload"]["n"] == 5
    with platform.db.session(acme, read_only=True) as session:
        [logged] = attempts(session, hook_id)
        assert (logged.status_code, logged.error, logged.attempt, logged.event_id) == (200, None, 1, event.id)
    assert scalar(platform, select(func.count()).select_from(ProcessedEvent)
                  .where(ProcessedEvent.subscriber == f"webhook.{hook_id}")) == 1


def test_failed_deliveries_are_retried_logged_and_a_persistently_failing_webhook_is_disabled(world):
    platform, bus, acme = world
    with Receiver(codes=(500, 503, 200)) as flaky, Receiver(codes=(500,)) as broken:
        with platform.db.transaction(acme) as session:
            flaky_id = create_webhook(session, flaky.url, THING, bus.settings).id
            broken_id = create_webhook(session, broken.url, "*", bus.settings).id
        bus = get_bus(platform, load_event_settings(environ={}, webhooks_allow_private=True,
                                                    webhooks_disable_after=3, **{**FAST, "max_attempts": 10}))
        with platform.db.transaction(acme) as session:
            publish(session, THING, ("thing", 1), {"n": 1}, "cli")
            publish(session, THING, ("thing", 2), {"n": 2}, "cli")
        drain(bus, lambda: settled(platform))
    with platform.db.session(acme, read_only=True) as session:
        codes = [a.status_code for a in attempts(session, flaky_id)]
        assert codes.count(200) == 2 and sorted(codes)[:2] == [200, 200] and 500 in codes and 503 in codes
        hook = session.get(WebhookSubscription, broken_id)
        assert not hook.active and hook.disabled_reason.startswith("disabled after 3 consecutive failed deliveries")
        assert [a.status_code for a in attempts(session, broken_id)] == [500, 500, 500]
        assert [a.error for a in attempts(session, broken_id)] == ["HTTP 500"] * 3
        audit = session.scalar(select(AuditEntry).where(AuditEntry.action == "webhook.disabled"))
        assert audit.actor == "platform" and audit.details["webhook_id"] == broken_id
        assert session.get(WebhookSubscription, flaky_id).active
    dead = scalar(platform, select(func.count()).select_from(Delivery).where(Delivery.status == DEAD,
                                                                          Delivery.subscriber == f"webhook.{broken_id}"))
    assert dead == 2  # both events, for the disabled webhook only


@pytest.mark.parametrize("url", [
    "http://127.0.0.1:9/", "http://localhost/", "http://[::1]/", "http://10.1.2.3/", "http://192.168.0.10/",
    "http://169.254.169.254/latest/meta-data/", "http://0.0.0.0/", "http://[::ffff:127.0.0.1]/",
])
def test_private_and_loopback_targets_are_refused_unless_the_operator_allows_them(world, url):
    platform, _bus, acme = world
    strict = load_event_settings(environ={})
    with platform.db.transaction(acme) as session, pytest.raises(WebhookRefused, match="private, loopback or reserved"):
        create_webhook(session, url, "*", strict)
    assert resolve_target(url, load_event_settings(environ={"XRM_WEBHOOKS_ALLOW_PRIVATE": "1"}))[0] == "http"


def test_bad_webhook_urls_and_patterns_are_refused(world):
    platform, bus, acme = world
    with platform.db.transaction(acme) as session:
        for url, reason in (("ftp://example.com/", "must be http"), ("http:///path", "must be http"),
                            ("http://user:pw@example.com/", "credentials")):
            with pytest.raises(WebhookRefused, match=reason):
                create_webhook(session, url, "*", bus.settings)
        with pytest.raises(WebhookRefused, match="pattern"):
            create_webhook(session, "http://127.0.0.1/", "sales quote", bus.settings)


def test_a_target_that_became_private_is_refused_at_delivery_and_dead_lettered_at_once(world):
    platform, bus, acme = world
    with Receiver() as receiver:
        with platform.db.transaction(acme) as session:
            hook_id = create_webhook(session, receiver.url, "*", bus.settings).id
        strict = get_bus(platform, load_event_settings(environ={}, **FAST))  # the operator withdrew the allowance
        with platform.db.transaction(acme) as session:
            publish(session, THING, ("thing", 1), {"n": 1}, "cli")
        strict.run_until_idle()
        assert receiver.requests == []
    with platform.db.session(acme, read_only=True) as session:
        [logged] = attempts(session, hook_id)
        assert logged.status_code is None and "refusing webhook target '127.0.0.1'" in logged.error
        [delivery] = session.scalars(select(Delivery)).all()
        assert delivery.status == DEAD and delivery.attempts == 1
