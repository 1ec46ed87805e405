"""Time in workflows, on the controllable clock: waits in business hours, relative triggers that look
at what happened since, and date triggers ("30 days before a contract ends")."""

from __future__ import annotations

from datetime import UTC, datetime
from zoneinfo import ZoneInfo

import pytest
from marshmallow import ValidationError
from plugin_dists import CORE, Dist
from sqlalchemy import select
from xrm_fx_flow.plugin import ESCALATIONS

from xrm_core import migrate, tenants
from xrm_core.businesshours.service import create_calendar
from xrm_core.events import get_bus, load_event_settings, publish
from xrm_core.events.schedule import jobs_for
from xrm_core.graph.models import Party
from xrm_core.graph.service import create_party
from xrm_core.identity import admin
from xrm_core.workflows import dates, service, tick
from xrm_core.workflows.dryrun import backtest
from xrm_core.workflows.models import SUCCEEDED, WAITING, Workflow, WorkflowRun, WorkflowStep

FLOW = Dist("xrm-fx-flow", "0.1.0", "flow", "xrm_fx_flow.plugin", (CORE,))
PARIS = ZoneInfo("Europe/Paris")
READ = {"core.party.read": "tenant"}
ESCALATE = [{"action": "flow.escalate", "params": {"level": 1}}]


def paris(*args) -> datetime:
    return datetime(*args, tzinfo=PARIS)


@pytest.fixture(autouse=True)
def _forget_escalations():
    ESCALATIONS.clear()


@pytest.fixture
def world(make_platform, xrm_clock):
    """acme in Paris (flow enabled): a Mon-Fri 09:00-17:00 calendar, Sales open 08:00-12:00 only;
    parties Key Corp (Sales, tagged key) and Quiet SA (Support)."""
    xrm_clock.set(paris(2026, 3, 27, 15, 0))  # a Friday; the clocks go forward on Sunday the 29th
    platform = make_platform(FLOW)
    migrate.upgrade(platform)
    ids: dict[str, int] = {}
    with platform.db.transaction(all_tenants=True) as session:
        acme = tenants.create_tenant(session, "acme", "ACME")
        acme.time_zone = "Europe/Paris"
        tenants.enable_plugin(platform, session, acme, "flow")
        ids["acme"] = acme.id
    with platform.db.transaction(ids["acme"]) as session:
        ids["sales"] = admin.create_department(session, "Sales").id
        ids["support"] = admin.create_department(session, "Support").id
        create_calendar(session, name="Paris office", time_zone="Europe/Paris",
                        holidays=[{"date": "2026-04-06", "name": "Easter Monday"}])
        create_calendar(session, name="Sales mornings", department_id=ids["sales"], time_zone="Europe/Paris",
                        weekly_hours={d: [["08:00", "12:00"]] for d in ("mon", "tue", "wed", "thu", "fri")})
        ids["key"] = create_party(session, "organization", "Key Corp", tags=["key"], department_id=ids["sales"]).id
        ids["quiet"] = create_party(session, "organization", "Quiet SA", department_id=ids["support"]).id
    bus = get_bus(platform, load_event_settings(environ={}))
    yield platform, bus, ids
    bus.stop()


def save(platform, ids, name, definition):
    with platform.db.transaction(ids["acme"]) as session:
        return service.create_workflow(session, platform, name, definition).id


def complaint(platform, bus, ids, party_id):
    with platform.db.transaction(ids["acme"]) as session:
        event = publish(session, "flow.complaint.opened", (Party.__tablename__, party_id),
                        {"number": f"C-{party_id}", "severity": "high"}, "cli")
    bus.run_until_idle()
    return event


def runs(platform, ids):
    with platform.db.session(ids["acme"], read_only=True) as session:
        return list(session.scalars(select(WorkflowRun).order_by(WorkflowRun.id)))


def escalated() -> list[int]:
    return sorted(int(subject) for _tenant, _params, subject in ESCALATIONS)


# -- waits in business hours ----------------------------------------------------------------------------


