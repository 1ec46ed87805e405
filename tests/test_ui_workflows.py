"""The workflow editor of the admin console: list, form editor, live condition check, versions,
dry run, backtest and run log, through the Flask test client and the real event bus.

The ``flow`` fixture plugin is enabled for ACME: its event ``flow.complaint.opened`` starts the
workflows, and its trigger and action show up in the editor's selects.
"""

from __future__ import annotations

import re
from html import unescape

import pytest
import ui_world
import ui_world_fixtures
from plugin_dists import CORE, Dist
from sqlalchemy import func, select
from ui_world import csrf_token, sign_in

from xrm_core import migrate, tenants
from xrm_core.events import get_bus, load_event_settings, publish
from xrm_core.graph.models import Party
from xrm_core.models import Tenant
from xrm_core.workflows import service
from xrm_core.workflows.models import SUCCEEDED, Workflow, WorkflowRun, WorkflowVersion

FLOW = Dist("xrm-fx-flow", "0.1.0", "flow", "xrm_fx_flow.plugin", (CORE,))
HIGH = 'event.payload.severity == "high"'


@pytest.fixture
def world_platform(make_platform):
    platform = make_platform("notes", ui_world.SHOWCASE, FLOW)
    migrate.upgrade(platform)
    bus = get_bus(platform, load_event_settings(environ={}))
    yield platform
    bus.stop()


@pytest.fixture
def world(world_platform):
    world = ui_world.build(world_platform)
    with world_platform.db.transaction(all_tenants=True) as session:
        tenants.enable_plugin(world_platform, session, session.get(Tenant, world.tenant_id), "flow")
    return world


app = ui_world_fixtures.world_app  # the world's app (conftest's ``app`` serves another platform)


def signed_in(app, email, tenant="acme"):
    client = app.test_client()
    sign_in(client, email, tenant)
    return client


def form_fields(**overrides):
    """The editor's fields for "tag a party on a high-severity complaint"."""
    fields = {"name": "Tag complaints", "description": "", "enabled": "on", "trigger_kind": "event",
              "trigger_event": "flow.complaint.opened", "trigger_condition": HIGH,
              "permissions": "core.party.read: tenant\ncore.party.update: tenant\n",
              "step-0-kind": "action", "step-0-action": "core.update_party",
              "step-0-params": "add_tags: [complaint]\n", "step-0-retries": "0", "op": "save"}
    fields.update(overrides)
    return fields


def post_form(client, url, **overrides):
    token = csrf_token(client.get(url).get_data(as_text=True))
    return client.post(url, data={"csrf_token": token, **form_fields(**overrides)})


def complaint(platform, tenant_id, party_id, severity="high", number="C-1"):
    with platform.db.transaction(tenant_id) as session:
        event = publish(session, "flow.complaint.opened", (Party.__tablename__, party_id),
                        {"number": number, "severity": severity}, "cli")
    get_bus(platform).run_until_idle()
    return event.id


def count(platform, tenant_id, model):
    with platform.db.session(tenant_id, read_only=True) as session:
        return session.scalar(select(func.count()).select_from(model))


def tags(platform, tenant_id, party_id):
    with platform.db.session(tenant_id, read_only=True) as session:
        return session.get(Party, party_id).tags


def saved_workflow(platform, world, name="Tag complaints"):
    definition = {"trigger": {"kind": "event", "event": "flow.complaint.opened", "condition": HIGH},
                  "permissions": {"core.party.read": "tenant", "core.party.update": "tenant"},
                  "steps": [{"action": "core.update_party", "params": {"add_tags": ["complaint"]}}]}
    with platform.db.transaction(world.tenant_id) as session:
        return service.create_workflow(session, platform, name, definition).id


