"""Collaboration on any record: comments with mentions, followers, assignment, department shares, history.

Every function takes the caller's session (tenant-scoped, acting as the caller) and a record that
session loaded, so a record the caller may not read never gets here: :func:`find_record` answers
``NotFound`` for it, like for an id that does not exist.

Nobody learns of a record through collaboration that they may not read: a mention, a follow or an
assignment notifies only users whose own rights reach the record. A mentioned user who cannot read
it is reported back to the author (:attr:`Posted.not_notified`) with the reason, and told nothing.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

import marshmallow as ma
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from ..audit import record as audit
from ..db import utcnow
from ..errors import Conflict, NotFound
from ..events import publish
from ..identity import admin
from ..identity.fieldsecurity import models_of_resource
from ..identity.models import Department, GranteeKind, Share
from ..identity.ownership import Owned
from ..identity.principal import Principal, load_principal
from ..identity.scoping import PermissionDenied, can, principal_of
from ..models import AuditEntry, User
from ..notifications import N_, Message, notify
from .models import Comment, Follow

COMMENTED = "core.comment.created"
BODY_MAX = 5000
#: Audit entries the change history shows at most (newest first).
HISTORY_LENGTH = 100
#: An e-mail address right after an ``@`` (``@sue@acme.test``): the user mention the autocomplete inserts.
EMAIL_MENTION = re.compile(r"[A-Za-z0-9._%+-]+@[A-Za-z0-9-]+(?:\.[A-Za-z0-9-]+)+")
#: How a mention may not start: inside a word (the ``@`` of a bare e-mail address is no mention).
WORD_CHARACTER = re.compile(r"\w")

#: Record pages the core knows, for the links in notifications sent without a page (API calls):
#: resource -> (record id -> local path). Plugins' pages pass their own path from the panel.
_PAGES: dict[str, Callable[[int], str]] = {"core.party": lambda record_id: f"/parties/{record_id}"}


def page_of(resource: str, record_id: int) -> str | None:
    """The local path of a record's page, when the core knows it (``None`` otherwise)."""
    page = _PAGES.get(resource)
    return page(record_id) if page else None


# -- records --------------------------------------------------------------------------------------


def model_of(resource: str) -> type:
    """The ``Owned`` model of a permission resource; a 422 naming ``resource`` when there is none."""
    models = [m for m in models_of_resource(resource) if issubclass(m, Owned)]
    if not models:
        message = f"Unknown resource {resource!r}: name a record by its resource, e.g. core.party."
        raise ma.ValidationError({"resource": [message]})
    return models[0]


def find_record(session: Session, resource: str, record_id: int) -> Any:
    """The record as the session's principal sees it: ``NotFound`` when absent or out of reach."""
    found = session.get(model_of(resource), record_id)
    if found is None:
        raise NotFound(f"There is no {resource} {record_id} here.")
    return found


def resource_of(record: Any) -> str:
    return record.__permission_resource__


def _principal(session: Session) -> Principal:
    principal = principal_of(session)
    if principal is None or principal.user_id is None:
        raise PermissionDenied("only a signed-in user may collaborate on records")
    return principal


def readers(session: Session, record: Any, user_ids: Iterable[int]) -> set[int]:
    """Those of ``user_ids`` (active users) whose own rights let them read ``record``."""
    wanted = set(user_ids)
    if not wanted:
        return set()
    users = session.scalars(select(User).where(User.id.in_(wanted), User.active.is_(True))).all()
    return {user.id for user in users if can(session, load_principal(session, user), "read", record)}


# -- mentions -------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Mentions:
    """Who a comment's text mentions: user ids, department ids, and the ``@…`` that named nobody."""

    users: tuple[int, ...] = ()
    departments: tuple[int, ...] = ()
    unknown: tuple[str, ...] = ()


