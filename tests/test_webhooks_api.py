"""``/api/v1/webhooks`` and ``xrm webhooks``: managing subscriptions, against a real receiver on loopback."""

from __future__ import annotations

import dataclasses
import json
import threading
import time
import uuid
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
from click.testing import CliRunner
from sqlalchemy import func, select
from xrm_sdk.testing import administrator_headers

from xrm_core import migrate, tenants
from xrm_core.app import create_app
from xrm_core.cli import cli
from xrm_core.config import PREFIX, Settings
from xrm_core.events import get_bus, load_event_settings, publish
from xrm_core.events.models import DEAD, PENDING, Delivery, WebhookAttempt, WebhookSubscription
from xrm_core.events.webhooks import SIGNATURE_HEADER, TEST_EVENT, TIMESTAMP_HEADER, verify_signature
from xrm_core.identity import admin
from xrm_core.identity.catalogue import all_permissions
from xrm_core.identity.models import Scope
from xrm_core.identity.tokens import create_token
from xrm_core.models import AuditEntry, User
from xrm_core.problems import PROBLEM_JSON

HOOKS = "/api/v1/webhooks"
FAST = {"retry_base_s": 0.01, "retry_cap_s": 0.04, "max_attempts": 4, "poll_s": 0.05, "webhooks_timeout_s": 5.0}


class Receiver:
    """An HTTP server on 127.0.0.1 recording every POST and answering with ``codes`` (the last one repeats)."""

    def __init__(self, codes=(200,)):
        self.requests: list[tuple[dict[str, str], bytes, str]] = []
        self.codes = list(codes)
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self):
                body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
                receiver.requests.append((dict(self.headers), body, self.path))
                self.send_response(receiver.codes.pop(0) if len(receiver.codes) > 1 else receiver.codes[0])
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, *_args):
                """Quiet: the tests read the requests received, not the server's log."""

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/hooks"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    def __enter__(self):
        self.thread.start()
        return self

    def __exit__(self, *_exc):
        self.server.shutdown()
        self.server.server_close()


@dataclasses.dataclass
class Site:
    platform: object
    client: object
    acme: int
    globex: int
    admin: dict
    globex_admin: dict

    @property
    def bus(self):
        return get_bus(self.platform)


@pytest.fixture
def site(make_platform):
    platform = make_platform("vault")
    migrate.upgrade(platform)
    ids = {}
    with platform.db.transaction(all_tenants=True) as session:
        for slug in ("acme", "globex"):
            ids[slug] = tenants.create_tenant(session, slug, slug.title()).id
    get_bus(platform, load_event_settings(environ={}, webhooks_allow_private=True, **FAST))
    app = create_app(platform=platform)
    app.config["TESTING"] = True
    yield Site(platform, app.test_client(), ids["acme"], ids["globex"],
               administrator_headers(platform, ids["acme"]), administrator_headers(platform, ids["globex"]))
    get_bus(platform).stop()


def user_headers(site: Site, grants: dict[str, Scope]) -> dict[str, str]:
    with site.platform.db.transaction(site.acme) as session:
        user = User(email=f"{uuid.uuid4().hex[:8]}@acme.test", display_name="U", password_hash="-")
        session.add(user)
        session.flush()
        role = admin.define_role(session, f"role-{user.id}", grants, set(all_permissions(site.platform)))
        admin.assign_role(session, user, role)
        _, token = create_token(session, user, "tests")
    return {"Authorization": f"Bearer {token}"}


def problem(response, status: int) -> dict:
    assert response.status_code == status, response.get_data(as_text=True)
    assert response.mimetype == PROBLEM_JSON
    return response.get_json(force=True)


def hooks_in_db(site: Site) -> list[tuple]:
    with site.platform.db.session(all_tenants=True, read_only=True) as session:
        return [tuple(r) for r in session.execute(
            select(WebhookSubscription.tenant_id, WebhookSubscription.url, WebhookSubscription.pattern,
                   WebhookSubscription.secret, WebhookSubscription.version).order_by(WebhookSubscription.id))]


def create(site: Site, url: str, pattern: str = "core.party.*") -> dict:
    response = site.client.post(HOOKS, json={"url": url, "pattern": pattern}, headers=site.admin)
    assert response.status_code == 201, response.get_json()
    return response.get_json()


def drain(site: Site, until=None, timeout: float = 30.0) -> None:
    """Run the bus in this thread until nothing is due, and (if given) until ``until()`` holds."""
    deadline = time.monotonic() + timeout
    site.bus.run_until_idle(timeout=timeout)
    while until is not None and not until():
        assert time.monotonic() < deadline, "the condition did not hold before the deadline"
        if not site.bus.step():
            time.sleep(0.005)


