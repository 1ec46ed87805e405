"""The duplicate review queue: pairs of parties that may be one, with the reasons and the decision."""

from __future__ import annotations

from datetime import datetime

import xrm_sdk as xrm
from sqlalchemy import JSON, CheckConstraint, Index, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

OPEN, MERGED, DISMISSED = "open", "merged", "dismissed"
PAIR_STATUSES = (OPEN, MERGED, DISMISSED)


class DuplicatePair(xrm.TenantScoped, xrm.Model):
    """Two parties found alike by a scan; ``party_a_id < party_b_id`` so a pair is stored once.

    The party ids carry no foreign key on purpose: a merged pair stays in the queue's history
    after its loser is deleted. Who may see a pair follows the parties (both must be visible).
    """

    __tablename__ = "contacts_duplicate_pairs"
    __table_args__ = (
        UniqueConstraint("tenant_id", "party_a_id", "party_b_id"),
        CheckConstraint("party_a_id < party_b_id", name="ordered"),
        Index("ix_contacts_duplicate_pairs_tenant_id_status_score", "tenant_id", "status", "score"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    party_a_id: Mapped[int] = mapped_column(index=True)
    party_b_id: Mapped[int] = mapped_column(index=True)
    #: 0–100: how sure the scan is that the two are one.
    score: Mapped[int] = mapped_column()
    #: Why, for the reviewer: ``["same email", "name 92%"]``.
    reasons: Mapped[list[str]] = mapped_column(JSON, default=list)
    status: Mapped[str] = mapped_column(String(20), default=OPEN)
    found_at: Mapped[datetime] = mapped_column(default=xrm.utcnow)
    decided_by: Mapped[str | None] = mapped_column(String(200))
    decided_at: Mapped[datetime | None]
    #: The party that remained, once merged.
    survivor_id: Mapped[int | None] = mapped_column()

MODELS = [DuplicatePair]
