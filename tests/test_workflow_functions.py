"""Plugins' functions in workflow conditions (``xrm_workflow_functions``): found in the source,
checked when a workflow is saved (at the condition's path), evaluated as the workflow in its tenant.

The ``askme`` fixture plugin contributes ``askme.party_name(id)`` (reads a party through the
session), ``askme.is_small(n)`` (refuses a big literal when saved) and ``askme.broken()`` (whose
check raises).
"""

from __future__ import annotations

import pytest
from marshmallow import ValidationError
from plugin_dists import CORE, Dist
from sqlalchemy import select

from xrm_core import migrate, tenants
from xrm_core.contributions import WorkflowFunction
from xrm_core.events import get_bus, load_event_settings, publish
from xrm_core.graph.models import Party
from xrm_core.graph.service import create_party
from xrm_core.identity.models import Department, Scope
from xrm_core.identity.principal import Principal
from xrm_core.workflows import dryrun, service
from xrm_core.workflows.functions import Call, calls_of
from xrm_core.workflows.models import FAILED, SUCCEEDED, Workflow, WorkflowRun

ASKME = Dist("xrm-fx-askme", "0.1.0", "askme", "xrm_fx_misc.askme", (CORE,))
READ = {"core.party.read": "tenant"}


def test_calls_are_found_with_their_literal_arguments_and_strings_are_skipped():
    source = ('askme.is_small(12) && "askme.is_small(1000)" != event.type && subject.name.startsWith("A")\n'
              "|| askme.party_name(subject.id) in ['a, b', r'c)'] && askme.pick(\"x\", [1, (2)], true, 1.5, -1)")
    assert calls_of(source) == (
        Call("askme.is_small", (12,)),
        Call("askme.party_name", (None,)),
        Call("askme.pick", ("x", None, True, 1.5, None)),
    )
    assert calls_of("askme.broken()") == (Call("askme.broken", ()),)
    assert calls_of('size(subject.tags) > 1 && subject.tags.exists(t, t.startsWith("v"))') == (
        Call("t.startsWith", ("v",)),)  # a member call on a bare name: callers keep plugin namespaces only


def test_a_function_is_named_after_its_plugin_and_has_an_evaluate_function():
    assert WorkflowFunction("askme.ok", evaluate=len).check("askme") is None
    assert "'<plugin>.<function>'" in WorkflowFunction("ok", evaluate=len).check("askme")
    assert "'<plugin>.<function>'" in WorkflowFunction("askme.is-ok", evaluate=len).check("askme")
    assert "must be named 'askme." in WorkflowFunction("other.ok", evaluate=len).check("askme")
    assert "no evaluate function" in WorkflowFunction("askme.ok").check("askme")


@pytest.fixture
def world(make_platform):
    """acme (askme enabled): Key Corp in sales, Secret Ltd in quality; beta (askme disabled): Beta Corp."""
    platform = make_platform(ASKME)
    migrate.upgrade(platform)
    ids: dict[str, int] = {}
    with platform.db.transaction(all_tenants=True) as session:
        acme = tenants.create_tenant(session, "acme", "ACME")
        tenants.enable_plugin(platform, session, acme, "askme")
        ids["acme"] = acme.id
        ids["beta"] = tenants.create_tenant(session, "beta", "Beta").id
    with platform.db.transaction(ids["acme"]) as session:
        for name in ("sales", "quality"):
            department = Department(name=name, path="/")
            session.add(department)
            session.flush()
            department.path = f"/{department.id}/"
            ids[name] = department.id
        ids["key"] = create_party(session, "organization", "Key Corp", department_id=ids["sales"]).id
        ids["secret"] = create_party(session, "organization", "Secret Ltd", department_id=ids["quality"]).id
    with platform.db.transaction(ids["beta"]) as session:
        ids["beta_party"] = create_party(session, "organization", "Beta Corp").id
    bus = get_bus(platform, load_event_settings(environ={}))
    yield platform, ids
    bus.stop()


def _asking(condition: str, permissions=READ) -> dict:
    return {"trigger": {"kind": "manual"}, "permissions": permissions,
            "steps": [{"if": condition, "then": [], "else": []}]}


def _refusal(platform, tenant_id, definition, saver=None) -> dict:
    with platform.db.session(tenant_id) as session, pytest.raises(ValidationError) as refused:
        service.check_definition(session, platform, definition, saver)
    return refused.value.messages["definition"]


