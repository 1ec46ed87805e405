"""Bookings made by parties: a plugin with records that point at parties, written only against
``xrm_sdk``. It moves them when parties are merged (``xrm_merge_parties``) and shows them in the
party 360 (``xrm_party_panels``), with a second panel whose rendering always fails."""

from pathlib import Path

import xrm_sdk as xrm
from sqlalchemy import ForeignKey, String, func, select, update
from sqlalchemy.orm import Mapped, mapped_column, object_session

MANIFEST = xrm.Manifest(name="bookings", title="Bookings", description="Rooms booked by parties.")

#: A booking with this label refuses to move: the merge must then be refused as a whole.
IMMOVABLE = "immovable"


class Booking(xrm.TenantScoped, xrm.Model):
    __tablename__ = "bookings_bookings"

    id: Mapped[int] = mapped_column(primary_key=True)
    party_id: Mapped[int] = mapped_column(ForeignKey("core_parties.id", ondelete="CASCADE"), index=True)
    label: Mapped[str] = mapped_column(String(100))


def _render_summary(party):
    # The party comes loaded through the request's scoped session: count through that session.
    session = object_session(party)
    count = session.scalar(select(func.count()).select_from(Booking).where(Booking.party_id == party.id))
    return f"<p>{count} booking(s) for {party.display_name}</p>"


def _render_broken(party):
    raise RuntimeError("the bookings backend is down")


@xrm.hookimpl
def xrm_models():
    return [Booking]


@xrm.hookimpl
def xrm_migrations():
    return Path(__file__).parent / "migrations"


@xrm.hookimpl
def xrm_event_types():
    return [xrm.EventType("bookings.booking.created", description="A party booked a room.")]


@xrm.hookimpl
def xrm_party_panels(tenant, party):
    return [
        xrm.Panel("bookings.summary", title="Bookings", render=_render_summary, order=10),
        xrm.Panel("bookings.broken", title="Broken bookings", render=_render_broken, order=20),
    ]


@xrm.hookimpl
def xrm_merge_parties(tenant, session, survivor_id, loser_id):
    labels = session.scalars(select(Booking.label).where(Booking.party_id == loser_id)).all()
    if IMMOVABLE in labels:
        raise RuntimeError(f"booking {IMMOVABLE!r} cannot move")
    session.execute(update(Booking).where(Booking.party_id == loser_id).values(party_id=survivor_id))
