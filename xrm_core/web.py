"""Per-request context: the platform, the signed-in principal's tenant, and a session scoped to both."""

from __future__ import annotations

from flask import current_app, g, request
from sqlalchemy import select
from sqlalchemy.orm import Session

from .errors import TenantScopeError
from .identity.authentication import current_principal
from .identity.scoping import act_as
from .models import Tenant, TenantStatus
from .platform import Platform
from .read_scope import ReadScope


def platform() -> Platform:
    return current_app.extensions["xrm"]


def current_tenant() -> Tenant | None:
    """The tenant of the signed-in user (or API token), or ``None`` for an anonymous request."""
    if "xrm_tenant" not in g:
        g.xrm_tenant = _resolve_tenant()
    return g.xrm_tenant


def _resolve_tenant() -> Tenant | None:
    principal = current_principal()
    if principal is None:
        return None
    with platform().db.session(all_tenants=True, read_only=True) as session:
        return session.scalar(
            select(Tenant).where(Tenant.id == principal.tenant_id, Tenant.status == TenantStatus.ACTIVE)
        )


def db_session() -> Session:
    """The request's session, scoped to the request's tenant and principal; closed when the request ends.

    Every read is limited to what the principal may see, every write checked against its rights.
    Safe methods (GET, HEAD, OPTIONS) get a read-only transaction so that, on SQLite, readers
    never queue behind the single writer.
    """
    if "xrm_session" not in g:
        tenant = current_tenant()
        read_only = request.method in ("GET", "HEAD", "OPTIONS")
        session = platform().db.session(tenant.id if tenant else None, read_only=read_only)
        if tenant is not None:
            act_as(session, current_principal())
        g.xrm_session = session
    return g.xrm_session


def read_scope() -> ReadScope:
    """A read scope of the request's tenant acting for its principal, for the hottest reads (the
    party 360): cheaper than the request's session, scoped alike. Use it in a ``with`` block."""
    tenant = require_tenant()
    scope = platform().db.reader(tenant.id)
    try:
        act_as(scope, current_principal())
    except BaseException:
        scope.close()
        raise
    return scope


def enabled_plugins() -> list[str]:
    if "xrm_enabled" not in g:
        g.xrm_enabled = platform().enabled_plugins(db_session()) if current_tenant() else []
    return g.xrm_enabled


def require_tenant() -> Tenant:
    tenant = current_tenant()
    if tenant is None:
        raise TenantScopeError("no active tenant selected for this request")
    return tenant


def close_request_session(_exc: BaseException | None = None) -> None:
    session = g.pop("xrm_session", None)
    if session is not None:
        session.close()
    platform().apply_circuit_breakers()
