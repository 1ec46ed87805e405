"""``/api/v1/bookmarks/bookmarks``: a REST resource with the platform's conventions.

``xrm.ApiBlueprint`` gives problem+json errors naming the offending field, cursor pagination with
``Link`` headers, filters and sparse fields (from the ``Listing``), ETags and the OpenAPI document.
"""

import xrm_sdk as xrm
from flask import url_for
from flask.views import MethodView
from marshmallow import fields, validate
from sqlalchemy import select

from .events import add_bookmark
from .models import Bookmark


class BookmarkSchema(xrm.RecordSchema):
    title = fields.String(required=True, validate=validate.Length(min=1, max=200))
    # Relative links (to the platform's pages) or http(s) ones, nothing else (no javascript: URLs).
    url = fields.String(required=True, validate=[validate.Length(max=500), validate.Regexp(r"^(/|https?://)")])
    party_id = fields.Integer(dump_only=True, allow_none=True)
    created_at = fields.DateTime(dump_only=True)


BOOKMARKS = xrm.Listing(Bookmark, BookmarkSchema, sortable=("title", "created_at"),
                        filterable={"title": ("eq", "contains")}, default_sort="title")

blueprint = xrm.ApiBlueprint("bookmarks", __name__, description="Bookmarks (SDK example).")


@blueprint.route("/bookmarks")
class Bookmarks(MethodView):
    @blueprint.list_response(BOOKMARKS)
    def get(self, query):
        """List the bookmarks the caller may see (the session filters by permission and scope)."""
        return xrm.cursor_paginate(select(Bookmark), query)

    @blueprint.arguments(BookmarkSchema)
    @blueprint.record_response(BookmarkSchema, 201)
    def post(self, data):
        """Add a bookmark; publishes ``bookmarks.bookmark.created``."""
        session = xrm.db_session()  # the request's session: the caller's tenant and permissions
        bookmark = add_bookmark(session, data["title"], data["url"])
        session.commit()
        return bookmark, {"Location": url_for(".BookmarkDetail", bookmark_id=bookmark.id)}


@blueprint.route("/bookmarks/<int:bookmark_id>")
class BookmarkDetail(MethodView):
    @blueprint.record_response(BookmarkSchema)
    def get(self, bookmark_id):
        """One bookmark; 404 when it does not exist *or* the caller may not see it."""
        return xrm.get_or_404(Bookmark, bookmark_id)
