"""Demo data: tasks, meetings and time for the core demo's staff and parties (idempotent)."""

from __future__ import annotations

from datetime import datetime, time, timedelta

import xrm_sdk as xrm
from sqlalchemy import select

from . import recurrence
from .models import Task
from .service import create_task, schedule_meeting, tenant_zone
from .timesheets import log_time

#: Marks the demo's records, so a second run adds nothing.
DEMO_MARK = "demo:activities"


def add_demo_data(session) -> None:
    if session.scalar(select(Task.id).where(Task.description.like(f"%{DEMO_MARK}%")).limit(1)) is not None:
        return
    staff = {user.email.split("@")[0]: user for user in session.scalars(select(xrm.User))}
    parties = session.scalars(select(xrm.Party).order_by(xrm.Party.id).limit(6)).all()
    tz = recurrence.zone(tenant_zone(session))
    today = xrm.utcnow().astimezone(tz).date()
    people = [staff.get(name) for name in ("nora.north", "sam.south", "carla.care")]
    people = [user for user in people if user is not None] or list(staff.values())[:1]
    for number, user in enumerate(people):
        party_ids = [parties[number].id] if number < len(parties) else []
        create_task(session, {
            "title": "Call back about the renewal", "description": f"Follow up on the offer. ({DEMO_MARK})",
            "due_at": datetime.combine(today, time(16), tz), "priority": "high", "assignee_user_id": user.id,
            "party_ids": party_ids, "reminders": [{"minutes_before": 60}],
            "checklist": [{"text": "Read the last e-mails"}, {"text": "Prepare the figures"}],
        }, actor=DEMO_MARK)
        create_task(session, {
            "title": "Send the signed contract", "description": f"Overdue on purpose. ({DEMO_MARK})",
            "due_on": today - timedelta(days=2), "assignee_user_id": user.id, "party_ids": party_ids,
        }, actor=DEMO_MARK)
        create_task(session, {
            "title": "Weekly pipeline review", "description": f"Every Monday. ({DEMO_MARK})",
            "due_on": today + timedelta(days=(7 - today.weekday()) % 7 or 7), "recurrence": "FREQ=WEEKLY;BYDAY=MO",
            "assignee_user_id": user.id,
        }, actor=DEMO_MARK)
        start = datetime.combine(today + timedelta(days=1), time(10 + number), tz)
        schedule_meeting(session, {
            "title": "Customer meeting", "description": f"Quarterly review. ({DEMO_MARK})",
            "starts_at": start, "ends_at": start + timedelta(hours=1), "time_zone": str(tz.key),
            "organiser_user_id": user.id, "attendee_party_ids": party_ids,
            "location": "Customer's office",
        }, actor=DEMO_MARK)
        if party_ids:
            log_time(session, {"day": today, "minutes": 45 + 15 * number, "party_id": party_ids[0],
                               "user_id": user.id, "note": "Preparation"}, actor=DEMO_MARK)
    if people:
        first = datetime.combine(today - timedelta(days=today.weekday()), time(9), tz)
        schedule_meeting(session, {
            "title": "Team stand-up", "description": f"Weekly. ({DEMO_MARK})", "starts_at": first,
            "ends_at": first + timedelta(minutes=15), "time_zone": str(tz.key), "recurrence": "FREQ=WEEKLY;BYDAY=MO",
            "organiser_user_id": people[0].id, "attendee_user_ids": [user.id for user in people],
            "video_url": "https://meet.example/standup",
        }, actor=DEMO_MARK)
    session.flush()



