"""``/api/v1/activities/…``: tasks, meetings, time entries, the caller's calendar feed and ICS import.

``ApiBlueprint`` gives problem+json errors naming the offending field, keyset pagination with
``Link`` headers, filters, sparse fields, ETags (``If-Match`` required on changes) and the OpenAPI
document, all from the schemas. Reads go through the request's permission-scoped session: a task
of another department is a 404.
"""

from __future__ import annotations

from datetime import UTC, timedelta

import xrm_sdk as xrm
from flask import Response, jsonify, request, url_for
from flask.views import MethodView
from marshmallow import fields, validate
from sqlalchemy import select

from . import ics
from .models import Meeting, MeetingKind, Priority, Task, TaskStatus, TimeEntry
from .service import (
    InvalidActivity,
    conflicts,
    create_task,
    schedule_meeting,
    update_meeting,
    update_task,
)
from .timesheets import log_time, timesheet_xlsx, totals, week_of, weekly_timesheet


class Moment(fields.AwareDateTime):
    """A moment: a client's input without an offset is taken as UTC (stored moments come back with theirs)."""

    def __init__(self, **kwargs):
        super().__init__(default_timezone=UTC, **kwargs)


blueprint = xrm.ApiBlueprint("activities", __name__, description="Tasks, meetings, time tracking and calendar feeds")


class ChecklistItemSchema(xrm.Schema):
    text = fields.String(required=True, validate=validate.Length(min=1, max=500))
    done = fields.Boolean(load_default=False)


class ReminderSchema(xrm.Schema):
    minutes_before = fields.Integer(required=True, validate=validate.Range(min=0, max=60 * 24 * 365))
    business_time = fields.Boolean(load_default=False)
    fire_at = Moment(dump_only=True)
    fired_at = Moment(dump_only=True)


class TaskSchema(xrm.RecordSchema):
    title = fields.String(required=True, validate=validate.Length(min=1, max=200))
    description = fields.String(load_default="", validate=validate.Length(max=10_000))
    due_at = Moment(allow_none=True)
    due_on = fields.Date(allow_none=True)
    priority = fields.Enum(Priority, by_value=True, load_default=Priority.NORMAL)
    status = fields.Enum(TaskStatus, by_value=True, load_default=TaskStatus.OPEN)
    recurrence = fields.String(allow_none=True, validate=validate.Length(max=500),
                               metadata={"description": "An RFC 5545 RRULE, e.g. FREQ=WEEKLY;BYDAY=MO"})
    assignee_user_id = fields.Integer(allow_none=True)
    assignee_team_id = fields.Integer(allow_none=True)
    department_id = fields.Integer(allow_none=True)
    party_ids = fields.List(fields.Integer(), load_default=list)
    records = fields.List(fields.String(), load_default=list,
                          metadata={"description": "Linked records: '<plugin>.<entity>:<id>'"})
    checklist = fields.List(fields.Nested(ChecklistItemSchema), load_default=list)
    reminders = fields.List(fields.Nested(ReminderSchema), load_default=list)
    next_occurrence_id = fields.Integer(dump_only=True, allow_none=True)
    completed_at = Moment(dump_only=True, allow_none=True)
    created_at = Moment(dump_only=True)


TASKS = xrm.Listing(
    Task, TaskSchema,
    sortable=("due_at", "due_on", "created_at", "title", "priority"),
    filterable={"status": ("eq", "in"), "priority": ("eq", "in"), "due_at": ("lt", "gte", "isnull"),
                "due_on": ("lt", "gte", "isnull"), "assignee_user_id": ("eq",), "assignee_team_id": ("eq",),
                "department_id": ("eq",), "title": ("contains",)},
    columns={"assignee_user_id": Task.owner_user_id, "assignee_team_id": Task.owner_team_id},
    default_sort="due_at",
)


@blueprint.route("/tasks")
class Tasks(MethodView):
    @blueprint.list_response(TASKS)
    def get(self, query):
        """List the tasks the caller may see (filter by status, assignee, due…)."""
        return xrm.cursor_paginate(select(Task), query)

    @blueprint.arguments(TaskSchema)
    @blueprint.record_response(TaskSchema, 201)
    def post(self, data):
        """Create a task."""
        session = xrm.db_session()
        task = create_task(session, data)
        session.commit()
        return task, {"Location": url_for(".TaskDetail", task_id=task.id)}


@blueprint.route("/tasks/<int:task_id>")
class TaskDetail(MethodView):
    @blueprint.record_response(TaskSchema)
    def get(self, task_id):
        """One task (404 when it does not exist or the caller may not see it)."""
        return xrm.get_or_404(Task, task_id)

    @blueprint.requires_if_match
    @blueprint.arguments(TaskSchema(partial=True))
    @blueprint.record_response(TaskSchema)
    def patch(self, changes, task_id):
        """Change a task; setting ``status`` to ``done`` completes it (a recurring one makes its next)."""
        session = xrm.db_session()
        task = xrm.get_for_update(Task, task_id)
        update_task(session, task, changes)
        session.commit()
        return task

    @blueprint.requires_if_match
    @blueprint.response(204)
    def delete(self, task_id):
        """Delete a task with its checklist, links and reminders."""
        session = xrm.db_session()
        session.delete(xrm.get_for_update(Task, task_id))
        session.commit()


