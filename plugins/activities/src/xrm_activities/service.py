"""Tasks and meetings: what the plugin does, independent of how it is asked (API, page, workflow, CLI).

Every function works in the caller's tenant- and permission-scoped session, publishes its events in
the same transaction and commits nothing. Bad input raises :class:`InvalidActivity` naming the
field; the session's rights are enforced by the platform when the changes are flushed.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from datetime import UTC, date, datetime, time, timedelta
from typing import Any

import xrm_sdk as xrm
from sqlalchemy import or_, select
from sqlalchemy.orm import Session

from . import recurrence
from .business import business_time_before
from .models import OPEN_STATUSES, Attendee, ChecklistItem, Meeting, Reminder, Task, TaskLink, TaskStatus

#: A link to a record of any plugin: ``<plugin>.<entity>:<id>`` (``sales.deal:42``).
RECORD_REFERENCE = re.compile(r"^[a-z][a-z0-9_]*\.[a-z][a-z0-9_]*:[A-Za-z0-9_-]{1,64}$")

TASK_FIELDS = ("title", "description", "priority", "status", "due_at", "due_on", "recurrence")


class InvalidActivity(xrm.ValidationError, xrm.XrmError):
    """A task, meeting or time entry that cannot be saved; ``field`` names the offending input.

    A validation error (the API answers 422 naming the field) and an ``XrmError`` (the CLI prints it).
    """

    def __init__(self, field: str, reason: str):
        super().__init__({field: [reason]})
        self.field = field
        self.reason = reason

    def __str__(self) -> str:
        return f"{self.field}: {self.reason}"


def actor_of(session: Session) -> str:
    principal = xrm.principal_of(session)
    return principal.name if principal else "plugin:activities"


def tenant_zone(session: Session) -> str:
    """The tenant's time zone: the one users' days, all-day tasks and agendas are in."""
    return xrm.tenant_time_zone(session)


def due_moment(task: Task, zone_name: str) -> datetime | None:
    """When ``task`` is due: its ``due_at``, or the end of its ``due_on`` day in ``zone_name`` (UTC)."""
    if task.due_at is not None:
        return task.due_at
    if task.due_on is not None:
        following = datetime.combine(task.due_on + timedelta(days=1), time(), recurrence.zone(zone_name))
        return following.astimezone(UTC)
    return None


# --- tasks ------------------------------------------------------------------------------------------


def create_task(session: Session, data: Mapping[str, Any], *, actor: str | None = None) -> Task:
    """Create a task from ``data`` (the API schema's fields) and publish ``activities.task.created``.

    The assignee is ``assignee_user_id``, ``assignee_team_id`` or ``department_id`` (the task's
    owner); a user's department becomes the task's when none is given.
    """
    task = Task(title=data["title"], description=data.get("description", ""))
    _apply_task_fields(session, task, data)
    _assign(session, task, data)
    task.checklist = [ChecklistItem(position=i, text=item["text"], done=item.get("done", False))
                      for i, item in enumerate(data.get("checklist", []))]
    task.links = _links(session, data.get("party_ids", []), data.get("records", []))
    task.reminders = [Reminder(minutes_before=r["minutes_before"], business_time=r.get("business_time", False))
                      for r in data.get("reminders", [])]
    _schedule_reminders(session, task)
    session.add(task)
    session.flush()
    xrm.publish(session, "activities.task.created", task, task_payload(task), actor or actor_of(session),
                related=task.party_ids)
    return task


def update_task(session: Session, task: Task, changes: Mapping[str, Any], *, actor: str | None = None,
                now: datetime | None = None) -> Task:
    """Change ``task``; a status moving to ``done`` completes it (see :func:`complete_task`)."""
    actor = actor or actor_of(session)
    before = task_payload(task)
    completing = changes.get("status") == TaskStatus.DONE and task.status != TaskStatus.DONE
    _apply_task_fields(session, task, {k: v for k, v in changes.items() if k != "status" or not completing})
    if {"assignee_user_id", "assignee_team_id", "department_id"} & set(changes):
        _assign(session, task, changes)
    if "checklist" in changes:
        task.checklist = [ChecklistItem(position=i, text=item["text"], done=item.get("done", False))
                          for i, item in enumerate(changes["checklist"])]
    if "party_ids" in changes or "records" in changes:
        task.links = _links(session, changes.get("party_ids", task.party_ids), changes.get("records", task.records))
    if "reminders" in changes:
        task.reminders = [Reminder(minutes_before=r["minutes_before"], business_time=r.get("business_time", False))
                          for r in changes["reminders"]]
    if {"due_at", "due_on", "reminders"} & set(changes):
        task.overdue_notified_at = None
        _schedule_reminders(session, task)
    session.flush()
    after = task_payload(task)
    changed = sorted(k for k in after if after[k] != before[k])
    if changed:
        xrm.publish(session, "activities.task.updated", task, {**after, "changed": changed}, actor,
                    related=task.party_ids)
    if completing:
        complete_task(session, task, now=now, actor=actor)
    return task


def complete_task(session: Session, task: Task, *, now: datetime | None = None, actor: str | None = None) -> Task | None:
    """Mark ``task`` done and, when it recurs, create its next occurrence (once); return that one."""
    now = now or xrm.utcnow()
    actor = actor or actor_of(session)
    task.status = TaskStatus.DONE
    task.completed_at = now
    following = None
    if task.recurrence and task.next_occurrence_id is None:
        following = _next_occurrence(session, task)
    session.flush()
    if following is not None:
        task.next_occurrence_id = following.id
    xrm.publish(session, "activities.task.completed", task,
                {**task_payload(task), "next_task_id": following.id if following else None}, actor,
                related=task.party_ids)
    return following


def _next_occurrence(session: Session, task: Task) -> Task | None:
    zone_name = tenant_zone(session)
    due_at, due_on = None, None
    if task.due_on is not None:
        due_on = recurrence.next_day(task.due_on, task.recurrence, task.due_on)
        if due_on is None:
            return None
    else:
        due_at = recurrence.next_occurrence(task.due_at, task.recurrence, zone_name, task.due_at)
        if due_at is None:
            return None
    data = {
        "title": task.title, "description": task.description, "priority": task.priority,
        "due_at": due_at, "due_on": due_on, "recurrence": task.recurrence,
        "checklist": [{"text": item.text} for item in task.checklist],
        "party_ids": task.party_ids, "records": task.records,
        "reminders": [{"minutes_before": r.minutes_before, "business_time": r.business_time} for r in task.reminders],
    }
    following = Task(title=task.title, owner_user_id=task.owner_user_id, owner_team_id=task.owner_team_id,
                     department_id=task.department_id)
    _apply_task_fields(session, following, data)
    following.checklist = [ChecklistItem(position=i, text=c["text"]) for i, c in enumerate(data["checklist"])]
    following.links = _links(session, data["party_ids"], data["records"])
    following.reminders = [Reminder(**r) for r in data["reminders"]]
    _schedule_reminders(session, following)
    session.add(following)
    session.flush()
    xrm.publish(session, "activities.task.created", following, task_payload(following), actor_of(session),
                related=following.party_ids)
    return following


def _apply_task_fields(session: Session, task: Task, data: Mapping[str, Any]) -> None:
    for name in TASK_FIELDS:
        if name in data:
            setattr(task, name, data[name])
    if task.due_at is not None:  # a caller's moment: one without an offset is UTC, as the API reads it
        task.due_at = task.due_at.replace(tzinfo=UTC) if task.due_at.tzinfo is None else task.due_at.astimezone(UTC)
    if task.due_at is not None and task.due_on is not None:
        raise InvalidActivity("due_on", "give due_at or due_on, not both")
    if task.recurrence:
        if task.due_at is None and task.due_on is None:
            raise InvalidActivity("recurrence", "a recurring task needs a due date")
        try:
            recurrence.parse_rule(task.recurrence, task.due_on or task.due_at.replace(tzinfo=None))
        except recurrence.RecurrenceError as error:
            raise InvalidActivity("recurrence", str(error)) from None


def _assign(session: Session, task: Task, data: Mapping[str, Any]) -> None:
    user_id, team_id = data.get("assignee_user_id"), data.get("assignee_team_id")
    department_id = data.get("department_id")
    if user_id is not None:
        user = session.get(xrm.User, user_id)
        if user is None or not user.active:
            raise InvalidActivity("assignee_user_id", f"there is no active user {user_id}")
        task.owner_user_id, task.owner_team_id = user_id, None
        department_id = department_id if department_id is not None else user.department_id
    elif team_id is not None:
        if session.get(xrm.Team, team_id) is None:
            raise InvalidActivity("assignee_team_id", f"there is no team {team_id}")
        task.owner_user_id, task.owner_team_id = None, team_id
    if department_id is not None:
        if session.get(xrm.Department, department_id) is None:
            raise InvalidActivity("department_id", f"there is no department {department_id}")
        task.department_id = department_id


def _links(session: Session, party_ids: Iterable[int], records: Iterable[str]) -> list[TaskLink]:
    links = []
    for party_id in dict.fromkeys(party_ids):
        if session.get(xrm.Party, party_id) is None:
            raise InvalidActivity("party_ids", f"there is no party {party_id}")
        links.append(TaskLink(party_id=party_id))
    for record in dict.fromkeys(records):
        if not RECORD_REFERENCE.match(record):
            raise InvalidActivity("records", f"{record!r} is not '<plugin>.<entity>:<id>'")
        links.append(TaskLink(record=record))
    return links


def _schedule_reminders(session: Session, task: Task) -> None:
    """Compute each reminder's firing moment from the task's due moment; unfire the ones moved."""
    due = due_moment(task, tenant_zone(session))
    for reminder in task.reminders:
        reminder.fired_at = None
        if due is None:
            reminder.fire_at = None
        elif reminder.business_time:
            reminder.fire_at = _business_before(session, task, due, timedelta(minutes=reminder.minutes_before))
        else:
            reminder.fire_at = due - timedelta(minutes=reminder.minutes_before)


def _business_before(session: Session, task: Task, due: datetime, amount: timedelta) -> datetime:
    """``amount`` of business time before ``due``, on the calendar of the task's department."""
    return business_time_before(session, due, amount, department_id=task.department_id)


def task_payload(task: Task) -> dict[str, Any]:
    """The task as events carry it (plain JSON values)."""
    return {
        "title": task.title,
        "status": str(task.status or TaskStatus.OPEN),
        "priority": str(task.priority) if task.priority else "normal",
        "due_at": task.due_at.astimezone(UTC).isoformat() if task.due_at else None,
        "due_on": task.due_on.isoformat() if task.due_on else None,
        "assignee_user_id": task.owner_user_id,
        "assignee_team_id": task.owner_team_id,
        "department_id": task.department_id,
    }


def overdue_tasks(session: Session, now: datetime, *, owner_user_id: int | None = None, limit: int = 200) -> list[Task]:
    """Open tasks past their due moment that the session may see, longest overdue first (at most ``limit``).

    A task due on a day is overdue once that day is over on the tenant's clock.
    """
    today = now.astimezone(recurrence.zone(tenant_zone(session))).date()
    statement = select(Task).where(Task.status.in_(OPEN_STATUSES), or_(Task.due_at <= now, Task.due_on < today))
    if owner_user_id is not None:
        statement = statement.where(Task.owner_user_id == owner_user_id)
    # Tasks due on a day, then those due at a moment; spelled out so both databases agree on NULLs.
    order = (Task.due_on.is_(None), Task.due_on, Task.due_at, Task.id)
    return list(session.scalars(statement.order_by(*order).limit(limit)))


# --- meetings ---------------------------------------------------------------------------------------


def schedule_meeting(session: Session, data: Mapping[str, Any], *, actor: str | None = None) -> tuple[Meeting, list[dict]]:
    """Create a meeting or call and publish ``activities.meeting.scheduled``.

    :returns: the meeting and its conflicts (:func:`conflicts`): overlapping meetings of its user
        attendees, which are warnings, not a refusal.
    """
    meeting = Meeting(title=data["title"])
    _apply_meeting_fields(session, meeting, data)
    organiser = xrm.principal_of(session)
    if organiser is not None and organiser.user_id is not None and meeting.owner_user_id is None:
        meeting.owner_user_id = organiser.user_id
    meeting.attendees = _attendees(session, data.get("attendee_user_ids", []), data.get("attendee_party_ids", []))
    session.add(meeting)
    session.flush()
    xrm.publish(session, "activities.meeting.scheduled", meeting, meeting_payload(meeting),
                actor or actor_of(session), related=[a.party_id for a in meeting.attendees if a.party_id])
    return meeting, conflicts(session, meeting)


def update_meeting(session: Session, meeting: Meeting, changes: Mapping[str, Any], *,
                   actor: str | None = None) -> list[dict]:
    """Change ``meeting``; returns its conflicts after the change."""
    _apply_meeting_fields(session, meeting, {**changes})
    if "attendee_user_ids" in changes or "attendee_party_ids" in changes:
        meeting.attendees = _attendees(
            session,
            changes.get("attendee_user_ids", [a.user_id for a in meeting.attendees if a.user_id]),
            changes.get("attendee_party_ids", [a.party_id for a in meeting.attendees if a.party_id]))
    session.flush()
    xrm.publish(session, "activities.meeting.updated", meeting, meeting_payload(meeting),
                actor or actor_of(session), related=[a.party_id for a in meeting.attendees if a.party_id])
    return conflicts(session, meeting)


MEETING_FIELDS = ("title", "kind", "description", "location", "video_url", "time_zone", "all_day", "recurrence",
                  "ical_uid")


def _apply_meeting_fields(session: Session, meeting: Meeting, data: Mapping[str, Any]) -> None:
    for name in MEETING_FIELDS:
        if name in data:
            setattr(meeting, name, data[name])
    if data.get("organiser_user_id") is not None:
        if session.get(xrm.User, data["organiser_user_id"]) is None:
            raise InvalidActivity("organiser_user_id", f"there is no user {data['organiser_user_id']}")
        meeting.owner_user_id = data["organiser_user_id"]
    meeting.time_zone = meeting.time_zone or tenant_zone(session)
    try:
        tz = recurrence.zone(meeting.time_zone)
    except recurrence.RecurrenceError as error:
        raise InvalidActivity("time_zone", str(error)) from None
    if meeting.all_day:
        first = data.get("start_day") or (meeting.starts_at and meeting.starts_at.astimezone(tz).date())
        days = data.get("days", None)
        if first is None:
            raise InvalidActivity("start_day", "an all-day event needs its first day")
        if days is None:
            days = max(1, (meeting.ends_at - meeting.starts_at).days) if meeting.ends_at else 1
        meeting.starts_at = datetime.combine(first, time(), tz).astimezone(UTC)
        meeting.ends_at = datetime.combine(first + timedelta(days=days), time(), tz).astimezone(UTC)
    else:
        if "starts_at" in data:
            meeting.starts_at = _localised(data["starts_at"], tz)
        if "ends_at" in data:
            meeting.ends_at = _localised(data["ends_at"], tz)
        if meeting.starts_at is None:
            raise InvalidActivity("starts_at", "a meeting needs a start")
        if meeting.ends_at is None:
            meeting.ends_at = meeting.starts_at + timedelta(hours=1)
    if meeting.ends_at <= meeting.starts_at:
        raise InvalidActivity("ends_at", "a meeting ends after it starts")
    if meeting.recurrence:
        try:
            recurrence.parse_rule(meeting.recurrence, meeting.starts_at.astimezone(tz).replace(tzinfo=None))
        except recurrence.RecurrenceError as error:
            raise InvalidActivity("recurrence", str(error)) from None


def _localised(moment: datetime, tz) -> datetime:
    """A moment given without an offset is on the meeting's wall clock; one with an offset is exact."""
    return (moment.replace(tzinfo=tz) if moment.tzinfo is None else moment).astimezone(UTC)


def _attendees(session: Session, user_ids: Iterable[int], party_ids: Iterable[int]) -> list[Attendee]:
    attendees = []
    for user_id in dict.fromkeys(user_ids):
        user = session.get(xrm.User, user_id)
        if user is None or not user.active:
            raise InvalidActivity("attendee_user_ids", f"there is no active user {user_id}")
        attendees.append(Attendee(user_id=user_id))
    for party_id in dict.fromkeys(party_ids):
        if session.get(xrm.Party, party_id) is None:
            raise InvalidActivity("attendee_party_ids", f"there is no party {party_id}")
        attendees.append(Attendee(party_id=party_id))
    return attendees


def meeting_payload(meeting: Meeting) -> dict[str, Any]:
    return {
        "title": meeting.title,
        "kind": str(meeting.kind or "meeting"),
        "starts_at": meeting.starts_at.astimezone(UTC).isoformat(),
        "ends_at": meeting.ends_at.astimezone(UTC).isoformat(),
        "time_zone": meeting.time_zone,
        "all_day": bool(meeting.all_day),
        "organiser_user_id": meeting.owner_user_id,
        "attendee_user_ids": [a.user_id for a in meeting.attendees if a.user_id],
        "attendee_party_ids": [a.party_id for a in meeting.attendees if a.party_id],
    }


def participants(meeting: Meeting) -> set[int]:
    """The users taking part: the organiser and the user attendees."""
    users = {a.user_id for a in meeting.attendees if a.user_id}
    if meeting.owner_user_id:
        users.add(meeting.owner_user_id)
    return users


def meetings_between(session: Session, since: datetime, until: datetime, *, user_id: int | None = None,
                     exclude: int | None = None) -> list[tuple[Meeting, datetime, datetime]]:
    """Occurrences ``(meeting, start, end)`` (UTC) overlapping [since, until) that the session may see.

    With ``user_id``, only the meetings that user organises or attends.
    """
    statement = select(Meeting).where(Meeting.starts_at < until)
    if exclude is not None:
        statement = statement.where(Meeting.id != exclude)
    if user_id is not None:
        attending = select(Attendee.meeting_id).where(Attendee.user_id == user_id)
        statement = statement.where((Meeting.owner_user_id == user_id) | Meeting.id.in_(attending))
    found = []
    for meeting in session.scalars(statement.order_by(Meeting.starts_at, Meeting.id)):
        length = meeting.ends_at - meeting.starts_at
        for start in recurrence.occurrences(meeting.starts_at, meeting.recurrence, meeting.time_zone,
                                            since - length, until):
            if start + length > since:
                found.append((meeting, start, start + length))
    found.sort(key=lambda occurrence: (occurrence[1], occurrence[0].id))
    return found


#: How far ahead a recurring meeting's conflicts are looked for.
CONFLICT_HORIZON = timedelta(days=90)


def conflicts(session: Session, meeting: Meeting) -> list[dict]:
    """Other meetings (that the session may see) overlapping this one for one of its participants."""
    start = meeting.starts_at
    length = meeting.ends_at - start
    horizon = start + (CONFLICT_HORIZON if meeting.recurrence else length)
    mine = [(s, s + length) for s in recurrence.occurrences(start, meeting.recurrence, meeting.time_zone,
                                                            start, horizon + timedelta(seconds=1))]
    found: dict[tuple[int, int, str], dict] = {}
    for user_id in sorted(participants(meeting)):
        for other, other_start, other_end in meetings_between(session, start, horizon + length, user_id=user_id,
                                                              exclude=meeting.id):
            if any(s < other_end and other_start < e for s, e in mine):
                key = (user_id, other.id, other_start.isoformat())
                found.setdefault(key, {"user_id": user_id, "meeting_id": other.id, "title": other.title,
                                       "starts_at": other_start.isoformat(), "ends_at": other_end.isoformat()})
    return list(found.values())


def day_bounds(day: date, zone_name: str) -> tuple[datetime, datetime]:
    """[start, end) of ``day`` on ``zone_name``'s wall clock, in UTC."""
    tz = recurrence.zone(zone_name)
    return (datetime.combine(day, time(), tz).astimezone(UTC),
            datetime.combine(day + timedelta(days=1), time(), tz).astimezone(UTC))
