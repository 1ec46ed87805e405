"""Pages, the party panel, workflow actions, the import command and the demo data."""

from datetime import UTC, datetime

import pytest
import xrm_sdk as xrm
from click.testing import CliRunner
from flask.cli import ScriptInfo
from sqlalchemy import func, select
from xrm_activities import plugin
from xrm_activities.actions import CREATE_TASK, SCHEDULE_MEETING
from xrm_activities.cli import import_ics_command
from xrm_activities.models import Meeting, Task, TimeEntry
from xrm_activities.service import InvalidActivity
from activities_testing import ICS

TASKS = "/api/v1/activities/tasks"


def test_my_day_calendar_overdue_and_timesheet_pages(xrm_client, xrm_clock):
    xrm_clock.set(datetime(2026, 3, 24, 8, tzinfo=UTC))
    me = xrm_client.post(TASKS, json={"title": "Today call", "due_at": "2026-03-24T16:00:00Z"}).get_json()
    xrm_client.post(TASKS, json={"title": "Late report", "due_on": "2026-03-20", "assignee_user_id": me["assignee_user_id"]})
    xrm_client.post("/api/v1/activities/meetings", json={"title": "Lunch with ACME", "starts_at": "2026-03-24T12:00:00Z",
                                                         "ends_at": "2026-03-24T13:00:00Z"})
    xrm_client.post("/api/v1/activities/time-entries", json={"day": "2026-03-24", "minutes": 30, "note": "x"})
    day = xrm_client.get("/activities/").get_data(as_text=True)
    assert "Today call" in day and "Late report" in day and "Lunch with ACME" in day and "12:00–13:00" in day
    week = xrm_client.get("/activities/calendar").get_data(as_text=True)
    assert "12:00 Lunch with ACME" in week and "Today call" in week
    month = xrm_client.get("/activities/calendar?view=month&day=2026-03-01").get_data(as_text=True)
    assert "Late report" in month
    assert xrm_client.get("/activities/calendar?view=year").status_code == 404
    overdue = xrm_client.get("/activities/overdue").get_data(as_text=True)
    assert "Late report" in overdue and "Today call" not in overdue
    sheet = xrm_client.get("/activities/timesheet").get_data(as_text=True)
    assert "0.50" in sheet and "format=xlsx" in sheet
    assert 'href="/activities/"' in xrm_client.get("/").get_data(as_text=True)


def test_the_dashboard_widget_lists_my_overdue_tasks(xrm_app, xrm_client, xrm_tenant, xrm_clock):
    xrm_clock.set(datetime(2026, 3, 24, 8, tzinfo=UTC))
    me = xrm_client.post(TASKS, json={"title": "Late report", "due_on": "2026-03-20"}).get_json()["assignee_user_id"]
    xrm_client.post(TASKS, json={"title": "Not yet", "due_on": "2026-03-30", "assignee_user_id": me})
    (widget,) = plugin.xrm_dashboard_widgets(tenant=xrm_tenant)
    with xrm_app.test_request_context("/", environ_base=xrm_client.environ_base):
        html = widget.render(xrm_tenant)
    assert "Late report" in html and "Not yet" not in html


def test_the_board_moves_a_card_with_htmx_and_publishes_the_change(xrm_client, xrm_events):
    task = xrm_client.post(TASKS, json={"title": "Prepare demo"}).get_json()
    moved = xrm_client.post(f"/activities/tasks/{task['id']}/status", data={"status": "in_progress"},
                            headers={"HX-Request": "true"})
    assert moved.status_code == 200, moved.get_data(as_text=True)
    assert 'value="in_progress" selected' in moved.get_data(as_text=True)
    assert xrm_client.get(f"{TASKS}/{task['id']}").get_json()["status"] == "in_progress"
    assert [e.payload["changed"] for e in xrm_events if e.type == "activities.task.updated"] == [["status"]]
    assert xrm_client.post(f"/activities/tasks/{task['id']}/status", data={"status": "sideways"}).status_code == 400
    assert xrm_client.post("/activities/tasks/99999/status", data={"status": "done"}).status_code == 404


def test_the_meeting_form_shows_conflicts_as_a_warning(xrm_client):
    form = {"title": "Review", "starts_at": "2026-06-01T10:00", "ends_at": "2026-06-01T11:00"}
    assert xrm_client.post("/activities/meetings/new", data=form).status_code == 302
    second = xrm_client.post("/activities/meetings/new", data={**form, "title": "Clash"}, follow_redirects=True)
    assert second.status_code == 200
    page = second.get_data(as_text=True)
    assert "Conflict:" in page and "Review" in page
    refused = xrm_client.post("/activities/meetings/new", data={**form, "ends_at": "2026-06-01T09:00"})
    assert refused.status_code == 422 and "ends_at" in refused.get_data(as_text=True)


def test_the_party_panel_lists_open_tasks_and_upcoming_meetings(xrm_client, xrm_clock):
    xrm_clock.set(datetime(2026, 3, 1, tzinfo=UTC))
    party = xrm_client.post("/api/v1/parties", json={"kind": "organization", "display_name": "ACME"}).get_json()
    xrm_client.post(TASKS, json={"title": "Quote ACME", "party_ids": [party["id"]]})
    xrm_client.post(TASKS, json={"title": "Unrelated"})
    xrm_client.post("/api/v1/activities/meetings", json={"title": "ACME visit", "starts_at": "2026-03-10T09:00:00Z",
                                                         "attendee_party_ids": [party["id"]]})
    panels = xrm_client.get(f"/api/v1/parties/{party['id']}/360").get_json()
    entry = next(p for p in panels["panels"] if p.get("plugin") == "activities")
    html = xrm_client.get(entry["url"]).get_data(as_text=True)
    assert "Quote ACME" in html and "ACME visit" in html and "Unrelated" not in html


