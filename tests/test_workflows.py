"""The workflow engine on a real database, through the real event bus (embedded delivery).

Time-based behaviour is driven by :func:`xrm_core.workflows.tick` with an explicit ``now``; the
``flow`` fixture plugin contributes a trigger and an action (it records its escalations).
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from marshmallow import ValidationError
from plugin_dists import CORE, Dist
from sqlalchemy import func, select
from xrm_fx_flow.plugin import ESCALATIONS

from xrm_core import migrate, tenants
from xrm_core.events import get_bus, load_event_settings, publish
from xrm_core.events.models import OutboxEvent
from xrm_core.graph.models import Party
from xrm_core.graph.service import create_party
from xrm_core.identity import admin
from xrm_core.identity.catalogue import all_permissions
from xrm_core.identity.models import Department, Scope
from xrm_core.identity.principal import service_principal
from xrm_core.models import Tenant, User
from xrm_core.workflows import engine, service, tick
from xrm_core.workflows.models import (
    CUT,
    FAILED,
    SUCCEEDED,
    WAITING,
    WorkflowRun,
    WorkflowStep,
    WorkflowTimer,
)

FLOW = Dist("xrm-fx-flow", "0.1.0", "flow", "xrm_fx_flow.plugin", (CORE,))
EVERYTHING = {"core.party.read": "tenant", "core.party.update": "tenant", "core.party.assign": "tenant"}


@pytest.fixture(autouse=True)
def _forget_escalations():
    ESCALATIONS.clear()


@pytest.fixture
def world(make_platform):
    """acme (flow enabled): departments sales and quality, a manager, a key account; beta: nothing."""
    platform = make_platform(FLOW)
    migrate.upgrade(platform)
    ids: dict[str, int] = {}
    with platform.db.transaction(all_tenants=True) as session:
        acme = tenants.create_tenant(session, "acme", "ACME")
        tenants.enable_plugin(platform, session, acme, "flow")
        ids["acme"] = acme.id
        ids["beta"] = tenants.create_tenant(session, "beta", "Beta").id
    with platform.db.transaction(ids["acme"]) as session:
        for name in ("sales", "quality"):
            department = Department(name=name, path="/")
            session.add(department)
            session.flush()
            department.path = f"/{department.id}/"
            ids[name] = department.id
        manager = User(email="manager@acme.test", display_name="Manager", password_hash="-",
                       department_id=ids["quality"])
        session.add(manager)
        session.flush()
        # notify tells only those who may read the run's record: the manager reads quality's parties
        reader = admin.define_role(session, "Quality reader", {"core.party.read": Scope.DEPARTMENT},
                                   set(all_permissions(platform)))
        admin.assign_role(session, manager, reader)
        ids["manager"] = manager.id
        ids["key"] = create_party(session, "organization", "Key Corp", tags=["key"], department_id=ids["sales"]).id
        ids["small"] = create_party(session, "organization", "Small Ltd", department_id=ids["sales"]).id
    bus = get_bus(platform, load_event_settings(environ={}, retry_base_s=0.01, retry_cap_s=0.02, max_attempts=3))
    yield platform, bus, ids
    bus.stop()


def save(platform, tenant_id, name, definition, saver=None):
    with platform.db.transaction(tenant_id) as session:
        return service.create_workflow(session, platform, name, definition, saver=saver).id


def emit(platform, bus, tenant_id, event_type, subject, payload, actor="cli"):
    with platform.db.transaction(tenant_id) as session:
        event = publish(session, event_type, subject, payload, actor)
    bus.run_until_idle()
    return event


def complaint(platform, bus, ids, party, severity="high", number="C-1"):
    return emit(platform, bus, ids["acme"], "flow.complaint.opened", (Party.__tablename__, party),
                {"number": number, "severity": severity})


def runs(platform, tenant_id, workflow_id=None):
    with platform.db.session(tenant_id, read_only=True) as session:
        query = select(WorkflowRun).order_by(WorkflowRun.id)
        if workflow_id is not None:
            query = query.where(WorkflowRun.workflow_id == workflow_id)
        return list(session.scalars(query))


def steps(platform, tenant_id, run_id):
    with platform.db.session(tenant_id, read_only=True) as session:
        return [(s.path, s.action, s.status) for s in
                session.scalars(select(WorkflowStep).where(WorkflowStep.run_id == run_id).order_by(WorkflowStep.id))]


def notifications(platform, tenant_id):
    with platform.db.session(tenant_id, read_only=True) as session:
        return [e.payload for e in session.scalars(
            select(OutboxEvent).where(OutboxEvent.type == "core.notification.created").order_by(OutboxEvent.id))]


def party(platform, tenant_id, party_id):
    with platform.db.session(tenant_id, read_only=True) as session:
        return session.get(Party, party_id)


def scenario(ids):
    """The issue's example: a high-severity complaint for a key account goes to quality, its manager
    is told, and if it is still open four hours later it is escalated."""
    return {
        "trigger": {"kind": "plugin", "name": "flow.complaint_opened",
                    "condition": 'event.payload.severity == "high" && "key" in subject.tags'},
        "permissions": EVERYTHING,
        "steps": [
            {"action": "core.assign", "params": {"department_id": ids["quality"]}},
            {"action": "core.notify", "params": {
                "users": [ids["manager"]],
                "message": "Complaint {{ event.payload.number }} for {{ subject.display_name }}"}},
            {"action": "core.update_party", "params": {"add_tags": ["complaint-open"]}},
            {"wait": {"hours": 4}},
            {"if": '"complaint-open" in subject.tags',
             "then": [{"action": "flow.escalate",
                       "params": {"level": 2, "note": "{{ event.payload.number }} still open"}}]},
        ],
    }


def test_the_issue_example_end_to_end(world):
    platform, bus, ids = world
    workflow = save(platform, ids["acme"], "Escalate key complaints", scenario(ids))

    complaint(platform, bus, ids, ids["key"], severity="low", number="C-0")
    complaint(platform, bus, ids, ids["small"], number="C-00")
    assert runs(platform, ids["acme"]) == []  # filtered out: not high, not a key account

    opened = complaint(platform, bus, ids, ids["key"], number="C-1")
    [run] = runs(platform, ids["acme"])
    assert (run.status, run.trigger_event_id, run.workflow_id) == (WAITING, opened.id, workflow)
    key = party(platform, ids["acme"], ids["key"])
    assert key.department_id == ids["quality"] and key.tags == ["key", "complaint-open"]
    [note] = notifications(platform, ids["acme"])
    assert note["users"] == [ids["manager"]] and note["message"] == "Complaint C-1 for Key Corp"

    now = datetime.now(UTC)
    assert tick(platform, now + timedelta(hours=3)) == 0
    assert runs(platform, ids["acme"])[0].status == WAITING and ESCALATIONS == []
    assert tick(platform, now + timedelta(hours=4, minutes=1)) == 1
    [run] = runs(platform, ids["acme"])
    assert run.status == SUCCEEDED and run.finished_at is not None
    assert ESCALATIONS == [("acme", {"level": 2, "note": "C-1 still open"}, ids["key"])]
    assert [s[:2] for s in steps(platform, ids["acme"], run.id)] == [
        ("steps.0", "core.assign"), ("steps.1", "core.notify"), ("steps.2", "core.update_party"),
        ("steps.3", "wait"), ("steps.4", "if"), ("steps.4.then.0", "flow.escalate")]


def test_closed_complaint_is_not_escalated_after_the_wait(world):
    platform, bus, ids = world
    save(platform, ids["acme"], "Escalate key complaints", scenario(ids))
    complaint(platform, bus, ids, ids["key"])
    with platform.db.transaction(ids["acme"]) as session:
        session.get(Party, ids["key"]).tags = ["key"]  # the complaint was dealt with meanwhile
    tick(platform, datetime.now(UTC) + timedelta(hours=5))
    [run] = runs(platform, ids["acme"])
    assert run.status == SUCCEEDED and ESCALATIONS == []
    assert steps(platform, ids["acme"], run.id)[-1] == ("steps.4", "if", SUCCEEDED)


def test_runs_pin_the_version_they_started_with(world):
    platform, bus, ids = world
    first = {"trigger": {"kind": "event", "event": "flow.complaint.*"}, "steps": [
        {"wait": {"minutes": 10}},
        {"action": "core.notify", "params": {"users": [ids["manager"]], "message": "version one"}}]}
    workflow_id = save(platform, ids["acme"], "Pinned", first)
    complaint(platform, bus, ids, ids["key"], number="C-1")
    with platform.db.transaction(ids["acme"]) as session:
        workflow = service.find_workflow(session, "Pinned")
        second = {**first, "steps": [first["steps"][0], {"action": "core.notify", "params": {
            "users": [ids["manager"]], "message": "version two"}}]}
        service.update_workflow(session, platform, workflow, definition=second, actor="test")
        assert workflow.current_version == 2
    complaint(platform, bus, ids, ids["key"], number="C-2")
    tick(platform, datetime.now(UTC) + timedelta(minutes=11))
    old, new = runs(platform, ids["acme"], workflow_id)
    assert (old.status, new.status) == (SUCCEEDED, SUCCEEDED) and old.version_id != new.version_id
    assert [n["message"] for n in notifications(platform, ids["acme"])] == ["version one", "version two"]


def test_invalid_conditions_are_refused_with_their_position(world):
    platform, _bus, ids = world
    broken = {"trigger": {"kind": "event", "event": "flow.*", "condition": 'event.payload.severity == '},
              "steps": [{"if": "subject.tags.exists(t,", "then": []}]}
    with platform.db.transaction(ids["acme"]) as session, pytest.raises(ValidationError) as refused:
        service.create_workflow(session, platform, "Broken", broken)
    messages = refused.value.messages["definition"]
    assert messages["trigger"]["condition"][0].startswith("line 1, column 27: Syntax error")
    assert messages["steps"][0]["if"][0].startswith("line 1, column 23:")
    with platform.db.session(ids["acme"], read_only=True) as session:
        assert session.scalar(select(func.count()).select_from(WorkflowRun)) == 0


def test_definitions_are_checked_at_every_path(world):
    platform, _bus, ids = world
    bad = {"trigger": {"kind": "schedule", "cron": "61 * * * *"}, "steps": [
        {"action": "flow.escalate", "params": {"level": 9}},
        {"action": "core.nope"},
        {"if": "true", "then": [{"action": "core.notify", "params": {"message": "{{ unclosed "}}]},
        {"wait": {"until": "true"}}]}
    with platform.db.transaction(ids["acme"]) as session, pytest.raises(ValidationError) as refused:
        service.create_workflow(session, platform, "Bad", bad)
    messages = refused.value.messages["definition"]
    assert "cron" in messages["trigger"]["cron"][0]
    assert messages["steps"][0]["params"]["level"] and "unknown action 'core.nope'" in messages["steps"][1]["action"][0]
    assert "line 1" in messages["steps"][2]["then"][0]["params"]["message"][0]
    assert messages["steps"][3]["wait"]["timeout"] == ["a wait until a condition needs a timeout"]


def test_templates_cannot_escape_the_sandbox(world):
    platform, bus, ids = world
    save(platform, ids["acme"], "Escape", {"trigger": {"kind": "event", "event": "flow.complaint.opened"}, "steps": [
        {"action": "core.notify", "params": {"users": [ids["manager"]],
                                             "message": "{{ event.__class__.__mro__[1].__subclasses__() }}"}},
        {"action": "flow.escalate", "params": {"level": 1}}]})
    complaint(platform, bus, ids, ids["key"])
    [run] = runs(platform, ids["acme"])
    assert run.status == FAILED and "unsafe" in run.error and run.error.startswith("steps.0 (core.notify)")
    assert notifications(platform, ids["acme"]) == [] and ESCALATIONS == []  # later steps never ran
    assert steps(platform, ids["acme"], run.id) == [("steps.0", "core.notify", FAILED)]


def test_a_workflow_cannot_change_what_its_principal_may_not(world):
    platform, bus, ids = world
    save(platform, ids["acme"], "Rename", {
        "trigger": {"kind": "event", "event": "flow.complaint.opened"},
        "permissions": {"core.party.read": "tenant"},
        "steps": [{"action": "core.update_party", "params": {"display_name": "Hacked"}}]})
    complaint(platform, bus, ids, ids["key"])
    [run] = runs(platform, ids["acme"])
    assert run.status == FAILED and "may not update core.party" in run.error and "workflow:" in run.error
    assert party(platform, ids["acme"], ids["key"]).display_name == "Key Corp"


def test_a_workflow_gets_no_more_than_its_saver_holds(world):
    platform, _bus, ids = world
    saver = service_principal(ids["acme"], "user:1", {"core.party.read": Scope.DEPARTMENT})
    definition = {"trigger": {"kind": "manual"}, "permissions": {"core.party.read": "tenant", "core.nope.read": "own"},
                  "steps": []}
    with platform.db.transaction(ids["acme"]) as session, pytest.raises(ValidationError) as refused:
        service.create_workflow(session, platform, "Greedy", definition, saver=saver)
    assert "at department scope" in refused.value.messages["definition"]["permissions"]["core.party.read"][0]
    assert "unknown permission" in refused.value.messages["definition"]["permissions"]["core.nope.read"][0]


def test_redelivery_starts_no_second_run(world):
    platform, bus, ids = world
    save(platform, ids["acme"], "Once", {"trigger": {"kind": "event", "event": "flow.complaint.opened"},
                                         "steps": [{"action": "flow.escalate", "params": {"level": 1}}]})
    complaint(platform, bus, ids, ids["key"])
    with platform.db.transaction(ids["acme"]) as session:
        row = session.scalar(select(OutboxEvent).where(OutboxEvent.type == engine.TRIGGERED))
        from xrm_core.events.envelope import Event
        # What a redelivery after a lost acknowledgement does: the same event, handled again.
        engine._triggered(Event.from_row(row), session.get(Tenant, ids["acme"]), session)
    assert len(runs(platform, ids["acme"])) == 1 and len(ESCALATIONS) == 1


def test_events_no_workflow_waits_for_publish_nothing_more(world):
    platform, bus, ids = world
    save(platform, ids["acme"], "Other events", {"trigger": {"kind": "event", "event": "core.party.*"}, "steps": []})
    complaint(platform, bus, ids, ids["key"])
    with platform.db.session(ids["acme"], read_only=True) as session:
        assert session.scalar(select(func.count()).select_from(OutboxEvent)
                              .where(OutboxEvent.type == engine.TRIGGERED)) == 0


def triggered_events(platform, tenant_id):
    with platform.db.session(tenant_id, read_only=True) as session:
        return [row.payload for row in session.scalars(
            select(OutboxEvent).where(OutboxEvent.type == engine.TRIGGERED).order_by(OutboxEvent.id))]


def publish_unrelayed(platform, tenant_id, number):
    """A committed complaint the relay has not taken yet."""
    with platform.db.transaction(tenant_id) as session:
        return publish(session, "flow.complaint.opened", (Party.__tablename__, 1),
                       {"number": number, "severity": "high"}, "cli")


def test_matching_happens_after_commit_not_in_the_writers_transaction(world):
    platform, bus, ids = world
    save(platform, ids["acme"], "Listen", {"trigger": {"kind": "event", "event": "flow.complaint.*"}, "steps": []})
    event = publish_unrelayed(platform, ids["acme"], "C-1")
    assert triggered_events(platform, ids["acme"]) == []
    bus.run_until_idle()
    [announced] = triggered_events(platform, ids["acme"])
    assert announced["source_event_id"] == event.id
    assert [run.trigger_event_id for run in runs(platform, ids["acme"])] == [event.id]


def test_the_relay_pins_the_versions_current_when_it_takes_the_event(world):
    platform, bus, ids = world
    definition = {"trigger": {"kind": "event", "event": "flow.complaint.*"}, "steps": []}
    edited = save(platform, ids["acme"], "Edited", definition)
    disabled = save(platform, ids["acme"], "Disabled", definition)
    publish_unrelayed(platform, ids["acme"], "C-1")
    with platform.db.transaction(ids["acme"]) as session:
        workflows = {w.name: w for w in (service.find_workflow(session, "Edited"),
                                         service.find_workflow(session, "Disabled"))}
        service.update_workflow(session, platform, workflows["Edited"], definition={**definition, "steps": [
            {"action": "core.notify", "params": {"users": [ids["manager"]], "message": "second version"}}]})
        service.set_enabled(session, platform, workflows["Disabled"], False)
        latest = service.version_of(session, workflows["Edited"]).id
    bus.run_until_idle()
    [announced] = triggered_events(platform, ids["acme"])
    assert announced["versions"] == [latest]
    [run] = runs(platform, ids["acme"])
    assert (run.workflow_id, run.version_id, run.status) == (edited, latest, SUCCEEDED)
    assert runs(platform, ids["acme"], disabled) == []
    assert [n["message"] for n in notifications(platform, ids["acme"])] == ["second version"]


def test_a_batch_retried_after_a_failing_subscriber_announces_once(world):
    platform, bus, ids = world
    save(platform, ids["acme"], "Once", {"trigger": {"kind": "event", "event": "flow.complaint.*"}, "steps": []})
    calls = []

    def fails_first(event):
        calls.append(event.id)
        if len(calls) == 1:
            raise RuntimeError("not yet")

    bus.subscribe("core.fails_first", "flow.complaint.*", fails_first)
    publish_unrelayed(platform, ids["acme"], "C-1")
    publish_unrelayed(platform, ids["acme"], "C-2")
    bus.run_until_idle()
    assert len(calls) >= 3  # the failed batch was redone carefully, then the failure retried
    assert len(triggered_events(platform, ids["acme"])) == 2 and len(runs(platform, ids["acme"])) == 2


def test_the_scale_out_relay_announces_too_and_only_for_the_events_tenant(world):
    from xrm_core.events import relay

    platform, bus, ids = world
    save(platform, ids["acme"], "Acme's", {"trigger": {"kind": "event", "event": "flow.complaint.*"}, "steps": []})
    acme_event = publish_unrelayed(platform, ids["acme"], "C-1")
    publish_unrelayed(platform, ids["beta"], "B-1")
    assert relay.relay(bus) == 2
    assert relay.relay(bus) == 1  # the announcement the first batch published
    assert [p["source_event_id"] for p in triggered_events(platform, ids["acme"])] == [acme_event.id]
    assert triggered_events(platform, ids["beta"]) == []
    bus.run_until_idle()
    assert len(runs(platform, ids["acme"])) == 1 and runs(platform, ids["beta"]) == []


def test_loop_guard_cuts_chains_and_shows_it(world, monkeypatch):
    platform, bus, ids = world
    monkeypatch.setenv("XRM_WORKFLOWS_MAX_DEPTH", "2")
    save(platform, ids["acme"], "Echo", {"trigger": {"kind": "event", "event": "core.notification.created"},
                                         "steps": [{"action": "core.notify", "params": {
                                             "users": [ids["manager"]], "message": "echo"}}]})
    emit(platform, bus, ids["acme"], "core.notification.created", ("core_users", ids["manager"]),
         {"users": [ids["manager"]], "message": "hello"})
    chain = runs(platform, ids["acme"])
    assert [(r.depth, r.status) for r in chain] == [(0, SUCCEEDED), (1, SUCCEEDED), (2, SUCCEEDED), (3, CUT)]
    assert "loop guard" in chain[-1].error and "limit 2" in chain[-1].error
    assert steps(platform, ids["acme"], chain[-1].id) == []


def test_failing_plugin_step_fails_the_run_and_skips_the_rest(world):
    platform, bus, ids = world
    save(platform, ids["acme"], "Explode", {"trigger": {"kind": "event", "event": "flow.complaint.opened"},
                                            "permissions": EVERYTHING, "steps": [
        {"action": "core.update_party", "params": {"add_tags": ["touched"]}},
        {"action": "flow.escalate", "params": {"level": 1, "note": "explode"}},
        {"action": "core.update_party", "params": {"add_tags": ["never"]}}]})
    complaint(platform, bus, ids, ids["key"])
    [run] = runs(platform, ids["acme"])
    assert run.status == FAILED and "the escalation desk is closed" in run.error
    assert [s[2] for s in steps(platform, ids["acme"], run.id)] == [SUCCEEDED, FAILED]
    assert party(platform, ids["acme"], ids["key"]).tags == ["key", "touched"]


def test_failed_steps_are_retried_with_backoff(world):
    platform, bus, ids = world
    save(platform, ids["acme"], "Retry", {"trigger": {"kind": "event", "event": "flow.complaint.opened"}, "steps": [
        {"action": "flow.escalate", "params": {"level": 1, "note": "{{ event.payload.number }}"}, "retries": 1}]})
    complaint(platform, bus, ids, ids["key"], number="explode")
    [run] = runs(platform, ids["acme"])
    assert run.status == WAITING and run.attempts == 1
    with platform.db.session(ids["acme"], read_only=True) as session:
        timer = session.scalar(select(WorkflowTimer))
    assert timer.kind == "retry"
    assert tick(platform, datetime.now(UTC) + timedelta(seconds=engine.RETRY_BASE_S + 1)) == 1
    [run] = runs(platform, ids["acme"])
    assert run.status == FAILED
    assert [s[2] for s in steps(platform, ids["acme"], run.id)] == ["retrying", FAILED]


def test_schedules_fire_in_the_tenant_time_zone(world):
    platform, _bus, ids = world
    with platform.db.transaction(all_tenants=True) as session:
        session.get(Tenant, ids["acme"]).time_zone = "Europe/Paris"
    workflow_id = save(platform, ids["acme"], "Morning", {"trigger": {"kind": "schedule", "cron": "0 9 * * *"}, "steps": [
        {"action": "core.notify", "params": {"users": [ids["manager"]], "message": "{{ event.payload.fired_at }}"}}]})
    with platform.db.session(ids["acme"], read_only=True) as session:
        due = service.find_workflow(session, "Morning").next_fire_at
    assert due.astimezone(UTC).hour == 8 and due.minute == 0  # 09:00 in Paris in November
    assert tick(platform, due - timedelta(minutes=1)) == 0
    assert tick(platform, due + timedelta(seconds=5)) == 1
    assert tick(platform, due + timedelta(seconds=6)) == 0  # already fired: next one is tomorrow
    [run] = runs(platform, ids["acme"], workflow_id)
    assert run.status == SUCCEEDED and run.trigger_key == f"schedule:{due.isoformat()}"
    with platform.db.session(ids["acme"], read_only=True) as session:
        assert service.find_workflow(session, "Morning").next_fire_at == due + timedelta(days=1)


def test_relative_trigger_fires_later_if_its_condition_still_holds(world):
    platform, bus, ids = world
    save(platform, ids["acme"], "Follow up", {
        "trigger": {"kind": "relative", "event": "flow.complaint.opened", "delay": {"days": 3},
                    "condition": '"key" in subject.tags'},
        "permissions": {"core.party.read": "tenant"},
        "steps": [{"action": "flow.escalate", "params": {"level": 3}}]})
    opened = complaint(platform, bus, ids, ids["key"])
    complaint(platform, bus, ids, ids["small"])
    assert runs(platform, ids["acme"]) == []
    assert tick(platform, opened.occurred_at + timedelta(days=2)) == 0
    assert tick(platform, opened.occurred_at + timedelta(days=3, seconds=1)) == 2
    [run] = runs(platform, ids["acme"])  # Small Ltd is not a key account: no run
    assert run.status == SUCCEEDED and run.trigger_event_id == opened.id
    assert ESCALATIONS == [("acme", {"level": 3, "note": ""}, ids["key"])]


def test_wait_until_resumes_when_the_condition_holds_or_times_out(world):
    platform, bus, ids = world
    save(platform, ids["acme"], "Until", {"trigger": {"kind": "event", "event": "flow.complaint.opened"},
                                          "permissions": {"core.party.read": "tenant"}, "steps": [
        {"wait": {"until": '"answered" in subject.tags', "timeout": {"days": 1}, "every": {"minutes": 30}}},
        {"action": "flow.escalate", "params": {"level": 1}}]})
    complaint(platform, bus, ids, ids["key"])
    complaint(platform, bus, ids, ids["small"])
    now = datetime.now(UTC)
    assert tick(platform, now + timedelta(minutes=31)) == 2
    assert [r.status for r in runs(platform, ids["acme"])] == [WAITING, WAITING]
    with platform.db.transaction(ids["acme"]) as session:
        session.get(Party, ids["key"]).tags = ["key", "answered"]
    tick(platform, now + timedelta(minutes=62))
    assert [r.status for r in runs(platform, ids["acme"])] == [SUCCEEDED, WAITING]
    tick(platform, now + timedelta(days=1, minutes=1))
    assert [r.status for r in runs(platform, ids["acme"])] == [SUCCEEDED, SUCCEEDED]
    assert len(ESCALATIONS) == 2


def test_other_tenants_workflows_never_see_the_event(world):
    platform, bus, ids = world
    save(platform, ids["beta"], "Beta's", {"trigger": {"kind": "event", "event": "*"}, "steps": []})
    complaint(platform, bus, ids, ids["key"])
    assert runs(platform, ids["beta"]) == [] and runs(platform, ids["acme"]) == []



WORKFLOW_TABLES = {"core_workflows", "core_workflow_versions", "core_workflow_runs", "core_workflow_steps",
                   "core_workflow_timers", "core_workflow_record_states", "core_tenants"}


def test_the_workflows_migration_creates_exactly_what_the_models_declare(world):
    from alembic.autogenerate import compare_metadata
    from alembic.runtime.migration import MigrationContext

    from xrm_core.db import Model

    platform, _, _ = world

    def ours(_object, name, type_, _reflected, _compare_to):
        return type_ != "table" or name in WORKFLOW_TABLES

    with platform.db.engine.connect() as connection:
        context = MigrationContext.configure(connection, opts={"compare_type": True, "include_object": ours})
        assert compare_metadata(context, Model.metadata) == []
    assert WORKFLOW_TABLES <= migrate.table_names(platform)


def test_graph_actions_and_starting_another_workflow(world):
    platform, bus, ids = world
    from xrm_core.graph.models import Relationship
    from xrm_core.graph.service import define_relationship_type

    with platform.db.transaction(ids["acme"]) as session:
        define_relationship_type(session, "supplies", "supplies", "is supplied by", from_roles=["supplier"])
    save(platform, ids["acme"], "Cut supplier", {"trigger": {"kind": "manual"}, "permissions": EVERYTHING, "steps": [
        {"action": "core.end_relationship", "params": {"type": "supplies", "to_party": ids["small"]}}]})
    save(platform, ids["acme"], "Onboard supplier", {
        "trigger": {"kind": "event", "event": "flow.complaint.opened"}, "permissions": EVERYTHING, "steps": [
            {"action": "core.add_role", "params": {"role": "supplier"}},
            {"action": "core.relate", "params": {"type": "supplies", "to_party": ids["small"]}},
            {"action": "core.start_workflow", "params": {"workflow": "Cut supplier"}}]})
    complaint(platform, bus, ids, ids["key"])
    onboard, cut = runs(platform, ids["acme"])
    assert (onboard.status, cut.status, cut.depth) == (SUCCEEDED, SUCCEEDED, 1)
    assert cut.subject_id == str(ids["key"])  # the started workflow works on the same record
    with platform.db.session(ids["acme"], read_only=True) as session:
        key = session.get(Party, ids["key"])
        assert [r.role for r in key.roles] == ["supplier"]
        [link] = session.scalars(select(Relationship))
        assert (link.from_party_id, link.to_party_id, link.valid_to) == (ids["key"], ids["small"],
                                                                          datetime.now(UTC).date())


def test_webhook_action_refuses_private_addresses(world):
    platform, bus, ids = world
    save(platform, ids["acme"], "Call home", {"trigger": {"kind": "event", "event": "flow.complaint.opened"},
                                              "steps": [{"action": "core.webhook", "params": {
                                                  "url": "http://127.0.0.1:9/hook", "body": {"n": "{{ event.payload.number }}"}},
                                                  "retries": 3}]})
    complaint(platform, bus, ids, ids["key"])
    [run] = runs(platform, ids["acme"])
    assert run.status == FAILED and "127.0.0.1" in run.error  # refused at once: an SSRF refusal is not retried


def test_webhook_action_posts_the_rendered_body(world):
    import json
    import threading
    from http.server import BaseHTTPRequestHandler, HTTPServer

    platform, _bus, ids = world
    received = []

    class Receiver(BaseHTTPRequestHandler):
        def do_POST(self):  # the name http.server calls
            received.append(json.loads(self.rfile.read(int(self.headers["Content-Length"]))))
            self.send_response(500 if len(received) == 1 else 204)
            self.end_headers()

        def log_message(self, *args):
            """Quiet: the tests read the requests received, not the server's log."""

    server = HTTPServer(("127.0.0.1", 0), Receiver)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    bus = get_bus(platform, load_event_settings(environ={}, webhooks_allow_private=True, webhooks_timeout_s=5))
    try:
        save(platform, ids["acme"], "Call", {"trigger": {"kind": "event", "event": "flow.complaint.opened"},
                                             "steps": [{"action": "core.webhook", "retries": 2, "params": {
                                                 "url": f"http://127.0.0.1:{server.server_port}/hook",
                                                 "body": {"number": "{{ event.payload.number }}"}}}]})
        complaint(platform, bus, ids, ids["key"], number="C-7")
        assert runs(platform, ids["acme"])[0].status == WAITING  # answered 500: retried later
        tick(platform, datetime.now(UTC) + timedelta(seconds=engine.RETRY_BASE_S + 1))
        [run] = runs(platform, ids["acme"])
        assert run.status == SUCCEEDED
        assert [r["body"] for r in received] == [{"number": "C-7"}, {"number": "C-7"}]
        assert received[0]["event"]["type"] == "flow.complaint.opened"
    finally:
        server.shutdown()
        bus.stop()