class MeetingSchema(xrm.RecordSchema):
    title = fields.String(required=True, validate=validate.Length(min=1, max=200))
    kind = fields.Enum(MeetingKind, by_value=True, load_default=MeetingKind.MEETING)
    description = fields.String(load_default="", validate=validate.Length(max=10_000))
    location = fields.String(load_default="", validate=validate.Length(max=300))
    video_url = fields.String(load_default="", validate=validate.Length(max=500))
    # Loaded as given: the service reads a moment without an offset on the meeting's zone's clock.
    starts_at = fields.DateTime(metadata={"description": "Without an offset: on the meeting's time zone's clock"})
    ends_at = fields.DateTime()
    time_zone = fields.String(load_default=None, validate=validate.Length(max=63),
                              metadata={"description": "IANA zone of the organiser (the tenant's by default)"})
    all_day = fields.Boolean(load_default=False)
    start_day = fields.Date(load_only=True, metadata={"description": "An all-day event's first day"})
    days = fields.Integer(load_only=True, validate=validate.Range(min=1, max=366))
    recurrence = fields.String(allow_none=True, validate=validate.Length(max=500))
    organiser_user_id = fields.Integer(allow_none=True)
    attendee_user_ids = fields.List(fields.Integer(), load_default=list)
    attendee_party_ids = fields.List(fields.Integer(), load_default=list)
    created_at = Moment(dump_only=True)
    conflicts = fields.Method("_conflicts", dump_only=True, metadata={
        "description": "Overlapping meetings of the participants: a warning, the meeting is saved"})

    def _conflicts(self, meeting):
        return conflicts(xrm.db_session(), meeting)


class MeetingListSchema(MeetingSchema):
    class Meta:
        exclude = ("conflicts",)


#: Lists leave out the conflicts: they would cost a calendar scan per meeting listed.
MEETING_LIST = xrm.Listing(
    Meeting, MeetingListSchema,
    sortable=("starts_at", "created_at", "title"),
    filterable={"starts_at": ("lt", "gte"), "kind": ("eq",), "title": ("contains",), "organiser_user_id": ("eq",)},
    columns={"organiser_user_id": Meeting.owner_user_id},
    default_sort="starts_at",
)


@blueprint.route("/meetings")
class Meetings(MethodView):
    @blueprint.list_response(MEETING_LIST)
    def get(self, query):
        """List the meetings and calls the caller may see (first occurrences; see ``/agenda``)."""
        return xrm.cursor_paginate(select(Meeting), query)

    @blueprint.arguments(MeetingSchema)
    @blueprint.record_response(MeetingSchema, 201)
    def post(self, data):
        """Schedule a meeting or call; overlapping meetings come back in ``conflicts`` (not refused)."""
        session = xrm.db_session()
        meeting, _found = schedule_meeting(session, data)
        session.commit()
        return meeting, {"Location": url_for(".MeetingDetail", meeting_id=meeting.id)}


@blueprint.route("/meetings/<int:meeting_id>")
class MeetingDetail(MethodView):
    @blueprint.record_response(MeetingSchema)
    def get(self, meeting_id):
        """One meeting, with its current conflicts."""
        return xrm.get_or_404(Meeting, meeting_id)

    @blueprint.requires_if_match
    @blueprint.arguments(MeetingSchema(partial=True))
    @blueprint.record_response(MeetingSchema)
    def patch(self, changes, meeting_id):
        """Change a meeting."""
        session = xrm.db_session()
        meeting = xrm.get_for_update(Meeting, meeting_id)
        update_meeting(session, meeting, changes)
        session.commit()
        return meeting

    @blueprint.requires_if_match
    @blueprint.response(204)
    def delete(self, meeting_id):
        """Cancel (delete) a meeting."""
        session = xrm.db_session()
        session.delete(xrm.get_for_update(Meeting, meeting_id))
        session.commit()


class TimeEntrySchema(xrm.RecordSchema):
    day = fields.Date(required=True)
    minutes = fields.Integer(required=True, validate=validate.Range(min=1, max=24 * 60))
    note = fields.String(load_default="", validate=validate.Length(max=500))
    user_id = fields.Integer(allow_none=True, metadata={"description": "Whose time (the caller by default)"})
    party_id = fields.Integer(allow_none=True)
    task_id = fields.Integer(allow_none=True)
    record = fields.String(allow_none=True, validate=validate.Length(max=120))
    department_id = fields.Integer(dump_only=True, allow_none=True)
    created_at = Moment(dump_only=True)


