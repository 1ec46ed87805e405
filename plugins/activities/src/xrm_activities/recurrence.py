"""RFC 5545 recurrence rules, expanded in a time zone so that local times survive DST changes.

A weekly meeting at 09:00 Europe/Paris is 08:00 UTC in winter and 07:00 UTC in summer: the rule is
expanded on the wall clock of the event's zone (``dateutil.rrule`` on naive local times), and each
occurrence is then placed in the zone and converted to UTC.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from dateutil.rrule import rrule, rrulestr

#: Occurrences expanded at most for one series in one query (a guard against ``FREQ=SECONDLY``).
MAX_OCCURRENCES = 2000


class RecurrenceError(ValueError):
    """A recurrence rule or time zone that cannot be used; the message says why."""


def zone(name: str) -> ZoneInfo:
    """The IANA time zone ``name`` (``Europe/Paris``), or :class:`RecurrenceError`."""
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        raise RecurrenceError(f"unknown time zone {name!r}") from None


def parse_rule(text: str, start: datetime | date) -> rrule:
    """The rule ``text`` (``FREQ=WEEKLY;BYDAY=MO``, with or without ``RRULE:``) starting at ``start``.

    ``start`` is naive local time (or a date). :raises RecurrenceError: the rule is not valid RFC 5545.
    """
    body = text.strip()
    if body.upper().startswith("RRULE:"):
        body = body[6:]
    if not body.upper().startswith("FREQ=") and ";FREQ=" not in body.upper():
        raise RecurrenceError("a recurrence rule needs FREQ (e.g. FREQ=WEEKLY;BYDAY=MO)")
    if isinstance(start, date) and not isinstance(start, datetime):
        start = datetime.combine(start, datetime.min.time())
    try:
        rule = rrulestr(body, dtstart=start)
    except (ValueError, TypeError) as error:
        raise RecurrenceError(f"not a valid recurrence rule: {error}") from None
    if not isinstance(rule, rrule):
        raise RecurrenceError("give one RRULE, not a set of rules")
    return rule


def occurrences(first_start: datetime, rule: str | None, zone_name: str,
                since: datetime, until: datetime) -> Iterator[datetime]:
    """The starts (UTC) of a series whose first occurrence starts at ``first_start`` (UTC), in [since, until).

    Without a rule, the series is the one occurrence. The rule is expanded on ``zone_name``'s wall clock.
    """
    if not rule:
        if since <= first_start < until:
            yield first_start
        return
    tz = zone(zone_name)
    local_first = first_start.astimezone(tz).replace(tzinfo=None)
    expanded = parse_rule(rule, local_first)
    # A day of margin either side covers any UTC offset; exact bounds are checked in UTC below.
    local_since = since.astimezone(tz).replace(tzinfo=None) - timedelta(days=1)
    local_until = until.astimezone(tz).replace(tzinfo=None) + timedelta(days=1)
    for count, local in enumerate(expanded.xafter(max(local_since, local_first), inc=True)):
        if local > local_until or count >= MAX_OCCURRENCES:
            return
        start = local.replace(tzinfo=tz).astimezone(UTC)
        if since <= start < until:
            yield start


def next_occurrence(first_start: datetime, rule: str, zone_name: str, after: datetime) -> datetime | None:
    """The first start (UTC) of the series strictly after ``after`` (UTC), or ``None`` when it has ended."""
    tz = zone(zone_name)
    expanded = parse_rule(rule, first_start.astimezone(tz).replace(tzinfo=None))
    local = expanded.after(after.astimezone(tz).replace(tzinfo=None), inc=False)
    while local is not None:
        start = local.replace(tzinfo=tz).astimezone(UTC)
        if start > after:
            return start
        local = expanded.after(local, inc=False)
    return None


def next_day(first_day: date, rule: str, after: date) -> date | None:
    """The first day of a daily-or-coarser series starting ``first_day`` that comes after ``after``."""
    following = parse_rule(rule, first_day).after(datetime.combine(after, datetime.max.time()), inc=False)
    return following.date() if following else None
