"""The plugin's web pages under ``/activities/`` and the public calendar feed.

Days and times are shown on the user's clock (their own time zone, else the tenant's). Every page
reads through the request's permission-scoped session: a board shows only the tasks the user may see.
"""

from __future__ import annotations

import calendar as monthly
from datetime import date, datetime, timedelta

import xrm_sdk as xrm
from flask import Blueprint, Response, abort, flash, redirect, render_template, request, url_for
from sqlalchemy import or_, select

from . import recurrence
from .ics import feed_for_token
from .models import OPEN_STATUSES, Meeting, Task, TaskLink, TaskStatus
from .service import (
    day_bounds,
    due_moment,
    meetings_between,
    overdue_tasks,
    schedule_meeting,
    update_task,
)
from .timesheets import week_of, weekly_timesheet

blueprint = Blueprint("activities_pages", __name__, template_folder="templates", url_prefix="/activities")
#: Tasks the overdue list shows at most (the oldest first): a list to work through, not an export.
OVERDUE_PAGE = 200
feeds = xrm.PublicBlueprint("activities_feeds", __name__, url_prefix="/activities/feeds")


def _context():
    session = xrm.db_session()
    principal = xrm.principal_of(session)
    zone_name = xrm.user_time_zone(session)
    return session, principal, zone_name, recurrence.zone(zone_name)


def _today(tz) -> date:
    return xrm.utcnow().astimezone(tz).date()


@blueprint.get("/")
def my_day():
    """My day: my open tasks due today or before, and my meetings today."""
    session, principal, zone_name, tz = _context()
    today = _today(tz)
    start, end = day_bounds(today, zone_name)
    tasks = session.scalars(select(Task).where(
        Task.owner_user_id == principal.user_id, Task.status.in_(OPEN_STATUSES),
        or_(Task.due_at < end, Task.due_on <= today)).order_by(Task.due_on, Task.due_at, Task.id)).all()
    meetings = meetings_between(session, start, end, user_id=principal.user_id)
    now = xrm.utcnow()
    return render_template("activities/my_day.html", today=today, zone=zone_name, tz=tz, tasks=tasks,
                           meetings=meetings, overdue={t.id for t in tasks if due_moment(t, zone_name) <= now})


@blueprint.get("/calendar")
def calendar_view():
    """A week (default) or month of meetings and dated tasks the user may see."""
    session, _principal, zone_name, tz = _context()
    mode = request.args.get("view", "week")
    if mode not in ("week", "month"):
        abort(404)
    try:
        anchor = date.fromisoformat(request.args["day"]) if "day" in request.args else _today(tz)
    except ValueError:
        abort(404)
    if mode == "week":
        first = week_of(anchor)
        days = [first + timedelta(days=i) for i in range(7)]
        previous, following = first - timedelta(days=7), first + timedelta(days=7)
    else:
        first = anchor.replace(day=1)
        days = [first + timedelta(days=i) for i in range(monthly.monthrange(first.year, first.month)[1])]
        previous = (first - timedelta(days=1)).replace(day=1)
        following = first + timedelta(days=len(days))
    since, until = day_bounds(days[0], zone_name)[0], day_bounds(days[-1], zone_name)[1]
    by_day: dict[date, list] = {day: [] for day in days}
    for meeting, start, _end in meetings_between(session, since, until):
        local = start.astimezone(tz)
        if local.date() in by_day:
            label = meeting.title if meeting.all_day else f"{local:%H:%M} {meeting.title}"
            by_day[local.date()].append(("meeting", label, url_for(".show_meeting", meeting_id=meeting.id)))
    for task in session.scalars(select(Task).where(Task.status.in_(OPEN_STATUSES), or_(
            (Task.due_at >= since) & (Task.due_at < until), (Task.due_on >= days[0]) & (Task.due_on <= days[-1])))):
        day = task.due_on or task.due_at.astimezone(tz).date()
        by_day[day].append(("task", task.title, url_for(".show_task", task_id=task.id)))
    return render_template("activities/calendar.html", mode=mode, days=days, by_day=by_day, zone=zone_name,
                           previous=previous, following=following, today=_today(tz))


@blueprint.get("/board")
def board():
    """The department task board: a column per status; cards move with htmx."""
    session, principal, _zone, _tz = _context()
    department_id = request.args.get("department_id", type=int) or principal.department_id
    statement = select(Task).order_by(Task.due_at, Task.id)
    if department_id is not None:
        statement = statement.where(Task.department_id == department_id)
    tasks = session.scalars(statement).all()
    columns = {status: [t for t in tasks if t.status == status] for status in TaskStatus}
    departments = session.scalars(select(xrm.Department).order_by(xrm.Department.name)).all()
    return render_template("activities/board.html", columns=columns, statuses=list(TaskStatus),
                           departments=departments, department_id=department_id)


