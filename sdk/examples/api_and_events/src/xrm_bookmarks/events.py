"""The event the plugin publishes and how it reacts to the core's events.

Publishing validates the payload against the type's schema and writes the event in the same
transaction as the change (a transactional outbox): subscribers hear of committed changes only.
Subscribers run after that commit, at least once, with their effects applied once: they write through
the ``session`` they are given, whose transaction also records the event as processed.
"""

import xrm_sdk as xrm
from marshmallow import fields
from sqlalchemy import select

from .models import Bookmark


class BookmarkCreatedPayload(xrm.Schema):
    title = fields.String(required=True)
    url = fields.String(required=True)


BOOKMARK_CREATED = xrm.EventType(
    "bookmarks.bookmark.created", description="A bookmark was added.", schema=BookmarkCreatedPayload
)


def add_bookmark(session, title: str, url: str, party_id: int | None = None) -> Bookmark:
    """Add a bookmark and publish ``bookmarks.bookmark.created`` with it; the caller commits.

    The session's principal needs ``bookmarks.bookmark.create`` (else ``xrm.PermissionDenied``).
    """
    bookmark = Bookmark(title=title, url=url, party_id=party_id)
    session.add(bookmark)
    session.flush()
    principal = xrm.principal_of(session)
    xrm.publish(session, "bookmarks.bookmark.created", bookmark, {"title": title, "url": url},
                principal.name if principal else "plugin:bookmarks")
    return bookmark


def bookmark_new_party(event, session):
    """An ``EventHandler`` for one event type: every new party gets a bookmark to its page.

    Takes any of ``event``, ``tenant``, ``session`` by name, like hooks do.
    """
    party_id = int(event.subject.id)
    add_bookmark(session, event.payload["display_name"], f"/parties/{party_id}", party_id)


PARTY_BOOKMARKER = xrm.EventHandler(
    "bookmarks.bookmark_new_parties", pattern="core.party.created", handle=bookmark_new_party
)


def retitle_renamed_party(event, session) -> None:
    """Called for *every* event (``xrm_on_event``), so it picks the ones it cares about itself:
    when a party is renamed, its bookmarks follow the new name."""
    if event.type != "core.party.updated" or "display_name" not in event.payload.get("changed", []):
        return
    party = session.get(xrm.Party, int(event.subject.id))
    if party is None:  # deleted since: its bookmarks went with it
        return
    for bookmark in session.scalars(select(Bookmark).where(Bookmark.party_id == party.id)):
        bookmark.title = party.display_name
