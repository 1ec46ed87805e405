"""Reminders, overdue tasks and ended meetings: the periodic round, at explicit moments and on the clock."""

from datetime import UTC, date, datetime, timedelta

import xrm_sdk as xrm
from sqlalchemy import select
from xrm_activities.actions import CREATE_TASK
from xrm_activities.jobs import fire_due_reminders, publish_ended_meetings, publish_overdue_tasks
from xrm_activities.service import create_task, schedule_meeting, update_task

DUE = datetime(2026, 3, 27, 15, tzinfo=UTC)


def _notifications(session, user_id):
    return [n.title for n in session.scalars(select(xrm.Notification).where(xrm.Notification.user_id == user_id)
                                             .order_by(xrm.Notification.id))]


def test_a_reminder_fires_once_at_its_moment_and_not_before(xrm_session, xrm_staff, xrm_events):
    _client, user_id, _department = xrm_staff("Sales North")
    task = create_task(xrm_session, {"title": "Call ACME", "due_at": DUE, "assignee_user_id": user_id,
                                     "reminders": [{"minutes_before": 30}, {"minutes_before": 24 * 60}]})
    xrm_session.flush()
    assert fire_due_reminders(xrm_session, DUE - timedelta(days=1, seconds=1)) == 0
    assert fire_due_reminders(xrm_session, DUE - timedelta(days=1)) == 1
    assert fire_due_reminders(xrm_session, DUE - timedelta(minutes=31)) == 0
    assert fire_due_reminders(xrm_session, DUE - timedelta(minutes=30)) == 1
    assert fire_due_reminders(xrm_session, DUE) == 0
    assert _notifications(xrm_session, user_id) == ["Reminder: Call ACME", "Reminder: Call ACME"]
    # Moving the due date re-arms the reminders; a done task reminds nobody.
    update_task(xrm_session, task, {"due_at": DUE + timedelta(days=7)})
    assert fire_due_reminders(xrm_session, DUE + timedelta(days=6)) == 1
    update_task(xrm_session, task, {"status": "done"})
    assert fire_due_reminders(xrm_session, DUE + timedelta(days=8)) == 0


def test_overdue_tasks_are_published_once_and_notify_the_assignee(xrm_session, xrm_staff, xrm_events):
    _client, user_id, _department = xrm_staff("Sales North")
    create_task(xrm_session, {"title": "Timed", "due_at": DUE, "assignee_user_id": user_id})
    create_task(xrm_session, {"title": "Dated", "due_on": date(2026, 3, 27), "assignee_user_id": user_id})
    xrm_session.flush()
    assert publish_overdue_tasks(xrm_session, DUE - timedelta(seconds=1)) == 0
    assert publish_overdue_tasks(xrm_session, DUE) == 1  # the dated task is due until the day ends
    assert publish_overdue_tasks(xrm_session, datetime(2026, 3, 28, tzinfo=UTC)) == 1
    assert publish_overdue_tasks(xrm_session, datetime(2026, 3, 29, tzinfo=UTC)) == 0
    overdue = [e for e in xrm_events if e.type == "activities.task.overdue"]
    assert [e.payload["title"] for e in overdue] == ["Timed", "Dated"]
    assert _notifications(xrm_session, user_id) == ["Overdue: Timed", "Overdue: Dated"]


def test_each_occurrence_of_a_meeting_publishes_meeting_ended_once(xrm_session, xrm_events, xrm_clock):
    xrm_clock.set(datetime(2026, 3, 1, tzinfo=UTC))
    schedule_meeting(xrm_session, {"title": "Stand-up", "starts_at": datetime(2026, 3, 23, 9),
                                   "ends_at": datetime(2026, 3, 23, 9, 15), "time_zone": "Europe/Paris",
                                   "recurrence": "FREQ=WEEKLY;COUNT=3"})
    xrm_session.flush()
    assert publish_ended_meetings(xrm_session, datetime(2026, 3, 23, 8, 14, tzinfo=UTC)) == 0
    assert publish_ended_meetings(xrm_session, datetime(2026, 3, 23, 8, 15, tzinfo=UTC)) == 1
    assert publish_ended_meetings(xrm_session, datetime(2026, 4, 30, tzinfo=UTC)) == 2
    assert publish_ended_meetings(xrm_session, datetime(2026, 5, 30, tzinfo=UTC)) == 0
    ended = [e.payload["occurrence_end"] for e in xrm_events if e.type == "activities.meeting.ended"]
    assert ended == ["2026-03-23T08:15:00+00:00", "2026-03-30T07:15:00+00:00", "2026-04-06T07:15:00+00:00"]


def test_the_periodic_job_fires_reminders_on_the_platform_clock(xrm_client, xrm_staff, xrm_clock,
                                                                xrm_run_periodic_jobs, xrm_session, xrm_events):
    xrm_clock.set(DUE - timedelta(hours=2))
    _rep, user_id, _department = xrm_staff("Sales North")
    created = xrm_client.post("/api/v1/activities/tasks", json={
        "title": "Send offer", "due_at": DUE.isoformat(), "assignee_user_id": user_id,
        "reminders": [{"minutes_before": 60}]})
    assert created.status_code == 201, created.get_json()
    xrm_run_periodic_jobs("activities.reminders")
    assert _notifications(xrm_session, user_id) == []
    xrm_session.rollback()
    xrm_clock.advance(hours=1)
    xrm_run_periodic_jobs("activities.reminders")
    assert _notifications(xrm_session, user_id) == ["Reminder: Send offer"]
    xrm_session.rollback()
    xrm_clock.advance(hours=1)
    xrm_run_periodic_jobs("activities.reminders")
    assert _notifications(xrm_session, user_id) == ["Reminder: Send offer", "Overdue: Send offer"]
    assert [e.type for e in xrm_events if e.type == "activities.task.overdue"] == ["activities.task.overdue"]


def test_a_task_due_at_the_end_of_the_business_day_skips_the_holiday(xrm_client, xrm_session, xrm_clock):
    calendar = xrm_client.post("/api/v1/business-calendars", json={
        "name": "Paris office", "time_zone": "Europe/Paris",
        "weekly_hours": {day: [["09:00", "17:30"]] for day in ("mon", "tue", "wed", "thu", "fri")},
        "holidays": [{"date": "2026-05-01", "name": "Labour Day"}]})
    assert calendar.status_code == 201, calendar.get_json()
    xrm_clock.set(datetime(2026, 4, 30, 18, tzinfo=UTC))  # Thursday 20:00 in Paris: that day is over
    params = CREATE_TASK.params().load({"title": "Answer the complaint", "due_in_days": 0, "business_days": True})
    result = CREATE_TASK.run(params=params, session=xrm_session)
    # Friday 1 May is a holiday: the next close of business is Monday 4 May, 17:30 Paris (15:30 UTC).
    assert result["due_at"] == "2026-05-04T15:30:00+00:00"
    params = CREATE_TASK.params().load({"title": "Follow up", "due_in_days": 1, "business_days": True})
    assert CREATE_TASK.run(params=params, session=xrm_session)["due_at"] == "2026-05-05T15:30:00+00:00"
    # Two business hours before Monday 09:30 Paris: 30 minutes on Monday, 90 before Thursday's 17:30
    # close (Friday is the holiday), so Thursday 16:00 Paris.
    task = create_task(xrm_session, {"title": "Early call", "due_at": datetime(2026, 5, 4, 7, 30, tzinfo=UTC),
                                     "reminders": [{"minutes_before": 120, "business_time": True}]})
    assert task.reminders[0].fire_at == datetime(2026, 4, 30, 14, tzinfo=UTC)
