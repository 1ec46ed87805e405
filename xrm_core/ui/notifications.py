"""The notifications page and the header's bell: the signed-in user's own notifications only."""

from __future__ import annotations

import logging

from flask import Blueprint, abort, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import login_required
from sqlalchemy import select

from .. import web
from ..identity.authentication import current_principal
from ..local_paths import is_local_path
from ..notifications import Notification, mark_all_read, mark_read, unread_count
from .session import read_session

log = logging.getLogger("xrm.ui.notifications")
blueprint = Blueprint("notifications", __name__, url_prefix="/notifications")

#: Notifications the page lists, newest first.
PAGE_LENGTH = 50
#: Seconds between two refreshes of the bell's count by htmx.
BELL_REFRESH_SECONDS = 30


def unread_notifications() -> int | None:
    """The signed-in user's unread count for the header; 0 when nobody is signed in.

    ``None`` when it cannot be counted: the page being rendered may be the report of a database
    failure, and must still render.
    """
    principal = current_principal()
    if principal is None or web.current_tenant() is None:
        return 0
    try:
        return unread_count(read_session(), principal.user_id)
    except Exception:
        log.exception("could not count the unread notifications")
        return None


@blueprint.get("")
@login_required
def index():
    """The user's latest notifications, unread ones marked as such."""
    notifications = web.db_session().scalars(
        select(Notification).where(Notification.user_id == current_principal().user_id)
        .order_by(Notification.created_at.desc(), Notification.id.desc()).limit(PAGE_LENGTH)
    ).all()
    return render_template("notifications/index.html", notifications=notifications)


@blueprint.get("/bell")
@login_required
def bell():
    """The bell alone, for htmx to refresh the header's count."""
    return render_template("notifications/_bell.html")


@blueprint.post("/<int:notification_id>/read")
@login_required
def read(notification_id: int):
    """Mark one notification read, then open what it links to (or go back to the list)."""
    session = web.db_session()
    notification = mark_read(session, current_principal().user_id, notification_id)
    if notification is None:
        abort(404, description=_("There is no notification #%(id)s of yours.", id=notification_id))
    session.commit()
    if request.form.get("open") and notification.url and _local(notification.url):
        return redirect(notification.url)
    return redirect(url_for("notifications.index"))


@blueprint.post("/read-all")
@login_required
def read_all():
    """Mark every notification of the user read."""
    session = web.db_session()
    mark_all_read(session, current_principal().user_id)
    session.commit()
    return redirect(url_for("notifications.index"))


def _local(url: str) -> bool:
    return is_local_path(url)
