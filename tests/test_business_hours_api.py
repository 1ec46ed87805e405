"""Business calendars stored per tenant and department: which one applies, the admin API, the SDK."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
import xrm_sdk as xrm
from sqlalchemy import select

from xrm_core.audit import AuditEntry
from xrm_core.businesshours.models import BusinessCalendarDefinition
from xrm_core.businesshours.service import create_calendar
from xrm_core.identity import admin
from xrm_core.models import Tenant

pytestmark = pytest.mark.xrm_plugins()

CALENDARS = "/api/v1/business-calendars"
PARIS = ZoneInfo("Europe/Paris")
TOKYO = ZoneInfo("Asia/Tokyo")


@pytest.fixture
def departments(xrm_platform, xrm_tenant):
    """Sales > Sales North, and Support: their ids by name."""
    with xrm_platform.db.transaction(xrm_tenant.id) as session:
        sales = admin.create_department(session, "Sales")
        north = admin.create_department(session, "Sales North", sales)
        support = admin.create_department(session, "Support")
        return {"sales": sales.id, "north": north.id, "support": support.id}


def _set_tenant_zone(platform, tenant_id: int, zone: str) -> None:
    with platform.db.transaction(all_tenants=True) as session:
        session.get(Tenant, tenant_id).time_zone = zone


def test_without_any_calendar_the_default_is_weekdays_nine_to_five_in_the_tenant_zone(xrm_platform, xrm_tenant):
    _set_tenant_zone(xrm_platform, xrm_tenant.id, "Asia/Tokyo")
    with xrm_platform.db.session(xrm_tenant.id) as session:
        calendar = xrm.business_calendar(session)
    assert isinstance(calendar, xrm.BusinessCalendar) and calendar.time_zone == "Asia/Tokyo"
    friday_evening = datetime(2026, 3, 27, 18, 0, tzinfo=TOKYO)
    assert calendar.add(friday_evening, timedelta(hours=1)) == datetime(2026, 3, 30, 10, 0, tzinfo=TOKYO)


def test_a_department_uses_its_own_then_its_ancestors_then_the_tenants(xrm_platform, xrm_tenant, departments):
    with xrm_platform.db.transaction(xrm_tenant.id) as session:
        create_calendar(session, name="Head office", time_zone="Europe/Paris",
                        holidays=[{"date": "2026-05-01", "name": "Labour Day"}])
        create_calendar(session, name="Sales", department_id=departments["sales"], time_zone="Europe/Paris",
                        weekly_hours={day: [["08:00", "12:00"], ["14:00", "18:00"]] for day in ("mon", "tue", "wed")})
    with xrm_platform.db.session(xrm_tenant.id) as session:
        tenant_wide = xrm.business_calendar(session)
        sales = xrm.business_calendar(session, departments["sales"])
        north = xrm.business_calendar(session, departments["north"])
        support = xrm.business_calendar(session, department_id=departments["support"])
        with pytest.raises(xrm.NotFound):
            xrm.business_calendar(session, 999_999)
    assert (tenant_wide.name, sales.name, north.name, support.name) == ("Head office", "Sales", "Sales", "Head office")
    wednesday_17 = datetime(2026, 3, 25, 17, 0, tzinfo=PARIS)
    assert sales.add(wednesday_17, timedelta(hours=2)) == datetime(2026, 3, 30, 9, 0, tzinfo=PARIS)
    assert tenant_wide.add(wednesday_17, timedelta(hours=2)) == datetime(2026, 3, 26, 11, 0, tzinfo=PARIS)
    assert not support.is_open(datetime(2026, 5, 1, 10, 0, tzinfo=PARIS))


def test_a_country_prefills_its_public_holidays_and_given_dates_win(xrm_platform, xrm_tenant, xrm_clock):
    xrm_clock.set(datetime(2026, 3, 1, 12, 0, tzinfo=UTC))
    with xrm_platform.db.transaction(xrm_tenant.id) as session:
        stored = create_calendar(session, name="France", time_zone="Europe/Paris", country="fr",
                                 holidays=[{"date": "2026-07-14", "name": "Fête nationale (ours)"}])
        holidays = {h["date"]: h["name"] for h in stored.holidays}
        assert stored.country == "FR"
    assert holidays["2026-07-14"] == "Fête nationale (ours)"
    assert "2026-05-01" in holidays and "2027-12-25" in holidays  # this year and the next
    assert "2028-01-01" not in holidays


def _admin_reader(xrm_login):
    return xrm_login("core.business_calendar.read")


def test_crud_through_the_api_with_etags_and_audit(xrm_client, xrm_platform, xrm_tenant, departments):
    created = xrm_client.post(CALENDARS, json={
        "name": "Head office", "time_zone": "Europe/Paris",
        "weekly_hours": {"mon": [["09:00", "12:00"], ["13:00", "17:00"]], "fri": [["09:00", "15:00"]]},
        "holidays": [{"date": "2026-12-25", "name": "Christmas Day"}],
    })
    assert created.status_code == 201, created.get_json()
    body = created.get_json()
    assert body["department_id"] is None and body["holidays"] == [{"date": "2026-12-25", "name": "Christmas Day"}]
    url = created.headers["Location"]
    override = xrm_client.post(CALENDARS, json={"name": "Sales", "department_id": departments["sales"]})
    assert override.status_code == 201
    assert override.get_json()["weekly_hours"]["mon"] == [["09:00", "17:00"]]  # the defaults
    assert override.get_json()["time_zone"] == "UTC"  # the tenant's
    listed = xrm_client.get(CALENDARS).get_json()["items"]
    assert [c["name"] for c in listed] == ["Head office", "Sales"]

    assert xrm_client.patch(url, json={"time_zone": "Asia/Tokyo"}).status_code == 428
    changed = xrm_client.patch(url, json={"time_zone": "Asia/Tokyo"}, headers={"If-Match": body["etag"]})
    assert changed.status_code == 200 and changed.get_json()["time_zone"] == "Asia/Tokyo"
    assert xrm_client.patch(url, json={"name": "x"}, headers={"If-Match": body["etag"]}).status_code == 412
    with xrm_platform.db.session(xrm_tenant.id) as session:
        assert xrm.business_calendar(session).time_zone == "Asia/Tokyo"
        actions = session.scalars(select(AuditEntry.action).where(AuditEntry.action.like("business_calendar.%")))
        assert sorted(actions) == ["business_calendar.create", "business_calendar.create", "business_calendar.update"]

    assert xrm_client.delete(url, headers={"If-Match": changed.headers["ETag"]}).status_code == 204
    assert xrm_client.get(url).status_code == 404
    with xrm_platform.db.session(xrm_tenant.id) as session:
        assert xrm.business_calendar(session).name == "default"


@pytest.mark.parametrize(("body", "field", "message"), [
    ({"name": "x", "time_zone": "Mars/Olympus"}, "time_zone", "IANA"),
    ({"name": "x", "weekly_hours": {"mon": [["17:00", "09:00"]]}}, "weekly_hours.mon.0", "ends before it starts"),
    ({"name": "x", "weekly_hours": {"mon": [["09:00", "13:00"], ["12:00", "17:00"]]}}, "weekly_hours.mon", "overlap"),
    ({"name": "x", "weekly_hours": {"funday": [["09:00", "17:00"]]}}, "weekly_hours.funday.key", "Must be one of"),
    ({"name": "x", "holidays": [{"date": "2026-02-30"}]}, "holidays.0.date", "not a date"),
    ({"name": "x", "country": "ZZ"}, "country", "holidays library"),
    ({"name": "x", "department_id": 999999}, None, None),
    ({"time_zone": "UTC"}, "name", "Missing data"),
    ({"name": "x", "version": 3}, "version", "Read-only field."),
])
def test_bad_calendars_are_refused_naming_the_field_and_nothing_is_stored(xrm_client, xrm_platform, xrm_tenant,
                                                                          body, field, message):
    answer = xrm_client.post(CALENDARS, json=body)
    assert answer.content_type == "application/problem+json"
    if field is None:
        assert answer.status_code == 404
    else:
        assert answer.status_code == 422, answer.get_json()
        errors = answer.get_json()["errors"]
        assert field in errors and message in " ".join(errors[field]), errors
    with xrm_platform.db.session(xrm_tenant.id) as session:
        assert session.scalars(select(BusinessCalendarDefinition)).all() == []


def test_a_second_tenant_calendar_is_a_conflict(xrm_client):
    assert xrm_client.post(CALENDARS, json={"name": "One"}).status_code == 201
    second = xrm_client.post(CALENDARS, json={"name": "Two"})
    assert second.status_code == 409 and "already" in second.get_json()["detail"]


def test_rights_are_needed_at_tenant_scope(xrm_client, xrm_login):
    url = xrm_client.post(CALENDARS, json={"name": "Head office"}).headers["Location"]
    reader = xrm_login("core.business_calendar.read")
    assert reader.get(url).status_code == 200
    assert reader.post(CALENDARS, json={"name": "Mine"}).status_code == 403
    department_reader = xrm_login("core.business_calendar.read", scope="department")
    assert department_reader.get(CALENDARS).status_code == 403
    nobody = xrm_login("core.party.read")
    assert nobody.get(url).status_code == 403
