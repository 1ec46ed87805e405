"""The contacts plugin's part in data-access and erasure requests (the core's privacy hooks)."""

from __future__ import annotations

from typing import Any

import xrm_sdk as xrm
from sqlalchemy import select
from sqlalchemy.orm import Session

from .consents import Consent, ConsentChange, history_of
from .interactions import interactions_of
from .people import actor_of
from .profiles import Profile

#: What stays of an erased interaction: that it happened, not what was said.
ERASED = "[erased]"


def personal_data(session: Session, party_id: int) -> dict[str, Any] | None:
    """Everything the plugin holds about the party that ``session`` may read, JSON-able."""
    profile = session.get(Profile, party_id)
    interactions = interactions_of(session, party_id)
    consents = history_of(session, party_id)
    if profile is None and not interactions and not consents:
        return None
    return {
        "profile": None if profile is None else {
            "kind": profile.kind, "prefix": profile.prefix, "given_name": profile.given_name,
            "family_name": profile.family_name, "job_title": profile.job_title,
            "preferred_channel": profile.preferred_channel, "preferred_language": profile.preferred_language,
            "birthday": profile.birthday.isoformat() if profile.birthday else None, "notes": profile.notes,
        },
        "addresses": [] if profile is None else [
            {"kind": a.kind, "street": a.street, "postal_code": a.postal_code, "city": a.city,
             "region": a.region, "country": a.country, "is_primary": a.is_primary} for a in profile.addresses],
        "contact_points": [] if profile is None else [
            {"kind": p.kind, "label": p.label, "value": p.value, "service": p.service, "is_primary": p.is_primary}
            for p in profile.contact_points],
        "consents": [{"channel": c.channel, "status": c.status, "decided_at": c.decided_at.isoformat(),
                      "source": c.source, "proof": c.proof, "recorded_at": c.recorded_at.isoformat()}
                     for c in consents],
        "interactions": [{"channel": i.channel, "direction": i.direction, "occurred_at": i.occurred_at.isoformat(),
                          "duration_minutes": i.duration_minutes, "subject": i.subject, "outcome": i.outcome,
                          "notes": i.notes} for i in interactions],
    }


def erase_personal_data(session: Session, party_id: int) -> None:
    """Remove the party's contact details and consents; keep its interactions, emptied of their content.

    The profile stays, blanked, so the party keeps its kind in the contacts lists; an interaction
    involving other parties keeps its date, channel and direction for their history.
    """
    profile = session.get(Profile, party_id)
    if profile is not None:
        for record in (*profile.addresses, *profile.contact_points):
            session.delete(record)
        for name in ("prefix", "given_name", "family_name", "job_title", "notes"):
            setattr(profile, name, "")
        profile.preferred_channel = profile.preferred_language = profile.birthday = None
    for model in (Consent, ConsentChange):
        for record in session.scalars(select(model).where(model.party_id == party_id)):
            session.delete(record)
    for interaction in interactions_of(session, party_id):
        interaction.subject = interaction.notes = interaction.outcome = ERASED
    session.flush()
    xrm.publish(session, "contacts.person.erased", ("contacts_profiles", party_id), {"party_id": party_id},
                actor_of(session), related=[party_id])


