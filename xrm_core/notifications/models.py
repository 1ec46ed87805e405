"""A notification: one message to one user, read or not."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey, Index, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from ..db import Model, utcnow
from ..tenancy import TenantScoped


class Notification(TenantScoped, Model):
    """Something a user is told about (an assignment, a workflow notice, a mention), for that user only.

    One row per recipient: reading it is personal, so a department's notice becomes one row per
    member when it is sent.
    """

    __tablename__ = "core_notifications"
    __table_args__ = (Index("ix_core_notifications_user_unread", "user_id", "read_at"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("core_users.id", ondelete="CASCADE"))
    title: Mapped[str] = mapped_column(String(200))
    body: Mapped[str] = mapped_column(Text, default="")
    #: Where to go to act on it: a local path of the application (``/parties/42``), or none.
    url: Mapped[str | None] = mapped_column(String(500))
    #: What sort of notice it is (``notice``, ``assignment``, ``mention``, ``workflow``, ``<plugin>.<x>``).
    kind: Mapped[str] = mapped_column(String(63), default="notice")
    #: The record it is about, as events name it (``core_parties`` / ``42``), if any.
    subject_type: Mapped[str | None] = mapped_column(String(100))
    subject_id: Mapped[str | None] = mapped_column(String(100))
    #: Who caused it: ``user:<id>``, ``workflow-run:<id>``, ``plugin:<name>``, …
    actor: Mapped[str] = mapped_column(String(100))
    created_at: Mapped[datetime] = mapped_column(default=utcnow, index=True)
    read_at: Mapped[datetime | None]
