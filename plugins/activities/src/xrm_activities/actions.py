"""Workflow actions: create a task, schedule a meeting; parameters checked by marshmallow schemas."""

from __future__ import annotations

from datetime import datetime, time, timedelta

import xrm_sdk as xrm
from marshmallow import fields, validate, validates_schema

from . import recurrence
from .business import end_of_business_day
from .models import MeetingKind, Priority
from .service import create_task, schedule_meeting, tenant_zone


class CreateTaskParams(xrm.Schema):
    title = fields.String(required=True, validate=validate.Length(min=1, max=200))
    description = fields.String(load_default="", validate=validate.Length(max=10_000))
    priority = fields.Enum(Priority, by_value=True, load_default=Priority.NORMAL)
    #: Due this many days after the run; with ``business_days``, at the close of that business day.
    due_in_days = fields.Integer(load_default=None, validate=validate.Range(min=0, max=3650))
    business_days = fields.Boolean(load_default=False)
    assignee_user_id = fields.Integer(load_default=None)
    assignee_team_id = fields.Integer(load_default=None)
    department_id = fields.Integer(load_default=None)
    #: Link the task to the parties the triggering event concerns.
    link_related_parties = fields.Boolean(load_default=True)

    @validates_schema
    def _one_assignee(self, data, **_kwargs):
        if data.get("assignee_user_id") is not None and data.get("assignee_team_id") is not None:
            raise xrm.ValidationError("assign to a user or a team, not both", "assignee_team_id")


def run_create_task(params, session, related=None):
    """Create the task; the engine commits and records the returned output."""
    now = xrm.utcnow()
    data = {key: params[key] for key in ("title", "description", "priority", "assignee_user_id",
                                          "assignee_team_id", "department_id") if params.get(key) is not None}
    days = params.get("due_in_days")
    if days is not None and params["business_days"]:
        data["due_at"] = end_of_business_day(session, now, department_id=params.get("department_id"),
                                             business_days=days)
    elif days is not None:
        data["due_at"] = now + timedelta(days=days)
    if params["link_related_parties"] and related:
        data["party_ids"] = [p["id"] if isinstance(p, dict) else int(p) for p in related]
    task = create_task(session, data)
    return {"task_id": task.id, "due_at": task.due_at.isoformat() if task.due_at else None}


class ScheduleMeetingParams(xrm.Schema):
    title = fields.String(required=True, validate=validate.Length(min=1, max=200))
    kind = fields.Enum(MeetingKind, by_value=True, load_default=MeetingKind.MEETING)
    #: Starts this many days after the run, at ``at`` (``HH:MM``) in ``time_zone`` (the tenant's by default).
    in_days = fields.Integer(load_default=1, validate=validate.Range(min=0, max=3650))
    at = fields.Time(load_default=None, format="%H:%M")
    minutes = fields.Integer(load_default=30, validate=validate.Range(min=5, max=24 * 60))
    time_zone = fields.String(load_default=None)
    location = fields.String(load_default="", validate=validate.Length(max=300))
    video_url = fields.Url(load_default="", schemes={"https", "http"})
    organiser_user_id = fields.Integer(load_default=None)
    attendee_user_ids = fields.List(fields.Integer(), load_default=list)
    invite_related_parties = fields.Boolean(load_default=True)


def run_schedule_meeting(params, session, related=None):
    """Schedule the meeting; conflicts are reported in the output, not refused."""
    zone_name = params.get("time_zone") or tenant_zone(session)
    try:
        tz = recurrence.zone(zone_name)
    except recurrence.RecurrenceError as error:
        raise xrm.ValidationError(str(error), "time_zone") from None
    day = xrm.utcnow().astimezone(tz).date() + timedelta(days=params["in_days"])
    start = datetime.combine(day, params.get("at") or time(9), tz)
    data = {
        "title": params["title"], "kind": params["kind"], "time_zone": zone_name, "location": params["location"],
        "video_url": params["video_url"] or "", "starts_at": start, "ends_at": start + timedelta(minutes=params["minutes"]),
        "organiser_user_id": params.get("organiser_user_id"), "attendee_user_ids": params["attendee_user_ids"],
    }
    if params["invite_related_parties"] and related:
        data["attendee_party_ids"] = [p["id"] if isinstance(p, dict) else int(p) for p in related]
    meeting, found = schedule_meeting(session, data)
    return {"meeting_id": meeting.id, "starts_at": meeting.starts_at.isoformat(), "conflicts": found}


CREATE_TASK = xrm.WorkflowAction("activities.create_task", label="Create a task", params=CreateTaskParams,
                                 run=run_create_task)
SCHEDULE_MEETING = xrm.WorkflowAction("activities.schedule_meeting", label="Schedule a meeting",
                                      params=ScheduleMeetingParams, run=run_schedule_meeting)
