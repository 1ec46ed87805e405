"""Interactions: the log of every call, email, meeting, letter, SMS, web form and social exchange.

An interaction is about one party (``party_id``, whose ownership it copies) and may involve
others (``InteractionParty``) and several users. Logging one publishes
``contacts.interaction.logged`` with every involved party as ``related``, which is how it reaches
each party's timeline (the core records events on the timelines of their parties).
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime
from typing import Any, ClassVar

import xrm_sdk as xrm
from sqlalchemy import JSON, ForeignKey, Index, Integer, String, Text, UniqueConstraint, or_, select
from sqlalchemy.orm import Mapped, Session, mapped_column, relationship

INTERACTION_CHANNELS = ("call", "email", "meeting", "letter", "sms", "web_form", "social")
DIRECTIONS = ("inbound", "outbound", "internal")


class Interaction(xrm.Owned, xrm.TenantScoped, xrm.Model):
    """One exchange with a party, on one channel."""

    __tablename__ = "contacts_interactions"
    __permission_resource__ = "contacts.interaction"
    __party_key__ = "party_id"
    __table_args__ = (Index("ix_contacts_interactions_tenant_id_occurred_at", "tenant_id", "occurred_at"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    party_id: Mapped[int] = mapped_column(ForeignKey("core_parties.id", ondelete="CASCADE"), index=True)
    channel: Mapped[str] = mapped_column(String(20))
    direction: Mapped[str] = mapped_column(String(20))
    occurred_at: Mapped[datetime]
    duration_minutes: Mapped[int | None] = mapped_column(Integer)
    subject: Mapped[str] = mapped_column(String(200), default="")
    outcome: Mapped[str] = mapped_column(String(200), default="")
    notes: Mapped[str] = mapped_column(Text, default="")
    #: The users who took part (ids of ``core_users``).
    user_ids: Mapped[list[int]] = mapped_column(JSON, default=list)
    created_at: Mapped[datetime] = mapped_column(default=xrm.utcnow)
    version: Mapped[int] = mapped_column()

    others: Mapped[list[InteractionParty]] = relationship(cascade="all, delete-orphan", passive_deletes=True,
                                                          order_by="InteractionParty.party_id")

    __mapper_args__: ClassVar[dict[str, Any]] = {"version_id_col": version}

    @property
    def other_party_ids(self) -> list[int]:
        return [link.party_id for link in self.others]


class InteractionParty(xrm.TenantScoped, xrm.Model):
    """Another party involved in an interaction (a colleague in the meeting, the company called)."""

    __tablename__ = "contacts_interaction_parties"
    __table_args__ = (UniqueConstraint("interaction_id", "party_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    interaction_id: Mapped[int] = mapped_column(ForeignKey(Interaction.id, ondelete="CASCADE"), index=True)
    party_id: Mapped[int] = mapped_column(ForeignKey("core_parties.id", ondelete="CASCADE"), index=True)


MODELS = [Interaction, InteractionParty]


def log_interaction(session: Session, party: xrm.Party, *, channel: str, direction: str, occurred_at: datetime,
                    actor: str, duration_minutes: int | None = None, subject: str = "", outcome: str = "",
                    notes: str = "", user_ids: Iterable[int] = (), other_party_ids: Iterable[int] = ()) -> Interaction:
    """Log an interaction with ``party`` and publish ``contacts.interaction.logged``.

    Other parties must be visible through ``session`` (a 422 on ``other_party_ids`` otherwise).
    """
    others = sorted(set(other_party_ids) - {party.id})
    visible = set(session.scalars(select(xrm.Party.id).where(xrm.Party.id.in_(others)))) if others else set()
    if missing := [i for i in others if i not in visible]:
        raise xrm.ValidationError({"other_party_ids": [f"There is no party {missing[0]} here."]})
    users = sorted(set(user_ids))
    known = set(session.scalars(select(xrm.User.id).where(xrm.User.id.in_(users)))) if users else set()
    if unknown := [i for i in users if i not in known]:
        raise xrm.ValidationError({"user_ids": [f"There is no user {unknown[0]} here."]})
    interaction = Interaction(
        party_id=party.id, channel=channel, direction=direction, occurred_at=occurred_at,
        duration_minutes=duration_minutes, subject=subject, outcome=outcome, notes=notes,
        user_ids=users, others=[InteractionParty(party_id=i) for i in others],
        owner_user_id=party.owner_user_id, owner_team_id=party.owner_team_id,
        department_id=party.department_id,
    )
    session.add(interaction)
    session.flush()
    xrm.publish(session, "contacts.interaction.logged", interaction, {
        "party_id": party.id, "channel": channel, "direction": direction, "subject": subject,
        "outcome": outcome, "occurred_at": occurred_at.isoformat(),
    }, actor, related=[party.id, *others])
    return interaction


def interactions_of(session: Session, party_id: int, limit: int | None = None) -> list[Interaction]:
    """The interactions about or involving the party, newest first."""
    involved = select(InteractionParty.interaction_id).where(InteractionParty.party_id == party_id)
    statement = (select(Interaction).where(or_(Interaction.party_id == party_id, Interaction.id.in_(involved)))
                 .order_by(Interaction.occurred_at.desc(), Interaction.id.desc()))
    if limit is not None:
        statement = statement.limit(limit)
    return list(session.scalars(statement))
