"""Sending notifications and reading one's own.

:func:`notify` expands departments and teams to their active members, writes one
:class:`~.models.Notification` per recipient in the caller's transaction (nothing is committed) and
publishes one ``core.notification.created`` event for the batch. A title given as a
:class:`~.messages.Message` is written in each recipient's language. Reading functions take the
user whose notifications they touch: a user only ever sees and marks their own.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from sqlalchemy import func, or_, select, update
from sqlalchemy.orm import Session

from ..db import utcnow
from ..errors import XrmError
from ..events.envelope import Subject
from ..identity.models import Department, Team, TeamMember
from ..local_paths import is_local_path
from ..models import User
from .messages import Message, default_text, render_for
from .models import Notification

#: The event published once per :func:`notify` call that reached someone.
CREATED = "core.notification.created"
TITLE_MAX = 200
URL_MAX = 500
KIND_MAX = 63


class NotificationError(XrmError):
    """A notification cannot be sent: no title, unknown recipient, a URL that is not local."""


@dataclass(frozen=True)
class Sent:
    """What :func:`notify` did: the notifications written and the event announcing them."""

    notifications: list[Notification]
    event_id: str | None

    @property
    def recipients(self) -> list[int]:
        return [n.user_id for n in self.notifications]


def _ids(values: Iterable[Any]) -> set[int]:
    return {int(getattr(value, "id", value)) for value in values}


def recipients(session: Session, users: Iterable[Any] = (), departments: Iterable[Any] = (),
               teams: Iterable[Any] = ()) -> list[int]:
    """The active users among ``users`` and the members of ``departments`` and ``teams``, by id.

    Each argument holds ids or saved objects of the session's tenant.

    :raises NotificationError: an id that names nothing in the tenant.
    """
    user_ids, department_ids, team_ids = _ids(users), _ids(departments), _ids(teams)
    for wanted, model, noun in ((user_ids, User, "user"), (department_ids, Department, "department"),
                                (team_ids, Team, "team")):
        found = set(session.scalars(select(model.id).where(model.id.in_(wanted)))) if wanted else set()
        if missing := sorted(wanted - found):
            raise NotificationError(f"There is no {noun} #{missing[0]} in this tenant to notify.")
    if not (user_ids or department_ids or team_ids):
        return []
    reached = or_(
        User.id.in_(user_ids),
        User.department_id.in_(department_ids),
        User.id.in_(select(TeamMember.user_id).where(TeamMember.team_id.in_(team_ids))),
    )
    return list(session.scalars(select(User.id).where(User.active.is_(True), reached).order_by(User.id)))


def notify(session: Session, users: Iterable[Any] = (), departments: Iterable[Any] = (), teams: Iterable[Any] = (),
           *, title: str | Message, body: str = "", url: str | None = None, kind: str = "notice",
           subject: Any = None, actor: str, event_payload: dict[str, Any] | None = None) -> Sent:
    """Tell ``users`` and the active members of ``departments`` and ``teams`` something.

    Everyone reached gets one notification, however many of the groups they are in. Nothing is
    committed: the notifications and the event are part of the caller's transaction.

    :param session: A session of the tenant (acting as whoever sends it).
    :param title: One line, at most 200 characters; a :class:`~.messages.Message` is written in each
        recipient's language (cut at 200 characters), the event carrying it in the default one.
    :param body: More text, optional.
    :param url: A local path to open (``/parties/42``), optional.
    :param kind: What sort of notice it is, e.g. ``assignment`` or ``sales.quote_won``.
    :param subject: What it is about: a saved record, ``(entity, id)`` or a ``Subject``; optional.
    :param actor: Who sends it (``user:<id>``, ``workflow-run:<id>``, ``plugin:<name>``).
    :param event_payload: More fields for the ``core.notification.created`` event.
    :returns: The notifications written and the event's id (``None`` when nobody was reached).
    :raises NotificationError: a missing or too long title, a non-local URL, an unknown recipient.
    """
    from ..events import publish

    message = title if isinstance(title, Message) else None
    title = (default_text(session, message)[:TITLE_MAX] if message else title or "").strip()
    if not title:
        raise NotificationError("A notification needs a title.")
    if len(title) > TITLE_MAX:
        raise NotificationError(f"A notification's title has at most {TITLE_MAX} characters.")
    if url is not None and (not is_local_path(url) or len(url) > URL_MAX):
        raise NotificationError(f"A notification links to a local path (/…), not {url[:60]!r}.")
    if not kind or len(kind) > KIND_MAX:
        raise NotificationError(f"A notification's kind has 1 to {KIND_MAX} characters.")
    if not actor:
        raise NotificationError("Name who sends the notification.")
    users, departments, teams = list(users), list(departments), list(teams)
    reached = recipients(session, users, departments, teams)
    if not reached:
        return Sent([], None)
    about = Subject.of(subject) if subject is not None else None
    if message is not None:  # each recipient's own language
        titles = {user_id: text[:TITLE_MAX].strip() or title
                  for user_id, text in render_for(session, message, reached).items()}
    else:
        titles = dict.fromkeys(reached, title)
    notifications = [
        Notification(user_id=user_id, title=titles[user_id], body=body or "", url=url, kind=kind,
                     actor=str(actor)[:100],
                     subject_type=about.entity[:100] if about else None, subject_id=about.id[:100] if about else None)
        for user_id in reached
    ]
    session.add_all(notifications)
    session.flush()
    payload = {"users": sorted(_ids(users)), "departments": sorted(_ids(departments)), "teams": sorted(_ids(teams)),
               "recipients": reached, "notifications": [n.id for n in notifications], "title": title,
               "message": title, "body": body or "", "kind": kind, "url": url}
    if message is not None:  # for receivers that write to people in their own language too
        payload.update(title_msgid=message.msgid, title_params=dict(message.params))
    payload.update(event_payload or {})
    event = publish(session, CREATED, about or ("core_notifications", notifications[0].id), payload, actor)
    return Sent(notifications, event.id)


def mine(user_id: int):
    """The statement of ``user_id``'s notifications, newest first."""
    return select(Notification).where(Notification.user_id == user_id)


def unread_count(session: Session, user_id: int) -> int:
    """How many of ``user_id``'s notifications are unread."""
    return session.scalar(select(func.count()).select_from(Notification).where(
        Notification.user_id == user_id, Notification.read_at.is_(None))) or 0


def mark_read(session: Session, user_id: int, notification_id: int) -> Notification | None:
    """Mark one of ``user_id``'s notifications read; ``None`` if they have no such notification."""
    notification = session.scalar(select(Notification).where(
        Notification.id == notification_id, Notification.user_id == user_id))
    if notification is not None and notification.read_at is None:
        notification.read_at = utcnow()
    return notification


def mark_all_read(session: Session, user_id: int) -> int:
    """Mark every unread notification of ``user_id`` read; returns how many were."""
    result = session.execute(update(Notification).where(
        Notification.user_id == user_id, Notification.read_at.is_(None)).values(read_at=utcnow())
        .execution_options(synchronize_session=False))
    return result.rowcount or 0