def parse_mentions(session: Session, text: str) -> Mentions:
    """The users (``@email``) and departments (``@Department name``, longest name first) ``text`` mentions."""
    departments = sorted(session.execute(select(Department.id, Department.name)).all(),
                         key=lambda row: -len(row.name))
    emails: dict[str, None] = {}
    department_ids: dict[int, None] = {}
    for match in re.finditer("@", text):
        start = match.end()
        if match.start() > 0 and WORD_CHARACTER.match(text[match.start() - 1]):
            continue
        email = EMAIL_MENTION.match(text, start)
        if email:
            emails[email.group(0).lower().rstrip(".")] = None
            continue
        rest = text[start:]
        for department_id, name in departments:
            after = rest[len(name):len(name) + 1]
            if rest[:len(name)].casefold() == name.casefold() and not (after and WORD_CHARACTER.match(after)):
                department_ids[department_id] = None
                break
    known = dict(session.execute(select(func.lower(User.email), User.id).where(
        func.lower(User.email).in_(list(emails)), User.active.is_(True))).all()) if emails else {}
    return Mentions(users=tuple(dict.fromkeys(known[e] for e in emails if e in known)),
                    departments=tuple(department_ids),
                    unknown=tuple(f"@{e}" for e in emails if e not in known))


# -- comments -------------------------------------------------------------------------------------


@dataclass
class Posted:
    """What posting a comment did: the comment, who was told, and who was not and why."""

    comment: Comment
    #: User ids notified of the mention (directly or through their department).
    mentioned: list[int] = field(default_factory=list)
    #: User ids notified as followers.
    followers: list[int] = field(default_factory=list)
    #: ``(who, why)`` for every mention that notified nobody, for the author's eyes.
    not_notified: list[tuple[str, str]] = field(default_factory=list)


def _clean_body(body: Any) -> str:
    text = (body or "").strip() if isinstance(body, str) else ""
    if not text:
        raise ma.ValidationError({"body": ["Write something to comment."]})
    if len(text) > BODY_MAX:
        raise ma.ValidationError({"body": [f"A comment has at most {BODY_MAX} characters."]})
    return text


def comments_of(record: Any):
    """The statement of a record's comments (order it as needed)."""
    return select(Comment).where(Comment.resource == resource_of(record), Comment.record_id == record.id)


def post_comment(session: Session, record: Any, body: str, *, url: str | None = None) -> Posted:
    """Comment on ``record`` as the session's user; notify mentioned readers and followers.

    The author follows the record from now on. Nothing is committed: the comment, the
    notifications and the ``core.comment.created`` event are part of the caller's transaction.

    :param url: The local page the notifications link to; defaults to the record's registered page.
    :raises marshmallow.ValidationError: an empty or too long text (field ``body``).
    """
    principal = _principal(session)
    text = _clean_body(body)
    if not can(session, principal, "read", record):  # a record handed over by code that did not scope it
        raise NotFound(f"There is no {resource_of(record)} {record.id} here.")
    mentions = parse_mentions(session, text)
    comment = Comment(resource=resource_of(record), record_id=record.id, author_id=principal.user_id, body=text,
                      mentions={"users": list(mentions.users), "departments": list(mentions.departments)})
    session.add(comment)
    session.flush()
    posted = Posted(comment, not_notified=[(name, "no active user has this e-mail address")
                                           for name in mentions.unknown])
    link = url or page_of(comment.resource, record.id)
    author = session.get(User, principal.user_id)
    snippet = text if len(text) <= 200 else text[:199] + "…"
    mentioned = _mention_recipients(session, record, mentions, principal.user_id, posted.not_notified)
    if mentioned:
        sent = notify(session, users=sorted(mentioned), title=Message(N_("%(name)s mentioned you"),
                                                                       {"name": author.display_name}),
                      body=snippet, url=link, kind="mention", subject=record, actor=principal.name)
        posted.mentioned = sent.recipients
    follower_ids = set(session.scalars(select(Follow.user_id).where(
        Follow.resource == comment.resource, Follow.record_id == record.id)))
    follower_ids -= {principal.user_id, *mentioned}
    followers = readers(session, record, follower_ids)
    if followers:
        sent = notify(session, users=sorted(followers), title=Message(N_("%(name)s commented"),
                                                                       {"name": author.display_name}),
                      body=snippet, url=link, kind="comment", subject=record, actor=principal.name)
        posted.followers = sent.recipients
    follow(session, record)
    publish(session, COMMENTED, record, {
        "resource": comment.resource, "record_id": record.id, "comment_id": comment.id,
        "author_id": principal.user_id, "mentioned_users": list(mentions.users),
        "mentioned_departments": list(mentions.departments), "notified": sorted(posted.mentioned),
    }, principal.name)
    return posted


