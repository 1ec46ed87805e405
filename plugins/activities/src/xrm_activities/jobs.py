"""The periodic round: reminders that are due, tasks that became overdue, meetings that ended.

Each function takes an explicit ``now`` (UTC), so it can be tested at any moment; the periodic job
passes the platform clock's. Each is safe to run again: what it did is recorded (``fired_at``,
``overdue_notified_at``, ``ended_through``), so a second round at the same moment does nothing.
"""

from __future__ import annotations

from datetime import datetime, timedelta

import xrm_sdk as xrm
from sqlalchemy import or_, select
from sqlalchemy.orm import Session

from . import recurrence
from .models import OPEN_STATUSES, Meeting, Reminder, Task
from .service import due_moment, meeting_payload, task_payload, tenant_zone

ACTOR = "plugin:activities"


def fire_due_reminders(session: Session, now: datetime) -> int:
    """Notify the assignees of open tasks whose reminders are due at ``now``; returns how many fired."""
    due = session.scalars(
        select(Reminder).join(Task, Task.id == Reminder.task_id)
        .where(Reminder.fire_at <= now, Reminder.fired_at.is_(None), Task.status.in_(OPEN_STATUSES))
        .order_by(Reminder.fire_at, Reminder.id)
    ).all()
    zone_name = tenant_zone(session)
    for reminder in due:
        task = reminder.task
        moment = due_moment(task, zone_name)
        local = moment.astimezone(recurrence.zone(zone_name)).strftime("%Y-%m-%d %H:%M")
        _notify_assignees(session, task, title=f"Reminder: {task.title}"[:200],
                          body=f"Due {local} ({zone_name}).", kind="activities.reminder")
        reminder.fired_at = now
    return len(due)


def publish_overdue_tasks(session: Session, now: datetime) -> int:
    """Publish ``activities.task.overdue`` (and notify the assignee) once per task that passed its due moment."""
    zone_name = tenant_zone(session)
    today = now.astimezone(recurrence.zone(zone_name)).date()
    overdue = session.scalars(
        select(Task).where(Task.status.in_(OPEN_STATUSES), Task.overdue_notified_at.is_(None),
                           or_(Task.due_at <= now, Task.due_on < today))
        .order_by(Task.id)
    ).all()
    for task in overdue:
        task.overdue_notified_at = now
        xrm.publish(session, "activities.task.overdue", task, task_payload(task), ACTOR, related=task.party_ids)
        _notify_assignees(session, task, title=f"Overdue: {task.title}"[:200],
                          body="This task is past its due date.", kind="activities.overdue")
    return len(overdue)


def publish_ended_meetings(session: Session, now: datetime) -> int:
    """Publish ``activities.meeting.ended`` for each occurrence that ended since the last round."""
    published = 0
    # A single meeting is done with once its end was published; a series is looked at until it ends.
    candidates = select(Meeting).where(Meeting.starts_at <= now,
                                       or_(Meeting.recurrence.is_not(None), Meeting.ended_through.is_(None)))
    for meeting in session.scalars(candidates.order_by(Meeting.id)):
        length = meeting.ends_at - meeting.starts_at
        if meeting.ended_through is not None:
            since = meeting.ended_through - length + timedelta(microseconds=1)
        elif meeting.recurrence:  # the occurrences before the series was entered are no news
            since = max(meeting.starts_at, meeting.created_at - length)
        else:
            since = meeting.starts_at
        ends = [start + length for start in recurrence.occurrences(
            meeting.starts_at, meeting.recurrence, meeting.time_zone, since, now - length + timedelta(microseconds=1))]
        for end in ends:
            xrm.publish(session, "activities.meeting.ended", meeting,
                        {**meeting_payload(meeting), "occurrence_start": (end - length).isoformat(),
                         "occurrence_end": end.isoformat()},
                        ACTOR, related=[a.party_id for a in meeting.attendees if a.party_id])
        if ends:
            meeting.ended_through = ends[-1]
            published += len(ends)
    return published


def run_round(session: Session, now: datetime) -> dict[str, int]:
    """One periodic round for the session's tenant (the ``activities.reminders`` job)."""
    return {
        "reminders": fire_due_reminders(session, now),
        "overdue": publish_overdue_tasks(session, now),
        "meetings_ended": publish_ended_meetings(session, now),
    }


def _notify_assignees(session: Session, task: Task, *, title: str, body: str, kind: str) -> None:
    users = [task.owner_user_id] if task.owner_user_id else []
    teams = [task.owner_team_id] if task.owner_team_id and not users else []
    departments = [task.department_id] if task.department_id and not users and not teams else []
    xrm.notify(session, users=users, teams=teams, departments=departments, title=title, body=body,
               url=f"/activities/tasks/{task.id}", kind=kind, subject=task, actor=ACTOR)