def test_workflow_actions_create_a_task_and_schedule_a_meeting(xrm_session, xrm_events, xrm_clock):
    xrm_clock.set(datetime(2026, 3, 2, 8, tzinfo=UTC))
    party = xrm.create_party(xrm_session, kind="organization", display_name="ACME")
    xrm_session.flush()
    with pytest.raises(xrm.ValidationError) as refused:
        CREATE_TASK.params().load({"due_in_days": -1})
    assert set(refused.value.messages) == {"title", "due_in_days"}
    result = CREATE_TASK.run(params=CREATE_TASK.params().load({"title": "Follow up", "due_in_days": 3}),
                             session=xrm_session, related=[{"id": party.id}])
    task = xrm_session.get(Task, result["task_id"])
    assert (task.party_ids, task.due_at) == ([party.id], datetime(2026, 3, 5, 8, tzinfo=UTC))
    output = SCHEDULE_MEETING.run(params=SCHEDULE_MEETING.params().load(
        {"title": "Kick-off", "in_days": 2, "at": "14:30", "time_zone": "Europe/Paris"}), session=xrm_session,
        related=[{"id": party.id}])
    meeting = xrm_session.get(Meeting, output["meeting_id"])
    assert meeting.starts_at == datetime(2026, 3, 4, 13, 30, tzinfo=UTC)
    assert meeting.attendee_party_ids == [party.id] and output["conflicts"] == []
    assert [e.type for e in xrm_events if e.type.startswith("activities.")] == [
        "activities.task.created", "activities.meeting.scheduled"]


def test_the_import_command_adds_events_and_refuses_a_bad_file_in_one_line(xrm_app, xrm_client, xrm_session, tmp_path):
    email = xrm_client.post("/api/v1/users", json={"email": "nora.north@test.example", "display_name": "Nora",
                                                   "password": "correct horse battery staple 42"}).get_json()["email"]
    good, bad = tmp_path / "good.ics", tmp_path / "bad.ics"
    good.write_bytes(ICS)
    bad.write_bytes(b"BEGIN:VCALENDAR\r\nBEGIN:VEVENT\r\nSUMMARY:no uid\r\nEND:VEVENT\r\nEND:VCALENDAR\r\n")
    runner = CliRunner()
    script = ScriptInfo(create_app=lambda: xrm_app)
    result = runner.invoke(import_ics_command, [str(good), "--tenant", "test", "--user", email], obj=script)
    assert result.exit_code == 0, result.output
    assert "Imported 2 event(s)" in result.output
    for args in ([str(bad), "--tenant", "test", "--user", email], [str(good), "--tenant", "test", "--user", "x@y.z"]):
        failed = runner.invoke(import_ics_command, args, obj=script)
        assert isinstance(failed.exception, InvalidActivity), failed.output
    assert "has no UID" in str(runner.invoke(import_ics_command, [str(bad), "--tenant", "test", "--user", email],
                                             obj=script).exception)
    assert xrm_session.scalar(select(func.count()).select_from(Meeting)) == 2


def test_demo_data_goes_to_the_demo_staff_once(xrm_client, xrm_tenant, xrm_session):
    for name in ("nora.north", "sam.south", "carla.care"):
        xrm_client.post("/api/v1/users", json={"email": f"{name}@demo.example", "display_name": name,
                                               "password": "correct horse battery staple 42"})
    xrm_client.post("/api/v1/parties", json={"kind": "organization", "display_name": "ACME"})
    plugin.xrm_demo_data(tenant=xrm_tenant, session=xrm_session)
    plugin.xrm_demo_data(tenant=xrm_tenant, session=xrm_session)
    owners = {email for (email,) in xrm_session.execute(
        select(xrm.User.email).join(Task, Task.owner_user_id == xrm.User.id))}
    assert owners == {"nora.north@demo.example", "sam.south@demo.example", "carla.care@demo.example"}
    assert xrm_session.scalar(select(func.count()).select_from(Task)) == 9
    assert xrm_session.scalar(select(func.count()).select_from(Meeting)) == 4
    assert xrm_session.scalar(select(func.count()).select_from(TimeEntry)) == 1


def test_my_day_follows_the_users_own_time_zone(xrm_client, xrm_clock):
    xrm_clock.set(datetime(2026, 3, 24, 20, tzinfo=UTC))  # already the 25th, 09:00, in Auckland
    xrm_client.post(TASKS, json={"title": "Auckland morning call", "due_on": "2026-03-25"})
    assert "Auckland morning call" not in xrm_client.get("/activities/").get_data(as_text=True)  # the tenant: UTC
    saved = xrm_client.post("/account/preferences", data={"time_zone": "Pacific/Auckland"})
    assert saved.status_code == 302, saved.get_data(as_text=True)
    assert "Auckland morning call" in xrm_client.get("/activities/").get_data(as_text=True)
    week = xrm_client.get("/activities/calendar").get_data(as_text=True)
    assert "Pacific/Auckland" in week and '<tr aria-current="date"><td>Wed 25 Mar' in week
