"""Comments on records and who follows a record.

Both point at any record under record-level permissions (``Owned``) the way shares do: by its
permission resource (``core.party``, ``sales.opportunity``) and id. They have no visibility of their
own: whoever may read the record may read its comments, so every access loads the record first
through the caller's scoped session.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, ForeignKey, Index, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from ..db import Model, utcnow
from ..tenancy import TenantScoped


class Comment(TenantScoped, Model):
    """Something a user wrote on a record, maybe mentioning users and departments."""

    __tablename__ = "core_comments"
    __table_args__ = (Index("ix_core_comments_record", "tenant_id", "resource", "record_id", "id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    resource: Mapped[str] = mapped_column(String(100))
    record_id: Mapped[int]
    author_id: Mapped[int | None] = mapped_column(ForeignKey("core_users.id", ondelete="SET NULL"))
    body: Mapped[str] = mapped_column(Text)
    #: Who the text mentions, resolved when written: ``{"users": [ids], "departments": [ids]}``.
    mentions: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    #: When the author last changed the text; ``None``: never edited.
    edited_at: Mapped[datetime | None]


class Follow(TenantScoped, Model):
    """A user who is told about new comments on a record."""

    __tablename__ = "core_follows"
    __table_args__ = (UniqueConstraint("tenant_id", "resource", "record_id", "user_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    resource: Mapped[str] = mapped_column(String(100))
    record_id: Mapped[int]
    user_id: Mapped[int] = mapped_column(ForeignKey("core_users.id", ondelete="CASCADE"), index=True)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