def _mention_recipients(session: Session, record: Any, mentions: Mentions, author_id: int,
                        not_notified: list[tuple[str, str]]) -> set[int]:
    """The mentioned users and members of mentioned departments who may read ``record``; the
    others are added to ``not_notified`` with the reason."""
    users = {user.id: user for user in session.scalars(select(User).where(User.id.in_(mentions.users)))}
    able = readers(session, record, [uid for uid in mentions.users if uid != author_id])
    for user_id in mentions.users:
        if user_id != author_id and user_id not in able:
            not_notified.append((users[user_id].email, "cannot see this record"))
    reached = set(able)
    for department in session.scalars(select(Department).where(Department.id.in_(mentions.departments))):
        members = set(session.scalars(select(User.id).where(User.department_id == department.id,
                                                            User.active.is_(True)))) - {author_id}
        members_able = readers(session, record, members)
        if not members_able:
            not_notified.append((department.name, "no member of this department can see this record"))
        elif len(members_able) < len(members):
            blind = len(members) - len(members_able)
            not_notified.append((department.name, f"{blind} member(s) cannot see this record"))
        reached |= members_able
    return reached


def own_comment(session: Session, record: Any, comment_id: int) -> Comment:
    """One of ``record``'s comments: ``NotFound`` if it has none with this id."""
    comment = session.scalar(comments_of(record).where(Comment.id == comment_id))
    if comment is None:
        raise NotFound(f"There is no comment {comment_id} on {resource_of(record)} {record.id}.")
    return comment


def find_comment(session: Session, comment_id: int) -> tuple[Comment, Any]:
    """A comment and its record, if the session's principal may read the record (else ``NotFound``)."""
    comment = session.get(Comment, comment_id)
    if comment is None:
        raise NotFound(f"There is no comment {comment_id} here.")
    try:
        return comment, find_record(session, comment.resource, comment.record_id)
    except (NotFound, ma.ValidationError):
        raise NotFound(f"There is no comment {comment_id} here.") from None


def _require_author(session: Session, comment: Comment) -> Principal:
    principal = _principal(session)
    if comment.author_id != principal.user_id:
        raise PermissionDenied(f"{principal.name} may only change their own comments, not comment #{comment.id}")
    return principal


def edit_comment(session: Session, comment: Comment, body: str) -> Comment:
    """Change the text of one's own comment (audited, old -> new); mentions are not sent again."""
    principal = _require_author(session, comment)
    text = _clean_body(body)
    if text != comment.body:
        audit(session, principal.name, "core.comment.updated", f"{comment.resource}#{comment.record_id}",
              comment_id=comment.id, body=[comment.body, text])
        mentions = parse_mentions(session, text)
        comment.body, comment.edited_at = text, utcnow()
        comment.mentions = {"users": list(mentions.users), "departments": list(mentions.departments)}
    return comment


def delete_comment(session: Session, comment: Comment) -> None:
    """Delete one's own comment (audited with the text it had)."""
    principal = _require_author(session, comment)
    audit(session, principal.name, "core.comment.deleted", f"{comment.resource}#{comment.record_id}",
          comment_id=comment.id, body=[comment.body, None])
    session.delete(comment)


# -- follows --------------------------------------------------------------------------------------


def follower_ids(session: Session, record: Any) -> list[int]:
    return list(session.scalars(select(Follow.user_id).where(
        Follow.resource == resource_of(record), Follow.record_id == record.id).order_by(Follow.user_id)))


def is_following(session: Session, record: Any) -> bool:
    return _principal(session).user_id in follower_ids(session, record)


def follow(session: Session, record: Any) -> Follow:
    """Follow ``record`` as the session's user (again: no change)."""
    principal = _principal(session)
    existing = session.scalar(select(Follow).where(Follow.resource == resource_of(record),
                                                  Follow.record_id == record.id, Follow.user_id == principal.user_id))
    if existing is not None:
        return existing
    row = Follow(resource=resource_of(record), record_id=record.id, user_id=principal.user_id)
    session.add(row)
    session.flush()
    return row


def unfollow(session: Session, record: Any) -> bool:
    """Stop following ``record``; whether the user was following it."""
    principal = _principal(session)
    existing = session.scalar(select(Follow).where(Follow.resource == resource_of(record),
                                                  Follow.record_id == record.id, Follow.user_id == principal.user_id))
    if existing is None:
        return False
    session.delete(existing)
    session.flush()
    return True


