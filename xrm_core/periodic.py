"""Plugins' periodic jobs (``xrm_periodic_jobs``), run once per tenant where the plugin is enabled.

The plugins' jobs join the core's in :func:`xrm_core.events.schedule.jobs_for`, so they run the same
ways: in a thread of ``xrm serve`` (embedded) or as Celery tasks sent by ``xrm beat`` (scale-out).

One round of a job goes through the tenants that have the plugin enabled (active tenants only),
each in a transaction of its own, tenant-scoped and acting as the principal ``job:<name>`` with
the plugin's own permissions and those the job names (:func:`job_grants`), tenant-wide: a job does
the plugin's housekeeping for the tenant, not a user's bidding, and nothing beyond it. A tenant
whose run raises is logged and rolled back; the other tenants, and the other jobs, still run.
"""

from __future__ import annotations

import inspect
import logging
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING, Any

from sqlalchemy import select

from .contributions import PeriodicJob
from .db import utcnow
from .events.schedule import PeriodicJob as ScheduledJob
from .identity.models import Scope
from .identity.principal import service_principal
from .identity.scoping import act_as
from .models import Tenant, TenantPlugin, TenantStatus

if TYPE_CHECKING:
    from .platform import Platform

log = logging.getLogger("xrm.periodic")


@dataclass(frozen=True)
class RoundResult:
    """What one round of a plugin's job did: tenants it ran for, and those whose run failed."""

    ran: int
    failed: tuple[str, ...]


def plugin_jobs(platform: Platform) -> dict[str, ScheduledJob]:
    """The plugins' periodic jobs as schedule entries (invalid contributions are logged and dropped)."""
    jobs: dict[str, ScheduledJob] = {}
    for plugin, job in platform.contributed("xrm_periodic_jobs", PeriodicJob):
        jobs[job.name] = ScheduledJob(job.name, float(job.seconds),
                                      lambda p, plugin=plugin, job=job: run_round(p, plugin, job))
    return jobs


def tenants_with(platform: Platform, plugin: str) -> list[tuple[int, str]]:
    """``(id, slug)`` of the active tenants where ``plugin`` is enabled, in id order."""
    with platform.db.session(all_tenants=True, read_only=True) as session:
        return [tuple(row) for row in session.execute(
            select(Tenant.id, Tenant.slug)
            .join(TenantPlugin, TenantPlugin.tenant_id == Tenant.id)
            .where(TenantPlugin.plugin == plugin, TenantPlugin.enabled, Tenant.status == TenantStatus.ACTIVE)
            .order_by(Tenant.id)
        ).all()]


def job_grants(plugin: str, job: PeriodicJob, declared: set[str]) -> dict[str, Scope]:
    """What ``job`` may do, tenant-wide: its plugin's permissions and the declared ones it names.

    A name that no plugin (nor the core) declares grants nothing; it is logged, so the author sees it.
    """
    unknown = sorted(set(job.permissions) - declared)
    if unknown:
        log.error("periodic job %s names undeclared permissions %s; they grant nothing", job.name, unknown)
    wanted = {p for p in declared if p.startswith(f"{plugin}.")} | (set(job.permissions) & declared)
    return dict.fromkeys(sorted(wanted), Scope.TENANT)


def run_round(platform: Platform, plugin: str, job: PeriodicJob, now: datetime | None = None) -> RoundResult:
    """Run ``job`` once for every tenant where ``plugin`` is enabled; failures are isolated per tenant."""
    from .identity.catalogue import all_permissions

    now = now or utcnow()
    grants = job_grants(plugin, job, set(all_permissions(platform)))
    parameters = inspect.signature(job.run).parameters
    ran, failed = 0, []
    for tenant_id, slug in tenants_with(platform, plugin):
        try:
            with platform.db.transaction(tenant_id) as session:
                tenant = session.get(Tenant, tenant_id)
                act_as(session, service_principal(tenant_id, f"job:{job.name}", grants))
                offered: dict[str, Any] = {"session": session, "tenant": tenant, "now": now}
                job.run(**{name: value for name, value in offered.items() if name in parameters})
            ran += 1
        except Exception:  # one tenant's failure must not hold up the others
            log.exception("periodic job %s failed for tenant %s; it runs again next round", job.name, slug)
            failed.append(slug)
    return RoundResult(ran=ran, failed=tuple(failed))
