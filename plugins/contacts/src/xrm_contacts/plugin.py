"""The plugin's entry point: its manifest and the hooks it implements.

The platform imports this module through the ``xrm.plugins`` entry point, reads ``MANIFEST`` and
calls the ``@xrm.hookimpl`` functions; each returns what the plugin contributes.
"""

from pathlib import Path

import xrm_sdk as xrm
from sqlalchemy import func, select

from . import api, views
from .actions import ADD_ITEM
from .events import ITEM_CREATED
from .models import Item

MANIFEST = xrm.Manifest(name="contacts", title="Contacts", requires=())


@xrm.hookimpl
def xrm_models():
    return [Item]


@xrm.hookimpl
def xrm_migrations():
    return Path(__file__).parent / "migrations"


@xrm.hookimpl
def xrm_blueprints():
    return [api.blueprint, views.blueprint]


@xrm.hookimpl
def xrm_permissions():
    return [
        xrm.Permission("contacts.item.read", "See items"),
        xrm.Permission("contacts.item.create", "Add items"),
    ]


@xrm.hookimpl
def xrm_event_types():
    return [ITEM_CREATED]


@xrm.hookimpl
def xrm_workflow_actions():
    return [ADD_ITEM]


@xrm.hookimpl
def xrm_navigation(tenant):
    return [xrm.NavEntry("contacts.items", label=MANIFEST.title, url="/contacts/", order=50)]


@xrm.hookimpl
def xrm_demo_data(tenant, session):
    if session.scalar(select(func.count()).select_from(Item)) == 0:
        session.add_all([Item(name="First item", notes="Added by the demo."), Item(name="Second item")])
