"""The event bus's tables: the outbox (which is also the event log), deliveries, processed records,
webhook subscriptions and their delivery log.

Every table is tenant-owned. The outbox row is written in the publisher's transaction; the relay
fans each event out into one delivery per subscriber; a delivery row exists only while there is
work left (pending, retrying) or a failure to look at (dead); a processed record is written in the
same transaction as the subscriber's own effects and its unique constraint makes a second delivery
of the same event to the same subscriber impossible to commit.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any, ClassVar

from sqlalchemy import JSON, ForeignKey, Index, String, Text, UniqueConstraint, text
from sqlalchemy.orm import Mapped, mapped_column

from ..db import Model, utcnow
from ..tenancy import TenantScoped

#: A delivery still to be done (first attempt or a retry).
PENDING = "pending"
#: A delivery that failed ``max_attempts`` times (or could not be attempted): the dead-letter list.
DEAD = "dead"


class OutboxEvent(TenantScoped, Model):
    """One published event: the outbox row and, once relayed, the event log entry."""

    __tablename__ = "core_events"
    # Every index costs each publishing transaction a page write at commit, so there is none on
    # ``tenant_id`` alone: the two below lead with it, and the tenant's newest events are listed by
    # ``occurred_at`` (then ``id``) along the first.
    __table_args__ = (
        Index("ix_core_events_tenant_id_occurred_at", "tenant_id", "occurred_at"),
        Index("ix_core_events_tenant_id_subject", "tenant_id", "subject_type", "subject_id"),
        # Only the rows still in the outbox: tiny, and what the relay polls.
        Index("ix_core_events_unrelayed", "id", postgresql_where=text("relayed_at IS NULL"),
              sqlite_where=text("relayed_at IS NULL")),
    )

    #: Publication order; events about one subject are delivered in this order.
    id: Mapped[int] = mapped_column(primary_key=True)
    tenant_id: Mapped[int] = mapped_column(ForeignKey("core_tenants.id", ondelete="CASCADE"), nullable=False)
    event_id: Mapped[str] = mapped_column(String(36), unique=True)
    type: Mapped[str] = mapped_column(String(150))
    #: ``user:<id>``, ``cli``, ``platform``, ``plugin:<name>``, ``webhook``, …
    actor: Mapped[str] = mapped_column(String(100))
    subject_type: Mapped[str] = mapped_column(String(100))
    subject_id: Mapped[str] = mapped_column(String(100))
    #: Ids of the parties the event is about, besides the subject (timelines, notifications).
    related: Mapped[list[Any]] = mapped_column(JSON, default=list)
    occurred_at: Mapped[datetime] = mapped_column(default=utcnow)
    payload: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    #: When the relay fanned the event out into deliveries; ``NULL`` while it is still in the outbox.
    relayed_at: Mapped[datetime | None]


#: A tenant's events newest first, in the order of ``ix_core_events_tenant_id_occurred_at`` (ids
#: break ties in publication order), so listing the latest needs no sort of the whole history.
NEWEST_FIRST = (OutboxEvent.occurred_at.desc(), OutboxEvent.id.desc())


class Delivery(TenantScoped, Model):
    """One event still to be handled by one subscriber (or dead-lettered)."""

    __tablename__ = "core_event_deliveries"
    __table_args__ = (
        UniqueConstraint("event_pk", "subscriber"),
        Index("ix_core_event_deliveries_chain", "tenant_id", "subscriber", "subject_key", "event_pk"),
        Index("ix_core_event_deliveries_status_next_attempt_at", "status", "next_attempt_at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    event_pk: Mapped[int] = mapped_column(ForeignKey("core_events.id", ondelete="CASCADE"), index=True)
    subscriber: Mapped[str] = mapped_column(String(200))
    #: ``<subject type>:<subject id>``: deliveries of one key run in event order, per subscriber.
    subject_key: Mapped[str] = mapped_column(String(210))
    status: Mapped[str] = mapped_column(String(20), default=PENDING)
    attempts: Mapped[int] = mapped_column(default=0)
    #: Not before this time (backoff), and the lease of a delivery in flight outside a transaction.
    next_attempt_at: Mapped[datetime] = mapped_column(default=utcnow)
    #: When it was last handed to a Celery worker (scale-out); ``NULL`` when not queued.
    queued_at: Mapped[datetime | None]
    last_error: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow)


class ProcessedEvent(TenantScoped, Model):
    """That ``subscriber`` handled ``event_id``: written with the handler's own effects."""

    __tablename__ = "core_event_processed"
    __table_args__ = (UniqueConstraint("event_id", "subscriber"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    event_id: Mapped[str] = mapped_column(String(36))
    subscriber: Mapped[str] = mapped_column(String(200))
    processed_at: Mapped[datetime] = mapped_column(default=utcnow)


class WebhookSubscription(TenantScoped, Model):
    """A URL the tenant wants events matching ``pattern`` POSTed to, signed with ``secret``."""

    __tablename__ = "core_webhooks"

    id: Mapped[int] = mapped_column(primary_key=True)
    url: Mapped[str] = mapped_column(String(2000))
    #: ``fnmatch`` pattern on event types (``sales.*``, ``*.party.created``).
    pattern: Mapped[str] = mapped_column(String(150))
    #: HMAC-SHA256 key; shown once to the tenant when the subscription is created.
    secret: Mapped[str] = mapped_column(String(200))
    active: Mapped[bool] = mapped_column(default=True)
    #: Consecutive failed attempts; reset by a success. Reaching the limit disables the subscription.
    failures: Mapped[int] = mapped_column(default=0)
    disabled_reason: Mapped[str | None] = mapped_column(String(500))
    #: Paused by the tenant: new events still queue for it, but nothing is sent until it is resumed.
    paused: Mapped[bool] = mapped_column(default=False)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    #: Bumped by every change; the API's ETag and If-Match are based on it.
    version: Mapped[int] = mapped_column()

    __mapper_args__: ClassVar[dict[str, Any]] = {"version_id_col": version}

    @property
    def state(self) -> str:
        """``active``, ``paused`` (by the tenant) or ``disabled`` (after persistent failure)."""
        return "disabled" if not self.active else "paused" if self.paused else "active"


class WebhookAttempt(TenantScoped, Model):
    """The delivery log: one row per HTTP attempt, with the response code or the error."""

    __tablename__ = "core_webhook_attempts"

    id: Mapped[int] = mapped_column(primary_key=True)
    webhook_id: Mapped[int] = mapped_column(ForeignKey("core_webhooks.id", ondelete="CASCADE"), index=True)
    event_id: Mapped[str] = mapped_column(String(36))
    attempt: Mapped[int]
    at: Mapped[datetime] = mapped_column(default=utcnow)
    status_code: Mapped[int | None]
    error: Mapped[str | None] = mapped_column(String(500))
    duration_ms: Mapped[int] = mapped_column(default=0)