def test_dry_run_shows_every_step_and_changes_nothing(world):
    from xrm_core.workflows import dryrun

    platform, _bus, ids = world
    save(platform, ids["acme"], "Escalate key complaints", scenario(ids))
    with platform.db.transaction(ids["acme"]) as session:
        workflow = service.find_workflow(session, "Escalate key complaints")
        sample = {"id": None, "type": "flow.complaint.opened", "actor": "user:1",
                  "payload": {"number": "C-9", "severity": "high"},
                  "subject": {"entity": "core_parties", "id": str(ids["key"])}, "related": [], "occurred_at": None}
        report = dryrun.dry_run(session, platform, workflow, service.version_of(session, workflow), sample)
        low = dryrun.dry_run(session, platform, workflow, service.version_of(session, workflow),
                             {**sample, "payload": {"number": "C-9", "severity": "low"}})
    assert report["matched"] and report["status"] == SUCCEEDED
    assert [s["action"] for s in report["steps"]] == [
        "core.assign", "core.notify", "core.update_party", "wait", "if", "flow.escalate"]
    assert report["steps"][-1]["output"] == {"dry_run": True, "would_run": "flow.escalate",
                                             "params": {"level": 2, "note": "C-9 still open"}}
    assert low == {"matched": False, "status": None, "error": None, "steps": []}
    # Nothing stayed: no run, no notification, the party as it was, and the plugin was never called.
    assert runs(platform, ids["acme"]) == [] and notifications(platform, ids["acme"]) == [] and ESCALATIONS == []
    key = party(platform, ids["acme"], ids["key"])
    assert key.department_id == ids["sales"] and key.tags == ["key"]