def test_a_workflow_created_with_the_form_is_versioned_and_run_by_the_engine(app, world_platform, world):
    client = signed_in(app, "admin@acme.test")
    editor = client.get("/admin/workflows/new").get_data(as_text=True)
    # The selects offer the event catalogue, the core's and the plugins' actions.
    assert 'value="flow.complaint.opened"' in editor and 'value="core.party.created"' in editor
    assert 'value="core.notify"' in editor and 'value="flow.escalate"' in editor
    assert 'hx-trigger="keyup changed delay:400ms"' in editor

    # Adding, moving and removing steps re-renders the form and saves nothing.
    rearranged = post_form(client, "/admin/workflows/new", op="add:wait", **{"step-0-params": "add_tags: [x]\n"})
    page = rearranged.get_data(as_text=True)
    assert rearranged.status_code == 200 and 'name="step-1-wait"' in page and "add_tags: [x]" in page
    assert count(world_platform, world.tenant_id, Workflow) == 0
    plugin_fields = post_form(client, "/admin/workflows/new", op="refresh", trigger_kind="plugin").get_data(as_text=True)
    assert 'name="trigger_name"' in plugin_fields and 'value="flow.complaint_opened"' in plugin_fields
    assert 'name="trigger_event"' not in plugin_fields

    created = post_form(client, "/admin/workflows/new")
    assert created.status_code == 302, created.get_data(as_text=True)
    with world_platform.db.session(world.tenant_id, read_only=True) as session:
        workflow = session.scalar(select(Workflow).where(Workflow.name == "Tag complaints"))
        version = service.version_of(session, workflow)
        assert (workflow.current_version, workflow.trigger_pattern) == (1, "flow.complaint.opened")
        assert version.definition["steps"] == [{"action": "core.update_party", "params": {"add_tags": ["complaint"]},
                                                "retries": 0}]
        assert version.created_by == f"user:{world.users['admin@acme.test']}"
        workflow_id = workflow.id

    zenith = world.parties["Zenith Industries"]
    complaint(world_platform, world.tenant_id, zenith, severity="low")
    assert "complaint" not in tags(world_platform, world.tenant_id, zenith)
    complaint(world_platform, world.tenant_id, zenith)
    assert "complaint" in tags(world_platform, world.tenant_id, zenith)

    listing = client.get("/admin/workflows").get_data(as_text=True)
    assert "Tag complaints" in listing and "v1" in listing and f"{SUCCEEDED}: 1" in listing
    runs = client.get(f"/admin/workflows/{workflow_id}/runs").get_data(as_text=True)
    assert runs.count("<tr data-run-id") == 1 and "core.update_party: succeeded" in runs
    # The run log's button runs it by hand on a record; a record the user cannot see is refused.
    hidden = client.post(f"/admin/workflows/{workflow_id}/run", data={
        "csrf_token": csrf_token(runs), "subject_type": "core_parties", "subject_id": "999999"}, follow_redirects=True)
    assert "There is no core_parties record 999999 here." in unescape(hidden.get_data(as_text=True))
    by_hand = client.post(f"/admin/workflows/{workflow_id}/run", data={
        "csrf_token": csrf_token(runs), "subject_type": "core_parties", "subject_id": str(zenith)})
    assert by_hand.status_code == 302
    get_bus(world_platform).run_until_idle()
    assert client.get(f"/admin/workflows/{workflow_id}/runs").get_data(as_text=True).count("<tr data-run-id") == 2

    # Editing the form saves version 2; the versions page lists both and shows the old one.
    edit_url = f"/admin/workflows/{workflow_id}"
    assert 'value="Tag complaints"' in client.get(edit_url).get_data(as_text=True)
    version_field = re.search(r'name="version" value="(\d+)"', client.get(edit_url).get_data(as_text=True)).group(1)
    saved = post_form(client, edit_url, version=version_field, **{"step-0-params": "add_tags: [escalated]\n"})
    assert saved.status_code == 302, saved.get_data(as_text=True)
    versions = client.get(f"/admin/workflows/{workflow_id}/versions").get_data(as_text=True)
    assert 'data-version="2"' in versions and 'data-version="1"' in versions
    first = unescape(client.get(f"/admin/workflows/{workflow_id}/versions/1").get_data(as_text=True))
    assert "- complaint" in first and "escalated" not in first

    # The advanced editor's YAML round-trips: saved as it is shown, it makes an identical version 3.
    page = client.get(edit_url).get_data(as_text=True)
    opened_at = re.search(r'name="version" value="(\d+)"', page).group(1)
    yaml_text = unescape(re.search(r'<textarea id="definition_yaml"[^>]*>(.*?)</textarea>', page, re.DOTALL).group(1))
    again = client.post(edit_url, data={"csrf_token": csrf_token(page), "op": "save_yaml", "name": "Tag complaints",
                                        "version": opened_at, "definition_yaml": yaml_text})
    assert again.status_code == 302, again.get_data(as_text=True)
    with world_platform.db.session(world.tenant_id, read_only=True) as session:
        workflow = session.get(Workflow, workflow_id)
        assert workflow.current_version == 3
        assert service.version_of(session, workflow, 2).definition == service.version_of(session, workflow).definition

    # The form opened before that save is stale: refused, nothing saved.
    stale = client.post(edit_url, data={"csrf_token": csrf_token(page),
                                        **form_fields(version=opened_at, trigger_condition="true")})
    assert stale.status_code == 409
    assert "Someone else changed this workflow after you opened it" in unescape(stale.get_data(as_text=True))
    assert count(world_platform, world.tenant_id, WorkflowVersion) == 3

    # Disabling from the list stops the engine from starting it.
    token = csrf_token(listing)
    assert client.post(f"/admin/workflows/{workflow_id}/disable", data={"csrf_token": token}).status_code == 302
    complaint(world_platform, world.tenant_id, zenith, number="C-2")
    assert count(world_platform, world.tenant_id, WorkflowRun) == 2


