"""The console's configuration sections: custom fields, relationship types, webhooks, failed deliveries."""

from __future__ import annotations

import json
import re
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
import ui_world
import ui_world_fixtures
from click.testing import CliRunner
from flask.cli import ScriptInfo
from sqlalchemy import select
from ui_world import csrf_token, sign_in

from xrm_core import migrate
from xrm_core.app import create_app
from xrm_core.cli import cli
from xrm_core.customfields.models import CustomFieldDefinition
from xrm_core.customfields.service import define_custom_field
from xrm_core.events import deadletter, get_bus, load_event_settings, publish
from xrm_core.events.models import DEAD, PENDING, Delivery, WebhookSubscription
from xrm_core.events.webhooks import create_webhook
from xrm_core.graph.models import Party, RelationshipTypeDef
from xrm_core.graph.service import define_relationship_type
from xrm_core.models import AuditEntry

FAST = {"retry_base_s": 0.01, "retry_cap_s": 0.04, "max_attempts": 3, "poll_s": 0.05, "webhooks_timeout_s": 5.0}
SECTIONS = ("/admin/custom-fields", "/admin/custom-fields/new", "/admin/relationship-types",
            "/admin/relationship-types/new", "/admin/webhooks", "/admin/webhooks/new", "/admin/failed-deliveries")


class Receiver:
    """An HTTP server on 127.0.0.1 recording the events POSTed to it (answers 200)."""

    def __init__(self):
        self.events: list[dict] = []
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self):
                receiver.events.append(json.loads(self.rfile.read(int(self.headers.get("Content-Length", 0)))))
                self.send_response(200)
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, *_args):
                """Quiet: the tests read the events received, not the server's log."""

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/hooks"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    def __enter__(self):
        self.thread.start()
        return self

    def __exit__(self, *_exc):
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def world_platform(make_platform):
    platform = make_platform("notes", ui_world.SHOWCASE)
    migrate.upgrade(platform)
    bus = get_bus(platform, load_event_settings(environ={}, webhooks_allow_private=True, **FAST))
    yield platform
    get_bus(platform).stop()
    bus.stop()


app = ui_world_fixtures.world_app  # the world's app (conftest's ``app`` serves another platform)


def signed_in(app, email, tenant="acme"):
    client = app.test_client()
    sign_in(client, email, tenant)
    return client


def post(client, page: str, url: str, data: dict, **kwargs):
    """POST a form the way a browser does: with the CSRF token of the page it is on."""
    token = csrf_token(client.get(page).get_data(as_text=True))
    return client.post(url, data={"csrf_token": token, **data}, **kwargs)


def error_of(html: str, field: str) -> str:
    """The message shown next to ``field``."""
    found = re.search(rf'<span class="error-text" id="{field}-error">([^<]*)</span>', html)
    assert found, f"no error next to {field}"
    return found.group(1)


def flashes(html: str) -> str:
    return " ".join(re.findall(r'<li class="flash [a-z]+">([^<]*)</li>', html))


def rows(platform, tenant_id, statement):
    with platform.db.session(tenant_id, read_only=True) as session:
        return session.scalars(statement).all()


