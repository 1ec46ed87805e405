"""Departments, teams, roles, grants and shares: who may do what on which records.

The rules (see ``security-reliability.md``): a role grants a permission at a scope; rights from
several roles add up; there are no deny rules; a share opens one record to a user, team or
department for one action, but never beyond what the grantee's roles allow on that resource.
"""

from __future__ import annotations

import enum
from datetime import datetime
from typing import Any, ClassVar

from sqlalchemy import JSON, Enum, ForeignKey, Index, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from ..db import Model, utcnow
from ..tenancy import TenantScoped


class Scope(enum.StrEnum):
    """How far a grant reaches; each scope includes the narrower ones (Dataverse's access levels)."""

    #: Records owned by the user or one of the user's teams, or shared with the user.
    OWN = "own"
    #: Plus records of the user's department.
    DEPARTMENT = "department"
    #: Plus records of the departments below it.
    SUBTREE = "subtree"
    #: Every record of the tenant.
    TENANT = "tenant"
    #: Like ``own``, plus the records of the parties related to the party the user stands for
    #: (``User.party_id``), along the grant's relationship types (``via``) and ``direction``.
    RELATED = "related"

    @property
    def rank(self) -> int:
        """Breadth, for "widest scope wins": ``related`` adds to ``own`` in another dimension."""
        return _RANKS[self]


_RANKS = {Scope.OWN: 0, Scope.RELATED: 0, Scope.DEPARTMENT: 1, Scope.SUBTREE: 2, Scope.TENANT: 3}


class Direction(enum.StrEnum):
    """Which way a ``related`` grant follows its relationship types from the user's party."""

    #: The user's party is the relationship's ``from`` end (``partner -referred-> customer``).
    OUTGOING = "outgoing"
    #: The user's party is its ``to`` end.
    INCOMING = "incoming"
    BOTH = "both"


def _enum(kind: type[enum.Enum]) -> Enum:
    return Enum(kind, native_enum=False, length=20, values_callable=lambda e: [m.value for m in e])


class Department(TenantScoped, Model):
    """A node of the tenant's department tree."""

    __tablename__ = "core_departments"
    __table_args__ = (UniqueConstraint("tenant_id", "parent_id", "name"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(200))
    parent_id: Mapped[int | None] = mapped_column(ForeignKey("core_departments.id", ondelete="RESTRICT"))
    #: Ids from the root down, ``/1/4/9/``: a subtree is one ``LIKE '/1/4/%'`` away.
    path: Mapped[str] = mapped_column(String(1000), default="/", index=True)
    #: Bumped by every update; the record's ETag derives from it (If-Match on the admin API).
    version: Mapped[int] = mapped_column(server_default="1")

    __mapper_args__: ClassVar[dict[str, Any]] = {"version_id_col": version}


class Team(TenantScoped, Model):
    """A group of users, possibly across departments, that can own records."""

    __tablename__ = "core_teams"
    __table_args__ = (UniqueConstraint("tenant_id", "name"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(200))
    #: Bumped by every update; the record's ETag derives from it (If-Match on the admin API).
    version: Mapped[int] = mapped_column(server_default="1")

    __mapper_args__: ClassVar[dict[str, Any]] = {"version_id_col": version}


class TeamMember(TenantScoped, Model):
    __tablename__ = "core_team_members"
    __table_args__ = (UniqueConstraint("team_id", "user_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    team_id: Mapped[int] = mapped_column(ForeignKey("core_teams.id", ondelete="CASCADE"), index=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("core_users.id", ondelete="CASCADE"), index=True)


class Role(TenantScoped, Model):
    """A named set of grants, given to users."""

    __tablename__ = "core_roles"
    __table_args__ = (UniqueConstraint("tenant_id", "name"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(100))
    description: Mapped[str] = mapped_column(String(500), default="")
    #: Bumped by every update; the record's ETag derives from it (If-Match on the admin API).
    version: Mapped[int] = mapped_column(server_default="1")

    __mapper_args__: ClassVar[dict[str, Any]] = {"version_id_col": version}


class RoleGrant(TenantScoped, Model):
    """``permission`` (``<plugin>.<resource>.<action>``) granted by a role at a scope."""

    __tablename__ = "core_role_grants"
    __table_args__ = (UniqueConstraint("role_id", "permission"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    role_id: Mapped[int] = mapped_column(ForeignKey("core_roles.id", ondelete="CASCADE"), index=True)
    permission: Mapped[str] = mapped_column(String(120))
    scope: Mapped[Scope] = mapped_column(_enum(Scope))
    #: For ``related`` grants: the relationship type codes followed (one hop), and which way.
    via: Mapped[list[str]] = mapped_column(JSON, default=list, server_default="[]")
    direction: Mapped[Direction] = mapped_column(
        _enum(Direction), default=Direction.OUTGOING, server_default=Direction.OUTGOING.value
    )


class UserRole(TenantScoped, Model):
    __tablename__ = "core_user_roles"
    __table_args__ = (UniqueConstraint("user_id", "role_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("core_users.id", ondelete="CASCADE"), index=True)
    role_id: Mapped[int] = mapped_column(ForeignKey("core_roles.id", ondelete="CASCADE"), index=True)


class GranteeKind(enum.StrEnum):
    USER = "user"
    TEAM = "team"
    DEPARTMENT = "department"


class Share(TenantScoped, Model):
    """One record opened to one grantee for one action, until ``expires_at`` (if set)."""

    __tablename__ = "core_shares"
    __table_args__ = (
        UniqueConstraint("tenant_id", "resource", "record_id", "action", "grantee_kind", "grantee_id"),
        Index("ix_core_shares_lookup", "tenant_id", "resource", "action", "grantee_kind", "grantee_id"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    #: ``<plugin>.<resource>``, as in the record model's ``__permission_resource__``.
    resource: Mapped[str] = mapped_column(String(100))
    record_id: Mapped[int]
    action: Mapped[str] = mapped_column(String(20))
    grantee_kind: Mapped[GranteeKind] = mapped_column(_enum(GranteeKind))
    grantee_id: Mapped[int]
    expires_at: Mapped[datetime | None]
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    created_by: Mapped[int | None] = mapped_column(ForeignKey("core_users.id", ondelete="SET NULL"))


class ApiToken(TenantScoped, Model):
    """A personal API token: only its SHA-256 is stored; the token itself is shown once."""

    __tablename__ = "core_api_tokens"

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("core_users.id", ondelete="CASCADE"), index=True)
    name: Mapped[str] = mapped_column(String(100))
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    #: Permissions the token may use (never more than its user's); empty means all of the user's.
    permissions: Mapped[list[str]] = mapped_column(JSON, default=list)
    expires_at: Mapped[datetime | None]
    revoked_at: Mapped[datetime | None]
    last_used_at: Mapped[datetime | None]
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
