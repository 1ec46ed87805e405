"""Party facts: per-party values plugins expose (``xrm_party_facts``) for selections to filter on."""

from __future__ import annotations

from sqlalchemy.orm import Session

from xrm_core.contributions import PARTY_FACT_TYPES, PartyFact
from xrm_core.graph import session_tenant
from xrm_core.models import Tenant

__all__ = ["PARTY_FACT_TYPES", "PartyFact", "party_facts"]


def party_facts(session: Session) -> dict[str, PartyFact]:
    """The facts contributed by the plugins enabled for the session's tenant, by name.

    :param session: A tenant-scoped session opened by the platform (its tenant decides which
        plugins are asked).
    """
    platform = session.info.get("platform")
    if platform is None:
        raise RuntimeError("this session was not opened by a platform's database")
    tenant = session.get(Tenant, session_tenant(session))
    contributed = platform.contributions_for_tenant("xrm_party_facts", PartyFact, tenant, session)
    return {fact.name: fact for _plugin, fact in contributed}