TIME_ENTRIES = xrm.Listing(
    TimeEntry, TimeEntrySchema,
    sortable=("day", "created_at"),
    filterable={"day": ("gte", "lt", "eq"), "user_id": ("eq",), "party_id": ("eq",), "task_id": ("eq",),
                "department_id": ("eq",)},
    columns={"user_id": TimeEntry.owner_user_id},
    default_sort="-day",
)


@blueprint.route("/time-entries")
class TimeEntries(MethodView):
    @blueprint.list_response(TIME_ENTRIES)
    def get(self, query):
        """List the time entries the caller may see."""
        return xrm.cursor_paginate(select(TimeEntry), query)

    @blueprint.arguments(TimeEntrySchema)
    @blueprint.record_response(TimeEntrySchema, 201)
    def post(self, data):
        """Log time spent on a party, a record or a task."""
        session = xrm.db_session()
        entry = log_time(session, data)
        session.commit()
        return entry, {"Location": url_for(".TimeEntryDetail", entry_id=entry.id)}


@blueprint.route("/time-entries/<int:entry_id>")
class TimeEntryDetail(MethodView):
    @blueprint.record_response(TimeEntrySchema)
    def get(self, entry_id):
        """One time entry."""
        return xrm.get_or_404(TimeEntry, entry_id)

    @blueprint.requires_if_match
    @blueprint.response(204)
    def delete(self, entry_id):
        """Delete a time entry."""
        session = xrm.db_session()
        session.delete(xrm.get_for_update(TimeEntry, entry_id))
        session.commit()


class TimesheetQuery(xrm.Schema):
    user_id = fields.Integer(load_default=None)
    week = fields.Date(load_default=None, metadata={"description": "Any day of the week (this week by default)"})
    format = fields.String(load_default="json", validate=validate.OneOf(["json", "xlsx"]))


@blueprint.route("/timesheet")
class WeeklyTimesheet(MethodView):
    @blueprint.arguments(TimesheetQuery, location="query")
    @blueprint.response(200)
    def get(self, args):
        """A user's weekly timesheet (the caller's by default), as JSON or an XLSX file."""
        session = xrm.db_session()
        principal = xrm.principal_of(session)
        user_id = args["user_id"] or principal.user_id
        sheet = weekly_timesheet(session, user_id, week_of(args["week"] or xrm.utcnow().date()))
        if args["format"] == "xlsx":
            return Response(timesheet_xlsx(sheet), mimetype=XLSX, headers={
                "Content-Disposition": f'attachment; filename="timesheet-{user_id}-{sheet.week_start}.xlsx"'})
        return jsonify(user_id=sheet.user_id, week_start=sheet.week_start.isoformat(),
                       days=[d.isoformat() for d in sheet.days],
                       rows=[{"work": label, "minutes": minutes} for label, minutes in sheet.rows.items()],
                       day_totals=sheet.day_totals, total=sheet.total)


XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


class TotalsQuery(xrm.Schema):
    by = fields.String(required=True, validate=validate.OneOf(["party", "department"]))
    since = fields.Date(load_default=None)
    until = fields.Date(load_default=None)


@blueprint.route("/time-totals")
class TimeTotals(MethodView):
    @blueprint.arguments(TotalsQuery, location="query")
    @blueprint.response(200)
    def get(self, args):
        """Minutes logged per party or per department over [since, until) (the last 30 days by default)."""
        until = args["until"] or xrm.utcnow().date() + timedelta(days=1)
        since = args["since"] or until - timedelta(days=30)
        if since >= until:
            raise InvalidActivity("until", "must be after since")
        return jsonify(by=args["by"], since=since.isoformat(), until=until.isoformat(),
                       totals=totals(xrm.db_session(), args["by"], since, until))


@blueprint.route("/feed")
class Feed(MethodView):
    @blueprint.response(201)
    def post(self):
        """Issue the caller's private calendar feed URL (shown once); the previous one stops working."""
        session = xrm.db_session()
        token = ics.issue_feed_token(session, _caller_id(session), xrm.current_tenant().slug)
        session.commit()
        return jsonify(url=url_for("activities_feeds.feed", token=token, _external=True)), 201

    @blueprint.response(204)
    def delete(self):
        """Revoke the caller's calendar feed URL."""
        session = xrm.db_session()
        ics.revoke_feed_tokens(session, _caller_id(session))
        session.commit()


def _caller_id(session) -> int:
    principal = xrm.principal_of(session)
    if principal is None or principal.user_id is None:
        raise xrm.PermissionDenied("only a user has a calendar feed")
    return principal.user_id


@blueprint.route("/meetings/import")
class MeetingImport(MethodView):
    @blueprint.response(200)
    def post(self):
        """Import the events of an iCalendar file (``text/calendar`` body or ``file`` form field).

        Events already imported (same UID) are skipped; a malformed file changes nothing (422).
        """
        upload = request.files.get("file")
        content = upload.read() if upload is not None else request.get_data()
        if not content:
            raise InvalidActivity("file", "send an iCalendar file")
        session = xrm.db_session()
        result = ics.import_events(session, content, organiser_user_id=_caller_id(session))
        session.commit()
        return jsonify(result)

