"""The caller's own notifications over REST: list, unread count, mark read.

Nobody sees anyone else's notifications, administrators included: another user's notification
answers 404 like one that does not exist.
"""

from __future__ import annotations

from flask.views import MethodView
from marshmallow import fields
from sqlalchemy import select

from .. import web
from ..errors import NotFound
from ..notifications import Notification, mark_all_read, mark_read, unread_count
from .auth import current_principal
from .blueprint import ApiBlueprint
from .listing import Listing
from .pagination import cursor_paginate
from .schemas import Schema

blueprint = ApiBlueprint("core_notifications", __name__,
                         description="The caller's notifications: list, unread count, mark read.")


class NotificationSchema(Schema):
    id = fields.Integer(dump_only=True)
    title = fields.String(dump_only=True)
    body = fields.String(dump_only=True)
    url = fields.String(dump_only=True, allow_none=True, metadata={"description": "A local path to open, if any."})
    kind = fields.String(dump_only=True, metadata={"description": "notice, workflow, assignment, mention, …"})
    subject_type = fields.String(dump_only=True, allow_none=True)
    subject_id = fields.String(dump_only=True, allow_none=True)
    actor = fields.String(dump_only=True)
    created_at = fields.DateTime(dump_only=True)
    read_at = fields.DateTime(dump_only=True, allow_none=True, metadata={"description": "null: unread."})


class UnreadSchema(Schema):
    unread = fields.Integer(dump_only=True)


class MarkedSchema(Schema):
    marked = fields.Integer(dump_only=True, metadata={"description": "How many were unread and are now read."})


NOTIFICATIONS = Listing(Notification, NotificationSchema, sortable=("created_at",),
                        filterable={"kind": ("eq", "in"), "read_at": ("isnull",)}, default_sort="-created_at")


def _me() -> int:
    return current_principal().user_id


@blueprint.route("/notifications")
class Notifications(MethodView):
    @blueprint.list_response(NOTIFICATIONS)
    def get(self, query):
        """The caller's notifications, newest first; ``read_at__isnull=true`` for the unread ones."""
        return cursor_paginate(select(Notification).where(Notification.user_id == _me()), query)


@blueprint.route("/notifications/unread-count")
class UnreadCount(MethodView):
    @blueprint.response(200, UnreadSchema)
    def get(self):
        """How many of the caller's notifications are unread."""
        return {"unread": unread_count(web.db_session(), _me())}


@blueprint.route("/notifications/<int:notification_id>/read")
class MarkRead(MethodView):
    @blueprint.response(200, NotificationSchema)
    def post(self, notification_id):
        """Mark one of the caller's notifications read (again: no change)."""
        session = web.db_session()
        notification = mark_read(session, _me(), notification_id)
        if notification is None:
            raise NotFound(f"There is no notification {notification_id} of yours.")
        session.commit()
        return notification


@blueprint.route("/notifications/read-all")
class MarkAllRead(MethodView):
    @blueprint.response(200, MarkedSchema)
    def post(self):
        """Mark every unread notification of the caller read."""
        session = web.db_session()
        marked = mark_all_read(session, _me())
        session.commit()
        return {"marked": marked}