def test_custom_fields_create_validate_refuse_type_change_and_deletion_while_values_exist(app, world_platform, world):
    with world_platform.db.transaction(world.other_tenant_id) as session:
        secret = define_custom_field(session, "core.party", "globex_secret", "Globex secret", "text").id
    client = signed_in(app, "admin@acme.test")
    new = "/admin/custom-fields/new?entity=core.party"

    refused = post(client, new, new, {"entity": "core.party", "code": "tier", "label": "Tier", "type": "choice",
                                      "choices": "", "position": "0"})
    assert refused.status_code == 422
    assert error_of(refused.get_data(as_text=True), "choices") == "A choice field needs choices."
    bad_code = post(client, new, new, {"entity": "core.party", "code": "Bad Code", "label": "X", "type": "text"})
    assert "lower-case letter" in error_of(bad_code.get_data(as_text=True), "code")
    elsewhere = post(client, new, new, {"entity": "nowhere.thing", "code": "x", "label": "X", "type": "text"})
    assert "from the list" in error_of(elsewhere.get_data(as_text=True), "entity")
    assert rows(world_platform, world.tenant_id, select(CustomFieldDefinition)) == []

    created = post(client, new, new, {"entity": "core.party", "code": "size", "label": "Head count",
                                      "type": "number", "required": "on", "position": "1"}, follow_redirects=True)
    page = created.get_data(as_text=True)
    assert created.status_code == 200 and "Head count" in page and 'data-custom-field="size"' in page
    assert "Globex secret" not in page
    [size] = rows(world_platform, world.tenant_id, select(CustomFieldDefinition))
    assert (size.entity, size.code, size.type, size.required) == ("core.party", "size", "number", True)
    assert signed_in(app, "admin@acme.test").get(f"/admin/custom-fields/{secret}/edit").status_code == 404

    with world_platform.db.transaction(world.tenant_id) as session:
        session.get(Party, world.parties["Zenith Industries"]).custom = {"size": "120"}
    edit = f"/admin/custom-fields/{size.id}/edit"
    changed = post(client, edit, edit, {"label": "Head count", "type": "text", "position": "1", "active": "on",
                                        "required": "on", "version": str(size.version)})
    assert changed.status_code == 422
    assert "1 record(s) hold a value" in error_of(changed.get_data(as_text=True), "type")
    assert rows(world_platform, world.tenant_id, select(CustomFieldDefinition.type)) == ["number"]

    deleted = post(client, "/admin/custom-fields", f"/admin/custom-fields/{size.id}/delete",
                   {"version": str(size.version)}, follow_redirects=True)
    assert "cannot be deleted: 1 record(s) hold a value" in flashes(deleted.get_data(as_text=True))

    deactivated = post(client, edit, edit, {"label": "Staff", "type": "number", "position": "1",
                                            "version": str(size.version)}, follow_redirects=True)
    assert deactivated.status_code == 200 and "Inactive" in deactivated.get_data(as_text=True)
    [after] = rows(world_platform, world.tenant_id, select(CustomFieldDefinition))
    assert (after.label, after.active, after.required) == ("Staff", False, False)
    stale = client.post(edit, data={"csrf_token": csrf_token(changed.get_data(as_text=True)), "label": "Late",
                                    "type": "number", "version": str(size.version)})
    assert stale.status_code == 422 and "Someone else changed this" in stale.get_data(as_text=True)
    assert rows(world_platform, world.tenant_id, select(CustomFieldDefinition.label)) == ["Staff"]


def staff_are_refused_and_the_admin_sees_the_four_sections(app):
    """Checked once, in the relationship types' test: each test builds a world, which costs seconds."""
    staff = signed_in(app, "sam@acme.test")
    for url in SECTIONS:
        assert staff.get(url).status_code == 403, url
    token = csrf_token(staff.get("/parties").get_data(as_text=True))
    for url in ("/admin/custom-fields/1/delete", "/admin/relationship-types/employs/delete",
                "/admin/webhooks/1/pause", "/admin/failed-deliveries/1/retry"):
        assert staff.post(url, data={"csrf_token": token}).status_code == 403, url

    home = signed_in(app, "admin@acme.test").get("/admin").get_data(as_text=True)
    for label, url in (("Custom fields", "/admin/custom-fields"), ("Relationship types", "/admin/relationship-types"),
                       ("Webhooks", "/admin/webhooks"), ("Failed deliveries", "/admin/failed-deliveries")):
        assert label in home and f'href="{url}"' in home


