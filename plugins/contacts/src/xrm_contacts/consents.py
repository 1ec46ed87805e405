"""Consents: whether a party agreed to be contacted on a channel, with the proof, and their history.

``Consent`` holds the current answer per party and channel; every change also appends a
``ConsentChange``, so the history of who agreed to what, when and how is never lost. The plugin
answers the platform's consent question (``xrm_contact_consent``) from the current answers: only
``granted`` allows contacting.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any, ClassVar

import xrm_sdk as xrm
from sqlalchemy import ForeignKey, String, Text, UniqueConstraint, select
from sqlalchemy.orm import Mapped, Session, mapped_column

from .profiles import CHANNELS

STATUSES = ("granted", "refused", "unknown")


class Consent(xrm.Owned, xrm.TenantScoped, xrm.Model):
    """The current consent of a party for one channel."""

    __tablename__ = "contacts_consents"
    __permission_resource__ = "contacts.consent"
    __party_key__ = "party_id"
    __table_args__ = (UniqueConstraint("tenant_id", "party_id", "channel"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    party_id: Mapped[int] = mapped_column(ForeignKey("core_parties.id", ondelete="CASCADE"), index=True)
    channel: Mapped[str] = mapped_column(String(20))
    status: Mapped[str] = mapped_column(String(20))
    #: When the party gave or refused it (not when it was typed in).
    decided_at: Mapped[datetime]
    #: Where it came from: ``web_form``, ``phone call``, ``import:<batch>``…
    source: Mapped[str] = mapped_column(String(200), default="")
    #: What proves it: a form submission id, a recording reference, a signed document's name.
    proof: Mapped[str] = mapped_column(Text, default="")
    version: Mapped[int] = mapped_column()

    __mapper_args__: ClassVar[dict[str, Any]] = {"version_id_col": version}


class ConsentChange(xrm.Owned, xrm.TenantScoped, xrm.Model):
    """One recorded answer, kept when a later one replaces it."""

    __tablename__ = "contacts_consent_changes"
    __permission_resource__ = "contacts.consent"
    __party_key__ = "party_id"

    id: Mapped[int] = mapped_column(primary_key=True)
    party_id: Mapped[int] = mapped_column(ForeignKey("core_parties.id", ondelete="CASCADE"), index=True)
    channel: Mapped[str] = mapped_column(String(20))
    status: Mapped[str] = mapped_column(String(20))
    decided_at: Mapped[datetime]
    source: Mapped[str] = mapped_column(String(200), default="")
    proof: Mapped[str] = mapped_column(Text, default="")
    recorded_at: Mapped[datetime] = mapped_column(default=xrm.utcnow)
    #: The actor who recorded it (``user:<id>``, ``plugin:<name>``…).
    recorded_by: Mapped[str] = mapped_column(String(100))


MODELS = [Consent, ConsentChange]


def set_consent(session: Session, party: xrm.Party, channel: str, status: str, *, decided_at: datetime | None = None,
                source: str = "", proof: str = "", actor: str) -> Consent:
    """Record ``party``'s answer for ``channel``, keep it in the history, publish ``contacts.consent.changed``.

    :raises xrm.ValidationError: unknown channel or status (naming the field).
    """
    if channel not in CHANNELS:
        raise xrm.ValidationError({"channel": [f"Must be one of: {', '.join(CHANNELS)}."]})
    if status not in STATUSES:
        raise xrm.ValidationError({"status": [f"Must be one of: {', '.join(STATUSES)}."]})
    decided_at = decided_at or xrm.utcnow()
    ownership = {"owner_user_id": party.owner_user_id, "owner_team_id": party.owner_team_id,
                 "department_id": party.department_id}
    consent = session.scalar(select(Consent).where(Consent.party_id == party.id, Consent.channel == channel))
    if consent is None:
        consent = Consent(party_id=party.id, channel=channel, **ownership)
        session.add(consent)
    consent.status, consent.decided_at, consent.source, consent.proof = status, decided_at, source, proof
    session.add(ConsentChange(party_id=party.id, channel=channel, status=status, decided_at=decided_at,
                              source=source, proof=proof, recorded_by=actor, **ownership))
    session.flush()
    xrm.publish(session, "contacts.consent.changed", consent,
                {"party_id": party.id, "channel": channel, "status": status, "source": source}, actor,
                related=[party.id])
    return consent


def consent_status(session: Session, party_id: int, channel: str) -> str:
    """``granted``, ``refused`` or ``unknown`` (no answer recorded, or none the session may read)."""
    status = session.scalar(select(Consent.status).where(Consent.party_id == party_id, Consent.channel == channel))
    return status or "unknown"


def consents_of(session: Session, party_id: int) -> dict[str, Consent]:
    """The party's current consents by channel."""
    return {c.channel: c for c in session.scalars(select(Consent).where(Consent.party_id == party_id))}


def history_of(session: Session, party_id: int) -> list[ConsentChange]:
    """Every recorded answer of the party, newest first."""
    return list(session.scalars(select(ConsentChange).where(ConsentChange.party_id == party_id)
                                .order_by(ConsentChange.recorded_at.desc(), ConsentChange.id.desc())))
