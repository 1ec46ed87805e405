"""Leads: taking them in (UI, API, web forms) and qualifying them into a party and an opportunity.

Qualification looks for the party first, so a lead from an existing customer does not create a
duplicate: by the lead's email (a party identifier of source ``email``), then by name (the
company's for a company lead, else the person's), among the parties the caller may see.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import xrm_sdk as xrm
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from .opportunities import actor_of, create_opportunity
from .pipeline import Lead, Opportunity, Pipeline, Stage

#: The party identifier source under which leads' email addresses are recorded and matched.
EMAIL_SOURCE = "email"


def create_lead(session: Session, *, name: str, company: str = "", email: str = "", phone: str = "",
                message: str = "", source: str = "manual", department_id: int | None = None) -> Lead:
    """Add a lead and publish ``sales.lead.created``; the caller commits."""
    lead = Lead(name=name.strip(), company=company.strip(), email=email.strip().lower(), phone=phone.strip(),
                message=message, source=source, status="new", department_id=department_id)
    session.add(lead)
    session.flush()
    xrm.publish(session, "sales.lead.created", lead, _payload(lead), actor_of(session))
    return lead


def find_party(session: Session, lead: Lead) -> xrm.Party | None:
    """The existing party ``lead`` stands for, by email identifier then by name, or ``None``.

    :raises xrm.Conflict: the email belongs to a party the caller may not see (creating another
        party with it would duplicate it; someone who sees it must qualify the lead).
    """
    if lead.email:
        owner_id = session.scalar(select(xrm.PartyIdentifier.party_id).where(
            xrm.PartyIdentifier.source == EMAIL_SOURCE, func.lower(xrm.PartyIdentifier.value) == lead.email))
        if owner_id is not None:
            party = session.scalar(select(xrm.Party).where(xrm.Party.id == owner_id))
            if party is None:
                raise xrm.Conflict(f"The email {lead.email} belongs to a party you may not see; "
                                   "ask its owner's department to qualify this lead.")
            return party
    name = lead.company or lead.name
    return session.scalars(
        select(xrm.Party).where(func.lower(xrm.Party.display_name) == name.lower()).order_by(xrm.Party.id).limit(1)
    ).first()


def qualify(session: Session, lead: Lead, *, title: str | None = None, pipeline: Pipeline | None = None,
            stage: Stage | None = None, currency: str = "EUR", opportunity_fields: Mapping[str, Any] | None = None,
            ) -> tuple[xrm.Party, Opportunity, bool]:
    """Turn ``lead`` into its party (found or created, with the ``prospect`` role) and an opportunity.

    Publishes ``sales.lead.qualified`` (after ``sales.opportunity.created``).

    :returns: the party, the opportunity and whether the party already existed.
    :raises xrm.Conflict: the lead is not new any more, or its email belongs to an invisible party.
    """
    if lead.status != "new":
        raise xrm.Conflict(f"The lead is already {lead.status}.")
    party = find_party(session, lead)
    matched = party is not None
    if party is None:
        kind, display_name = ("organization", lead.company) if lead.company else ("person", lead.name)
        identifiers = {EMAIL_SOURCE: lead.email} if lead.email else None
        party = xrm.create_party(session, kind, display_name, identifiers=identifiers, department_id=lead.department_id)
    if not any(role.role in ("prospect", "customer") for role in party.roles):
        xrm.add_party_role(session, party, "prospect")
    fields = dict(opportunity_fields or {})
    fields.setdefault("source", lead.source)
    if lead.department_id is not None:
        fields.setdefault("department_id", lead.department_id)
    opportunity = create_opportunity(session, title=title or f"{lead.company or lead.name}: {lead.source}",
                                     customer=party, currency=currency, pipeline=pipeline, stage=stage, **fields)
    lead.status = "qualified"
    lead.party_id = party.id
    lead.opportunity_id = opportunity.id
    session.flush()
    xrm.publish(session, "sales.lead.qualified", lead,
                {**_payload(lead), "party_id": party.id, "opportunity_id": opportunity.id,
                 "matched_existing_party": matched},
                actor_of(session), related=[party.id])
    return party, opportunity, matched


def disqualify(session: Session, lead: Lead) -> Lead:
    """Mark a new lead as not worth pursuing."""
    if lead.status != "new":
        raise xrm.Conflict(f"The lead is already {lead.status}.")
    lead.status = "disqualified"
    session.flush()
    return lead


def _payload(lead: Lead) -> dict[str, Any]:
    return {"name": lead.name, "company": lead.company, "email": lead.email, "source": lead.source}
