"""The platform's controllable clock, and the SDK's clock and synchronous-delivery fixtures."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone

import pytest
import xrm_sdk as xrm

from xrm_core import clock
from xrm_core.db import utcnow
from xrm_core.events import get_bus, publish

NOON = datetime(2026, 3, 27, 12, 0, tzinfo=UTC)


def test_the_real_clock_is_aware_utc_and_moves():
    first = clock.now()
    assert first.tzinfo is not None and first.utcoffset() == timedelta(0)
    assert not clock.is_frozen()
    assert abs(first - datetime.now(UTC)) < timedelta(seconds=5)


def test_frozen_clock_stands_still_advances_and_is_given_back():
    with clock.frozen(NOON) as moment:
        assert moment == NOON
        assert utcnow() == NOON == xrm.utcnow()
        assert clock.advance(timedelta(hours=4)) == NOON + timedelta(hours=4)
        assert utcnow() == NOON + timedelta(hours=4)
    assert not clock.is_frozen()
    assert abs(utcnow() - datetime.now(UTC)) < timedelta(seconds=5)


def test_frozen_blocks_nest_and_restore_the_outer_moment():
    with clock.frozen(NOON):
        with clock.frozen(NOON + timedelta(days=1)):
            assert utcnow().day == 28
        assert utcnow() == NOON
    assert not clock.is_frozen()


def test_a_moment_in_another_zone_is_stored_in_utc():
    paris = timezone(timedelta(hours=1))
    with clock.frozen(datetime(2026, 3, 27, 13, 0, tzinfo=paris)):
        assert utcnow() == NOON and utcnow().tzinfo == UTC


def test_naive_moments_and_advancing_the_real_clock_are_refused():
    with pytest.raises(ValueError, match="naive"):
        clock.freeze(datetime(2026, 3, 27, 12, 0))
    assert not clock.is_frozen()
    with pytest.raises(RuntimeError, match="freeze the clock"):
        clock.advance(timedelta(minutes=1))


def test_the_xrm_clock_fixture_sets_and_advances(xrm_clock):
    assert clock.is_frozen()
    assert xrm_clock.set(NOON) == NOON
    assert xrm_clock.advance(hours=1, minutes=30) == NOON + timedelta(hours=1, minutes=30)
    assert xrm_clock.advance(timedelta(days=2)) == NOON + timedelta(days=2, hours=1, minutes=30)
    assert xrm.utcnow() == xrm_clock.now()


def test_the_clock_is_real_again_after_a_test_that_used_the_fixture():
    assert not clock.is_frozen()


@pytest.fixture
def receiver(xrm_platform):
    """A core subscriber of this platform only, recording what it is given."""
    seen: list[tuple[str, str]] = []
    get_bus(xrm_platform).subscribe("core.clocktest", "core.party.*",
                                    lambda event, tenant: seen.append((event.type, tenant.slug)))
    return seen


@pytest.mark.xrm_plugins()
def test_events_are_delivered_only_when_the_test_says(xrm_platform, xrm_tenant, xrm_deliver_events, receiver):
    with xrm_platform.db.transaction(xrm_tenant.id) as session:
        publish(session, "core.party.updated", ("core_parties", 1), {"changed": ["tags"]}, "test")
    assert receiver == []  # no dispatcher thread runs in tests
    xrm_deliver_events()
    assert receiver == [("core.party.updated", "test")]
    xrm_deliver_events()  # delivered once: nothing left
    assert receiver == [("core.party.updated", "test")]


@pytest.mark.xrm_plugins()
def test_periodic_jobs_run_on_demand_through_the_sdk_fixture(xrm_platform, xrm_tenant, xrm_run_periodic_jobs):
    assert xrm_run_periodic_jobs("workflows.tick") == {"workflows.tick": 0}
    assert {"events.prune", "workflows.tick"} <= set(xrm_run_periodic_jobs())
    with pytest.raises(xrm.NotFound, match="no periodic job 'nope.job'"):
        xrm_run_periodic_jobs("nope.job")
