"""The consent question every plugin asks before contacting a party.

Any outbound communication (an email campaign, a reminder SMS, a sales call list) calls
:func:`may_contact` first. The answer comes from the plugins implementing the core hook
``xrm_contact_consent`` (the contacts plugin records consents per channel) and fails closed: no
answer, or a failing plugin, means no.
"""

from __future__ import annotations

import logging

from sqlalchemy.orm import Session

from xrm_core.models import Tenant

__all__ = ["CONTACT_CHANNELS", "may_contact"]

HOOK = "xrm_contact_consent"
#: The channels the consent question knows.
CONTACT_CHANNELS = ("email", "phone", "sms", "post")

log = logging.getLogger("xrm.consent")


def may_contact(session: Session, party_id: int, channel: str) -> bool:
    """Whether the party may be contacted on ``channel`` (``email``, ``phone``, ``sms``, ``post``).

    The plugins enabled for the session's tenant answer in dependency order; the first answer that
    is not ``None`` decides. A plugin that raises counts as a refusal (logged). Without an answer
    the result is ``False``: nobody is contacted without a recorded consent.

    :raises ValueError: an unknown channel (a programming error of the caller).
    """
    if channel not in CONTACT_CHANNELS:
        raise ValueError(f"unknown contact channel {channel!r} (known: {', '.join(CONTACT_CHANNELS)})")
    platform = session.info.get("platform")
    tenant = session.get(Tenant, session.info.get("tenant_id")) if platform is not None else None
    if tenant is None:
        raise RuntimeError("may_contact needs a tenant-scoped session opened by a platform's database")
    implementers = {impl.plugin_name for impl in getattr(platform.host.pm.hook, HOOK).get_hookimpls()}
    for plugin in platform.enabled_plugins(session):
        if plugin not in implementers:
            continue
        try:
            answer = platform.host.call_plugin(plugin, HOOK, tenant=tenant, session=session, party_id=party_id,
                                               channel=channel)
        except Exception:
            log.exception("plugin %s failed to answer the consent question; counted as a refusal", plugin)
            return False
        if answer is not None:
            return answer is True
    return False
