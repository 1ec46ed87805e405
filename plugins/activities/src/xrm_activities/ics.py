"""iCalendar: each user's private feed (their meetings and dated tasks) and importing events.

The feed URL carries a token naming the tenant and the user plus a secret; only the secret's
SHA-256 is stored, so a database leak does not leak feeds. Issuing a new token revokes the old one.
The feed is read through a session acting as the token's user, so it shows exactly what they may see.
"""

from __future__ import annotations

import hashlib
import secrets
from datetime import UTC, date, datetime, timedelta
from typing import Any

import xrm_sdk as xrm
from icalendar import Calendar, Event, Todo, vRecur
from sqlalchemy import select, update
from sqlalchemy.orm import Session

from . import recurrence
from .models import OPEN_STATUSES, Attendee, FeedToken, Meeting, Task
from .service import InvalidActivity, schedule_meeting

PRODUCT = "-//XRM//Activities//EN"
#: How far back the feed reaches (recurring series are sent whole, as RRULEs).
FEED_PAST = timedelta(days=90)


def _digest(secret: str) -> str:
    return hashlib.sha256(secret.encode()).hexdigest()


def issue_feed_token(session: Session, user_id: int, tenant_slug: str) -> str:
    """A new feed token for ``user_id`` (shown once); their previous tokens stop working."""
    revoke_feed_tokens(session, user_id)
    secret = secrets.token_urlsafe(32)
    session.add(FeedToken(user_id=user_id, token_hash=_digest(secret)))
    session.flush()
    return f"{tenant_slug}.{user_id}.{secret}"


def revoke_feed_tokens(session: Session, user_id: int) -> int:
    """Revoke every live feed token of ``user_id``; returns how many were."""
    result = session.execute(update(FeedToken).where(FeedToken.user_id == user_id, FeedToken.revoked_at.is_(None))
                             .values(revoked_at=xrm.utcnow()).execution_options(synchronize_session=False))
    return result.rowcount or 0


def feed_for_token(token: str) -> bytes:
    """The iCalendar feed a token opens, read as the token's user.

    :raises xrm.NotFound: an unknown, malformed or revoked token, a tenant that is not active or
        without this plugin, or a user who is no longer active: the same answer for all.
    """
    parts = token.split(".", 2)
    if len(parts) != 3 or not parts[1].isdigit():
        raise xrm.NotFound("There is nothing here.")
    slug, user_id, secret = parts[0], int(parts[1]), parts[2]
    with xrm.public_session("activities", slug) as session:
        live = session.scalar(select(FeedToken.id).where(
            FeedToken.user_id == user_id, FeedToken.token_hash == _digest(secret), FeedToken.revoked_at.is_(None)))
        if live is None or xrm.act_as_user(session, user_id) is None:
            raise xrm.NotFound("There is nothing here.")
        return user_feed(session, user_id)


def user_feed(session: Session, user_id: int) -> bytes:
    """``user_id``'s meetings (organised or attended) and open dated tasks, as an iCalendar document."""
    calendar = Calendar()
    calendar.add("prodid", PRODUCT)
    calendar.add("version", "2.0")
    calendar.add("x-wr-calname", "XRM activities")
    since = xrm.utcnow() - FEED_PAST
    attending = select(Attendee.meeting_id).where(Attendee.user_id == user_id)
    meetings = session.scalars(select(Meeting).where(
        (Meeting.owner_user_id == user_id) | Meeting.id.in_(attending)).order_by(Meeting.starts_at, Meeting.id))
    for meeting in meetings:
        if meeting.recurrence or meeting.ends_at >= since:
            calendar.add_component(meeting_event(meeting))
    tasks = session.scalars(select(Task).where(
        Task.owner_user_id == user_id, Task.status.in_(OPEN_STATUSES),
        (Task.due_at.is_not(None)) | (Task.due_on.is_not(None))).order_by(Task.id))
    for task in tasks:
        calendar.add_component(task_todo(task))
    calendar.add_missing_timezones()
    return calendar.to_ical()


def meeting_event(meeting: Meeting) -> Event:
    tz = recurrence.zone(meeting.time_zone)
    event = Event()
    event.add("uid", meeting.ical_uid or f"meeting-{meeting.id}@activities.xrm")
    event.add("dtstamp", meeting.created_at.astimezone(UTC))
    event.add("summary", meeting.title)
    if meeting.all_day:
        event.add("dtstart", meeting.starts_at.astimezone(tz).date())
        event.add("dtend", meeting.ends_at.astimezone(tz).date())
    else:
        event.add("dtstart", meeting.starts_at.astimezone(tz))
        event.add("dtend", meeting.ends_at.astimezone(tz))
    if meeting.recurrence:
        rule = meeting.recurrence.strip()
        event.add("rrule", vRecur.from_ical(rule[6:] if rule.upper().startswith("RRULE:") else rule))
    if meeting.location:
        event.add("location", meeting.location)
    if meeting.video_url:
        event.add("url", meeting.video_url)
    if meeting.description:
        event.add("description", meeting.description)
    event.add("categories", [str(meeting.kind)])
    return event


