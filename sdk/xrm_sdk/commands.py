"""What plugin commands (``xrm <plugin> …``, from ``xrm_cli_commands``) need from the platform."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

import click
from flask.cli import ScriptInfo
from sqlalchemy import select
from sqlalchemy.orm import Session

from xrm_core.cli_support import platform_of, tenant_id_of
from xrm_core.models import Tenant, TenantPlugin, TenantStatus

__all__ = ["command_platform", "command_tenants", "tenant_transaction"]


def command_platform():
    """The platform of the running ``xrm`` command (call it inside a click command)."""
    return platform_of(click.get_current_context().ensure_object(ScriptInfo))


def command_tenants(platform, plugin: str, tenant_slug: str | None = None) -> list[tuple[int, str]]:
    """``(id, slug)`` of tenant ``tenant_slug``, or of every active tenant where ``plugin`` is enabled.

    An unknown ``tenant_slug`` raises the CLI's one-line error.
    """
    if tenant_slug is not None:
        return [(tenant_id_of(platform, tenant_slug), tenant_slug)]
    with platform.db.session(all_tenants=True, read_only=True) as session:
        return [tuple(row) for row in session.execute(
            select(Tenant.id, Tenant.slug).join(TenantPlugin, TenantPlugin.tenant_id == Tenant.id)
            .where(Tenant.status == TenantStatus.ACTIVE, TenantPlugin.plugin == plugin, TenantPlugin.enabled)
            .order_by(Tenant.slug))]


@contextmanager
def tenant_transaction(tenant_slug: str) -> Iterator[Session]:
    """A session of the tenant ``tenant_slug`` for the running ``xrm`` command, committed on success.

    An unknown tenant raises the CLI's one-line error; an exception in the block rolls everything
    back. The session has no principal: the command acts for the operator.
    """
    platform = command_platform()
    with platform.db.transaction(tenant_id_of(platform, tenant_slug)) as session:
        yield session
