"""What the plugin shows elsewhere: the panel on a party's page and the dashboard widget."""

from __future__ import annotations

from datetime import timedelta

import xrm_sdk as xrm
from flask import render_template
from sqlalchemy import func, select

from .consents import consents_of
from .interactions import Interaction, interactions_of
from .profiles import CHANNELS, Profile

#: Interactions shown in the panel; the contact page shows the rest.
PANEL_INTERACTIONS = 5


def render_party_panel(party) -> str:
    """Contact points, consents and the last interactions of ``party`` that the reader may see."""
    session = xrm.db_session()
    profile = session.get(Profile, party.id)
    return render_template(
        "contacts/_panel.html", party=party, profile=profile,
        points=list(profile.contact_points) if profile else [], consents=consents_of(session, party.id),
        channels=CHANNELS, interactions=interactions_of(session, party.id, limit=PANEL_INTERACTIONS))


def render_week_widget(tenant) -> str:
    """The interactions the reader may see logged over the last seven days, by channel."""
    since = xrm.utcnow() - timedelta(days=7)
    rows = xrm.db_session().execute(
        select(Interaction.channel, func.count()).where(Interaction.occurred_at >= since)
        .group_by(Interaction.channel).order_by(func.count().desc(), Interaction.channel)).all()
    return render_template("contacts/_widget.html", total=sum(count for _channel, count in rows),
                           by_channel=[(channel, count) for channel, count in rows])


PANELS = [xrm.Panel("contacts.contact", title="Contact", render=render_party_panel, order=20)]
WIDGETS = [xrm.DashboardWidget("contacts.interactions_this_week", title="Interactions this week",
                               render=render_week_widget)]
