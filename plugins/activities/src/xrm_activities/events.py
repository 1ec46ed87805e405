"""The domain events the plugin publishes; payloads are checked against their schema when published."""

import xrm_sdk as xrm
from marshmallow import fields


class TaskPayload(xrm.Schema):
    title = fields.String(required=True)
    status = fields.String(required=True)
    priority = fields.String(required=True)
    due_at = fields.String(allow_none=True)
    due_on = fields.String(allow_none=True)
    assignee_user_id = fields.Integer(allow_none=True)
    assignee_team_id = fields.Integer(allow_none=True)
    department_id = fields.Integer(allow_none=True)


class TaskUpdatedPayload(TaskPayload):
    changed = fields.List(fields.String(), required=True)


class TaskCompletedPayload(TaskPayload):
    next_task_id = fields.Integer(allow_none=True)


class MeetingPayload(xrm.Schema):
    title = fields.String(required=True)
    kind = fields.String(required=True)
    starts_at = fields.String(required=True)
    ends_at = fields.String(required=True)
    time_zone = fields.String(required=True)
    all_day = fields.Boolean(required=True)
    organiser_user_id = fields.Integer(allow_none=True)
    attendee_user_ids = fields.List(fields.Integer(), required=True)
    attendee_party_ids = fields.List(fields.Integer(), required=True)


class MeetingEndedPayload(MeetingPayload):
    occurrence_start = fields.String(required=True)
    occurrence_end = fields.String(required=True)


class TimeLoggedPayload(xrm.Schema):
    day = fields.String(required=True)
    minutes = fields.Integer(required=True)
    user_id = fields.Integer(allow_none=True)
    party_id = fields.Integer(allow_none=True)
    task_id = fields.Integer(allow_none=True)
    record = fields.String(allow_none=True)


EVENT_TYPES = [
    xrm.EventType("activities.task.created", description="A task was created.", schema=TaskPayload),
    xrm.EventType("activities.task.updated", description="A task was changed.", schema=TaskUpdatedPayload),
    xrm.EventType("activities.task.completed", description="A task was done.", schema=TaskCompletedPayload),
    xrm.EventType("activities.task.overdue", description="An open task passed its due moment.", schema=TaskPayload),
    xrm.EventType("activities.meeting.scheduled", description="A meeting or call was scheduled.",
                  schema=MeetingPayload),
    xrm.EventType("activities.meeting.updated", description="A meeting or call was changed.", schema=MeetingPayload),
    xrm.EventType("activities.meeting.ended", description="An occurrence of a meeting or call ended.",
                  schema=MeetingEndedPayload),
    xrm.EventType("activities.time.logged", description="Time spent was logged.", schema=TimeLoggedPayload),
]

WORKFLOW_TRIGGERS = [
    xrm.WorkflowTrigger("activities.task_overdue", label="A task became overdue",
                        description="An open task passed its due date or time.", pattern="activities.task.overdue"),
    xrm.WorkflowTrigger("activities.meeting_ended", label="A meeting ended",
                        description="An occurrence of a meeting or call ended.", pattern="activities.meeting.ended"),
]
