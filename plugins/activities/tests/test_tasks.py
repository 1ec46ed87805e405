"""Tasks through the API: creation, validation, completion of recurring tasks, department scoping."""

TASKS = "/api/v1/activities/tasks"


def test_a_task_is_created_with_its_checklist_links_and_reminders(xrm_client, xrm_events):
    party = xrm_client.post("/api/v1/parties", json={"kind": "organization", "display_name": "ACME"})
    assert party.status_code == 201, party.get_json()
    party_id = party.get_json()["id"]
    created = xrm_client.post(TASKS, json={
        "title": "Call ACME", "due_at": "2026-03-27T15:00:00+01:00", "priority": "high",
        "party_ids": [party_id], "records": ["sales.deal:42"],
        "checklist": [{"text": "Read the file"}, {"text": "Call", "done": True}],
        "reminders": [{"minutes_before": 30}],
    })
    assert created.status_code == 201, created.get_json()
    task = created.get_json()
    assert task["due_at"] == "2026-03-27T14:00:00+00:00"
    assert (task["status"], task["priority"], task["party_ids"], task["records"]) == ("open", "high", [party_id],
                                                                                      ["sales.deal:42"])
    assert [(c["text"], c["done"]) for c in task["checklist"]] == [("Read the file", False), ("Call", True)]
    assert task["reminders"][0]["fire_at"] == "2026-03-27T13:30:00+00:00"
    assert [e.type for e in xrm_events if e.type.startswith("activities.")] == ["activities.task.created"]
    stored = xrm_client.get(created.headers["Location"])  # read back from the database, in UTC with its offset
    assert stored.headers["ETag"] == task["etag"]
    assert (stored.get_json()["due_at"], stored.get_json()["reminders"][0]["fire_at"]) == (
        "2026-03-27T14:00:00+00:00", "2026-03-27T13:30:00+00:00")
    assert stored.get_json()["created_at"].endswith("+00:00")


def test_bad_input_names_the_field_and_adds_nothing(xrm_client, xrm_events):
    for body, field in (
        ({"title": "x", "records": ["not a reference"]}, "records"),
        ({"title": "x", "recurrence": "FREQ=WEEKLY"}, "recurrence"),
        ({"title": "x", "due_on": "2026-05-01", "recurrence": "FREQ=SOMETIMES"}, "recurrence"),
        ({"title": "x", "party_ids": [987654]}, "party_ids"),
        ({"title": "x", "due_on": "2026-05-01", "due_at": "2026-05-01T10:00:00Z"}, "due_on"),
        ({"title": "", "colour": "red"}, "title"),
    ):
        response = xrm_client.post(TASKS, json=body)
        assert response.status_code == 422, (body, response.get_json())
        assert response.mimetype == "application/problem+json"
        assert field in response.get_json()["errors"], response.get_json()
    assert xrm_client.get(TASKS).get_json()["items"] == []
    assert [e for e in xrm_events if e.type.startswith("activities.")] == []


def test_completing_a_recurring_task_creates_the_next_occurrence_once(xrm_client, xrm_events):
    task = xrm_client.post(TASKS, json={"title": "Monthly report", "due_on": "2026-01-31",
                                        "recurrence": "FREQ=MONTHLY;BYMONTHDAY=-1",
                                        "checklist": [{"text": "Figures", "done": True}]}).get_json()
    done = xrm_client.patch(f"{TASKS}/{task['id']}", json={"status": "done"}, headers={"If-Match": task["etag"]})
    assert done.status_code == 200, done.get_json()
    following_id = done.get_json()["next_occurrence_id"]
    following = xrm_client.get(f"{TASKS}/{following_id}").get_json()
    assert (following["due_on"], following["status"], following["recurrence"]) == (
        "2026-02-28", "open", "FREQ=MONTHLY;BYMONTHDAY=-1")
    assert [(c["text"], c["done"]) for c in following["checklist"]] == [("Figures", False)]
    again = xrm_client.patch(f"{TASKS}/{task['id']}", json={"status": "open"}, headers={"If-Match": done.get_json()["etag"]})
    redone = xrm_client.patch(f"{TASKS}/{task['id']}", json={"status": "done"},
                              headers={"If-Match": again.get_json()["etag"]})
    assert redone.get_json()["next_occurrence_id"] == following_id
    assert len(xrm_client.get(TASKS).get_json()["items"]) == 2


def test_a_timed_recurring_task_keeps_its_local_time_across_dst(xrm_client):
    # 09:00 Paris on Friday 27 March 2026 (UTC+1); the next Friday is after the change to UTC+2.
    task = xrm_client.post(TASKS, json={"title": "Weekly call", "due_at": "2026-03-27T08:00:00Z",
                                        "recurrence": "FREQ=WEEKLY"}).get_json()
    done = xrm_client.patch(f"{TASKS}/{task['id']}", json={"status": "done"}, headers={"If-Match": task["etag"]})
    following = xrm_client.get(f"{TASKS}/{done.get_json()['next_occurrence_id']}").get_json()
    # The test tenant's zone is UTC, so the wall clock is UTC's: same UTC time a week later.
    assert following["due_at"] == "2026-04-03T08:00:00+00:00"


def test_a_sales_north_rep_does_not_see_sales_south_tasks(xrm_staff):
    north, _north_id, north_department = xrm_staff("Sales North")
    south, south_id, south_department = xrm_staff("Sales South")
    mine = north.post(TASKS, json={"title": "North task", "due_on": "2026-05-04"})
    theirs = south.post(TASKS, json={"title": "South task", "due_on": "2026-05-04"})
    assert mine.status_code == theirs.status_code == 201, (mine.get_json(), theirs.get_json())
    assert mine.get_json()["department_id"] == north_department
    assert [t["title"] for t in north.get(TASKS).get_json()["items"]] == ["North task"]
    assert north.get(f"{TASKS}/{theirs.get_json()['id']}").status_code == 404
    changed = north.patch(f"{TASKS}/{theirs.get_json()['id']}", json={"status": "done"},
                          headers={"If-Match": theirs.get_json()["etag"]})
    assert changed.status_code == 404
    board = north.get(f"/activities/board?department_id={south_department}").get_data(as_text=True)
    assert "South task" not in board
    assert "North task" in north.get("/activities/board").get_data(as_text=True)
    # Assigning a task into another department is refused: the rep's reach is their own department.
    refused = north.post(TASKS, json={"title": "Push south", "assignee_user_id": south_id})
    assert refused.status_code == 403, refused.get_json()


def test_what_a_task_may_lack_is_documented_as_nullable(xrm_client):
    """The OpenAPI document promised an integer or a date-time where an open task has null (found by
    schemathesis' response conformance check, tests/test_api_fuzz.py)."""
    task = xrm_client.post(TASKS, json={"title": "Call ACME"}).get_json()
    entry = xrm_client.post("/api/v1/activities/time-entries", json={"day": "2026-03-27", "minutes": 30}).get_json()
    assert task["next_occurrence_id"] is None and task["completed_at"] is None and entry["department_id"] is None
    schemas = xrm_client.get("/api/v1/openapi.json").get_json()["components"]["schemas"]
    assert schemas["Task"]["properties"]["next_occurrence_id"]["nullable"] is True
    assert schemas["Task"]["properties"]["completed_at"]["nullable"] is True
    assert schemas["TimeEntry"]["properties"]["department_id"]["nullable"] is True
