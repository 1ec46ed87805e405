"""The ``bookmarks`` example: a plugin with a table, an API, events and subscribers.

One hook per contribution:

* ``xrm_models`` and ``xrm_migrations``: the table and the plugin's own Alembic branch;
* ``xrm_blueprints``: an ``xrm.ApiBlueprint``, mounted under ``/api/v1/bookmarks``;
* ``xrm_permissions``: ``bookmarks.bookmark.read``/``create``/``export``, which the ``Owned`` model enforces;
* ``xrm_event_types``: ``bookmarks.bookmark.created`` and its payload schema;
* ``xrm_event_handlers``: a reaction to one event type (a new party gets a bookmark);
* ``xrm_on_event``: a reaction to every event (renamed parties' bookmarks follow);
* ``xrm_list_views``: the bookmarks list page, served by the core at ``/lists/bookmarks.bookmarks``
  from the API's ``Listing`` (filters, sort, pages, columns, saved views, CSV/Excel export);
* ``xrm_tenant_setup``: a default bookmark when the plugin is enabled for a tenant (idempotent);
* ``xrm_demo_data``: sample bookmarks for ``xrm demo``.
"""

from pathlib import Path

import xrm_sdk as xrm
from sqlalchemy import select

from . import api, events
from .models import Bookmark

MANIFEST = xrm.Manifest(name="bookmarks", title="Bookmarks", description="SDK example: API and events.")

#: The bookmark every tenant starts with.
DOCUMENTATION = ("API documentation", "/api/v1/docs")


@xrm.hookimpl
def xrm_models():
    return [Bookmark]


@xrm.hookimpl
def xrm_migrations():
    return Path(__file__).parent / "migrations"


@xrm.hookimpl
def xrm_blueprints():
    return [api.blueprint]


@xrm.hookimpl
def xrm_permissions():
    return [
        xrm.Permission("bookmarks.bookmark.read", "See bookmarks"),
        xrm.Permission("bookmarks.bookmark.create", "Add bookmarks"),
        xrm.Permission("bookmarks.bookmark.export", "Export the bookmarks list"),
    ]


#: The list page: the core reads through the user's session, so each user sees only their bookmarks.
BOOKMARK_LIST = xrm.ListView(
    "bookmarks.bookmarks", title="Bookmarks", description="The bookmarks you may see.", listing=api.BOOKMARKS,
    columns=(xrm.ListColumn("title", "Title"), xrm.ListColumn("url", "Address"),
             xrm.ListColumn("created_at", "Added", default=False)),
    filters=(xrm.ListFilter("title__contains", "Title contains"),),
    permission="bookmarks.bookmark.read", detail_url=lambda bookmark: bookmark.url,
)


@xrm.hookimpl
def xrm_list_views(tenant):
    return [BOOKMARK_LIST]


@xrm.hookimpl
def xrm_event_types():
    return [events.BOOKMARK_CREATED]


@xrm.hookimpl
def xrm_event_handlers():
    return [events.PARTY_BOOKMARKER]


@xrm.hookimpl
def xrm_on_event(event, session):
    # Hooks take any subset of their arguments: this one does not need ``tenant``.
    events.retitle_renamed_party(event, session)


@xrm.hookimpl
def xrm_tenant_setup(tenant, session):
    # Enabling again calls this again: add only what is missing.
    title, url = DOCUMENTATION
    if session.scalar(select(Bookmark.id).where(Bookmark.url == url)) is None:
        session.add(Bookmark(title=title, url=url))


@xrm.hookimpl
def xrm_demo_data(tenant, session):
    for title, url in (("XRM on the web", "https://xrm.example/"), ("Parties", "/parties/")):
        if session.scalar(select(Bookmark.id).where(Bookmark.url == url)) is None:
            events.add_bookmark(session, title, url)