def test_relationship_types_tenant_ones_editable_plugin_ones_read_only_in_use_not_deleted(app, world_platform, world):
    staff_are_refused_and_the_admin_sees_the_four_sections(app)
    with world_platform.db.transaction(world.other_tenant_id) as session:
        define_relationship_type(session, "globex_only", "audits", "is audited by")
    with world_platform.db.transaction(world.tenant_id) as session:
        session.add(RelationshipTypeDef(code="shares_notes", forward_label="shares notes with",
                                        inverse_label="shares notes with", symmetric=True, from_kinds=[], to_kinds=[],
                                        from_roles=[], to_roles=[], source="plugin:notes"))
    client = signed_in(app, "admin@acme.test")
    listing = client.get("/admin/relationship-types").get_data(as_text=True)
    assert 'data-relationship-type="employs"' in listing and 'data-relationship-type="shares_notes"' in listing
    assert "globex_only" not in listing and "read-only" in listing
    assert client.get("/admin/relationship-types/globex_only/edit").status_code == 404
    assert client.get("/admin/relationship-types/shares_notes/edit").status_code == 403

    new = "/admin/relationship-types/new"
    missing = post(client, new, new, {"code": "supplies", "forward_label": "supplies", "inverse_label": "",
                                      "from_kinds": "organization"})
    assert missing.status_code == 422 and "works for" in error_of(missing.get_data(as_text=True), "inverse_label")
    unknown = post(client, new, new, {"code": "supplies", "forward_label": "supplies", "inverse_label": "is supplied by",
                                      "to_roles": "wizard"})
    assert "wizard" in error_of(unknown.get_data(as_text=True), "to_roles")
    assert rows(world_platform, world.tenant_id, select(RelationshipTypeDef.code).order_by(RelationshipTypeDef.code)) \
        == ["employs", "shares_notes"]

    created = post(client, new, new, {"code": "supplies", "forward_label": "supplies", "inverse_label": "is supplied by",
                                      "from_kinds": "organization", "to_roles": "customer"}, follow_redirects=True)
    assert created.status_code == 200 and 'data-relationship-type="supplies"' in created.get_data(as_text=True)
    edit = "/admin/relationship-types/supplies/edit"
    edited = post(client, edit, edit, {"forward_label": "delivers to", "inverse_label": "receives from",
                                       "from_kinds": "organization", "to_kinds": "organization"}, follow_redirects=True)
    assert "delivers to" in edited.get_data(as_text=True)
    [supplies] = rows(world_platform, world.tenant_id, select(RelationshipTypeDef).where(
        RelationshipTypeDef.code == "supplies"))
    assert (supplies.forward_label, supplies.from_kinds, supplies.to_kinds, supplies.to_roles, supplies.source) == (
        "delivers to", ["organization"], ["organization"], [], "tenant")

    in_use = post(client, "/admin/relationship-types", "/admin/relationship-types/employs/delete", {},
                  follow_redirects=True)
    assert "cannot be deleted: 1 relationship(s) use it" in flashes(in_use.get_data(as_text=True))
    unused = post(client, "/admin/relationship-types", "/admin/relationship-types/supplies/delete", {},
                  follow_redirects=True)
    assert "was deleted" in flashes(unused.get_data(as_text=True))
    assert rows(world_platform, world.tenant_id, select(RelationshipTypeDef.code).order_by(RelationshipTypeDef.code)) \
        == ["employs", "shares_notes"]


def test_webhooks_secret_shown_once_validation_pause_and_tenant_isolation(app, world_platform, world):
    with world_platform.db.transaction(world.other_tenant_id) as session:
        theirs = create_webhook(session, "http://127.0.0.1:9/globex", "core.party.*",
                                get_bus(world_platform).settings).id
    client = signed_in(app, "admin@acme.test")
    new = "/admin/webhooks/new"
    bad_url = post(client, new, new, {"url": "ftp://example.com/x", "pattern": "core.party.*"})
    assert bad_url.status_code == 422 and "must be http://" in error_of(bad_url.get_data(as_text=True), "url")
    bad_pattern = post(client, new, new, {"url": "http://127.0.0.1:9/acme", "pattern": "nothing.at.all"})
    assert "matches no declared event type" in error_of(bad_pattern.get_data(as_text=True), "pattern")
    assert rows(world_platform, world.tenant_id, select(WebhookSubscription)) == []

    created = post(client, new, new, {"url": "http://127.0.0.1:9/acme", "pattern": "core.party.*"})
    assert created.status_code == 201
    [hook] = rows(world_platform, world.tenant_id, select(WebhookSubscription))
    assert re.search(r'<code id="webhook-secret">([^<]+)</code>', created.get_data(as_text=True)).group(1) == hook.secret
    page = client.get(f"/admin/webhooks/{hook.id}").get_data(as_text=True)
    assert hook.secret not in page and "core.party.*" in page
    listing = client.get("/admin/webhooks").get_data(as_text=True)
    assert f'data-webhook-id="{hook.id}"' in listing and "/globex" not in listing
    assert client.get(f"/admin/webhooks/{theirs}").status_code == 404

    edited = post(client, f"/admin/webhooks/{hook.id}", f"/admin/webhooks/{hook.id}",
                  {"url": "http://127.0.0.1:9/acme", "pattern": "nothing.at.all", "version": str(hook.version)})
    assert edited.status_code == 422 and "matches no declared" in error_of(edited.get_data(as_text=True), "pattern")
    paused = post(client, f"/admin/webhooks/{hook.id}", f"/admin/webhooks/{hook.id}/pause",
                  {"version": str(hook.version)}, follow_redirects=True)
    assert "State: paused" in paused.get_data(as_text=True)
    stale = post(client, f"/admin/webhooks/{hook.id}", f"/admin/webhooks/{hook.id}",
                 {"url": "http://127.0.0.1:9/moved", "pattern": "core.party.*", "version": str(hook.version)})
    assert stale.status_code == 422 and "Someone else changed this" in stale.get_data(as_text=True)
    [after] = rows(world_platform, world.tenant_id, select(WebhookSubscription))
    assert (after.url, after.pattern, after.state) == ("http://127.0.0.1:9/acme", "core.party.*", "paused")
    audit = rows(world_platform, world.tenant_id, select(AuditEntry.action).where(AuditEntry.action.like("webhook.%")))
    assert audit == ["webhook.created", "webhook.paused"]


