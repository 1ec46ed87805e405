"""The ``loyalty`` example: one table, and every hook that extends the party graph.

* ``xrm_party_roles``: parties can be "Loyalty member"s (``xrm.add_party_role``);
* ``xrm_relationship_types``: "referred" / "was referred by" between parties (``xrm.relate``);
* ``xrm_party_panels``: the card on the party's page;
* ``xrm_dashboard_widgets``: the members with the most points, on department homes;
* ``xrm_party_facts``: the points, for segments and other selections to filter on;
* ``xrm_search``: a card number typed in the global search box finds its party;
* ``xrm_merge_parties``: when two parties are merged, their cards (and points) are too;
* ``xrm_contact_consent``: the newsletter opt-in answers "may we e-mail this party?";
* ``xrm_personal_data`` and ``xrm_erase_personal_data``: the card in a party's data-access
  archive, and gone when the party exercises its right to erasure.

Every function receives (or reaches) the caller's session, scoped to the tenant and to the caller's
permissions: it never opens another one, so it never shows or changes what the caller may not.
"""

from html import escape
from pathlib import Path

import xrm_sdk as xrm
from sqlalchemy import delete, select
from sqlalchemy.orm import object_session

from .models import LoyaltyCard

MANIFEST = xrm.Manifest(name="loyalty", title="Loyalty", description="SDK example: extending parties.")

MEMBER_ROLE = "loyalty_member"  # role and relationship codes are global: make them distinctive
REFERRED = "loyalty_referred"


def card_of(session, party_id: int) -> LoyaltyCard | None:
    return session.scalar(select(LoyaltyCard).where(LoyaltyCard.party_id == party_id))


def render_card_panel(party) -> str:
    """The panel's HTML. ``party`` was loaded through the request's session: query through it too.
    Escape everything inserted (the platform inserts the HTML as it is)."""
    card = card_of(object_session(party), party.id)
    if card is None:
        return '<p class="muted">No loyalty card.</p>'
    return f'<p class="loyalty-card">Card {escape(card.number)}: {card.points} points</p>'


def render_top_members(tenant) -> str:
    """The widget's HTML, from the request's session (a user sees the cards they may read)."""
    session = xrm.db_session()
    rows = session.execute(select(xrm.Party.display_name, LoyaltyCard.points)
                           .join(LoyaltyCard, LoyaltyCard.party_id == xrm.Party.id)
                           .order_by(LoyaltyCard.points.desc(), xrm.Party.display_name).limit(5)).all()
    items = "".join(f"<li>{escape(name)}: {points}</li>" for name, points in rows)
    return f'<ol class="loyalty-top">{items}</ol>' if rows else '<p class="muted">No members yet.</p>'


def points_query(session):
    """The fact's select: exactly ``(party_id, value)``, at most one row per party. Never executed here:
    the selection embeds it as a subquery."""
    return select(LoyaltyCard.party_id, LoyaltyCard.points)


@xrm.hookimpl
def xrm_models():
    return [LoyaltyCard]


@xrm.hookimpl
def xrm_migrations():
    return Path(__file__).parent / "migrations"


@xrm.hookimpl
def xrm_permissions():
    return [
        xrm.Permission("loyalty.card.read", "See loyalty cards"),
        xrm.Permission("loyalty.card.create", "Issue loyalty cards"),
        xrm.Permission("loyalty.card.update", "Change loyalty cards"),
        xrm.Permission("loyalty.card.delete", "Delete loyalty cards"),
    ]


@xrm.hookimpl
def xrm_party_roles():
    return [xrm.PartyRole(MEMBER_ROLE, label="Loyalty member")]


@xrm.hookimpl
def xrm_relationship_types():
    return [xrm.RelationshipType(REFERRED, forward_label="referred", inverse_label="was referred by")]


@xrm.hookimpl
def xrm_party_panels(tenant, party):
    return [xrm.Panel("loyalty.card", title="Loyalty card", render=render_card_panel, order=50)]


@xrm.hookimpl
def xrm_dashboard_widgets(tenant):
    return [xrm.DashboardWidget("loyalty.top_members", title="Top loyalty members", render=render_top_members)]


@xrm.hookimpl
def xrm_party_facts(tenant):
    return [xrm.PartyFact("loyalty.points", label="Loyalty points", type="number", query=points_query)]


@xrm.hookimpl
def xrm_search(session, query, limit):
    cards = session.scalars(select(LoyaltyCard).where(LoyaltyCard.number == query.strip().upper()).limit(limit))
    return [xrm.SearchHit(f"loyalty.card.{card.id}", title=f"Loyalty card {card.number}",
                          url=f"/parties/{card.party_id}", score=1.0) for card in cards]


@xrm.hookimpl
def xrm_merge_parties(session, survivor_id, loser_id):
    # Inside the merge's transaction: do not commit; raising refuses the whole merge.
    loser, survivor = card_of(session, loser_id), card_of(session, survivor_id)
    if loser is None:
        return
    if survivor is None:
        loser.party_id = survivor_id  # the card simply changes hands
    else:  # one card per party: keep the survivor's, with both balances
        survivor.points += loser.points
        survivor.newsletter = survivor.newsletter and loser.newsletter  # consent only if both gave it
        session.delete(loser)
    session.flush()


@xrm.hookimpl
def xrm_contact_consent(session, party_id, channel):
    card = card_of(session, party_id)
    if channel != "email" or card is None:
        return None  # no opinion: another plugin may know, and without any answer it is "no"
    return card.newsletter


@xrm.hookimpl
def xrm_personal_data(session, party_id):
    card = card_of(session, party_id)
    if card is None:
        return None
    return {"card_number": card.number, "points": card.points, "newsletter": card.newsletter}


@xrm.hookimpl
def xrm_erase_personal_data(session, party_id):
    session.execute(delete(LoyaltyCard).where(LoyaltyCard.party_id == party_id))


@xrm.hookimpl
def xrm_demo_data(tenant, session):
    """Cards for the first few organisations of the demo (idempotent)."""
    parties = session.scalars(select(xrm.Party).where(xrm.Party.kind == "organization")
                              .order_by(xrm.Party.id).limit(3)).all()
    for number, party in enumerate(parties, 1):
        if card_of(session, party.id) is None:
            session.add(LoyaltyCard(party_id=party.id, number=f"LOY-{number:04d}", points=100 * number))