def test_a_wait_counts_business_hours_of_the_subjects_department_or_the_tenant(world, xrm_clock):
    platform, bus, ids = world
    save(platform, ids, "Escalate after 4 business hours", {
        "trigger": {"kind": "event", "event": "flow.complaint.opened"}, "permissions": READ,
        "steps": [{"wait": {"business_hours": 4}}, *ESCALATE]})
    complaint(platform, bus, ids, ids["key"])
    complaint(platform, bus, ids, ids["quiet"])
    assert [r.status for r in runs(platform, ids)] == [WAITING, WAITING]
    with platform.db.session(ids["acme"], read_only=True) as session:
        untils = [s.output["until"] for s in session.scalars(
            select(WorkflowStep).where(WorkflowStep.action == "wait").order_by(WorkflowStep.id))]
    # Support (tenant calendar): 2 h on Friday, 2 h on Monday -> 11:00 (UTC+2 after the change).
    # Sales (mornings only): closed at 15:00 on Friday -> Monday 08:00 + 4 h = 12:00.
    assert [datetime.fromisoformat(u) for u in untils] == [paris(2026, 3, 30, 12, 0), paris(2026, 3, 30, 11, 0)]

    xrm_clock.set(paris(2026, 3, 30, 10, 59))
    tick(platform)
    assert escalated() == []
    xrm_clock.set(paris(2026, 3, 30, 11, 0))
    tick(platform)
    assert escalated() == [ids["quiet"]]
    xrm_clock.set(paris(2026, 3, 30, 12, 0))
    tick(platform)
    assert escalated() == sorted([ids["quiet"], ids["key"]])
    assert [r.status for r in runs(platform, ids)] == [SUCCEEDED, SUCCEEDED]


def test_a_wait_skips_holidays(world, xrm_clock):
    platform, bus, ids = world
    xrm_clock.set(paris(2026, 4, 3, 16, 0))  # Friday before Easter Monday
    save(platform, ids, "Wait", {"trigger": {"kind": "event", "event": "flow.complaint.opened"},
                                 "permissions": READ, "steps": [{"wait": {"business_hours": 2}}, *ESCALATE]})
    complaint(platform, bus, ids, ids["quiet"])
    xrm_clock.set(paris(2026, 4, 6, 17, 0))
    tick(platform)
    assert escalated() == []  # Monday is a holiday
    xrm_clock.set(paris(2026, 4, 7, 10, 0))
    tick(platform)
    assert escalated() == [ids["quiet"]]


@pytest.mark.parametrize(("wait", "path"), [
    ({"business_hours": 4, "hours": 1}, "business_hours"),
    ({"business_hours": 0}, "business_hours"),
    ({"business_hours": 4, "until": "true", "timeout": {"days": 1}}, "_schema"),
    ({"business_hours": 99999}, "business_hours"),
])
def test_bad_business_waits_are_refused_where_they_are(world, wait, path):
    platform, _bus, ids = world
    with pytest.raises(ValidationError) as refused:
        save(platform, ids, "Bad", {"trigger": {"kind": "manual"}, "steps": [{"wait": wait}]})
    assert path in refused.value.messages["definition"]["steps"][0]["wait"]


# -- relative triggers: later, if it still holds ---------------------------------------------------------


def test_a_relative_trigger_sees_what_happened_to_its_subject_since(world, xrm_clock):
    """'3 days after the complaint if the party was not updated since': the condition looks at the
    subject as it is then and at the events published about it in between."""
    platform, bus, ids = world
    save(platform, ids, "Chase untouched complaints", {
        "trigger": {"kind": "relative", "event": "flow.complaint.opened", "delay": {"days": 3},
                    "condition": '!("core.party.updated" in later_events)'},
        "permissions": READ, "steps": ESCALATE})
    complaint(platform, bus, ids, ids["key"])
    complaint(platform, bus, ids, ids["quiet"])
    xrm_clock.advance(days=1)
    with platform.db.transaction(ids["acme"]) as session:  # someone took care of Key Corp
        publish(session, "core.party.updated", (Party.__tablename__, ids["key"]), {"changed": ["tags"]}, "cli")
    bus.run_until_idle()
    xrm_clock.advance(days=1, hours=23)
    assert tick(platform) == 0
    xrm_clock.advance(hours=1, seconds=1)
    assert tick(platform) == 2  # both timers fire; only one condition holds
    assert escalated() == [ids["quiet"]]
    [run] = runs(platform, ids)
    assert run.context["later_events"] == []


