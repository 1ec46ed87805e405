"""A plugin for the web UI's tests: navigation, a working and a failing party panel, search hits."""

from html import escape

import xrm_sdk as xrm
from marshmallow import Schema, fields, validate

MANIFEST = xrm.Manifest(name="showcase", title="Showcase", description="Panels and search for the UI tests.")


class ShowcaseSettings(Schema):
    """One setting of each kind the admin console's generated form renders."""

    ticket_prefix = fields.String(load_default="T-", validate=validate.Length(min=1, max=5))
    page_size = fields.Integer(load_default=20, validate=validate.Range(min=5, max=100))
    colour = fields.String(load_default="blue", validate=validate.OneOf(["blue", "green"], labels=["Blue", "Green"]))
    show_closed = fields.Boolean(load_default=False)


class PanelBroke(RuntimeError):
    """What the broken panel raises while rendering."""


def _summary(party):
    return f'<p class="showcase-summary">Showcase summary of {escape(party.display_name)}</p>'


def _broken(party):
    raise PanelBroke(f"cannot render party #{party.id}")


@xrm.hookimpl
def xrm_navigation(tenant):
    return [xrm.NavEntry("showcase.tickets", label="Tickets", url="/showcase/tickets", order=5)]


@xrm.hookimpl
def xrm_party_panels(tenant, party):
    return [
        xrm.Panel("showcase.summary", title="Showcase summary", render=_summary, order=1),
        xrm.Panel("showcase.broken", title="Broken panel", render=_broken, order=2),
    ]


@xrm.hookimpl
def xrm_search(query, limit):
    hits = [
        xrm.SearchHit("showcase.ticket.7", title=f"Ticket about {query}", url="/showcase/tickets/7", score=1.0),
        xrm.SearchHit("showcase.ticket.8", title="Off-site link", url="https://elsewhere.example/", score=0.5),
    ]
    return hits[:limit]


@xrm.hookimpl
def xrm_settings_schema():
    return ShowcaseSettings
