"""The party graph's tables: parties, their identifiers and roles, relationship types, relationships.

Every table is tenant-owned. Rules that depend on configuration (which kinds exist, which roles a
relationship type admits) are checked by :mod:`xrm_core.graph.service`, not by the schema, so
plugins and tenant admins can extend them without a migration; the schema keeps only what must
hold whatever the configuration (unique identifiers and type codes, ordered validity periods).

Validity periods are inclusive calendar dates: ``valid_from`` is the first day, ``valid_to`` the
last; ``NULL`` means "since always" and "open-ended" respectively.
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Any, ClassVar

from sqlalchemy import JSON, CheckConstraint, ForeignKey, Index, String, Text, UniqueConstraint, text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from ..customfields.mixin import HasCustomFields
from ..db import Model, utcnow
from ..identity.ownership import Owned
from ..tenancy import TenantScoped

#: Shared by roles and relationships: a period may be open at either end, but never inverted.
ORDERED_PERIOD = "valid_to IS NULL OR valid_from IS NULL OR valid_to >= valid_from"


class Party(Owned, HasCustomFields, TenantScoped, Model):
    """A person or an organization the tenant deals with, whatever the roles it plays.

    Owned: who sees and changes a party follows its owner, team, department and shares.
    HasCustomFields: the tenant's custom fields for ``core.party`` are in ``custom``.
    """

    __tablename__ = "core_parties"
    __permission_resource__ = "core.party"
    __custom_fields_entity__ = "core.party"
    #: ``related`` grants reach the parties related to the user's own party.
    __party_key__ = "id"
    __table_args__ = (
        # Leading with the tenant serves the tenant's list pages sorted or searched by name; the
        # columns record-level permissions read let a department-scoped page pass over other
        # departments' rows in the index itself (``id`` first keeps the ``display_name, id`` order).
        Index("ix_core_parties_tenant_id_display_name_scope", "tenant_id", "display_name", "id",
              "department_id", "owner_user_id", "owner_team_id"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    #: ``person`` or ``organization`` for now: a plain string so plugins can add kinds later.
    kind: Mapped[str] = mapped_column(String(40))
    display_name: Mapped[str] = mapped_column(String(200))
    tags: Mapped[list[str]] = mapped_column(JSON, default=list)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)
    #: Bumped by every update; a write based on an older version fails with ``StaleDataError``.
    version: Mapped[int] = mapped_column()

    identifiers: Mapped[list[PartyIdentifier]] = relationship(
        back_populates="party", cascade="all, delete-orphan", passive_deletes=True
    )
    roles: Mapped[list[PartyRoleAssignment]] = relationship(
        back_populates="party", cascade="all, delete-orphan", passive_deletes=True
    )

    __mapper_args__: ClassVar[dict[str, Any]] = {"version_id_col": version}

    def __repr__(self) -> str:
        return f"<Party #{self.id} {self.kind} {self.display_name!r}>"


class PartyIdentifier(TenantScoped, Model):
    """The party's id in another system (``source``): how imports and integrations find it again."""

    __tablename__ = "core_party_identifiers"
    __table_args__ = (UniqueConstraint("tenant_id", "source", "value"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    party_id: Mapped[int] = mapped_column(ForeignKey(Party.id, ondelete="CASCADE"), index=True)
    source: Mapped[str] = mapped_column(String(63))
    value: Mapped[str] = mapped_column(String(200))

    party: Mapped[Party] = relationship(back_populates="identifiers")


class PartyRoleAssignment(TenantScoped, Model):
    """A role (customer, supplier, …) a party plays over a period."""

    __tablename__ = "core_party_roles"
    __table_args__ = (CheckConstraint(ORDERED_PERIOD, name="valid_period"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    party_id: Mapped[int] = mapped_column(ForeignKey(Party.id, ondelete="CASCADE"), index=True)
    #: A built-in code or one contributed through ``xrm_party_roles``.
    role: Mapped[str] = mapped_column(String(63))
    valid_from: Mapped[date | None]
    valid_to: Mapped[date | None]

    party: Mapped[Party] = relationship(back_populates="roles")


class RelationshipTypeDef(TenantScoped, Model):
    """A kind of link between parties, as one tenant knows it.

    Plugin-contributed types are copied into each tenant's rows on demand
    (:func:`xrm_core.graph.service.sync_relationship_types`), so a relationship always points at a
    row of its own tenant and a tenant's types can be listed, filtered and joined like any data.
    Empty kind or role lists admit any party at that end.
    """

    __tablename__ = "core_relationship_types"
    __table_args__ = (UniqueConstraint("tenant_id", "code"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    code: Mapped[str] = mapped_column(String(63))
    forward_label: Mapped[str] = mapped_column(String(100))
    inverse_label: Mapped[str] = mapped_column(String(100))
    #: Symmetric types ("is married to") read the same from both ends.
    symmetric: Mapped[bool] = mapped_column(default=False)
    from_kinds: Mapped[list[str]] = mapped_column(JSON, default=list)
    to_kinds: Mapped[list[str]] = mapped_column(JSON, default=list)
    from_roles: Mapped[list[str]] = mapped_column(JSON, default=list)
    to_roles: Mapped[list[str]] = mapped_column(JSON, default=list)
    #: ``plugin:<name>`` (kept in step with the plugin) or ``tenant`` (defined by the tenant's admins).
    source: Mapped[str] = mapped_column(String(100))

    def __repr__(self) -> str:
        return f"<RelationshipTypeDef {self.code!r} ({self.source})>"


class Relationship(TenantScoped, Model):
    """A typed link from one party to another over a period."""

    __tablename__ = "core_relationships"
    __table_args__ = (
        # The party leads: the graph queries look arcs up by party (and tenant), and deleting a
        # party makes the database look up the relationships that reference it by party alone.
        Index("ix_core_relationships_from_party_id_tenant_id", "from_party_id", "tenant_id"),
        Index("ix_core_relationships_to_party_id_tenant_id", "to_party_id", "tenant_id"),
        CheckConstraint(ORDERED_PERIOD, name="valid_period"),
        CheckConstraint("from_party_id <> to_party_id", name="distinct_ends"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    from_party_id: Mapped[int] = mapped_column(ForeignKey(Party.id, ondelete="CASCADE"))
    to_party_id: Mapped[int] = mapped_column(ForeignKey(Party.id, ondelete="CASCADE"))
    type_id: Mapped[int] = mapped_column(ForeignKey(RelationshipTypeDef.id))
    valid_from: Mapped[date | None]
    valid_to: Mapped[date | None]
    attributes: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    notes: Mapped[str | None] = mapped_column(Text)
    #: Bumped by every update (the API's ETag); the server default serves Core bulk inserts.
    version: Mapped[int] = mapped_column(server_default=text("1"))

    type: Mapped[RelationshipTypeDef] = relationship(lazy="joined")
    from_party: Mapped[Party] = relationship(foreign_keys=[from_party_id])
    to_party: Mapped[Party] = relationship(foreign_keys=[to_party_id])

    __mapper_args__: ClassVar[dict[str, Any]] = {"version_id_col": version}

    def __repr__(self) -> str:
        return f"<Relationship #{self.id} {self.from_party_id} -{self.type_id}-> {self.to_party_id}>"