def test_backtest_replays_the_last_matching_events(world):
    from xrm_core.workflows import dryrun

    platform, bus, ids = world
    complaint(platform, bus, ids, ids["key"], number="C-1")
    complaint(platform, bus, ids, ids["key"], severity="low", number="C-2")
    complaint(platform, bus, ids, ids["small"], number="C-3")
    save(platform, ids["acme"], "Escalate key complaints", scenario(ids))
    with platform.db.transaction(ids["acme"]) as session:
        workflow = service.find_workflow(session, "Escalate key complaints")
        report = dryrun.backtest(session, platform, workflow, service.version_of(session, workflow), limit=10)
    assert [(r["type"], r["matched"]) for r in report] == [("flow.complaint.opened", False),
                                                          ("flow.complaint.opened", False),
                                                          ("flow.complaint.opened", True)]
    assert report[2]["steps"][-1]["action"] == "flow.escalate" and report[2]["status"] == SUCCEEDED
    assert runs(platform, ids["acme"]) == [] and ESCALATIONS == []


def test_record_triggers_fire_when_the_condition_becomes_true(world):
    platform, bus, ids = world
    save(platform, ids["acme"], "Became VIP", {
        "trigger": {"kind": "record", "entity": "core_parties", "event": "core.party.*",
                    "condition": '"vip" in subject.tags'},
        "permissions": {"core.party.read": "tenant"},
        "steps": [{"action": "flow.escalate", "params": {"level": 1, "note": "{{ subject.display_name }}"}}]})

    def tag(party_id, tags, times=1):
        with platform.db.transaction(ids["acme"]) as session:
            session.get(Party, party_id).tags = tags
            for _ in range(times):  # several saves in one transaction: one event each
                publish(session, "core.party.updated", (Party.__tablename__, party_id), {"changed": ["tags"]}, "cli")
        bus.run_until_idle()

    tag(ids["key"], ["key"])
    assert runs(platform, ids["acme"]) == []  # false: nothing
    tag(ids["key"], ["key", "vip"], times=2)
    assert len(runs(platform, ids["acme"])) == 1  # rose once, however many events
    tag(ids["key"], ["key", "vip", "gold"])
    assert len(runs(platform, ids["acme"])) == 1  # still true: no new run
    tag(ids["key"], ["key"])
    tag(ids["key"], ["vip"])
    assert len(runs(platform, ids["acme"])) == 2  # fell, then rose again
    tag(ids["small"], ["vip"])
    assert [e[2] for e in ESCALATIONS] == [ids["key"], ids["key"], ids["small"]]


def test_a_wait_survives_a_restart(world, make_platform):
    platform, bus, ids = world
    save(platform, ids["acme"], "Escalate key complaints", scenario(ids))
    complaint(platform, bus, ids, ids["key"])
    bus.stop()
    platform.db.dispose()  # the process is gone: only the database remains
    restarted = make_platform(FLOW)
    get_bus(restarted, load_event_settings(environ={}))
    assert tick(restarted, datetime.now(UTC) + timedelta(hours=4, minutes=1)) == 1
    [run] = runs(restarted, ids["acme"])
    assert run.status == SUCCEEDED and [e[1]["level"] for e in ESCALATIONS] == [2]
