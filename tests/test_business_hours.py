"""Business-time arithmetic: weekends, lunch breaks, holidays, daylight-saving changes, validation."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from xrm_core.businesshours import DEFAULT_HOURS, BusinessCalendar, HoursError

PARIS = ZoneInfo("Europe/Paris")
NEW_YORK = ZoneInfo("America/New_York")
H = timedelta(hours=1)
LUNCH_BREAK = {day: [["09:00", "12:00"], ["13:00", "17:00"]] for day in ("mon", "tue", "wed", "thu", "fri")}


def paris(*args) -> datetime:
    return datetime(*args, tzinfo=PARIS)


def office(hours=DEFAULT_HOURS, holidays=(), zone="Europe/Paris") -> BusinessCalendar:
    return BusinessCalendar.from_definition(zone, hours, holidays)


# 2026-03-27 is a Friday; Paris moves its clocks forward on Sunday 2026-03-29 (UTC+1 -> UTC+2).


def test_adding_within_a_day_and_across_the_lunch_break():
    calendar = office(LUNCH_BREAK)
    assert calendar.add(paris(2026, 3, 23, 9, 0), 2 * H) == paris(2026, 3, 23, 11, 0)
    assert calendar.add(paris(2026, 3, 23, 11, 0), 2 * H) == paris(2026, 3, 23, 14, 0)
    assert calendar.add(paris(2026, 3, 23, 12, 30), 30 * timedelta(minutes=1)) == paris(2026, 3, 23, 13, 30)


def test_adding_across_a_weekend_and_ending_exactly_at_closing_time():
    calendar = office()
    assert calendar.add(paris(2026, 3, 20, 16, 0), 3 * H) == paris(2026, 3, 23, 11, 0)
    assert calendar.add(paris(2026, 3, 23, 9, 0), 8 * H) == paris(2026, 3, 23, 17, 0)  # not Tuesday 09:00
    assert calendar.add(paris(2026, 3, 21, 10, 0), 1 * H) == paris(2026, 3, 23, 10, 0)  # from a Saturday
    assert calendar.add(paris(2026, 3, 20, 9, 0), 40 * H) == paris(2026, 3, 26, 17, 0)


def test_holidays_are_closed_days():
    calendar = office(holidays=[{"date": "2026-04-06", "name": "Easter Monday"}])
    assert calendar.add(paris(2026, 4, 3, 16, 0), 2 * H) == paris(2026, 4, 7, 10, 0)
    assert not calendar.is_open(paris(2026, 4, 6, 10, 0))
    assert calendar.holidays[date(2026, 4, 6)] == "Easter Monday"
    assert calendar.business_time_between(paris(2026, 4, 3, 9, 0), paris(2026, 4, 8, 9, 0)) == 16 * H


def test_the_weekend_of_a_daylight_saving_change_keeps_wall_clock_hours():
    calendar = office()
    friday_16 = paris(2026, 3, 27, 16, 0)
    result = calendar.add(friday_16, 2 * H)
    assert result == paris(2026, 3, 30, 10, 0)
    assert result.astimezone(UTC) == datetime(2026, 3, 30, 8, 0, tzinfo=UTC)  # UTC+2 after the change
    assert friday_16.astimezone(UTC).hour == 15  # UTC+1 before it
    assert calendar.business_time_between(paris(2026, 3, 27, 9, 0), paris(2026, 3, 30, 9, 0)) == 8 * H
    assert calendar.next_open(paris(2026, 3, 28, 12, 0)).astimezone(UTC) == datetime(2026, 3, 30, 7, 0, tzinfo=UTC)


def test_a_working_day_across_the_change_is_shorter_or_longer_in_real_time():
    always = {day: [["00:00", "24:00"]] for day in ("mon", "tue", "wed", "thu", "fri", "sat", "sun")}
    paris_calendar = office(always)
    assert paris_calendar.business_time_between(paris(2026, 3, 29, 0, 0), paris(2026, 3, 30, 0, 0)) == 23 * H
    new_york = office(always, zone="America/New_York")
    day_start = datetime(2026, 11, 1, 0, 0, tzinfo=NEW_YORK)
    assert new_york.business_time_between(day_start, datetime(2026, 11, 2, 0, 0, tzinfo=NEW_YORK)) == 25 * H
    assert new_york.add(day_start, 24 * H) == datetime(2026, 11, 1, 23, 0, tzinfo=NEW_YORK)


def test_is_open_and_next_open():
    calendar = office(LUNCH_BREAK)
    assert calendar.is_open(paris(2026, 3, 23, 9, 0))  # opening time is open
    assert not calendar.is_open(paris(2026, 3, 23, 17, 0))  # closing time is closed
    assert not calendar.is_open(paris(2026, 3, 23, 12, 30))
    assert calendar.next_open(paris(2026, 3, 23, 12, 30)) == paris(2026, 3, 23, 13, 0)
    assert calendar.next_open(paris(2026, 3, 23, 10, 0)) == paris(2026, 3, 23, 10, 0)
    assert calendar.next_open(paris(2026, 3, 27, 17, 0)) == paris(2026, 3, 30, 9, 0)
    assert calendar.next_open(paris(2026, 3, 23, 10, 0)).tzinfo == UTC


def test_business_time_between_counts_only_open_time_and_is_signed():
    calendar = office(LUNCH_BREAK)
    assert calendar.business_time_between(paris(2026, 3, 27, 15, 0), paris(2026, 3, 30, 10, 0)) == 3 * H
    assert calendar.business_time_between(paris(2026, 3, 30, 10, 0), paris(2026, 3, 27, 15, 0)) == -3 * H
    assert calendar.business_time_between(paris(2026, 3, 23, 11, 0), paris(2026, 3, 23, 14, 0)) == 2 * H
    assert calendar.business_time_between(paris(2026, 3, 28, 9, 0), paris(2026, 3, 28, 17, 0)) == timedelta(0)


def test_end_of_day_of_an_open_a_closed_and_a_holiday_moment():
    calendar = office(LUNCH_BREAK, holidays=[{"date": "2026-03-30", "name": "Office move"}])
    assert calendar.end_of_day(paris(2026, 3, 27, 10, 0)) == paris(2026, 3, 27, 17, 0)
    assert calendar.end_of_day(paris(2026, 3, 27, 12, 30)) == paris(2026, 3, 27, 17, 0)  # lunch: same day
    assert calendar.end_of_day(paris(2026, 3, 27, 18, 0)) == paris(2026, 3, 31, 17, 0)  # weekend + holiday
    assert calendar.end_of_day(paris(2026, 3, 28, 8, 0)) == paris(2026, 3, 31, 17, 0)


def test_zero_negative_and_naive_inputs():
    calendar = office()
    assert calendar.add(paris(2026, 3, 28, 8, 0), timedelta(0)) == paris(2026, 3, 30, 9, 0)
    with pytest.raises(ValueError, match="cannot be negative"):
        calendar.add(paris(2026, 3, 23, 10, 0), -H)
    naive = datetime(2026, 3, 23, 8, 0)  # 08:00 where? Refused rather than guessed
    for ask in (lambda: calendar.add(naive, H), lambda: calendar.is_open(naive),
                lambda: calendar.business_time_between(paris(2026, 3, 23, 8, 0), naive)):
        with pytest.raises(ValueError, match="naive"):
            ask()


@pytest.mark.parametrize(("hours", "holidays", "zone", "field", "message"), [
    ({"mon": [["9:00", "17:00"]]}, (), "UTC", "weekly_hours.mon.0", "not a time of day"),
    ({"mon": [["17:00", "09:00"]]}, (), "UTC", "weekly_hours.mon.0", "ends before it starts"),
    ({"mon": [["09:00", "13:00"], ["12:00", "17:00"]]}, (), "UTC", "weekly_hours.mon", "overlap"),
    ({"monday": [["09:00", "17:00"]]}, (), "UTC", "weekly_hours.monday", "not a weekday"),
    ({"mon": [["09:00"]]}, (), "UTC", "weekly_hours.mon.0", "pair"),
    ({"mon": [["24:00", "24:00"]]}, (), "UTC", "weekly_hours.mon.0", "cannot start at 24:00"),
    (DEFAULT_HOURS, (), "Mars/Olympus", "time_zone", "not an IANA time zone"),
    (DEFAULT_HOURS, [{"date": "2026-02-30"}], "UTC", "holidays.0.date", "not a date"),
    (DEFAULT_HOURS, [{"date": "2026-05-01"}, {"date": "2026-05-01"}], "UTC", "holidays.1.date", "twice"),
])
def test_nonsense_is_refused_naming_the_part(hours, holidays, zone, field, message):
    with pytest.raises(HoursError, match=message) as refused:
        BusinessCalendar.from_definition(zone, hours, holidays)
    assert refused.value.field == field


def test_a_calendar_that_never_opens_says_so_instead_of_looping():
    calendar = office({})
    with pytest.raises(HoursError, match="no working time"):
        calendar.add(paris(2026, 3, 23, 9, 0), H)
    assert calendar.business_time_between(paris(2026, 3, 23), paris(2026, 4, 23)) == timedelta(0)


@settings(max_examples=60, deadline=None)
@given(start=st.datetimes(min_value=datetime(2026, 1, 1), max_value=datetime(2027, 12, 31), timezones=st.just(UTC)),
       minutes=st.integers(min_value=0, max_value=60 * 24 * 20))
def test_adding_then_measuring_gives_the_duration_back(start, minutes):
    calendar = office(LUNCH_BREAK, holidays=[{"date": "2026-12-25"}, {"date": "2027-01-01"}])
    duration = timedelta(minutes=minutes)
    end = calendar.add(start, duration)
    assert calendar.business_time_between(start, end) == duration
    assert end >= start
