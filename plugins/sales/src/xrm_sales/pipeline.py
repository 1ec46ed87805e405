"""Leads, opportunities and the pipelines they move through, configured per tenant.

A pipeline is an ordered list of stages; each stage has a probability (percent) and the
opportunity fields it requires before an opportunity may enter it. The stages with an
``outcome`` (``won`` or ``lost``) close the opportunity. Leads and opportunities are ``Owned``:
who sees them follows owner and department like every owned record.
"""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal
from typing import Any, ClassVar

import xrm_sdk as xrm
from sqlalchemy import (
    JSON,
    Boolean,
    CheckConstraint,
    Date,
    ForeignKey,
    Index,
    Integer,
    Numeric,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship

#: Opportunity attributes a stage may require (the names clients and admins use).
REQUIRABLE_FIELDS = (
    "amount", "currency", "expected_close_date", "probability", "source", "referring_partner_id",
    "contact_party_ids",
)
OUTCOMES = ("won", "lost")
OPPORTUNITY_STATUSES = ("open", "won", "lost")
LEAD_STATUSES = ("new", "qualified", "disqualified")


class Pipeline(xrm.TenantScoped, xrm.Model):
    """A sales process: the stages an opportunity goes through, in order."""

    __tablename__ = "sales_pipelines"
    __table_args__ = (UniqueConstraint("tenant_id", "name"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(100))
    #: New opportunities without a pipeline go into the default one.
    is_default: Mapped[bool] = mapped_column(Boolean, default=False)
    version: Mapped[int] = mapped_column()

    stages: Mapped[list[Stage]] = relationship(
        back_populates="pipeline", cascade="all, delete-orphan", passive_deletes=True,
        order_by="Stage.position",
    )

    __mapper_args__: ClassVar[dict[str, Any]] = {"version_id_col": version}

    @property
    def open_stages(self) -> list[Stage]:
        return [stage for stage in self.stages if stage.outcome is None]


class Stage(xrm.TenantScoped, xrm.Model):
    """A step of a pipeline: its place, win probability and the fields it requires."""

    __tablename__ = "sales_pipeline_stages"
    __table_args__ = (
        UniqueConstraint("pipeline_id", "name"),
        CheckConstraint("probability >= 0 AND probability <= 100", name="probability_range"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    pipeline_id: Mapped[int] = mapped_column(ForeignKey(Pipeline.id, ondelete="CASCADE"), index=True)
    name: Mapped[str] = mapped_column(String(100))
    position: Mapped[int] = mapped_column(Integer)
    probability: Mapped[Decimal] = mapped_column(Numeric(5, 2))
    #: Names from :data:`REQUIRABLE_FIELDS` an opportunity must have to enter the stage.
    required_fields: Mapped[list[str]] = mapped_column(JSON, default=list)
    #: ``won`` or ``lost`` for the closing stages, ``None`` for the open ones.
    outcome: Mapped[str | None] = mapped_column(String(10))

    pipeline: Mapped[Pipeline] = relationship(back_populates="stages")


class Opportunity(xrm.Owned, xrm.TenantScoped, xrm.Model):
    """A possible sale to a customer party, moving through a pipeline's stages."""

    __tablename__ = "sales_opportunities"
    __permission_resource__ = "sales.opportunity"
    #: ``related`` grants reach the opportunities of the parties related to the user's party.
    __party_key__ = "customer_id"
    __table_args__ = (
        CheckConstraint("amount >= 0", name="amount_not_negative"),
        CheckConstraint("probability IS NULL OR (probability >= 0 AND probability <= 100)", name="probability_range"),
        # Covers the forecast (open deals by close date, owner, currency, weighted): read from the index alone.
        Index("ix_sales_opportunities_forecast", "tenant_id", "status", "expected_close_date", "owner_user_id",
              "currency", "stage_id", "probability", "amount"),
    )

    title: Mapped[str] = mapped_column(String(200))
    customer_id: Mapped[int] = mapped_column(ForeignKey(xrm.Party.id, ondelete="CASCADE"), index=True)
    #: The people involved on the customer's side (party ids).
    contact_party_ids: Mapped[list[int]] = mapped_column(JSON, default=list)
    amount: Mapped[Decimal | None] = mapped_column(Numeric(14, 2))
    currency: Mapped[str] = mapped_column(String(3))
    expected_close_date: Mapped[date | None] = mapped_column(Date)
    #: Set explicitly, or ``None`` to use the stage's probability.
    probability: Mapped[Decimal | None] = mapped_column(Numeric(5, 2))
    #: Where it came from: ``web_form``, ``referral``, ``trade_fair``… (free text, reported on).
    source: Mapped[str | None] = mapped_column(String(40))
    referring_partner_id: Mapped[int | None] = mapped_column(ForeignKey(xrm.Party.id, ondelete="SET NULL"), index=True)
    pipeline_id: Mapped[int] = mapped_column(ForeignKey(Pipeline.id, ondelete="RESTRICT"), index=True)
    stage_id: Mapped[int] = mapped_column(ForeignKey(Stage.id, ondelete="RESTRICT"), index=True)
    status: Mapped[str] = mapped_column(String(10), default="open")
    close_reason: Mapped[str | None] = mapped_column(Text)
    closed_on: Mapped[date | None] = mapped_column(Date)
    created_at: Mapped[datetime] = mapped_column(default=xrm.utcnow)
    stage_changed_at: Mapped[datetime] = mapped_column(default=xrm.utcnow)
    version: Mapped[int] = mapped_column()

    customer: Mapped[xrm.Party] = relationship(foreign_keys=[customer_id])
    referring_partner: Mapped[xrm.Party | None] = relationship(foreign_keys=[referring_partner_id])
    pipeline: Mapped[Pipeline] = relationship()
    stage: Mapped[Stage] = relationship()

    __mapper_args__: ClassVar[dict[str, Any]] = {"version_id_col": version}

    @property
    def effective_probability(self) -> Decimal:
        """The explicit probability, else the stage's."""
        return self.probability if self.probability is not None else self.stage.probability

    @property
    def weighted_amount(self) -> Decimal:
        """Amount × probability, to the cent."""
        return ((self.amount or Decimal(0)) * self.effective_probability / 100).quantize(Decimal("0.01"))


class Lead(xrm.Owned, xrm.TenantScoped, xrm.Model):
    """Someone who showed interest, not yet qualified into a customer party and an opportunity."""

    __tablename__ = "sales_leads"
    __permission_resource__ = "sales.lead"

    name: Mapped[str] = mapped_column(String(200))
    company: Mapped[str] = mapped_column(String(200), default="")
    email: Mapped[str] = mapped_column(String(254), default="")
    phone: Mapped[str] = mapped_column(String(50), default="")
    message: Mapped[str] = mapped_column(Text, default="")
    #: ``web_form``, ``manual``, ``api``, ``import``…
    source: Mapped[str] = mapped_column(String(40), default="manual")
    status: Mapped[str] = mapped_column(String(20), default="new")
    party_id: Mapped[int | None] = mapped_column(ForeignKey(xrm.Party.id, ondelete="SET NULL"), index=True)
    opportunity_id: Mapped[int | None] = mapped_column(ForeignKey(Opportunity.id, ondelete="SET NULL"), index=True)
    created_at: Mapped[datetime] = mapped_column(default=xrm.utcnow)
    version: Mapped[int] = mapped_column()

    __mapper_args__: ClassVar[dict[str, Any]] = {"version_id_col": version}


class LeadForm(xrm.TenantScoped, xrm.Model):
    """A public web form posting leads; its public key is signed (see :mod:`xrm_sales.webforms`)."""

    __tablename__ = "sales_lead_forms"
    __table_args__ = (UniqueConstraint("tenant_id", "name"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(100))
    #: The department the form's leads belong to (whose reps see them).
    department_id: Mapped[int | None] = mapped_column(ForeignKey("core_departments.id", ondelete="SET NULL"))
    active: Mapped[bool] = mapped_column(Boolean, default=True)


MODELS = [Pipeline, Stage, Opportunity, Lead, LeadForm]
