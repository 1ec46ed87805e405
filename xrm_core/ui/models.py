"""What the web UI remembers per user and per group: preferences, saved list views, department homes."""

from __future__ import annotations

import enum
from datetime import datetime

from sqlalchemy import JSON, Enum, ForeignKey, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from ..db import Model, utcnow
from ..tenancy import TenantScoped


class UserPreference(TenantScoped, Model):
    """A user's interface preferences; no row means "follow the browser"."""

    __tablename__ = "core_user_preferences"
    __table_args__ = (UniqueConstraint("user_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("core_users.id", ondelete="CASCADE"))
    #: One of :data:`xrm_core.ui.i18n.LOCALES`, or ``None`` for the browser's Accept-Language.
    locale: Mapped[str | None] = mapped_column(String(10))
    #: An IANA time zone (``Europe/Paris``) the user's dates are shown in; ``None``: the tenant's.
    time_zone: Mapped[str | None] = mapped_column(String(63))


class ViewScope(enum.StrEnum):
    """Who sees a saved view: its author, the author's department, or the whole tenant."""

    ME = "me"
    DEPARTMENT = "department"
    TENANT = "tenant"


class SavedView(TenantScoped, Model):
    """A named list query (filters and sort as a query string) shared at a :class:`ViewScope`."""

    __tablename__ = "core_saved_views"
    __table_args__ = (UniqueConstraint("tenant_id", "resource", "owner_user_id", "name"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    #: The list it belongs to (``parties``).
    resource: Mapped[str] = mapped_column(String(63))
    name: Mapped[str] = mapped_column(String(100))
    #: The list's query string without pagination, e.g. ``kind=person&sort=-created_at``.
    query: Mapped[str] = mapped_column(Text, default="")
    scope: Mapped[ViewScope] = mapped_column(
        Enum(ViewScope, native_enum=False, length=20, values_callable=lambda e: [m.value for m in e])
    )
    owner_user_id: Mapped[int] = mapped_column(ForeignKey("core_users.id", ondelete="CASCADE"), index=True)
    #: The department a ``department`` view is shared with (the author's when saved).
    department_id: Mapped[int | None] = mapped_column(
        ForeignKey("core_departments.id", ondelete="CASCADE"), index=True
    )
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class DepartmentPin(TenantScoped, Model):
    """A saved view pinned to a department's home page (a department or organisation-wide view)."""

    __tablename__ = "core_department_pins"
    __table_args__ = (UniqueConstraint("department_id", "saved_view_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    department_id: Mapped[int] = mapped_column(ForeignKey("core_departments.id", ondelete="CASCADE"), index=True)
    saved_view_id: Mapped[int] = mapped_column(ForeignKey("core_saved_views.id", ondelete="CASCADE"), index=True)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class DepartmentDashboard(TenantScoped, Model):
    """Which dashboard widgets a department's home shows, in order; no row: every available widget."""

    __tablename__ = "core_department_dashboards"
    __table_args__ = (UniqueConstraint("department_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    department_id: Mapped[int] = mapped_column(ForeignKey("core_departments.id", ondelete="CASCADE"))
    #: Widget names (``core.recent_parties``, ``sales.pipeline``), in display order.
    widgets: Mapped[list[str]] = mapped_column(JSON, default=list)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)
