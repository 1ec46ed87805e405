"""Workflow cases: condition evaluation speed, and what the engine adds to event delivery.

``workflows.condition`` evaluates a typical condition (payload field, subject tags, a related
party) over values already converted to CEL, as the engine does for the conditions of one step,
against the same test written as a Python expression; ``workflows.condition_cold`` includes the
conversion of the values, as for a single condition per event. The evaluations/s figures are
printed after the table (the target is 5,000 per core).
``workflows.idle`` publishes and delivers a batch of events in a tenant whose workflows wait for
other event types, with the engine connected and with it disconnected: the ratio is what the
engine adds to delivery when no workflow matches (the target is at most 1.10).
``workflows.idle_publish`` is the worst case of the same: one event per transaction, so the
relay's trigger query is not shared by several events.
"""

from __future__ import annotations

from xrm_core import tenants
from xrm_core.events import get_bus, load_event_settings, publish, relay
from xrm_core.workflows import engine, service
from xrm_core.workflows.conditions import compile_condition, prepare

from .harness import Context, Pair, case, dataset

#: Events per timed operation of ``workflows.idle``.
BATCH = 200
CONDITION = 'event.payload.severity == "high" && "key" in subject.tags && size(related) > 0'
VALUES = {
    "event": {"type": "complaints.complaint.opened", "payload": {"severity": "high", "number": "C-1"},
              "actor": "user:1"},
    "subject": {"id": 42, "display_name": "Key Corp", "tags": ["vip", "key"], "department_id": 3},
    "related": [{"id": 7, "kind": "person", "display_name": "Ann", "tags": [], "roles": ["employee"]}],
}


@dataset("workflows")
def workflows_dataset(ctx: Context) -> int:
    """One tenant with three enabled workflows, none of which waits for ``core.party.updated``."""
    with ctx.platform.db.transaction(all_tenants=True) as session:
        tenant_id = tenants.create_tenant(session, "bench-workflows", "Bench workflows").id
    get_bus(ctx.platform, load_event_settings(environ={}))
    with ctx.platform.db.transaction(tenant_id) as session:
        for number, pattern in enumerate(("sales.quote.*", "core.relationship.*", "core.role.assigned")):
            service.create_workflow(session, ctx.platform, f"bench {number}", {
                "trigger": {"kind": "event", "event": pattern, "condition": CONDITION}, "steps": []})
    return tenant_id


def _python_test() -> bool:
    return (VALUES["event"]["payload"]["severity"] == "high" and "key" in VALUES["subject"]["tags"]
            and len(VALUES["related"]) > 0)


@case("workflows.condition", "a typical CEL condition over prepared values vs the same test in Python")
def condition_speed(ctx: Context) -> Pair:
    condition, activation = compile_condition(CONDITION), prepare(VALUES)

    def platform():
        return condition.evaluate(activation)

    return Pair(platform, _python_test, lambda p, r: p is True and r is True, work=(1, "evaluations"))


@case("workflows.condition_cold", "the same, converting the values to CEL at each evaluation")
def condition_cold_speed(ctx: Context) -> Pair:
    condition = compile_condition(CONDITION)

    def platform():
        return condition.evaluate(VALUES)

    return Pair(platform, _python_test, lambda p, r: p is True and r is True, work=(1, "evaluations"))


@case("workflows.idle", f"{BATCH} events published and delivered with the workflow engine connected "
                        "(no workflow matches) vs the same with the engine disconnected")
def idle_overhead(ctx: Context) -> Pair:
    tenant_id = ctx.need(workflows_dataset)
    bus = get_bus(ctx.platform)
    db = ctx.platform.db

    def deliver_batch() -> bool:
        with db.transaction(tenant_id) as session:
            for i in range(BATCH):
                publish(session, "core.party.updated", ("core_parties", i), {"changed": ["tags"]}, "user:1")
        bus.run_until_idle(timeout=120)
        return True

    def platform():
        return deliver_batch()

    def raw():
        relay.unregister_matcher(engine.match_triggers)
        try:
            return deliver_batch()
        finally:
            relay.register_matcher(engine.match_triggers)

    return Pair(platform, raw, lambda p, r: p and r, work=(BATCH, "events"))


@case("workflows.idle_publish", "one write transaction publishing one event, delivered, with the engine connected "
                                "(no workflow matches) vs disconnected")
def idle_publish_overhead(ctx: Context) -> Pair:
    tenant_id = ctx.need(workflows_dataset)
    bus = get_bus(ctx.platform)
    db = ctx.platform.db

    def one_event() -> bool:
        with db.transaction(tenant_id) as session:
            publish(session, "core.party.updated", ("core_parties", 1), {"changed": ["tags"]}, "user:1")
        bus.run_until_idle(timeout=60)
        return True

    def raw():
        relay.unregister_matcher(engine.match_triggers)
        try:
            return one_event()
        finally:
            relay.register_matcher(engine.match_triggers)

    return Pair(one_event, raw, lambda p, r: p and r)
