"""A plugin with periodic jobs: one that records a party per tenant and round, one that fails for one tenant."""

import xrm_sdk as xrm
from sqlalchemy import select

MANIFEST = xrm.Manifest(name="ticker", title="Ticker")

#: (job, tenant slug, principal name, now) of every call, for the tests to read.
CALLS: list[tuple[str, str, str, object]] = []


def stamp(session, tenant, now):
    """Leave a party named after the round's moment: proves the session writes and commits."""
    CALLS.append(("ticker.stamp", tenant.slug, xrm.principal_of(session).name, now))
    xrm.create_party(session, "organization", f"tick {now.isoformat()}")


def fragile(tenant, session):
    """Write, then fail for the tenant 'bad': its write must be rolled back, other tenants kept."""
    CALLS.append(("ticker.fragile", tenant.slug, xrm.principal_of(session).name, None))
    xrm.create_party(session, "organization", f"fragile {tenant.slug}")
    if tenant.slug == "bad":
        raise RuntimeError("the fragile job breaks for tenant bad")


def count_parties(session):
    """How many parties the platform principal sees (all of them: it acts tenant-wide)."""
    CALLS.append(("ticker.count", "", xrm.principal_of(session).name,
                  len(session.scalars(select(xrm.Party.id)).all())))


@xrm.hookimpl
def xrm_periodic_jobs():
    return [
        xrm.PeriodicJob("ticker.stamp", seconds=60, run=stamp, permissions=("core.party.create",)),
        xrm.PeriodicJob("ticker.fragile", seconds=3600, run=fragile, permissions=("core.party.create",)),
        xrm.PeriodicJob("ticker.count", seconds=600, run=count_parties, permissions=("core.party.read",)),
    ]
