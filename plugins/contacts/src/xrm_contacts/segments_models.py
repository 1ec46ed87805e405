"""Segments: saved selections of parties, dynamic (a filter definition) or static (a hand-kept list)."""

from __future__ import annotations

from datetime import datetime
from typing import Any, ClassVar

import xrm_sdk as xrm
from sqlalchemy import JSON, ForeignKey, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

DYNAMIC, STATIC = "dynamic", "static"
SEGMENT_KINDS = (DYNAMIC, STATIC)


class Segment(xrm.Owned, xrm.TenantScoped, xrm.Model):
    """A named selection of parties.

    A dynamic segment's members are whoever matches ``definition`` when asked (see
    :mod:`.segments`); a static list's are its :class:`SegmentMember` rows. ``Owned``: who may see,
    change or export a segment follows the ``contacts.segment.*`` permissions.
    """

    __tablename__ = "contacts_segments"
    __table_args__ = (UniqueConstraint("tenant_id", "name"),)
    __permission_resource__ = "contacts.segment"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(200))
    kind: Mapped[str] = mapped_column(String(20))
    description: Mapped[str] = mapped_column(Text, default="")
    #: The filter tree of a dynamic segment; ``None`` for a static list.
    definition: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    created_at: Mapped[datetime] = mapped_column(default=xrm.utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=xrm.utcnow, onupdate=xrm.utcnow)
    version: Mapped[int] = mapped_column()

    __mapper_args__: ClassVar[dict[str, Any]] = {"version_id_col": version}


class SegmentMember(xrm.TenantScoped, xrm.Model):
    """A party on a static list."""

    __tablename__ = "contacts_segment_members"
    __table_args__ = (UniqueConstraint("segment_id", "party_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    segment_id: Mapped[int] = mapped_column(ForeignKey(Segment.id, ondelete="CASCADE"), index=True)
    party_id: Mapped[int] = mapped_column(ForeignKey("core_parties.id", ondelete="CASCADE"), index=True)
    added_at: Mapped[datetime] = mapped_column(default=xrm.utcnow)

MODELS = [Segment, SegmentMember]