def hook_state(site: Site, webhook_id: int) -> str:
    with site.platform.db.session(site.acme, read_only=True) as session:
        return session.get(WebhookSubscription, webhook_id).state


def test_creating_shows_the_secret_once_and_reading_never_again(site):
    with Receiver() as receiver:
        created = create(site, receiver.url)
        assert created["secret"] and created["state"] == "active" and created["pattern"] == "core.party.*"
        location = site.client.post(HOOKS, json={"url": receiver.url, "pattern": "*"}, headers=site.admin)
        assert location.headers["Location"].endswith(f"{HOOKS}/{location.get_json()['id']}")
        one = site.client.get(f"{HOOKS}/{created['id']}", headers=site.admin)
        assert one.status_code == 200 and "secret" not in one.get_json()
        assert one.headers["ETag"] == created["etag"]
        listed = site.client.get(HOOKS, headers=site.admin).get_json()
        assert [h["id"] for h in listed["items"]] == [created["id"], location.get_json()["id"]]
        assert all("secret" not in h for h in listed["items"])
    [(tenant_id, _url, _pattern, secret, _version), _] = hooks_in_db(site)
    assert (tenant_id, secret) == (site.acme, created["secret"])
    with site.platform.db.session(site.acme, read_only=True) as session:
        actions = list(session.scalars(select(AuditEntry.action).where(AuditEntry.action.like("webhook.%"))))
    assert actions == ["webhook.created", "webhook.created"]


@pytest.mark.parametrize(("body", "field", "message"), [
    ({"url": "http://127.0.0.1:9/hook", "pattern": "*"}, "url", "private, loopback or reserved"),
    ({"url": "http://10.0.0.8/hook", "pattern": "*"}, "url", "private, loopback or reserved"),
    ({"url": "ftp://example.com/", "pattern": "*"}, "url", "must be http"),
    ({"url": "http://user:pw@example.com/", "pattern": "*"}, "url", "credentials"),
    ({"url": "https://example.com/", "pattern": "sales quote"}, "pattern", "is invalid"),
    ({"url": "https://example.com/", "pattern": "nosuch.*"}, "pattern", "matches no declared event type"),
    ({"url": "https://example.com/"}, "pattern", "Missing data"),
    ({"url": "https://example.com/", "pattern": "*", "secret": "mine"}, "secret", "Unknown field."),
])
def test_bad_subscriptions_are_422_naming_the_field_and_create_nothing(site, body, field, message):
    get_bus(site.platform, load_event_settings(environ={}, **FAST))
    found = problem(site.client.post(HOOKS, json=body, headers=site.admin), 422)
    assert list(found["errors"]) == [field] and message in found["errors"][field][0]
    assert hooks_in_db(site) == []


def test_rights_and_tenants_are_enforced(site):
    with Receiver() as receiver:
        hook = create(site, receiver.url)
    reader = user_headers(site, {"core.webhook.read": Scope.TENANT})
    nobody = user_headers(site, {"core.party.read": Scope.TENANT})
    own_only = user_headers(site, {"core.webhook.read": Scope.OWN, "core.webhook.create": Scope.OWN})
    assert site.client.get(f"{HOOKS}/{hook['id']}", headers=reader).status_code == 200
    assert "core.webhook.create" in problem(
        site.client.post(HOOKS, json={"url": "https://example.com/", "pattern": "*"}, headers=reader), 403)["detail"]
    problem(site.client.get(HOOKS, headers=nobody), 403)
    problem(site.client.post(HOOKS, json={"nonsense": 1}, headers=reader), 403)  # rights before input
    problem(site.client.get(HOOKS, headers=own_only), 403)
    problem(site.client.post(f"{HOOKS}/{hook['id']}/rotate-secret", headers=reader), 403)
    problem(site.client.delete(f"{HOOKS}/{hook['id']}", headers={**reader, "If-Match": hook["etag"]}), 403)
    # Another tenant's administrator does not even learn that it exists.
    problem(site.client.get(f"{HOOKS}/{hook['id']}", headers=site.globex_admin), 404)
    problem(site.client.post(f"{HOOKS}/{hook['id']}/test", headers=site.globex_admin), 404)
    problem(site.client.get(f"{HOOKS}/{hook['id']}/attempts", headers=site.globex_admin), 404)
    assert site.client.get(HOOKS, headers=site.globex_admin).get_json()["items"] == []
    problem(site.client.get(HOOKS), 401)
    assert len(hooks_in_db(site)) == 1


