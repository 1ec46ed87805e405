"""The collaboration panel of a record's page: comments with @mentions, follow, assign, share, history.

Any page showing a record under record-level permissions (``core.party``, a plugin's
``sales.opportunity``) embeds it with ``{{ collaboration_panel(record) }}`` (also
``xrm_sdk.collaboration_panel``): a placeholder that htmx fills from :func:`panel`. Every form of the
panel posts here and gets the panel back (htmx) or is redirected to the page (no script). The
record is loaded through the signed-in user's session: out of reach is a 404, like a missing id.
"""

from __future__ import annotations

import marshmallow as ma
from flask import Blueprint, abort, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import login_required
from markupsafe import Markup
from sqlalchemy import select
from sqlalchemy.orm.exc import StaleDataError

from .. import web
from ..collaboration import service
from ..collaboration.models import Comment
from ..errors import Conflict, NotFound
from ..identity.authentication import current_principal
from ..identity.models import Department
from ..identity.scoping import PermissionDenied, can
from ..local_paths import is_local_path
from ..models import User

blueprint = Blueprint("collaboration", __name__, url_prefix="/collaboration")

#: Latest comments shown in the panel.
COMMENTS_SHOWN = 50
#: Entries of the change history shown in the panel.
HISTORY_SHOWN = 30
#: Choices the @-autocomplete offers at most.
MENTION_CHOICES = 20
#: Actions a department share may open, as the panel offers them.
SHARE_CHOICES = (("read",), ("read", "update"))


def collaboration_panel(record, page: str | None = None) -> Markup:
    """The panel of ``record`` for a page's template: loaded by htmx once the page is shown.

    :param page: The page's local path, where notifications link to; the current request's path by default.
    """
    return Markup(render_template("collaboration/_lazy.html", resource=service.resource_of(record),
                                  record_id=record.id, page=_local(page or request.path)))


def _local(path: str | None) -> str | None:
    return path if is_local_path(path) else None


def _page() -> str | None:
    return _local(request.values.get("page"))


def _record(resource: str, record_id: int):
    try:
        return service.find_record(web.db_session(), resource, record_id)
    except (NotFound, ma.ValidationError):
        abort(404, description=_("There is no record %(resource)s #%(id)s that you may see.",
                                 resource=resource, id=record_id))


def _render(record, status: int = 200, **extra):
    """The panel of ``record`` as the signed-in user sees it."""
    session, principal = web.db_session(), current_principal()
    comments = list(reversed(session.scalars(service.comments_of(record).order_by(
        Comment.created_at.desc(), Comment.id.desc()).limit(COMMENTS_SHOWN)).all()))
    history = service.history(session, record, HISTORY_SHOWN)
    user_ids = {c.author_id for c in comments} | {e.user_id for e in history}
    names = dict(session.execute(select(User.id, User.display_name).where(User.id.in_(user_ids - {None}))).all()) \
        if user_ids - {None} else {}
    may_assign = can(session, principal, "assign", record)
    may_share = can(session, principal, "share", record)
    departments = session.execute(select(Department.id, Department.name).order_by(Department.name)).all() \
        if may_assign or may_share else []
    users = session.execute(select(User.id, User.display_name).where(User.active.is_(True))
                            .order_by(User.display_name)).all() if may_assign else []
    context = {
        "record": record, "resource": service.resource_of(record), "page": _page(),
        "comments": comments, "names": names, "history": history, "me": principal.user_id,
        "following": service.is_following(session, record),
        "may_assign": may_assign, "may_share": may_share, "departments": departments, "users": users,
        "share_choices": SHARE_CHOICES, "errors": {}, "outcome": None, **extra,
    }
    return render_template("collaboration/_panel.html", **context), status


def _done(record, **extra):
    """After a change: the panel again (htmx), or back to the page (a plain form post)."""
    if request.headers.get("HX-Request"):
        response = _render(record, **extra)
        return response[0], response[1], {"HX-Trigger": "notifications-changed"}
    for who, why in (extra.get("outcome") or {}).get("not_notified", []):
        flash(_("%(who)s was not notified: %(why)s", who=who, why=why), "warning")
    return redirect(_page() or url_for("core.index"))


def _refused(record, errors: dict[str, list[str]], status: int = 422):
    web.db_session().rollback()
    if request.headers.get("HX-Request"):
        return _render(record, status, errors=errors)
    for messages in errors.values():
        for message in messages:
            flash(message, "error")
    return redirect(_page() or url_for("core.index"))


def _messages(exc: ma.ValidationError) -> dict[str, list[str]]:
    return {key: value if isinstance(value, list) else [str(value)] for key, value in exc.normalized_messages().items()}


@blueprint.get("/<resource>/<int:record_id>")
@login_required
def panel(resource: str, record_id: int):
    """The panel's HTML (htmx fills the page's placeholder with it)."""
    return _render(_record(resource, record_id))


