"""The core's own tables: tenants, per-tenant plugin state, users and the audit log."""

from __future__ import annotations

import enum
from datetime import datetime
from typing import Any, ClassVar

from sqlalchemy import JSON, Enum, ForeignKey, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from .db import Model, utcnow
from .tenancy import TenantScoped

#: Tables that are not tenant-owned on purpose (the tenants, the platform operators who run them);
#: a meta-test checks every other table is.
PLATFORM_TABLES = frozenset({"core_tenants", "core_operators"})


class TenantStatus(enum.StrEnum):
    ACTIVE = "active"
    SUSPENDED = "suspended"


class Tenant(Model):
    """A customer of the platform: the hard boundary around all of its data."""

    __tablename__ = "core_tenants"

    id: Mapped[int] = mapped_column(primary_key=True)
    #: Short, stable, URL-safe identifier used by the CLI and manifests.
    slug: Mapped[str] = mapped_column(String(63), unique=True)
    name: Mapped[str] = mapped_column(String(200))
    status: Mapped[TenantStatus] = mapped_column(
        Enum(TenantStatus, native_enum=False, length=20, values_callable=lambda e: [m.value for m in e]),
        default=TenantStatus.ACTIVE,
    )
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    #: IANA time zone of the tenant's schedules and dates (``Europe/Paris``); workflows use it.
    time_zone: Mapped[str] = mapped_column(String(63), default="UTC", server_default="UTC")


class TenantPlugin(TenantScoped, Model):
    """Whether one installed plugin is enabled for one tenant, and its settings there."""

    __tablename__ = "core_tenant_plugins"
    __table_args__ = (UniqueConstraint("tenant_id", "plugin"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    plugin: Mapped[str] = mapped_column(String(63))
    enabled: Mapped[bool] = mapped_column(default=True)
    settings: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    #: Why the platform disabled it (repeated failures), shown to integrators.
    disabled_reason: Mapped[str | None] = mapped_column(String(500))
    changed_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)


class User(TenantScoped, Model):
    """A person who signs in to one tenant."""

    __tablename__ = "core_users"
    __table_args__ = (UniqueConstraint("tenant_id", "email"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    email: Mapped[str] = mapped_column(String(254))
    display_name: Mapped[str] = mapped_column(String(200))
    password_hash: Mapped[str] = mapped_column(String(300))
    is_admin: Mapped[bool] = mapped_column(default=False)
    active: Mapped[bool] = mapped_column(default=True)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    #: The user's primary department (records they create land there by default).
    department_id: Mapped[int | None] = mapped_column(ForeignKey("core_departments.id", ondelete="SET NULL"))
    #: Bumped on password change, deactivation or "sign out everywhere": older sessions stop working.
    credential_version: Mapped[int] = mapped_column(default=1)
    #: The party the user stands for (themselves, or their organisation, e.g. a partner firm):
    #: ``related`` grants reach the parties related to it. Not a foreign key, as parties already
    #: reference users (their owners); an id matching no party of the tenant reaches nothing.
    party_id: Mapped[int | None]
    #: Bumped by every update; the record's ETag derives from it (If-Match on the admin API).
    version: Mapped[int] = mapped_column(server_default="1")

    __mapper_args__: ClassVar[dict[str, Any]] = {"version_id_col": version}


class AuditEntry(TenantScoped, Model):
    """One thing that happened to a tenant's configuration or data; appended, never changed."""

    __tablename__ = "core_audit_log"

    id: Mapped[int] = mapped_column(primary_key=True)
    at: Mapped[datetime] = mapped_column(default=utcnow, index=True)
    #: Who did it: ``user:<id>``, ``cli``, ``platform`` or ``plugin:<name>``.
    actor: Mapped[str] = mapped_column(String(100))
    action: Mapped[str] = mapped_column(String(100))
    target: Mapped[str] = mapped_column(String(200), default="", index=True)
    details: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    user_id: Mapped[int | None] = mapped_column(ForeignKey("core_users.id", ondelete="SET NULL"))
    #: Where the request came from (client address, User-Agent) and its id (``X-Request-ID``).
    ip: Mapped[str | None] = mapped_column(String(45))
    user_agent: Mapped[str | None] = mapped_column(String(300))
    request_id: Mapped[str | None] = mapped_column(String(64), index=True)
    #: For changes to a record: attribute -> ``[old, new]`` (protected values masked as ``***``).
    changes: Mapped[dict[str, Any] | None] = mapped_column(JSON)