def test_calls_are_checked_when_saved_at_the_path_of_their_condition(world):
    platform, ids = world
    nested = {"trigger": {"kind": "event", "event": "core.party.updated", "condition": "askme.is_small(1000)"},
              "permissions": READ,
              "steps": [{"if": "true", "then": [{"wait": {"until": "askme.party_name()", "timeout": {"days": 1}}}]}]}
    assert _refusal(platform, ids["acme"], nested) == {
        "trigger": {"condition": ["askme.is_small: 1000 is not a small number"]},
        "steps": {0: {"then": {0: {"wait": {"until": ["askme.party_name(party_id) takes 1 argument(s), not 0"]}}}}},
    }
    misspelt = _refusal(platform, ids["acme"], _asking("askme.party_nam(1) == 'x'"))
    assert "unknown function 'askme.party_nam'" in misspelt["steps"][0]["if"][0]
    assert "askme.party_name" in misspelt["steps"][0]["if"][0]  # the known ones are listed
    # A plugin whose check raises does not make saving a 500: the call is refused, saying so.
    assert "could not be checked" in _refusal(platform, ids["acme"], _asking("askme.broken()"))["steps"][0]["if"][0]
    # In a tenant where the plugin is disabled, its functions do not exist.
    disabled = _refusal(platform, ids["beta"], _asking("askme.is_small(1)"))
    assert "unknown function 'askme.is_small' (is its plugin enabled?" in disabled["steps"][0]["if"][0]
    # Expressions are known only when the condition runs: accepted; so is a call within the rules.
    with platform.db.session(ids["acme"]) as session:
        assert service.check_definition(session, platform, _asking("askme.is_small(size(subject.tags)) && "
                                                                     "askme.is_small(99)"), None)
        assert service.condition_problems(session, platform, "askme.is_small(500)") == [
            "askme.is_small: 500 is not a small number"]
        assert service.condition_problems(session, platform, "subject.id == 1") == []


def _dry_run(platform, tenant_id, workflow_id, party_id) -> tuple[str, str | None, object]:
    with platform.db.transaction(tenant_id) as session:
        workflow = session.get(Workflow, workflow_id)
        report = dryrun.dry_run(session, platform, workflow, service.version_of(session, workflow), {
            "id": None, "type": "manual", "actor": "test", "payload": {}, "occurred_at": None, "related": [],
            "subject": {"entity": "core_parties", "id": str(party_id)}})
    steps = report["steps"]
    return report["status"], report["error"], steps[0]["output"].get("result") if steps else None


def test_functions_run_as_the_workflow_in_its_tenant(world):
    platform, ids = world
    saver = Principal(tenant_id=ids["acme"], name="user:saver", department_id=ids["sales"],
                      subtree_ids=frozenset({ids["sales"]}), grants={"core.party.read": Scope.DEPARTMENT})
    with platform.db.transaction(ids["acme"]) as session:
        workflow = service.create_workflow(session, platform, "Named Key Corp?", _asking(
            'askme.party_name(int(event.subject.id)) == "Key Corp"', {"core.party.read": "department"}), saver=saver)
        workflow_id = workflow.id
    assert _dry_run(platform, ids["acme"], workflow_id, ids["key"]) == (SUCCEEDED, None, True)
    # A party of another department: the workflow (sales, department scope) does not see it.
    status, error, _result = _dry_run(platform, ids["acme"], workflow_id, ids["secret"])
    assert status == FAILED and f"askme.party_name: no party #{ids['secret']} that this workflow can see" in error
    # Another tenant's party is not there at all.
    status, error, _result = _dry_run(platform, ids["acme"], workflow_id, ids["beta_party"])
    assert status == FAILED and f"no party #{ids['beta_party']}" in error


def test_hook_xrm_workflow_functions(world):
    """A trigger condition calling a plugin's function filters real runs."""
    platform, ids = world
    with platform.db.transaction(ids["acme"]) as session:
        workflow_id = service.create_workflow(session, platform, "Only Secret", {
            "trigger": {"kind": "event", "event": "core.party.updated",
                        "condition": 'askme.party_name(subject.id) == "Secret Ltd"'},
            "permissions": READ, "steps": []}).id
    for party_id in (ids["key"], ids["secret"]):
        with platform.db.transaction(ids["acme"]) as session:
            publish(session, "core.party.updated", (Party.__tablename__, party_id), {"changed": ["tags"]}, "cli")
    get_bus(platform).run_until_idle()
    with platform.db.session(ids["acme"], read_only=True) as session:
        started = session.scalars(select(WorkflowRun).where(WorkflowRun.workflow_id == workflow_id)).all()
        assert [(run.subject_id, run.status) for run in started] == [(str(ids["secret"]), SUCCEEDED)]