def test_an_invalid_condition_is_refused_with_its_position_and_checked_live(app, world_platform, world):
    client = signed_in(app, "admin@acme.test")
    refused = post_form(client, "/admin/workflows/new", trigger_condition="event.payload.severity == ")
    page = unescape(refused.get_data(as_text=True))
    assert refused.status_code == 422
    assert "line 1, column 27" in page and "Line 1, column 27" in page
    assert "event.payload.severity == \n" + " " * 26 + "^</pre>" in page
    bad_step = post_form(client, "/admin/workflows/new", **{"step-0-action": "core.notify", "step-0-params": "users: [x]\n"})
    assert bad_step.status_code == 422
    step_errors = unescape(bad_step.get_data(as_text=True))
    assert "Step 1, params.users.0: Not a valid integer." in step_errors
    assert "Step 1, params.message:" in step_errors
    assert count(world_platform, world.tenant_id, Workflow) == 0

    token = csrf_token(client.get("/admin/workflows/new").get_data(as_text=True))
    live = client.post("/admin/workflows/condition-check?field=trigger_condition",
                       data={"csrf_token": token, "trigger_condition": 'subject.tags.exists(t, t == "key"'})
    fragment = unescape(live.get_data(as_text=True))
    assert live.status_code == 200 and "<html" not in fragment
    column = re.search(r"Line 1, column (\d+)", fragment).group(1)
    assert f'subject.tags.exists(t, t == "key"\n{" " * (int(column) - 1)}^</pre>' in fragment
    valid = client.post("/admin/workflows/condition-check?field=step-3-if",
                        data={"csrf_token": token, "step-3-if": 'subject.tags.exists(t, t == "key")'})
    assert "valid" in valid.get_data(as_text=True) and "column" not in valid.get_data(as_text=True)
    empty_branch = client.post("/admin/workflows/condition-check?field=step-3-if", data={"csrf_token": token})
    assert "A condition is required here." in empty_branch.get_data(as_text=True)


