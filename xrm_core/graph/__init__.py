"""The party graph: every party a tenant deals with, and the typed relationships between them.

``models`` holds the tables, ``service`` the writes and the rules they enforce, ``queries`` the
graph reads (neighbours, neighbourhoods, shortest paths), computed in the database. This module
holds only what they share, and imports none of them.
"""

from __future__ import annotations

from sqlalchemy.orm import Session

from ..errors import TenantScopeError, XrmError


class GraphRuleError(XrmError):
    """A write or a query breaks a rule of the party graph (unknown kind, role or type, ends a type
    does not admit, inverted dates); the message names the rule and the offending value."""


def session_tenant(session: Session) -> int:
    """The session's tenant, for statements the ORM scoping does not reach (Core, bulk).

    Fails closed, platform sessions included: the graph is always one tenant's graph.
    """
    tenant_id = session.info.get("tenant_id")
    if tenant_id is None:
        raise TenantScopeError("no tenant in scope for the party graph: it is always one tenant's graph")
    return tenant_id