def test_changes_need_the_current_etag_and_are_checked_like_a_creation(site):
    with Receiver() as receiver:
        hook = create(site, receiver.url)
        url = f"{HOOKS}/{hook['id']}"
        problem(site.client.patch(url, json={"pattern": "*"}, headers=site.admin), 428)
        problem(site.client.patch(url, json={"pattern": "*"}, headers={**site.admin, "If-Match": '"stale"'}), 412)
        refused = problem(site.client.patch(url, json={"pattern": "nope.*"},
                                            headers={**site.admin, "If-Match": hook["etag"]}), 422)
        assert list(refused["errors"]) == ["pattern"]
        changed = site.client.patch(url, json={"pattern": "core.role.*"},
                                    headers={**site.admin, "If-Match": hook["etag"]})
        assert changed.status_code == 200 and changed.get_json()["pattern"] == "core.role.*"
        assert changed.get_json()["etag"] != hook["etag"]
        problem(site.client.delete(url, headers={**site.admin, "If-Match": hook["etag"]}), 412)
        assert site.client.delete(url, headers={**site.admin, "If-Match": changed.headers["ETag"]}).status_code == 204
        problem(site.client.get(url, headers=site.admin), 404)
    assert hooks_in_db(site) == []


def test_a_rotated_secret_signs_the_next_deliveries(site):
    with Receiver() as receiver:
        hook = create(site, receiver.url)
        rotated = site.client.post(f"{HOOKS}/{hook['id']}/rotate-secret", headers=site.admin)
        assert rotated.status_code == 200
        secret = rotated.get_json()["secret"]
        assert secret != hook["secret"] and rotated.get_json()["etag"] != hook["etag"]
        with site.platform.db.transaction(site.acme) as session:
            publish(session, "core.party.created", ("core_parties", 7), {"kind": "person", "display_name": "Ann"},
                    "cli")
        drain(site)
        [(headers, body, _path)] = receiver.requests
    assert verify_signature(secret, headers[TIMESTAMP_HEADER], body, headers[SIGNATURE_HEADER])
    assert not verify_signature(hook["secret"], headers[TIMESTAMP_HEADER], body, headers[SIGNATURE_HEADER])


def test_send_test_event_posts_a_signed_event_and_logs_the_attempt(site):
    with Receiver(codes=(204, 500)) as receiver:
        hook = create(site, receiver.url)
        first = site.client.post(f"{HOOKS}/{hook['id']}/test", headers=site.admin)
        second = site.client.post(f"{HOOKS}/{hook['id']}/test", headers=site.admin)
        [(headers, body, _path), _] = receiver.requests
    assert first.status_code == 200 and first.get_json()["status_code"] == 204 and first.get_json()["ok"] is True
    assert second.get_json()["status_code"] == 500 and second.get_json()["ok"] is False
    assert second.get_json()["error"] == "HTTP 500"
    assert headers["X-XRM-Event"] == TEST_EVENT
    assert verify_signature(hook["secret"], headers[TIMESTAMP_HEADER], body, headers[SIGNATURE_HEADER])
    assert json.loads(body)["payload"]["webhook_id"] == hook["id"]
    log = site.client.get(f"{HOOKS}/{hook['id']}/attempts", headers=site.admin).get_json()["items"]
    assert [(a["status_code"], a["ok"]) for a in log] == [(500, False), (204, True)]  # newest first
    failed = site.client.get(f"{HOOKS}/{hook['id']}/attempts?status_code__gte=300", headers=site.admin).get_json()
    assert [a["id"] for a in failed["items"]] == [log[0]["id"]]


def test_a_paused_webhook_keeps_its_events_until_resumed(site):
    with Receiver() as receiver:
        hook = create(site, receiver.url)
        paused = site.client.post(f"{HOOKS}/{hook['id']}/pause", headers=site.admin)
        assert paused.get_json()["state"] == "paused"
        with site.platform.db.transaction(site.acme) as session:
            for n in range(3):
                publish(session, "core.party.updated", ("core_parties", n), {"changed": ["tags"]}, "cli")
        drain(site)
        assert receiver.requests == []
        with site.platform.db.session(all_tenants=True, read_only=True) as session:
            waiting = session.execute(select(Delivery.status, Delivery.attempts)).all()
        assert sorted(waiting) == [(PENDING, 0)] * 3
        resumed = site.client.post(f"{HOOKS}/{hook['id']}/resume", headers=site.admin)
        assert resumed.get_json()["state"] == "active"
        drain(site)
        sent = [json.loads(body)["subject"]["id"] for _h, body, _p in receiver.requests]
    assert sent == ["0", "1", "2"]
    with site.platform.db.session(all_tenants=True, read_only=True) as session:
        assert session.scalar(select(func.count()).select_from(Delivery)) == 0