# -- assignment and shares -----------------------------------------------------------------------


def assign(session: Session, record: Any, *, user_id: int | None = None, department_id: int | None = None,
           url: str | None = None) -> list[int]:
    """Give ``record`` to a user (its owner) or a department, and notify the new assignee.

    The write guard checks the ``assign`` right, and that the record stays within the caller's
    reach; the change history records old -> new. Members of a department are notified only if
    they may read the record. Returns the user ids notified.

    :raises marshmallow.ValidationError: neither or both of user and department, or an unknown one.
    """
    principal = _principal(session)
    if (user_id is None) == (department_id is None):
        raise ma.ValidationError({"assignee": ["Assign to one user or one department."]})
    if not can(session, principal, "assign", record):
        raise PermissionDenied(f"{principal.name} may not assign {resource_of(record)} #{record.id}")
    if user_id is not None:
        user = session.scalar(select(User).where(User.id == user_id, User.active.is_(True)))
        if user is None:
            raise ma.ValidationError({"user_id": [f"There is no active user {user_id} here."]})
        changed = ["owner_team_id", "owner_user_id"] if record.owner_user_id != user.id else []
        record.owner_user_id, record.owner_team_id = user.id, None
        recipients, what = readers(session, record, [user.id]) - {principal.user_id}, user.display_name
    else:
        department = session.get(Department, department_id)
        if department is None:
            raise ma.ValidationError({"department_id": [f"There is no department {department_id} here."]})
        changed = ["department_id"] if record.department_id != department.id else []
        record.department_id = department.id
        members = session.scalars(select(User.id).where(User.department_id == department.id, User.active.is_(True)))
        recipients, what = readers(session, record, members) - {principal.user_id}, department.name
    if not changed:
        return []
    if hasattr(record, "updated_at"):
        record.updated_at = utcnow()
    session.flush()  # the write guard checks the change before anyone is told about it
    if resource_of(record) == "core.party":
        publish(session, "core.party.updated", record, {"changed": changed}, principal.name)
    if not recipients:
        return []
    actor = session.get(User, principal.user_id)
    title = Message(N_("%(name)s assigned a record to %(assignee)s"), {"name": actor.display_name, "assignee": what})
    sent = notify(session, users=sorted(recipients), title=title,
                  body=_label(record), url=url or page_of(resource_of(record), record.id), kind="assignment",
                  subject=record, actor=principal.name)
    return sent.recipients


def _label(record: Any) -> str:
    for attribute in ("display_name", "name", "title"):
        value = getattr(record, attribute, None)
        if isinstance(value, str) and value:
            return value
    return f"{resource_of(record)} #{record.id}"


def share_with_department(session: Session, record: Any, department_id: int, actions: list[str],
                          expires_at: datetime | None = None) -> list[Share]:
    """Open ``record`` to a department for ``actions`` through the shares service (``share`` right).

    A department share is cut per member when read: it never gives a member more than their roles.

    :raises Conflict: the department already has a share of the record for one of the actions.
    """
    principal = _principal(session)
    if session.get(Department, department_id) is None:
        raise ma.ValidationError({"department_id": [f"There is no department {department_id} here."]})
    if not actions:
        raise ma.ValidationError({"actions": ["Choose at least one action to share."]})
    existing = set(session.scalars(select(Share.action).where(
        Share.resource == resource_of(record), Share.record_id == record.id,
        Share.grantee_kind == GranteeKind.DEPARTMENT, Share.grantee_id == department_id)))
    if existing & set(actions):
        raise Conflict(f"already shared with this department for {', '.join(sorted(existing & set(actions)))}")
    return admin.share(session, principal, record, GranteeKind.DEPARTMENT, department_id, actions, expires_at)


# -- history --------------------------------------------------------------------------------------


def audit_target(record: Any) -> str:
    """How the audit log names ``record`` (``core.party#42``)."""
    return f"{resource_of(record)}#{record.id}"


def history(session: Session, record: Any, limit: int = HISTORY_LENGTH) -> list[AuditEntry]:
    """The audit entries about ``record``, newest first: changes old -> new, shares, comment edits."""
    return list(session.scalars(select(AuditEntry).where(AuditEntry.target == audit_target(record))
                                .order_by(AuditEntry.at.desc(), AuditEntry.id.desc()).limit(limit)))
