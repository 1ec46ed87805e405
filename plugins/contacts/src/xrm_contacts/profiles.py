"""People and organizations as contacts: a profile per core party, its postal addresses and contact points.

The party (``xrm.Party``) keeps what every plugin shares: kind, display name, tags, custom fields
and ownership. The profile adds what a contact book needs. Each row copies the party's owner, team
and department when created, so whoever may see the party's contact record is decided like for the
party itself, under the ``contacts.person.*`` permissions.
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Any, ClassVar

import xrm_sdk as xrm
from sqlalchemy import Boolean, ForeignKey, Index, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

#: Channels a contact can prefer; consents use the same codes.
CHANNELS = ("email", "phone", "sms", "post")
ADDRESS_KINDS = ("home", "work", "billing", "shipping", "other")
CONTACT_POINT_KINDS = ("email", "phone", "website", "social")
CONTACT_POINT_LABELS = ("work", "home", "mobile", "fax", "other")


class Profile(xrm.Owned, xrm.TenantScoped, xrm.Model):
    """The contact record of one party; its id is the party's id (one profile per party)."""

    __tablename__ = "contacts_profiles"
    __permission_resource__ = "contacts.person"
    __party_key__ = "id"

    id: Mapped[int] = mapped_column(ForeignKey("core_parties.id", ondelete="CASCADE"), primary_key=True,
                                    autoincrement=False)
    #: The party's kind, copied so lists of people or organizations need no join to filter.
    kind: Mapped[str] = mapped_column(String(40))
    prefix: Mapped[str] = mapped_column(String(40), default="")
    given_name: Mapped[str] = mapped_column(String(100), default="")
    family_name: Mapped[str] = mapped_column(String(100), default="")
    job_title: Mapped[str] = mapped_column(String(200), default="")
    preferred_channel: Mapped[str | None] = mapped_column(String(20))
    #: A BCP 47 tag (``fr``, ``pt-BR``).
    preferred_language: Mapped[str | None] = mapped_column(String(35))
    birthday: Mapped[date | None]
    notes: Mapped[str] = mapped_column(Text, default="")
    created_at: Mapped[datetime] = mapped_column(default=xrm.utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=xrm.utcnow, onupdate=xrm.utcnow)
    version: Mapped[int] = mapped_column()

    #: Loaded with an inner join: a profile is only visible with its party (and a row locked for
    #: update locks its party too; PostgreSQL refuses FOR UPDATE on an outer join's nullable side).
    party: Mapped[xrm.Party] = relationship(xrm.Party, foreign_keys=[id], lazy="joined", innerjoin=True,
                                            viewonly=True)
    addresses: Mapped[list[Address]] = relationship(
        back_populates="profile", cascade="all, delete-orphan", order_by="Address.id")
    contact_points: Mapped[list[ContactPoint]] = relationship(
        back_populates="profile", cascade="all, delete-orphan", order_by="ContactPoint.id")

    __mapper_args__: ClassVar[dict[str, Any]] = {"version_id_col": version}

    @property
    def display_name(self) -> str:
        return self.party.display_name

    @property
    def tags(self) -> list[str]:
        return self.party.tags

    @property
    def custom(self) -> dict[str, Any]:
        return self.party.custom

    def points(self, kind: str) -> list[ContactPoint]:
        """The profile's contact points of ``kind``, primary first."""
        return sorted((p for p in self.contact_points if p.kind == kind), key=lambda p: (not p.is_primary, p.id))


class Address(xrm.Owned, xrm.TenantScoped, xrm.Model):
    """A postal address of a party; a party has several, typed (home, work, billing…)."""

    __tablename__ = "contacts_addresses"
    __permission_resource__ = "contacts.person"
    __party_key__ = "party_id"

    id: Mapped[int] = mapped_column(primary_key=True)
    party_id: Mapped[int] = mapped_column(ForeignKey(Profile.id, ondelete="CASCADE"), index=True)
    kind: Mapped[str] = mapped_column(String(20))
    street: Mapped[str] = mapped_column(Text, default="")
    postal_code: Mapped[str] = mapped_column(String(20), default="")
    city: Mapped[str] = mapped_column(String(100), default="")
    region: Mapped[str] = mapped_column(String(100), default="")
    #: ISO 3166-1 alpha-2.
    country: Mapped[str] = mapped_column(String(2), default="")
    is_primary: Mapped[bool] = mapped_column(Boolean, default=False)
    version: Mapped[int] = mapped_column()

    profile: Mapped[Profile] = relationship(back_populates="addresses")

    __mapper_args__: ClassVar[dict[str, Any]] = {"version_id_col": version}


class ContactPoint(xrm.Owned, xrm.TenantScoped, xrm.Model):
    """An email address, phone number (E.164), website or social handle of a party."""

    __tablename__ = "contacts_contact_points"
    __permission_resource__ = "contacts.person"
    __party_key__ = "party_id"
    __table_args__ = (
        UniqueConstraint("tenant_id", "party_id", "kind", "value"),
        # Imports and dedupe look parties up by email or phone.
        Index("ix_contacts_contact_points_tenant_id_kind_value", "tenant_id", "kind", "value"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    party_id: Mapped[int] = mapped_column(ForeignKey(Profile.id, ondelete="CASCADE"), index=True)
    kind: Mapped[str] = mapped_column(String(20))
    label: Mapped[str] = mapped_column(String(20), default="work")
    #: Emails lower-cased, phones in E.164, websites as given; social handles as given.
    value: Mapped[str] = mapped_column(String(320))
    #: The network of a social handle (``linkedin``, ``mastodon``…); empty otherwise.
    service: Mapped[str] = mapped_column(String(40), default="")
    is_primary: Mapped[bool] = mapped_column(Boolean, default=False)
    version: Mapped[int] = mapped_column()

    profile: Mapped[Profile] = relationship(back_populates="contact_points")

    __mapper_args__: ClassVar[dict[str, Any]] = {"version_id_col": version}


MODELS = [Profile, Address, ContactPoint]
