"""What stays of a party's past: the ids of parties merged into it, and its timeline.

* :class:`PartyAlias` — a merged (deleted) party's id, pointing at the party it was merged into, so
  links and integrations holding the old id still resolve (:func:`xrm_core.graph.merge.resolve_alias`).
* :class:`TimelineEntry` — one event as seen from one party's timeline, written by the timeline's
  event subscriber (:mod:`xrm_core.graph.timeline`).
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, ForeignKey, Index, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from ..db import Model, utcnow
from ..tenancy import TenantScoped
from .models import Party


class PartyAlias(TenantScoped, Model):
    """``alias_id`` was a party of the tenant; it was merged into ``party_id``.

    Merging the survivor again later repoints its aliases, so an alias always names a live party.
    """

    __tablename__ = "core_party_aliases"
    __table_args__ = (UniqueConstraint("tenant_id", "alias_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    alias_id: Mapped[int] = mapped_column()
    party_id: Mapped[int] = mapped_column(ForeignKey(Party.id, ondelete="CASCADE"), index=True)
    merged_at: Mapped[datetime] = mapped_column(default=utcnow)
    #: Who merged: ``user:<id>``, ``cli``, …
    merged_by: Mapped[str] = mapped_column(String(100))


class TimelineEntry(TenantScoped, Model):
    """One event in one party's timeline (an event about two parties is in both timelines)."""

    __tablename__ = "core_party_timeline"
    __table_args__ = (
        # One entry per event and party: a redelivered event writes nothing twice.
        UniqueConstraint("tenant_id", "party_id", "event_id"),
        # Newest first per party: the timeline's keyset order.
        Index("ix_core_party_timeline_party_id_occurred_at_id", "party_id", "occurred_at", "id"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    party_id: Mapped[int] = mapped_column(ForeignKey(Party.id, ondelete="CASCADE"))
    event_id: Mapped[str] = mapped_column(String(36))
    event_type: Mapped[str] = mapped_column(String(150))
    #: The event type's first segment: ``core`` or the publishing plugin's name.
    source: Mapped[str] = mapped_column(String(63))
    actor: Mapped[str] = mapped_column(String(100))
    subject_type: Mapped[str] = mapped_column(String(100))
    subject_id: Mapped[str] = mapped_column(String(100))
    occurred_at: Mapped[datetime] = mapped_column(default=utcnow)
    payload: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
