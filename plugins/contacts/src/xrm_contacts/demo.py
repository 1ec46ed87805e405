"""Sample contacts that go with the core demo: profiles for its people, contact points, consents and
interactions logged by its staff (nora.north for Sales North, carla.care for Customer Service).

Idempotent: a party that already has a profile is left as it is.
"""

from __future__ import annotations

from datetime import date, datetime, timedelta

import xrm_sdk as xrm
from sqlalchemy import select
from sqlalchemy.orm import Session

from . import people
from .consents import set_consent
from .interactions import log_interaction
from .profiles import ContactPoint, Profile

ACTOR = "plugin:contacts"

#: display name → given, family, job title, email, phone, language, birthday (employers are the core
#: demo's "employs" relationships)
PEOPLE = {
    "Alice Martin": ("Alice", "Martin", "Head of Purchasing", "alice.martin@atlas-industries.example",
                     "+33 1 42 68 53 00", "fr", date(1980, 4, 12)),
    "Bruno Keller": ("Bruno", "Keller", "Logistics Manager", "bruno.keller@atlas-logistics.example",
                     "+49 30 901820", "de", None),
    "Chloé Dubois": ("Chloé", "Dubois", "Store Manager", "chloe.dubois@bellamy.example", "+33 4 91 55 11 22", "fr",
                     date(1991, 11, 3)),
    "Diego Ramírez": ("Diego", "Ramírez", "CTO", "diego.ramirez@corvid.example", "+34 912 34 56 78", "es",
                      None),
    "Elena Rossi": ("Elena", "Rossi", "Partner Manager", "elena.rossi@dunmore.example", "+39 06 6982 1234", "it",
                    None),
    "Farid Haddad": ("Farid", "Haddad", "Sales Engineer", "farid.haddad@eastgate.example", "+44 20 7946 0958",
                     "en", None),
    "Greta Lind": ("Greta", "Lind", "HR Officer", "greta.lind@demo-company.example", "+46 8 123 456 78", "sv",
                   None),
    "Hugo Lefebvre": ("Hugo", "Lefebvre", "Developer", "hugo.lefebvre@demo-company.example", "+33 6 12 34 56 78",
                      "fr", None),
}
#: display name → {channel: (status, source)}
CONSENTS = {
    "Alice Martin": {"email": ("granted", "trade fair form"), "phone": ("granted", "phone call")},
    "Chloé Dubois": {"email": ("granted", "newsletter sign-up"), "sms": ("refused", "newsletter sign-up")},
    "Diego Ramírez": {"email": ("granted", "contract"), "post": ("refused", "email")},
    "Bruno Keller": {"email": ("refused", "phone call")},
}
#: display name, staff e-mail, channel, direction, days ago, minutes, subject, outcome
INTERACTIONS = (
    ("Alice Martin", "nora.north@demo.example", "call", "outbound", 2, 20, "Renewal of the framework contract",
     "Wants a quote for 2027"),
    ("Alice Martin", "nora.north@demo.example", "meeting", "outbound", 9, 90, "Quarterly review", "Satisfied"),
    ("Bruno Keller", "nora.north@demo.example", "email", "inbound", 1, None, "Delivery schedule question",
     "Answered"),
    ("Diego Ramírez", "carla.care@demo.example", "call", "inbound", 3, 15, "Login problem on the portal",
     "Solved on the phone"),
    ("Chloé Dubois", "carla.care@demo.example", "web_form", "inbound", 5, None, "Catalogue request",
     "Catalogue sent"),
)


def add_demo_data(session: Session) -> None:
    """Add the contacts of the core demo's people, once."""
    parties = {p.display_name: p for p in session.scalars(select(xrm.Party))}
    if not parties or session.scalar(select(ContactPoint.id).limit(1)) is not None:
        return
    users = {u.email: u.id for u in session.scalars(select(xrm.User))}
    now = xrm.utcnow()
    for name, (given, family, title, email, phone, language, birthday) in PEOPLE.items():
        party = parties.get(name)
        if party is None or session.get(Profile, party.id) is not None:
            continue
        profile = people.ensure_profile(session, party)
        profile.given_name, profile.family_name, profile.job_title = given, family, title
        profile.preferred_language, profile.birthday, profile.preferred_channel = language, birthday, "email"
        people.add_contact_point(session, profile, {"kind": "email", "value": email, "label": "work"})
        people.add_contact_point(session, profile, {"kind": "phone", "value": phone, "label": "work"})
        for channel, (status, source) in CONSENTS.get(name, {}).items():
            set_consent(session, party, channel, status, decided_at=now - timedelta(days=30), source=source,
                        actor=ACTOR)
    for name, staff, channel, direction, days_ago, minutes, subject, outcome in INTERACTIONS:
        if name in parties:
            log_interaction(session, parties[name], channel=channel, direction=direction,
                            occurred_at=_at(now, days_ago), duration_minutes=minutes, subject=subject,
                            outcome=outcome, user_ids=[users[staff]] if staff in users else [], actor=ACTOR)
    session.flush()


def _at(now: datetime, days_ago: int) -> datetime:
    return (now - timedelta(days=days_ago)).replace(hour=10, minute=0, second=0, microsecond=0)
