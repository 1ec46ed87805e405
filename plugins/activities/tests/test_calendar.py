"""Meetings: time zones, recurrence across DST, all-day events, conflicts; the ICS feed and ICS import."""

from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

import icalendar
from activities_testing import ICS
from dateutil.rrule import rrulestr
from xrm_activities.models import Meeting
from xrm_activities.service import meetings_between

MEETINGS = "/api/v1/activities/meetings"
PARIS = ZoneInfo("Europe/Paris")


def test_a_weekly_meeting_keeps_its_local_time_across_the_dst_change(xrm_client, xrm_session):
    # Mondays 09:00 in Paris from 23 March 2026; clocks go forward on Sunday 29 March.
    created = xrm_client.post(MEETINGS, json={
        "title": "Stand-up", "starts_at": "2026-03-23T09:00:00", "ends_at": "2026-03-23T09:15:00",
        "time_zone": "Europe/Paris", "recurrence": "FREQ=WEEKLY;BYDAY=MO;COUNT=3"})
    assert created.status_code == 201, created.get_json()
    assert created.get_json()["starts_at"] == "2026-03-23T08:00:00+00:00"
    stored = xrm_client.get(f"{MEETINGS}/{created.get_json()['id']}").get_json()  # read back from the database
    assert (stored["starts_at"], stored["ends_at"]) == ("2026-03-23T08:00:00+00:00", "2026-03-23T08:15:00+00:00")
    assert datetime.fromisoformat(stored["created_at"]).utcoffset() == timedelta(0)
    found = meetings_between(xrm_session, datetime(2026, 3, 20, tzinfo=UTC), datetime(2026, 5, 1, tzinfo=UTC))
    starts = [start for _meeting, start, _end in found]
    assert starts == [datetime(2026, 3, 23, 8, tzinfo=UTC), datetime(2026, 3, 30, 7, tzinfo=UTC),
                      datetime(2026, 4, 6, 7, tzinfo=UTC)]
    assert {start.astimezone(PARIS).strftime("%a %H:%M") for start in starts} == {"Mon 09:00"}
    assert all(end - start == timedelta(minutes=15) for _m, start, end in found)


def test_an_all_day_event_covers_the_day_in_its_zone(xrm_client, xrm_session):
    created = xrm_client.post(MEETINGS, json={"title": "Trade fair", "all_day": True, "start_day": "2026-07-14",
                                              "days": 2, "time_zone": "Europe/Paris"})
    assert created.status_code == 201, created.get_json()
    body = created.get_json()
    assert (body["starts_at"], body["ends_at"], body["all_day"]) == (
        "2026-07-13T22:00:00+00:00", "2026-07-15T22:00:00+00:00", True)
    assert xrm_client.post(MEETINGS, json={"title": "No day", "all_day": True}).status_code == 422


def test_an_overlapping_meeting_is_saved_with_a_conflict_warning(xrm_client, xrm_staff):
    _rep, rep_id, _department = xrm_staff("Sales North")
    first = xrm_client.post(MEETINGS, json={"title": "Pipeline", "starts_at": "2026-06-01T10:00:00Z",
                                            "ends_at": "2026-06-01T11:00:00Z", "attendee_user_ids": [rep_id]})
    assert first.get_json()["conflicts"] == []
    second = xrm_client.post(MEETINGS, json={"title": "Customer call", "kind": "call",
                                             "starts_at": "2026-06-01T10:30:00Z", "ends_at": "2026-06-01T10:45:00Z",
                                             "attendee_user_ids": [rep_id]})
    assert second.status_code == 201
    found = second.get_json()["conflicts"]
    # Both the organiser (the administrator) and the rep are double-booked.
    assert {(c["meeting_id"], c["title"]) for c in found} == {(first.get_json()["id"], "Pipeline")}
    assert rep_id in {c["user_id"] for c in found} and len(found) == 2
    after = xrm_client.post(MEETINGS, json={"title": "Later", "starts_at": "2026-06-01T11:00:00Z",
                                            "ends_at": "2026-06-01T12:00:00Z", "attendee_user_ids": [rep_id]})
    assert after.get_json()["conflicts"] == []  # touching end to start is no overlap
    bad = xrm_client.post(MEETINGS, json={"title": "Backwards", "starts_at": "2026-06-01T10:00:00Z",
                                          "ends_at": "2026-06-01T09:00:00Z"})
    assert bad.status_code == 422 and "ends_at" in bad.get_json()["errors"]
    assert xrm_client.post(MEETINGS, json={"title": "Nowhere", "starts_at": "2026-06-01T10:00:00",
                                           "time_zone": "Mars/Olympus"}).get_json()["errors"].keys() == {"time_zone"}


def _feed_url(client) -> str:
    issued = client.post("/api/v1/activities/feed")
    assert issued.status_code == 201, issued.get_json()
    return issued.get_json()["url"].replace("http://localhost", "")


