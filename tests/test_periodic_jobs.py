"""Plugins' periodic jobs: declared by a hook, run once per enabled tenant as the platform principal,
isolated per tenant, scheduled embedded and by Celery beat like the core's."""

from __future__ import annotations

import logging
from datetime import UTC, datetime, timedelta

import pytest
import xrm_sdk as xrm
from plugin_dists import _dist
from sqlalchemy import select
from xrm_fx_ticker import plugin as ticker

from xrm_core import migrate, tenants
from xrm_core.events import get_bus, schedule
from xrm_core.events.celery_app import make_celery
from xrm_core.events.schedule import PeriodicRunner, run_job
from xrm_core.graph.models import Party
from xrm_core.models import Tenant, TenantStatus
from xrm_core.contributions import PeriodicJob
from xrm_core.identity.models import Scope
from xrm_core.periodic import RoundResult, job_grants, run_round, tenants_with

TICKER = _dist("ticker", "xrm_fx_ticker.plugin")
ROGUE = _dist("rogue", "xrm_fx_ticker.rogue")
MORNING = datetime(2026, 5, 4, 7, 30, tzinfo=UTC)


@pytest.fixture(autouse=True)
def calls():
    ticker.CALLS.clear()
    yield ticker.CALLS
    ticker.CALLS.clear()


@pytest.fixture
def world(make_platform):
    """Tenants: acme and bad with the plugin enabled, quiet without it, frozen (suspended) with it."""
    platform = make_platform(TICKER, ROGUE)
    migrate.upgrade(platform)
    with platform.db.transaction(all_tenants=True) as session:
        for slug, enable in (("acme", True), ("bad", True), ("quiet", False), ("frozen", True)):
            tenant = tenants.create_tenant(session, slug, slug.title())
            if enable:
                tenants.enable_plugin(platform, session, tenant, "ticker")
            if slug == "frozen":
                tenant.status = TenantStatus.SUSPENDED
    yield platform
    get_bus(platform).stop()


def _party_names(platform, slug: str) -> list[str]:
    with platform.db.session(all_tenants=True, read_only=True) as session:
        tenant_id = session.scalar(select(Tenant.id).where(Tenant.slug == slug))
    with platform.db.session(tenant_id, read_only=True) as session:
        return sorted(session.scalars(select(Party.display_name)))


def test_jobs_join_the_schedule_and_rule_breakers_are_dropped(world):
    jobs = schedule.jobs_for(get_bus(world))
    assert {"ticker.stamp", "ticker.fragile", "ticker.count"} <= set(jobs)
    assert jobs["ticker.stamp"].seconds == 60 and jobs["ticker.fragile"].seconds == 3600
    assert "ticker.stolen" not in jobs and "rogue.never" not in jobs
    assert "workflows.tick" in jobs  # the core's stay


def test_hook_xrm_periodic_jobs(world, xrm_clock, calls):
    """A round runs once per enabled, active tenant, as the platform principal, at the clock's time."""
    xrm_clock.set(MORNING)
    result = run_job(get_bus(world), "ticker.stamp")
    assert result == RoundResult(ran=2, failed=())
    assert calls == [("ticker.stamp", "acme", "job:ticker.stamp", MORNING),
                     ("ticker.stamp", "bad", "job:ticker.stamp", MORNING)]
    assert _party_names(world, "acme") == [f"tick {MORNING.isoformat()}"]
    assert _party_names(world, "quiet") == [] and _party_names(world, "frozen") == []


def test_a_tenant_whose_run_raises_is_rolled_back_and_logged_the_others_kept(world, calls, caplog):
    with caplog.at_level(logging.ERROR, logger="xrm.periodic"):
        result = run_job(get_bus(world), "ticker.fragile")
    assert result == RoundResult(ran=1, failed=("bad",))
    assert [c[1] for c in calls] == ["acme", "bad"]
    assert _party_names(world, "acme") == ["fragile acme"]
    assert _party_names(world, "bad") == []  # its write went with the failure
    assert "ticker.fragile failed for tenant bad" in caplog.text


def test_the_platform_principal_sees_every_record_of_its_tenant_and_only_those(world, calls):
    run_job(get_bus(world), "ticker.fragile")
    run_job(get_bus(world), "ticker.count")
    counts = [c[3] for c in calls if c[0] == "ticker.count"]
    assert counts == [1, 0]  # acme has one party, bad none (rolled back); never the other's


def test_a_job_acts_with_its_plugins_permissions_and_those_it_names_only():
    declared = {"ticker.tick.read", "core.party.read", "core.party.create", "core.user.update", "other.thing.read"}
    job = PeriodicJob("ticker.count", seconds=60, run=lambda: None, permissions=("core.party.read", "core.nope"))
    assert job_grants("ticker", job, declared) == {"core.party.read": Scope.TENANT, "ticker.tick.read": Scope.TENANT}


def test_a_job_may_not_do_what_it_did_not_ask_for(world):
    """A job that asked to read parties may not create one: its principal is no superuser."""
    def create_instead(session):
        xrm.create_party(session, "organization", "not allowed")

    job = PeriodicJob("ticker.count", seconds=600, run=create_instead, permissions=("core.party.read",))
    result = run_round(world, "ticker", job)
    assert result.failed == ("acme", "bad")
    assert _party_names(world, "acme") == []


def test_disabling_the_plugin_stops_its_jobs_for_that_tenant(world, calls):
    with world.db.transaction(all_tenants=True) as session:
        acme = session.scalar(select(Tenant).where(Tenant.slug == "acme"))
        tenants.disable_plugin(world, session, acme, "ticker")
    assert [slug for _id, slug in tenants_with(world, "ticker")] == ["bad"]
    run_job(get_bus(world), "ticker.stamp")
    assert [c[1] for c in calls] == ["bad"]


def test_the_embedded_runner_runs_them_on_time_and_survives_a_failure(world, calls):
    runner = PeriodicRunner(get_bus(world))
    runner.run_due(now=0.0)  # the first run is one interval after start
    assert calls == []
    runner.run_due(now=3600.5)
    assert {c[0] for c in calls} == {"ticker.stamp", "ticker.fragile", "ticker.count"}
    assert _party_names(world, "acme")[0] == "fragile acme"


def test_celery_beat_schedules_them_with_their_interval(make_platform, tmp_path):
    platform = make_platform(TICKER, broker_url="redis://127.0.0.1:1/0")
    app = make_celery(get_bus(platform))
    entry = app.conf.beat_schedule["ticker.stamp"]
    assert entry["args"] == ["ticker.stamp"] and entry["schedule"] == 60
    assert app.conf.beat_schedule["ticker.fragile"]["schedule"] == 3600


def test_the_jobs_run_at_the_controlled_clock_time_through_the_sdk_fixture(world, xrm_clock, calls):
    xrm_clock.set(MORNING)
    xrm_clock.advance(timedelta(days=1))
    run_job(get_bus(world), "ticker.stamp")
    assert {c[3] for c in calls} == {MORNING + timedelta(days=1)}