@blueprint.post("/tasks/<int:task_id>/status")
def move_task(task_id: int):
    """Move a card to another column (htmx: the card comes back; a form post: back to the board)."""
    session = xrm.db_session()
    task = session.get(Task, task_id)
    if task is None:
        abort(404)
    try:
        status = TaskStatus(request.form.get("status", ""))
    except ValueError:
        abort(400)
    update_task(session, task, {"status": status})
    session.commit()
    if request.headers.get("HX-Request"):
        return render_template("activities/_card.html", task=task, statuses=list(TaskStatus))
    return redirect(request.referrer or url_for(".board"))


@blueprint.get("/overdue")
def overdue():
    """Open tasks past their due moment, longest overdue first."""
    session, _principal, zone_name, tz = _context()
    tasks = overdue_tasks(session, xrm.utcnow(), limit=OVERDUE_PAGE)
    return render_template("activities/overdue.html", tasks=tasks, tz=tz, zone=zone_name, limit=OVERDUE_PAGE)


@blueprint.get("/timesheet")
def timesheet():
    """My weekly timesheet, with an XLSX export."""
    session, principal, _zone, tz = _context()
    try:
        week = week_of(date.fromisoformat(request.args["week"]) if "week" in request.args else _today(tz))
    except ValueError:
        abort(404)
    sheet = weekly_timesheet(session, principal.user_id, week)
    return render_template("activities/timesheet.html", sheet=sheet, previous=week - timedelta(days=7),
                           following=week + timedelta(days=7))


@blueprint.get("/tasks/<int:task_id>")
def show_task(task_id: int):
    session, _principal, zone_name, tz = _context()
    task = session.get(Task, task_id)
    if task is None:
        abort(404)
    return render_template("activities/task.html", task=task, due=due_moment(task, zone_name), tz=tz,
                           statuses=list(TaskStatus))


@blueprint.get("/meetings/<int:meeting_id>")
def show_meeting(meeting_id: int):
    session, _principal, _zone, _tz = _context()
    meeting = session.get(Meeting, meeting_id)
    if meeting is None:
        abort(404)
    tz = recurrence.zone(meeting.time_zone)
    return render_template("activities/meeting.html", meeting=meeting, tz=tz,
                           start=meeting.starts_at.astimezone(tz), end=meeting.ends_at.astimezone(tz))


@blueprint.route("/meetings/new", methods=["GET", "POST"])
def new_meeting():
    """Schedule a meeting; overlapping meetings of the attendees are shown as a warning."""
    session, _principal, zone_name, _tz = _context()
    users = session.scalars(select(xrm.User).where(xrm.User.active).order_by(xrm.User.display_name)).all()
    if request.method == "GET":
        return render_template("activities/meeting_form.html", users=users, zone=zone_name, errors={}, form={})
    form = request.form
    try:
        data = {
            "title": form.get("title", "").strip(), "location": form.get("location", ""),
            "video_url": form.get("video_url", ""), "time_zone": form.get("time_zone") or zone_name,
            "starts_at": datetime.fromisoformat(form["starts_at"]), "ends_at": datetime.fromisoformat(form["ends_at"]),
            "attendee_user_ids": [int(u) for u in form.getlist("attendee_user_ids")],
        }
    except (KeyError, ValueError):
        return render_template("activities/meeting_form.html", users=users, zone=zone_name, form=form,
                               errors={"starts_at": ["Give a start and an end (YYYY-MM-DDTHH:MM)."]}), 422
    if not data["title"]:
        return render_template("activities/meeting_form.html", users=users, zone=zone_name, form=form,
                               errors={"title": ["A meeting needs a title."]}), 422
    try:
        meeting, conflicts = schedule_meeting(session, data)
    except xrm.ValidationError as error:
        session.rollback()
        return render_template("activities/meeting_form.html", users=users, zone=zone_name, form=form,
                               errors=error.messages), 422
    session.commit()
    for conflict in conflicts:
        flash(f"Conflict: user {conflict['user_id']} also has “{conflict['title']}” at {conflict['starts_at']}.",
              "error")
    return redirect(url_for(".show_meeting", meeting_id=meeting.id))


@feeds.get("/<token>.ics")
def feed(token: str):
    """A user's private calendar feed (no sign-in: the token is the key)."""
    return Response(feed_for_token(token), mimetype="text/calendar",
                    headers={"Cache-Control": "private, no-store"})


def party_panel(party) -> str:
    """The party's open tasks and upcoming meetings (for the party page)."""
    session, _principal, zone_name, tz = _context()
    tasks = session.scalars(select(Task).join(TaskLink, TaskLink.task_id == Task.id).where(
        TaskLink.party_id == party.id, Task.status.in_(OPEN_STATUSES)).order_by(Task.due_at, Task.id).limit(20)).all()
    now = xrm.utcnow()
    meetings = [m for m in meetings_between(session, now, now + timedelta(days=90))
                if any(a.party_id == party.id for a in m[0].attendees)][:20]
    return render_template("activities/_party_panel.html", tasks=tasks, meetings=meetings, tz=tz, zone=zone_name)


def overdue_widget(tenant) -> str:
    """Dashboard widget: my overdue tasks."""
    session, principal, _zone, _tz = _context()
    tasks = overdue_tasks(session, xrm.utcnow(), owner_user_id=principal.user_id, limit=10)
    return render_template("activities/_overdue_widget.html", tasks=tasks)
