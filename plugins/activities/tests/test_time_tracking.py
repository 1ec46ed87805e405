"""Time entries, the weekly timesheet and its XLSX export, totals per party and department."""

import io

from openpyxl import load_workbook

ENTRIES = "/api/v1/activities/time-entries"


def test_time_is_logged_and_summed_per_week_party_and_department(xrm_client, xrm_staff, xrm_events):
    north, _north_id, north_department = xrm_staff("Sales North")
    south, _south_id, south_department = xrm_staff("Sales South")
    party_id = xrm_client.post("/api/v1/parties", json={"kind": "organization", "display_name": "ACME"}).get_json()["id"]
    task_id = north.post("/api/v1/activities/tasks", json={"title": "Offer"}).get_json()["id"]
    for body in ({"day": "2026-03-23", "minutes": 90, "party_id": party_id},
                 {"day": "2026-03-24", "minutes": 30, "party_id": party_id},
                 {"day": "2026-03-24", "minutes": 45, "task_id": task_id},
                 {"day": "2026-03-30", "minutes": 60, "party_id": party_id}):
        created = north.post(ENTRIES, json=body)
        assert created.status_code == 201, created.get_json()
    assert south.post(ENTRIES, json={"day": "2026-03-24", "minutes": 15, "party_id": party_id}).status_code == 201
    assert [e.payload["minutes"] for e in xrm_events if e.type == "activities.time.logged"] == [90, 30, 45, 60, 15]

    sheet = north.get("/api/v1/activities/timesheet?week=2026-03-25").get_json()
    assert sheet["week_start"] == "2026-03-23" and sheet["total"] == 165
    assert {row["work"]: row["minutes"][:2] for row in sheet["rows"]} == {"Party: ACME": [90, 30], "Task: Offer": [0, 45]}
    assert sheet["day_totals"][:3] == [90, 75, 0]

    workbook = north.get("/api/v1/activities/timesheet?week=2026-03-23&format=xlsx")
    assert workbook.status_code == 200
    assert workbook.mimetype == "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
    rows = list(load_workbook(io.BytesIO(workbook.get_data())).active.iter_rows(values_only=True))
    assert rows[2][:3] == ("Party: ACME", 1.5, 0.5) and rows[-1][0] == "Total" and rows[-1][-1] == 2.75

    totals = xrm_client.get("/api/v1/activities/time-totals?by=department&since=2026-03-01&until=2026-04-01")
    assert {t["id"]: t["minutes"] for t in totals.get_json()["totals"]} == {north_department: 225, south_department: 15}
    per_party = xrm_client.get("/api/v1/activities/time-totals?by=party&since=2026-03-23&until=2026-03-30").get_json()
    assert [(t["name"], t["minutes"]) for t in per_party["totals"]] == [("ACME", 135), ("(none)", 45)]
    # Each rep sees their department's time only.
    assert {e["minutes"] for e in south.get(ENTRIES).get_json()["items"]} == {15}
    assert north.get("/api/v1/activities/time-totals?by=department&since=2026-03-01&until=2026-04-01").get_json()[
        "totals"] == [{"id": north_department, "name": "Sales North", "minutes": 225}]


def test_bad_time_entries_are_refused_naming_the_field(xrm_client):
    for body, field in (({"day": "2026-03-23", "minutes": 0}, "minutes"),
                        ({"day": "2026-03-23", "minutes": 10, "party_id": 424242}, "party_id"),
                        ({"day": "2026-03-23", "minutes": 10, "record": "nope"}, "record"),
                        ({"minutes": 10}, "day")):
        refused = xrm_client.post(ENTRIES, json=body)
        assert refused.status_code == 422 and field in refused.get_json()["errors"], refused.get_json()
    assert xrm_client.get(ENTRIES).get_json()["items"] == []
    refused = xrm_client.get("/api/v1/activities/time-totals?by=team")
    assert refused.status_code == 422 and "by" in refused.get_json()["errors"]