def test_the_feed_is_valid_icalendar_with_meetings_and_dated_tasks(xrm_app, xrm_staff, xrm_clock):
    xrm_clock.set(datetime(2026, 3, 1, tzinfo=UTC))  # the feed reaches 90 days back
    rep, _rep_id, _department = xrm_staff("Sales North")
    rep.post(MEETINGS, json={"title": "Stand-up", "starts_at": "2026-03-23T09:00:00", "ends_at": "2026-03-23T09:15:00",
                             "time_zone": "Europe/Paris", "recurrence": "FREQ=WEEKLY;BYDAY=MO;COUNT=3",
                             "location": "Room 1"})
    rep.post(MEETINGS, json={"title": "Fair", "all_day": True, "start_day": "2026-07-14", "time_zone": "Europe/Paris"})
    rep.post("/api/v1/activities/tasks", json={"title": "Send offer", "due_on": "2026-05-04"})
    rep.post("/api/v1/activities/tasks", json={"title": "Undated", "description": "not in the feed"})
    url = _feed_url(rep)
    anonymous = xrm_app.test_client()
    response = anonymous.get(url)
    assert response.status_code == 200, response.get_data(as_text=True)
    assert response.mimetype == "text/calendar"
    calendar = icalendar.Calendar.from_ical(response.get_data())
    events = {str(e["summary"]): e for e in calendar.walk("VEVENT")}
    standup = events["Stand-up"]
    start = standup.decoded("dtstart")
    assert (start.replace(tzinfo=None), str(start.tzinfo)) == (datetime(2026, 3, 23, 9), "Europe/Paris")
    assert str(standup["location"]) == "Room 1"
    expanded = list(rrulestr(standup["rrule"].to_ical().decode(), dtstart=start))
    assert [s.astimezone(UTC).hour for s in expanded] == [8, 7, 7]  # 09:00 Paris before and after DST
    assert events["Fair"].decoded("dtstart") == date(2026, 7, 14)
    assert calendar.walk("VTIMEZONE"), "zones used by events are described"
    todos = {str(t["summary"]): t for t in calendar.walk("VTODO")}
    assert list(todos) == ["Send offer"] and todos["Send offer"].decoded("due") == date(2026, 5, 4)


def test_a_revoked_or_replaced_feed_token_is_404_and_the_feed_follows_the_user_rights(xrm_app, xrm_staff):
    north, _north_id, _ = xrm_staff("Sales North")
    south, _south_id, _ = xrm_staff("Sales South")
    south.post("/api/v1/activities/tasks", json={"title": "South secret", "due_on": "2026-05-04"})
    north.post("/api/v1/activities/tasks", json={"title": "North plan", "due_on": "2026-05-04"})
    anonymous = xrm_app.test_client()
    first = _feed_url(north)
    feed = anonymous.get(first).get_data(as_text=True)
    assert "North plan" in feed and "South secret" not in feed
    second = _feed_url(north)
    assert anonymous.get(first).status_code == 404
    assert anonymous.get(second).status_code == 200
    assert north.delete("/api/v1/activities/feed").status_code == 204
    assert anonymous.get(second).status_code == 404
    assert anonymous.get(second.replace("/test.", "/nosuchtenant.")).status_code == 404
    assert anonymous.get("/activities/feeds/garbage.ics").status_code == 404


def test_ics_import_adds_events_once_and_a_malformed_file_changes_nothing(xrm_client, xrm_session):
    imported = xrm_client.post("/api/v1/activities/meetings/import", data=ICS, content_type="text/calendar")
    assert imported.status_code == 200, imported.get_json()
    assert imported.get_json() == {"added": 2, "skipped": 0}
    again = xrm_client.post("/api/v1/activities/meetings/import", data=ICS, content_type="text/calendar")
    assert again.get_json() == {"added": 0, "skipped": 2}
    broken = ICS.replace(b"UID:evt-2@example.com", b"UID:evt-3@example.com").replace(
        b"DTSTART;VALUE=DATE:20260501", b"DTSTART:not-a-date")
    for content in (b"this is not a calendar", broken):
        refused = xrm_client.post("/api/v1/activities/meetings/import", data=content, content_type="text/calendar")
        assert refused.status_code == 422, refused.get_json()
        assert refused.mimetype == "application/problem+json"
        assert "file" in refused.get_json()["errors"]
    assert len(xrm_client.get(MEETINGS).get_json()["items"]) == 2

    visit = xrm_session.query(Meeting).filter_by(ical_uid="evt-1@example.com").one()
    assert (visit.time_zone, visit.location) == ("Europe/Paris", "Lyon")
    assert visit.starts_at == datetime(2026, 3, 23, 13, tzinfo=UTC)
    assert xrm_session.query(Meeting).filter_by(ical_uid="evt-2@example.com").one().all_day