def _dead_letters(platform, tenant_id: int, urls: list[str], subject: int) -> list[int]:
    """One webhook per URL, each delivery refused at once (the target became private) and dead-lettered."""
    lenient = get_bus(platform).settings
    with platform.db.transaction(tenant_id) as session:
        hooks = [f"webhook.{create_webhook(session, url, 'core.party.updated', lenient).id}" for url in urls]
    strict = get_bus(platform, load_event_settings(environ={}, **FAST))  # the operator withdrew the allowance
    with platform.db.transaction(tenant_id) as session:
        publish(session, "core.party.updated", ("core_parties", subject), {"changed": ["tags"]}, "cli")
    strict.run_until_idle()
    get_bus(platform, lenient)
    with platform.db.session(tenant_id, read_only=True) as session:
        return sorted(failure.id for failure in deadletter.failed(session) if failure.subscriber in hooks)


def test_failed_deliveries_are_listed_per_tenant_retried_and_discarded_on_the_page_and_the_cli(
        app, world_platform, world):
    with Receiver() as receiver:
        [ours] = _dead_letters(world_platform, world.tenant_id, [receiver.url], 1)
        theirs, theirs_too = _dead_letters(world_platform, world.other_tenant_id, [receiver.url, receiver.url], 2)
        client = signed_in(app, "admin@acme.test")
        page = client.get("/admin/failed-deliveries").get_data(as_text=True)
        assert f'data-delivery-id="{ours}"' in page and f'data-delivery-id="{theirs}"' not in page
        assert "core.party.updated" in page and "refusing webhook target" in page
        assert post(client, "/admin/failed-deliveries", f"/admin/failed-deliveries/{theirs}/retry", {}).status_code \
            == 404

        retried = post(client, "/admin/failed-deliveries", f"/admin/failed-deliveries/{ours}/retry", {},
                       follow_redirects=True)
        assert "queued again" in flashes(retried.get_data(as_text=True))
        assert f'data-delivery-id="{ours}"' not in retried.get_data(as_text=True)
        assert rows(world_platform, world.tenant_id, select(Delivery.status).where(Delivery.id == ours)) == [PENDING]
        get_bus(world_platform).run_until_idle()
        assert [event["subject"]["id"] for event in receiver.events] == ["1"]
    with world_platform.db.session(all_tenants=True, read_only=True) as session:
        remaining = session.execute(select(Delivery.id, Delivery.status).where(Delivery.subscriber.like("webhook.%"))
                                    .order_by(Delivery.id))
        assert remaining.all() == [(theirs, DEAD), (theirs_too, DEAD)]

    globex = signed_in(app, "admin@globex.test", "globex")
    discarded = post(globex, "/admin/failed-deliveries", f"/admin/failed-deliveries/{theirs}/discard", {},
                     follow_redirects=True)
    assert "discarded" in flashes(discarded.get_data(as_text=True))
    assert rows(world_platform, world.other_tenant_id, select(AuditEntry.action).where(
        AuditEntry.action.like("event_delivery.%"))) == ["event_delivery.discarded"]

    runner, info = CliRunner(), ScriptInfo(create_app=lambda: create_app(platform=world_platform))
    done = runner.invoke(cli, ["events", "discard", str(theirs_too)], obj=info, prog_name="xrm")
    assert done.exit_code == 0 and f"Delivery {theirs_too} discarded" in done.output
    again = runner.invoke(cli, ["events", "discard", str(theirs_too)], obj=info, prog_name="xrm")
    assert again.exit_code == 1 and "Error: no delivery" in again.output
    assert rows(world_platform, world.other_tenant_id, select(Delivery.id).where(Delivery.status == DEAD)) == []