def task_todo(task: Task) -> Todo:
    todo = Todo()
    todo.add("uid", f"task-{task.id}@activities.xrm")
    todo.add("dtstamp", task.created_at.astimezone(UTC))
    todo.add("summary", task.title)
    todo.add("due", task.due_on if task.due_on is not None else task.due_at.astimezone(UTC))
    todo.add("status", "IN-PROCESS" if str(task.status) == "in_progress" else "NEEDS-ACTION")
    todo.add("priority", {"urgent": 1, "high": 3, "normal": 5, "low": 9}[str(task.priority)])
    if task.description:
        todo.add("description", task.description)
    return todo


def import_events(session: Session, content: bytes, *, organiser_user_id: int | None = None) -> dict[str, int]:
    """Add the VEVENTs of an iCalendar file as meetings; events already imported (same UID) are skipped.

    Every event is checked before anything is added: a malformed file raises :class:`InvalidActivity`
    (field ``file``) naming the problem, and nothing is written.
    """
    try:
        calendar = Calendar.from_ical(content)
    except (ValueError, IndexError, KeyError) as error:
        raise InvalidActivity("file", f"not an iCalendar file: {error}") from None
    if isinstance(calendar, list) or calendar.name != "VCALENDAR":
        raise InvalidActivity("file", "not an iCalendar file: expected one VCALENDAR")
    prepared = [_event_data(number, component, session)
                for number, component in enumerate(calendar.walk("VEVENT"), start=1)]
    known = set(session.scalars(select(Meeting.ical_uid).where(
        Meeting.ical_uid.in_([data["ical_uid"] for data in prepared]))))
    added = 0
    for data in prepared:
        if data["ical_uid"] in known:
            continue
        if organiser_user_id is not None:
            data["organiser_user_id"] = organiser_user_id
        try:
            schedule_meeting(session, data)
        except InvalidActivity as error:
            raise InvalidActivity("file", f"event {data['ical_uid']!r}: {error.reason}") from None
        known.add(data["ical_uid"])
        added += 1
    return {"added": added, "skipped": len(prepared) - added}


def _event_data(number: int, event: Any, session: Session) -> dict[str, Any]:
    where = f"event {number}"
    uid = str(event.get("uid") or "").strip()
    if not uid:
        raise InvalidActivity("file", f"{where} has no UID")
    if len(uid) > 255:
        raise InvalidActivity("file", f"{where}: its UID is longer than 255 characters")
    try:
        start = event.decoded("dtstart")
    except (KeyError, ValueError):
        raise InvalidActivity("file", f"{where} ({uid}) has no valid DTSTART") from None
    try:
        end = event.decoded("dtend") if "dtend" in event else start + (event.decoded("duration")
                                                                       if "duration" in event else timedelta())
    except (KeyError, ValueError, TypeError):
        raise InvalidActivity("file", f"{where} ({uid}) has an invalid DTEND or DURATION") from None
    data: dict[str, Any] = {
        "title": str(event.get("summary") or "(no title)")[:200],
        "description": str(event.get("description") or ""),
        "location": str(event.get("location") or "")[:300],
        "ical_uid": uid,
    }
    if "rrule" in event:
        data["recurrence"] = event["rrule"].to_ical().decode()
    if isinstance(start, date) and not isinstance(start, datetime):
        end_day = end if isinstance(end, date) and not isinstance(end, datetime) else start + timedelta(days=1)
        data.update(all_day=True, start_day=start, days=max(1, (end_day - start).days))
        return data
    zone_name = _zone_name(start) or xrm.tenant_time_zone(session)
    if end == start:  # an instant (RFC 5545 allows it): shown as a short meeting
        end = start + timedelta(minutes=30)
    data.update(time_zone=zone_name, starts_at=start, ends_at=end)
    return data


def _zone_name(moment: datetime) -> str | None:
    """The IANA name of ``moment``'s zone; ``None`` for floating times or bare offsets (the tenant's zone is used)."""
    if moment.tzinfo is None:
        return None
    name = getattr(moment.tzinfo, "key", None) or getattr(moment.tzinfo, "zone", None)
    if name:
        return str(name)
    return "UTC" if moment.utcoffset() == timedelta(0) else None