def test_dry_run_and_backtest_change_nothing_and_only_this_tenants_admins_reach_them(app, world_platform, world):
    zenith = world.parties["Zenith Industries"]
    complaint(world_platform, world.tenant_id, zenith, severity="low", number="C-1")
    event_id = complaint(world_platform, world.tenant_id, zenith, number="C-2")
    workflow_id = saved_workflow(world_platform, world)
    client = signed_in(app, "admin@acme.test")

    page = client.get(f"/admin/workflows/{workflow_id}/dry-run").get_data(as_text=True)
    assert f'value="{event_id}"' in page
    report = client.post(f"/admin/workflows/{workflow_id}/dry-run", data={"csrf_token": csrf_token(page),
                                                                          "event_id": event_id, "version": "1"})
    shown = unescape(report.get_data(as_text=True))
    assert report.status_code == 200 and 'data-step="steps.0"' in shown and "core.update_party" in shown
    assert '"complaint"' in shown and SUCCEEDED in shown
    sample = client.post(f"/admin/workflows/{workflow_id}/dry-run", data={
        "csrf_token": csrf_token(page), "version": "1",
        "sample": f"type: flow.complaint.opened\npayload: {{severity: low}}\nsubject_type: core_parties\nsubject_id: '{zenith}'"})
    assert 'id="not-matched"' in sample.get_data(as_text=True)
    bad_sample = client.post(f"/admin/workflows/{workflow_id}/dry-run", data={
        "csrf_token": csrf_token(page), "sample": "payload: {}"})
    assert bad_sample.status_code == 422 and "type: Missing data for required field." in bad_sample.get_data(as_text=True)

    backtest_page = client.get(f"/admin/workflows/{workflow_id}/backtest").get_data(as_text=True)
    backtest = client.post(f"/admin/workflows/{workflow_id}/backtest",
                           data={"csrf_token": csrf_token(backtest_page), "limit": "10", "version": "1"})
    table = unescape(backtest.get_data(as_text=True))
    rows = re.findall(r'<tr data-event-id="[^"]+">(.*?)</tr>', table, re.DOTALL)
    assert len(rows) == 2 and "<td>no</td>" in rows[1] and "<td>yes</td>" in rows[0]
    assert "core.update_party: succeeded" in rows[0]

    # Nothing stayed: no run, the party as it was.
    assert count(world_platform, world.tenant_id, WorkflowRun) == 0
    assert "complaint" not in tags(world_platform, world.tenant_id, zenith)

    # Staff may not open any of it; another tenant's admin does not even find it.
    staff = signed_in(app, "sam@acme.test")
    for url in ("/admin/workflows", "/admin/workflows/new", f"/admin/workflows/{workflow_id}",
                f"/admin/workflows/{workflow_id}/runs"):
        assert staff.get(url).status_code == 403, url
    token = csrf_token(staff.get("/parties").get_data(as_text=True))
    assert staff.post("/admin/workflows/condition-check", data={"csrf_token": token,
                                                                 "trigger_condition": "x"}).status_code == 403
    assert staff.post(f"/admin/workflows/{workflow_id}/disable", data={"csrf_token": token}).status_code == 403

    globex = signed_in(app, "admin@globex.test", "globex")
    assert "Tag complaints" not in globex.get("/admin/workflows").get_data(as_text=True)
    for url in (f"/admin/workflows/{workflow_id}", f"/admin/workflows/{workflow_id}/versions",
                f"/admin/workflows/{workflow_id}/versions/1", f"/admin/workflows/{workflow_id}/runs",
                f"/admin/workflows/{workflow_id}/dry-run"):
        assert globex.get(url).status_code == 404, url
    token = csrf_token(globex.get("/admin/workflows").get_data(as_text=True))
    assert globex.post(f"/admin/workflows/{workflow_id}/disable", data={"csrf_token": token}).status_code == 404
    assert globex.post(f"/admin/workflows/{workflow_id}", data={"csrf_token": token, **form_fields()}).status_code == 404
    with world_platform.db.session(world.tenant_id, read_only=True) as session:
        workflow = session.get(Workflow, workflow_id)
        assert workflow.enabled and workflow.current_version == 1