@blueprint.post("/<resource>/<int:record_id>/comments")
@login_required
def comment(resource: str, record_id: int):
    """Post a comment; tell the author which mentions notified nobody, and why."""
    record = _record(resource, record_id)
    session = web.db_session()
    try:
        posted = service.post_comment(session, record, request.form.get("body", ""), url=_page())
    except ma.ValidationError as exc:
        return _refused(record, _messages(exc))
    session.commit()
    reasons = {"cannot see this record": _("cannot see this record"),
               "no active user has this e-mail address": _("no active user has this e-mail address"),
               "no member of this department can see this record":
                   _("no member of this department can see this record")}
    return _done(record, outcome={
        "notified": len(posted.mentioned),
        "not_notified": [(who, reasons.get(why, why)) for who, why in posted.not_notified],
    })


def _own_comment(record, comment_id: int) -> Comment:
    try:
        return service.own_comment(web.db_session(), record, comment_id)
    except NotFound:
        abort(404, description=_("There is no comment #%(id)s on this record.", id=comment_id))


@blueprint.post("/<resource>/<int:record_id>/comments/<int:comment_id>/edit")
@login_required
def edit_comment(resource: str, record_id: int, comment_id: int):
    """Change the text of one's own comment."""
    record = _record(resource, record_id)
    found = _own_comment(record, comment_id)
    if found.author_id != current_principal().user_id:
        abort(403, description=_("You may only change your own comments."))
    try:
        service.edit_comment(web.db_session(), found, request.form.get("body", ""))
    except ma.ValidationError as exc:
        return _refused(record, _messages(exc))
    web.db_session().commit()
    return _done(record)


@blueprint.post("/<resource>/<int:record_id>/comments/<int:comment_id>/delete")
@login_required
def delete_comment(resource: str, record_id: int, comment_id: int):
    """Delete one's own comment."""
    record = _record(resource, record_id)
    found = _own_comment(record, comment_id)
    if found.author_id != current_principal().user_id:
        abort(403, description=_("You may only delete your own comments."))
    service.delete_comment(web.db_session(), found)
    web.db_session().commit()
    return _done(record)


@blueprint.post("/<resource>/<int:record_id>/follow")
@login_required
def toggle_follow(resource: str, record_id: int):
    """Follow the record, or stop following it (``following=0``)."""
    record = _record(resource, record_id)
    session = web.db_session()
    if request.form.get("following") == "0":
        service.unfollow(session, record)
    else:
        service.follow(session, record)
    session.commit()
    return _done(record)


@blueprint.post("/<resource>/<int:record_id>/assign")
@login_required
def assign(resource: str, record_id: int):
    """Give the record to a user or a department (the ``assign`` right); the assignee is notified."""
    record = _record(resource, record_id)
    if not can(web.db_session(), current_principal(), "assign", record):
        abort(403, description=_("You may see this record but not assign it."))
    version = request.form.get("version")
    if version and version != str(getattr(record, "version", version)):
        return _refused(record, {"assignee": [_("Someone else changed this record after you opened the page; "
                                                "reload it.")]}, 409)
    assignee = request.form.get("assignee", "")
    kind, _sep, ident = assignee.partition(":")
    if kind not in ("user", "department") or not ident.isdigit():
        return _refused(record, {"assignee": [_("Choose whom to assign the record to.")]})
    try:
        service.assign(web.db_session(), record, url=_page(),
                       **({"user_id": int(ident)} if kind == "user" else {"department_id": int(ident)}))
        web.db_session().commit()
    except ma.ValidationError as exc:
        return _refused(record, _messages(exc))
    except PermissionDenied:
        return _refused(record, {"assignee": [_("You may not move the record there: it would leave your reach.")]},
                        403)
    except StaleDataError:
        return _refused(record, {"assignee": [_("Someone else changed this record while you were saving; "
                                                "reload it.")]}, 409)
    if request.headers.get("HX-Request"):  # the page shows the owner and department too
        return "", 204, {"HX-Refresh": "true"}
    return _done(record)


@blueprint.post("/<resource>/<int:record_id>/share")
@login_required
def share(resource: str, record_id: int):
    """Share the record with a department (the ``share`` right)."""
    record = _record(resource, record_id)
    if not can(web.db_session(), current_principal(), "share", record):
        abort(403, description=_("You may see this record but not share it."))
    actions = [a for a in request.form.get("actions", "read").split(",") if a]
    if tuple(actions) not in SHARE_CHOICES:
        return _refused(record, {"actions": [_("Choose what the department may do.")]})
    try:
        service.share_with_department(web.db_session(), record, int(request.form.get("department_id") or 0), actions)
        web.db_session().commit()
    except ma.ValidationError as exc:
        return _refused(record, _messages(exc))
    except Conflict:
        return _refused(record, {"department_id": [_("This department already has this share.")]}, 409)
    return _done(record)


@blueprint.get("/mentions")
@login_required
def mentions():
    """The @-autocomplete: ``<option>`` elements for the tenant's users and departments matching ``q``."""
    query = request.args.get("q", "").lstrip("@").strip()
    session = web.db_session()
    pattern = f"%{query}%"
    users = session.execute(select(User.email, User.display_name).where(
        User.active.is_(True), (User.email.ilike(pattern)) | (User.display_name.ilike(pattern)))
        .order_by(User.display_name).limit(MENTION_CHOICES)).all()
    departments = session.scalars(select(Department.name).where(Department.name.ilike(pattern))
                                  .order_by(Department.name).limit(MENTION_CHOICES)).all()
    return render_template("collaboration/_mentions.html", users=users, departments=departments)