def test_a_relative_trigger_delay_in_business_hours(world, xrm_clock):
    platform, bus, ids = world
    save(platform, ids, "Next business day", {
        "trigger": {"kind": "relative", "event": "flow.complaint.opened", "delay": {"business_hours": 8}},
        "permissions": READ, "steps": ESCALATE})
    complaint(platform, bus, ids, ids["quiet"])  # Friday 15:00: 2 h on Friday, 6 h on Monday
    xrm_clock.set(paris(2026, 3, 30, 14, 59))
    tick(platform)
    assert escalated() == []
    xrm_clock.set(paris(2026, 3, 30, 15, 0))
    tick(platform)
    assert escalated() == [ids["quiet"]]


def test_a_relative_delay_mixing_business_hours_and_days_is_refused(world):
    platform, _bus, ids = world
    with pytest.raises(ValidationError) as refused:
        save(platform, ids, "Bad", {"trigger": {"kind": "relative", "event": "flow.complaint.opened",
                                                "delay": {"business_hours": 8, "days": 1}}, "steps": ESCALATE})
    assert "business_hours" in refused.value.messages["definition"]["trigger"]["delay"]


# -- date triggers ----------------------------------------------------------------------------------------


def _contract_ends(platform, ids, party_id, day: str | None) -> None:
    with platform.db.transaction(ids["acme"]) as session:
        party = session.get(Party, party_id)
        party.custom = {**(party.custom or {}), "contract_end": day} if day else {}


def _renewal(platform, ids, condition: str | None = None, permissions=READ) -> int:
    trigger = {"kind": "date", "entity": "core.party", "field": "custom.contract_end", "offset_days": -30}
    if condition:
        trigger["condition"] = condition
    return save(platform, ids, "Renewal", {"trigger": trigger, "permissions": permissions, "steps": ESCALATE})


def test_thirty_days_before_a_contract_ends_once_per_record_and_date(world, xrm_clock):
    platform, _bus, ids = world
    _contract_ends(platform, ids, ids["key"], "2026-05-01")  # its day: 2026-04-01
    _contract_ends(platform, ids, ids["quiet"], "2026-03-10")  # long gone: never
    _renewal(platform, ids)
    xrm_clock.set(paris(2026, 3, 31, 23, 59))
    assert dates.scan(platform) == 0
    xrm_clock.set(datetime(2026, 3, 31, 22, 30, tzinfo=UTC))  # already April 1st in Paris
    assert dates.scan(platform) == 1
    assert escalated() == [ids["key"]]
    assert dates.scan(platform) == 0  # once
    xrm_clock.advance(days=3)
    assert dates.scan(platform) == 0
    [run] = runs(platform, ids)
    assert run.trigger_key == f"date:core_parties:{ids['key']}:2026-05-01"
    assert run.context["event"]["payload"]["day"] == "2026-04-01"

    _contract_ends(platform, ids, ids["key"], "2026-05-20")  # renewed: a new date fires on its own day
    assert dates.scan(platform) == 0
    xrm_clock.set(paris(2026, 4, 20, 9, 0))
    assert dates.scan(platform) == 1
    assert len(runs(platform, ids)) == 2


def test_a_workflow_saved_late_still_fires_before_the_date_but_never_for_the_past(world, xrm_clock):
    platform, _bus, ids = world
    xrm_clock.set(paris(2026, 4, 20, 9, 0))
    _contract_ends(platform, ids, ids["key"], "2026-04-30")  # 10 days left: within the 30
    _contract_ends(platform, ids, ids["quiet"], "2026-04-19")  # ended yesterday
    _renewal(platform, ids)
    assert dates.scan(platform) == 1 and escalated() == [ids["key"]]


