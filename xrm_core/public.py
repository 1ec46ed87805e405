"""Public routes of plugins: pages and endpoints for people without an account.

A web form posting leads, a quote to accept through a signed link: nobody signs in, so the
request has no principal, no tenant and no CSRF token. A plugin serves them from a
:class:`PublicBlueprint`; the platform then neither hides its routes for want of a tenant nor asks
for a CSRF token, and the view gets the tenant it names from :func:`public_session`, which checks
that the tenant is active and has the plugin enabled (a 404 otherwise, the same for both, so the
route does not reveal which tenants exist). The session has no principal: the view decides what
an anonymous visitor may do, and should guard itself with :func:`rate_limit`.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager

from flask import Blueprint, current_app, request
from sqlalchemy import select
from sqlalchemy.orm import Session

from .errors import NotFound
from .models import Tenant, TenantStatus

#: The attribute marking a blueprint as public.
PUBLIC_ATTRIBUTE = "xrm_public"


class PublicBlueprint(Blueprint):
    """A plugin's blueprint whose routes answer anonymous visitors (no sign-in, no CSRF token)."""

    xrm_public = True


def is_public_request() -> bool:
    """Whether the current request is routed to a :class:`PublicBlueprint`."""
    if not request.blueprint:
        return False
    blueprint = current_app.blueprints.get(request.blueprint.split(".")[0])
    return bool(getattr(blueprint, PUBLIC_ATTRIBUTE, False))


@contextmanager
def public_session(plugin: str, tenant_slug: str) -> Iterator[Session]:
    """A session of the tenant ``tenant_slug`` for a public view of ``plugin``; closed afterwards.

    :raises NotFound: no active tenant has that slug, or ``plugin`` is not enabled for it.
    """
    platform = current_app.extensions["xrm"]
    with platform.db.session(all_tenants=True, read_only=True) as lookup:
        tenant_id = lookup.scalar(select(Tenant.id).where(Tenant.slug == tenant_slug,
                                                           Tenant.status == TenantStatus.ACTIVE))
    if tenant_id is None:
        raise NotFound("There is nothing here.")
    with platform.db.session(tenant_id) as session:
        if plugin not in platform.enabled_plugins(session):
            raise NotFound("There is nothing here.")
        yield session


def rate_limit(limit: str, key: Callable[[], str] | None = None) -> Callable[[Callable], Callable]:
    """Limit a view to ``limit`` requests (``"5 per minute"``) per client address (or per ``key()``).

    Beyond the limit the visitor gets a 429 until the window passes.
    """
    from .identity.authentication import limiter  # here: authentication imports this module

    return limiter.limit(limit, key_func=key) if key else limiter.limit(limit)
