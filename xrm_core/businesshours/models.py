"""Business calendars as stored: one per tenant, plus optional overrides per department."""

from __future__ import annotations

from datetime import datetime
from typing import Any, ClassVar

from sqlalchemy import JSON, ForeignKey, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from ..db import Model, utcnow
from ..tenancy import TenantScoped


class BusinessCalendarDefinition(TenantScoped, Model):
    """Working hours, time zone and holidays of a tenant (``department_id`` null) or a department.

    A department without a calendar of its own uses its nearest ancestor's, then the tenant's.
    ``weekly_hours`` is ``{"mon": [["09:00", "12:00"], ["13:00", "17:00"]], …}`` and ``holidays``
    ``[{"date": "2026-12-25", "name": "Christmas Day"}, …]`` (see :mod:`.calendar`).
    """

    __tablename__ = "core_business_calendars"
    __table_args__ = (UniqueConstraint("tenant_id", "department_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(200))
    #: Null for the tenant's own calendar; uniqueness of that one is kept by the service, as SQL
    #: unique constraints let several NULLs through.
    department_id: Mapped[int | None] = mapped_column(ForeignKey("core_departments.id", ondelete="CASCADE"))
    time_zone: Mapped[str] = mapped_column(String(63))
    weekly_hours: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    holidays: Mapped[list[dict[str, str]]] = mapped_column(JSON, default=list)
    #: ISO 3166 country (and optional subdivision) whose public holidays were pre-filled.
    country: Mapped[str | None] = mapped_column(String(10))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)
    version: Mapped[int] = mapped_column()

    __mapper_args__: ClassVar[dict[str, Any]] = {"version_id_col": version}
