"""Business-time arithmetic: working hours per weekday, holidays, a time zone.

A :class:`BusinessCalendar` answers "when is it 4 business hours after this moment?", "is the
office open?" and "how much business time went by between these two moments?". Moments go in and
come out as timezone-aware datetimes (UTC out; a naive one is refused: which moment it means would
be a guess); the working hours are wall-clock times in the
calendar's zone, so a day across a daylight-saving change keeps its 09:00-17:00 and the counting
is in real elapsed time (a working interval that spans the change is an hour shorter or longer).

Working hours are given per weekday as intervals ``[["09:00", "12:00"], ["13:00", "17:00"]]``;
``"24:00"`` ends an interval at midnight. A weekday without intervals, or a holiday, is closed.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from itertools import pairwise
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from ..errors import XrmError

#: Weekday keys, Monday first (``date.weekday()`` order).
WEEKDAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
#: Monday to Friday, 09:00-17:00: the calendar of a tenant that has not defined one.
DEFAULT_HOURS: dict[str, list[list[str]]] = {day: [["09:00", "17:00"]] for day in WEEKDAYS[:5]}
#: How far a search for open time looks before deciding the calendar is never open.
SEARCH_DAYS = 3 * 366

Interval = tuple[time, time | None]  # end None: midnight at the end of the day


class HoursError(XrmError, ValueError):
    """Working hours, a holiday or a time zone that do not make sense; ``field`` says which part."""

    def __init__(self, field: str, message: str):
        super().__init__(message)
        self.field = field


def parse_time_zone(name: str) -> ZoneInfo:
    """The IANA zone ``name`` (``Europe/Paris``). :raises HoursError: unknown zone."""
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        raise HoursError("time_zone", f"{name!r} is not an IANA time zone such as 'Europe/Paris'") from None


def _clock_time(value: object, where: str) -> time | None:
    if value == "24:00":
        return None
    try:
        hours, minutes = str(value).split(":")
        if len(hours) != 2 or len(minutes) != 2:
            raise ValueError
        return time(int(hours), int(minutes))
    except ValueError:
        raise HoursError(where, f"{value!r} is not a time of day HH:MM (00:00 to 24:00)") from None


def parse_hours(hours: Mapping[str, object]) -> dict[int, tuple[Interval, ...]]:
    """Working hours as loaded from JSON, checked: weekday number -> sorted, disjoint intervals.

    :raises HoursError: unknown weekday, malformed time, an interval ending before it starts or
        overlapping another (``field`` is the JSON path, ``weekly_hours.mon.1``).
    """
    if not isinstance(hours, Mapping):
        raise HoursError("weekly_hours", "working hours are an object keyed by weekday: mon, tue, … sun")
    parsed: dict[int, tuple[Interval, ...]] = {}
    for key, intervals in hours.items():
        if key not in WEEKDAYS:
            raise HoursError(f"weekly_hours.{key}", f"{key!r} is not a weekday (mon, tue, wed, thu, fri, sat, sun)")
        if not isinstance(intervals, (list, tuple)):
            raise HoursError(f"weekly_hours.{key}", "a weekday's hours are a list of [start, end] pairs")
        day: list[Interval] = []
        for index, pair in enumerate(intervals):
            where = f"weekly_hours.{key}.{index}"
            if not isinstance(pair, (list, tuple)) or len(pair) != 2:
                raise HoursError(where, "an interval is a pair [start, end] such as ['09:00', '12:00']")
            start, end = _clock_time(pair[0], where), _clock_time(pair[1], where)
            if start is None:
                raise HoursError(where, "an interval cannot start at 24:00")
            if end is not None and end <= start:
                raise HoursError(where, f"the interval {pair[0]}-{pair[1]} ends before it starts")
            day.append((start, end))
        day.sort(key=lambda interval: interval[0])
        for index, (before, after) in enumerate(pairwise(day)):
            if before[1] is None or before[1] > after[0]:
                raise HoursError(f"weekly_hours.{key}", f"intervals {index} and {index + 1} overlap (after sorting)")
        if day:
            parsed[WEEKDAYS.index(key)] = tuple(day)
    return parsed


def parse_holidays(holidays: Iterable[Mapping[str, object]]) -> dict[date, str]:
    """``[{"date": "2026-12-25", "name": "Christmas"}]`` checked: date -> name.

    :raises HoursError: a malformed entry, a bad date, the same date twice.
    """
    parsed: dict[date, str] = {}
    for index, entry in enumerate(holidays):
        where = f"holidays.{index}"
        if not isinstance(entry, Mapping) or "date" not in entry:
            raise HoursError(where, "a holiday is {date: 'YYYY-MM-DD', name: '…'}")
        try:
            day = entry["date"] if isinstance(entry["date"], date) else date.fromisoformat(str(entry["date"]))
        except ValueError:
            raise HoursError(where + ".date", f"{entry['date']!r} is not a date YYYY-MM-DD") from None
        if day in parsed:
            raise HoursError(where + ".date", f"{day.isoformat()} is listed twice")
        parsed[day] = str(entry.get("name") or "")[:200]
    return parsed


@dataclass(frozen=True)
class BusinessCalendar:
    """Working hours in a time zone, minus holidays; all arithmetic in real (UTC) time.

    Build one with :meth:`from_definition`, or get the one that applies to a tenant or department
    with :func:`xrm_core.businesshours.service.calendar_for` (``xrm.business_calendar`` in the SDK).
    """

    time_zone: str
    hours: Mapping[int, tuple[Interval, ...]]
    holidays: Mapping[date, str] = field(default_factory=dict)
    name: str = ""

    @classmethod
    def from_definition(cls, time_zone: str, weekly_hours: Mapping[str, object],
                        holidays: Iterable[Mapping[str, object]] = (), name: str = "") -> BusinessCalendar:
        """A calendar from its stored (JSON) form. :raises HoursError: what does not make sense."""
        parse_time_zone(time_zone)
        return cls(time_zone, parse_hours(weekly_hours), parse_holidays(holidays), name)

    @property
    def zone(self) -> ZoneInfo:
        return ZoneInfo(self.time_zone)

    # -- the building block: open intervals, day by day ------------------------------------------

    def intervals_on(self, day: date) -> list[tuple[datetime, datetime]]:
        """The open intervals of the local date ``day``, as UTC moments (none on holidays)."""
        if day in self.holidays:
            return []
        zone = self.zone
        result = []
        for start, end in self.hours.get(day.weekday(), ()):
            opens = datetime.combine(day, start, zone).astimezone(UTC)
            closes = datetime.combine(day + timedelta(days=1) if end is None else day, end or time(0), zone)
            result.append((opens, closes.astimezone(UTC)))
        return result

    def _local_day(self, moment: datetime) -> date:
        return moment.astimezone(self.zone).date()

    def _open_from(self, moment: datetime) -> Iterator[tuple[datetime, datetime]]:
        """Open intervals from ``moment`` on, the first one clipped to start at ``moment``.

        :raises HoursError: no open time within :data:`SEARCH_DAYS` days (a calendar never open).
        """
        moment = _utc(moment)
        day = self._local_day(moment)
        idle = 0
        while idle <= SEARCH_DAYS:
            found = False
            for opens, closes in self.intervals_on(day):
                if closes > moment:
                    found = True
                    yield max(opens, moment), closes
            idle = 0 if found else idle + 1
            day += timedelta(days=1)
        raise HoursError("weekly_hours", f"the calendar has no working time in the {SEARCH_DAYS} days after "
                                         f"{moment.isoformat()}")

    # -- questions ---------------------------------------------------------------------------------

    def is_open(self, moment: datetime) -> bool:
        """Whether ``moment`` falls in working hours (an interval's start is open, its end closed)."""
        moment = _utc(moment)
        return any(opens <= moment < closes for opens, closes in self.intervals_on(self._local_day(moment)))

    def next_open(self, moment: datetime) -> datetime:
        """``moment`` itself when open, else the next moment the calendar opens (UTC)."""
        return next(self._open_from(moment))[0]

    def add(self, start: datetime, duration: timedelta) -> datetime:
        """The moment when ``duration`` of business time has gone by after ``start`` (UTC).

        Time only runs while open: 3 business hours after Friday 16:00 on a 09:00-17:00 calendar is
        Monday 11:00. Work that ends exactly at closing time ends then, not the next morning.
        :raises ValueError: a negative duration, a naive ``start``.
        """
        if duration < timedelta(0):
            raise ValueError(f"a business duration cannot be negative ({duration})")
        remaining = duration
        for opens, closes in self._open_from(start):
            if closes - opens >= remaining:
                return opens + remaining
            remaining -= closes - opens
        raise AssertionError("unreachable: _open_from raises when it runs out")  # pragma: no cover

    def business_time_between(self, a: datetime, b: datetime) -> timedelta:
        """Business time from ``a`` to ``b`` (negative when ``b`` is before ``a``)."""
        a, b = _utc(a), _utc(b)
        if b < a:
            return -self.business_time_between(b, a)
        total = timedelta(0)
        day, last = self._local_day(a), self._local_day(b)
        while day <= last:
            for opens, closes in self.intervals_on(day):
                overlap = min(closes, b) - max(opens, a)
                if overlap > timedelta(0):
                    total += overlap
            day += timedelta(days=1)
        return total

    def end_of_day(self, moment: datetime) -> datetime:
        """Closing time of the working day ``moment`` is in; if that day is over or closed, of the next.

        "Due by end of business day" on a Saturday, a holiday or after closing means the next
        working day's closing time.
        """
        opens, _closes = next(self._open_from(moment))
        day = self._local_day(opens)
        return self.intervals_on(day)[-1][1]


def _utc(moment: datetime) -> datetime:
    """``moment`` in UTC. :raises ValueError: ``moment`` is naive (the database gives every stored moment aware)."""
    if moment.utcoffset() is None:
        raise ValueError(f"business time is counted from an aware datetime, not the naive {moment.isoformat()}")
    return moment.astimezone(UTC)