def test_resuming_re_enables_a_disabled_webhook_and_deleting_drops_its_queue(site):
    with Receiver(codes=(500,)) as receiver:
        hook = create(site, receiver.url)
        get_bus(site.platform, load_event_settings(environ={}, webhooks_allow_private=True, webhooks_disable_after=2,
                                                   **FAST))
        with site.platform.db.transaction(site.acme) as session:
            publish(session, "core.party.updated", ("core_parties", 1), {"changed": ["tags"]}, "cli")
        drain(site, until=lambda: hook_state(site, hook["id"]) == "disabled")  # two attempts, with backoff between
        disabled = site.client.get(f"{HOOKS}/{hook['id']}", headers=site.admin).get_json()
        assert disabled["state"] == "disabled" and disabled["disabled_reason"].startswith("disabled after 2")
        resumed = site.client.post(f"{HOOKS}/{hook['id']}/resume", headers=site.admin).get_json()
        assert (resumed["state"], resumed["failures"], resumed["disabled_reason"]) == ("active", 0, None)
    with site.platform.db.session(all_tenants=True, read_only=True) as session:
        assert session.scalar(select(func.count()).select_from(Delivery).where(Delivery.status == DEAD)) == 1
    response = site.client.delete(f"{HOOKS}/{hook['id']}", headers={**site.admin, "If-Match": resumed["etag"]})
    assert response.status_code == 204
    with site.platform.db.session(all_tenants=True, read_only=True) as session:
        assert session.scalar(select(func.count()).select_from(Delivery)) == 0
        assert session.scalar(select(func.count()).select_from(WebhookAttempt)) == 0


def test_protected_fields_never_leave_in_a_webhook_payload(site):
    with Receiver() as receiver:
        create(site, receiver.url, "core.party.updated")
        with site.platform.db.transaction(site.acme) as session:
            publish(session, "core.party.updated", ("vault_dossiers", 1),
                    {"changed": ["fee", "title"], "title": "Case", "fee": 1200, "after": {"fee": 1300}}, "cli")
        drain(site)
        [(_headers, body, _path)] = receiver.requests
    payload = json.loads(body)["payload"]
    assert payload == {"changed": ["fee", "title"], "title": "Case", "after": {}}


@pytest.fixture
def xrm(site, monkeypatch):
    for setting in dataclasses.fields(Settings):
        monkeypatch.delenv(PREFIX + setting.name.upper(), raising=False)
    monkeypatch.setenv("XRM_INSTANCE_PATH", str(site.platform.settings.instance_path))
    monkeypatch.setenv("XRM_DATABASE_URL", site.platform.settings.database_url)
    monkeypatch.setenv("XRM_WEBHOOKS_ALLOW_PRIVATE", "1")
    runner = CliRunner()
    return lambda *args: runner.invoke(cli, list(args), prog_name="xrm")


def test_the_cli_manages_webhooks(site, xrm):
    with Receiver(codes=(200,)) as receiver:
        created = xrm("webhooks", "create", "--tenant", "acme", "--url", receiver.url, "--pattern", "core.*")
        assert created.exit_code == 0, created.output
        hook_id = int(created.output.split()[2])
        secret = created.output.strip().rsplit(" ", 1)[1]
        assert hooks_in_db(site)[0][3] == secret
        listed = xrm("webhooks", "list", "--tenant", "acme")
        assert f"{hook_id}  active  core.*  {receiver.url}  failures=0" in listed.output
        tested = xrm("webhooks", "test", "--tenant", "acme", str(hook_id))
        assert tested.exit_code == 0 and "answered HTTP 200" in tested.output
        logged = xrm("webhooks", "attempts", "--tenant", "acme", str(hook_id))
        assert "attempt=1  HTTP 200" in logged.output
        rotated = xrm("webhooks", "rotate-secret", "--tenant", "acme", str(hook_id))
        assert rotated.exit_code == 0 and hooks_in_db(site)[0][3] == rotated.output.strip().rsplit(" ", 1)[1] != secret
        assert xrm("webhooks", "pause", "--tenant", "acme", str(hook_id)).exit_code == 0
        assert "paused" in xrm("webhooks", "list", "--tenant", "acme").output
        assert xrm("webhooks", "resume", "--tenant", "acme", str(hook_id)).exit_code == 0
    refused = xrm("webhooks", "create", "--tenant", "acme", "--url", "https://example.com/", "--pattern", "nope.*")
    assert refused.exit_code == 1 and refused.output.strip() == (
        "Error: event pattern 'nope.*' matches no declared event type")
    missing = xrm("webhooks", "delete", "--tenant", "globex", str(hook_id))
    assert missing.exit_code == 1 and missing.output.strip() == f"Error: no webhook {hook_id} in this tenant"
    assert xrm("webhooks", "delete", "--tenant", "acme", str(hook_id)).exit_code == 0
    assert hooks_in_db(site) == [] and xrm("webhooks", "list", "--tenant", "acme").output.strip() == "No webhooks"