def test_the_condition_is_looked_at_again_while_the_day_is_in_its_window(world, xrm_clock):
    platform, _bus, ids = world
    xrm_clock.set(paris(2026, 4, 1, 9, 0))
    _contract_ends(platform, ids, ids["quiet"], "2026-05-01")
    _renewal(platform, ids, condition='"key" in subject.tags')
    assert dates.scan(platform) == 0
    with platform.db.transaction(ids["acme"]) as session:
        session.get(Party, ids["quiet"]).tags = ["key"]
    xrm_clock.advance(days=2)
    assert dates.scan(platform) == 1 and escalated() == [ids["quiet"]]


def test_records_the_workflow_may_not_read_never_fire(world, xrm_clock):
    platform, _bus, ids = world
    xrm_clock.set(paris(2026, 4, 1, 9, 0))
    _contract_ends(platform, ids, ids["key"], "2026-05-01")
    _renewal(platform, ids, permissions={})
    assert dates.scan(platform) == 0 and escalated() == []


def test_a_date_column_in_the_tenants_days_and_disabled_workflows(world, xrm_clock):
    platform, _bus, ids = world
    workflow_id = save(platform, ids, "Welcome call", {
        "trigger": {"kind": "date", "entity": "core_parties", "field": "created_at", "offset_days": 2},
        "permissions": READ, "steps": ESCALATE})
    xrm_clock.set(paris(2026, 3, 29, 9, 0))  # created Friday 27th: day = Sunday 29th
    assert dates.scan(platform) == 2
    with platform.db.transaction(ids["acme"]) as session:
        service.set_enabled(session, platform, session.get(Workflow, workflow_id), False)
        party_id = create_party(session, "person", "Late Lou").id
    xrm_clock.advance(days=2)
    assert dates.scan(platform) == 0  # disabled
    assert party_id not in escalated()


@pytest.mark.parametrize(("trigger", "key", "message"), [
    ({"entity": "core.nothing", "field": "custom.x"}, "entity", "unknown entity"),
    ({"entity": "core.party", "field": "display_name"}, "field", "not a date field"),
    ({"entity": "core.party", "field": "custom."}, "field", "custom fields"),
    ({"entity": "core.party"}, "field", "required"),
    ({"entity": "core.party", "field": "custom.x", "offset_days": 99999}, "offset_days", "less than or equal to 3660"),
    ({"entity": "core.party", "field": "custom.x", "event": "x.y.z"}, "event", "not used"),
])
def test_bad_date_triggers_are_refused_naming_the_key(world, trigger, key, message):
    platform, _bus, ids = world
    with pytest.raises(ValidationError) as refused:
        save(platform, ids, "Bad", {"trigger": {"kind": "date", **trigger}, "steps": ESCALATE})
    errors = refused.value.messages["definition"]["trigger"]
    assert key in errors and message in " ".join(errors[key]), errors


def test_the_scan_is_a_periodic_job(world):
    _platform, bus, _ids = world
    job = jobs_for(bus)["workflows.dates"]
    assert job.seconds == dates.SCAN_EVERY_S and job.func is dates.scan


def test_a_backtest_of_a_relative_trigger_sees_the_later_events_of_the_log(world, xrm_clock):
    platform, bus, ids = world
    workflow_id = save(platform, ids, "Chase", {
        "trigger": {"kind": "relative", "event": "flow.complaint.opened", "delay": {"days": 3},
                    "condition": '!("core.party.updated" in later_events)'},
        "permissions": READ, "steps": ESCALATE})
    handled = complaint(platform, bus, ids, ids["key"])
    untouched = complaint(platform, bus, ids, ids["quiet"])
    with platform.db.transaction(ids["acme"]) as session:
        publish(session, "core.party.updated", (Party.__tablename__, ids["key"]), {"changed": ["tags"]}, "cli")
    with platform.db.transaction(ids["acme"]) as session:
        workflow = session.get(Workflow, workflow_id)
        report = backtest(session, platform, workflow, service.version_of(session, workflow))
    assert {entry["event_id"]: entry["matched"] for entry in report} == {handled.id: False, untouched.id: True}
    assert escalated() == [] and runs(platform, ids) == []  # nothing kept
