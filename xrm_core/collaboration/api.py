"""Comments and follows over REST: ``/api/v1/comments`` and ``/api/v1/follows``.

A record is named by its resource and id (``resource=core.party&record_id=42``), like shares. Its
comments are visible to whoever may read it; a record out of the caller's reach answers 404, as
does a comment on such a record. Only its author may edit or delete a comment (403 otherwise).
"""

from __future__ import annotations

from typing import Any

import marshmallow as ma
from flask.views import MethodView
from marshmallow import fields, validate
from sqlalchemy import select

from .. import web
from ..api.auth import current_principal
from ..api.blueprint import ApiBlueprint
from ..api.listing import Listing, ListQuery
from ..api.pagination import cursor_paginate
from ..api.schemas import Schema
from ..errors import NotFound
from . import service
from .models import Comment, Follow

blueprint = ApiBlueprint("core_collaboration", __name__, description=(
    "Collaboration on records: comments with @mentions (of users by e-mail, of departments by name), follows."))


class MentionsSchema(Schema):
    users = fields.List(fields.Integer(), dump_only=True)
    departments = fields.List(fields.Integer(), dump_only=True)


class CommentSchema(Schema):
    id = fields.Integer(dump_only=True)
    resource = fields.String(required=True, validate=validate.Length(min=1, max=100),
                             metadata={"description": "The record's resource, e.g. core.party."})
    record_id = fields.Integer(required=True)
    author_id = fields.Integer(dump_only=True, allow_none=True)
    body = fields.String(required=True, metadata={"description": (
        "The text; @user@example.com mentions a user, @Department Name a department.")})
    mentions = fields.Nested(MentionsSchema, dump_only=True)
    created_at = fields.DateTime(dump_only=True)
    edited_at = fields.DateTime(dump_only=True, allow_none=True, metadata={"description": "null: never edited."})


class CommentEditSchema(Schema):
    body = fields.String(required=True)


class NotNotifiedSchema(Schema):
    who = fields.String(dump_only=True)
    reason = fields.String(dump_only=True)


class PostedSchema(CommentSchema):
    notified = fields.List(fields.Integer(), dump_only=True, metadata={
        "description": "Users notified of their mention (directly or through their department)."})
    not_notified = fields.List(fields.Nested(NotNotifiedSchema), dump_only=True, metadata={
        "description": "Mentions that notified nobody, and why (e.g. the user cannot see the record)."})


class FollowSchema(Schema):
    id = fields.Integer(dump_only=True)
    resource = fields.String(required=True, validate=validate.Length(min=1, max=100))
    record_id = fields.Integer(required=True)
    user_id = fields.Integer(dump_only=True)
    created_at = fields.DateTime(dump_only=True)


COMMENTS = Listing(Comment, CommentSchema, sortable=("created_at",),
                   filterable={"resource": ("eq",), "record_id": ("eq",)}, default_sort="created_at")
FOLLOWS = Listing(Follow, FollowSchema, sortable=("created_at",),
                  filterable={"resource": ("eq",), "record_id": ("eq",)}, default_sort="-created_at")


def _record_of(query: ListQuery) -> Any:
    """The record a comment list is about (both filters required), as the caller sees it."""
    given = {f.field: f.value for f in query.filters}
    missing = [name for name in ("resource", "record_id") if name not in given]
    if missing:
        raise ma.ValidationError({name: ["Name the record: resource and record_id."] for name in missing})
    return service.find_record(web.db_session(), given["resource"], given["record_id"])


@blueprint.route("/comments")
class Comments(MethodView):
    @blueprint.list_response(COMMENTS)
    def get(self, query):
        """A record's comments, oldest first (``resource`` and ``record_id`` required)."""
        record = _record_of(query)
        return cursor_paginate(service.comments_of(record), query)

    @blueprint.arguments(CommentSchema)
    @blueprint.response(201, PostedSchema)
    def post(self, data):
        """Comment on a record; mentioned users and departments who may read it are notified."""
        session = web.db_session()
        record = service.find_record(session, data["resource"], data["record_id"])
        posted = service.post_comment(session, record, data["body"])
        session.commit()
        comment = posted.comment
        return {**{name: getattr(comment, name) for name in CommentSchema().fields},
                "notified": posted.mentioned,
                "not_notified": [{"who": who, "reason": reason} for who, reason in posted.not_notified]}, 201


@blueprint.route("/comments/<int:comment_id>")
class CommentItem(MethodView):
    @blueprint.response(200, CommentSchema)
    def get(self, comment_id):
        """One comment (404 if its record is out of reach)."""
        return service.find_comment(web.db_session(), comment_id)[0]

    @blueprint.arguments(CommentEditSchema)
    @blueprint.response(200, CommentSchema)
    def patch(self, data, comment_id):
        """Change the text of one's own comment (audited); mentions are not sent again."""
        session = web.db_session()
        comment, _record = service.find_comment(session, comment_id)
        service.edit_comment(session, comment, data["body"])
        session.commit()
        return comment

    @blueprint.response(204)
    def delete(self, comment_id):
        """Delete one's own comment (audited)."""
        session = web.db_session()
        comment, _record = service.find_comment(session, comment_id)
        service.delete_comment(session, comment)
        session.commit()


@blueprint.route("/follows")
class Follows(MethodView):
    @blueprint.list_response(FOLLOWS)
    def get(self, query):
        """The records the caller follows, newest first; filter by ``resource`` and ``record_id``."""
        return cursor_paginate(select(Follow).where(Follow.user_id == current_principal().user_id), query)

    @blueprint.arguments(FollowSchema)
    @blueprint.response(201, FollowSchema)
    def post(self, data):
        """Follow a record (needs read on it): be notified of its new comments. Again: no change."""
        session = web.db_session()
        record = service.find_record(session, data["resource"], data["record_id"])
        row = service.follow(session, record)
        session.commit()
        return row, 201


@blueprint.route("/follows/<int:follow_id>", methods=["DELETE"])
@blueprint.response(204)
def unfollow(follow_id):
    """Stop following (one's own follows only; another user's answers 404)."""
    session = web.db_session()
    row = session.scalar(select(Follow).where(Follow.id == follow_id, Follow.user_id == current_principal().user_id))
    if row is None:
        raise NotFound(f"There is no follow {follow_id} of yours.")
    session.delete(row)
    session.commit()
