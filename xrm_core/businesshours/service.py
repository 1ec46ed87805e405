"""Which business calendar applies, and keeping the stored calendars valid.

:func:`calendar_for` is what the workflow engine and plugins (``xrm.business_calendar``) call: the
department's own calendar, else its nearest ancestor department's, else the tenant's, else the
default Monday-Friday 09:00-17:00 in the tenant's time zone. Changes go through
:func:`create_calendar`, :func:`update_calendar` and :func:`delete_calendar`, which check every part
(raising :class:`~.calendar.HoursError` naming the field) and write an audit entry.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from .. import audit
from ..db import utcnow
from ..errors import Conflict, NotFound
from ..identity.models import Department
from ..models import Tenant
from .calendar import (
    DEFAULT_HOURS,
    BusinessCalendar,
    HoursError,
    parse_holidays,
    parse_hours,
    parse_time_zone,
)
from .models import BusinessCalendarDefinition

#: Fields :func:`update_calendar` may change.
EDITABLE = ("name", "time_zone", "weekly_hours", "holidays", "country")


def _tenant(session: Session) -> Tenant:
    tenant_id = session.info.get("tenant_id")
    tenant = session.get(Tenant, tenant_id) if tenant_id is not None else None
    if tenant is None:
        raise NotFound("business calendars need a tenant-scoped session")
    return tenant


def _department(session: Session, department_id: int) -> Department:
    department = session.get(Department, department_id)
    if department is None:
        raise NotFound(f"no department #{department_id} in this tenant")
    return department


def definition_for(session: Session, department_id: int | None = None) -> BusinessCalendarDefinition | None:
    """The stored calendar that applies: the department's, its nearest ancestor's, or the tenant's."""
    candidates: list[int | None] = [None]
    if department_id is not None:
        department = _department(session, department_id)
        candidates = [int(i) for i in reversed(department.path.strip("/").split("/")) if i] + [None]
        if department_id not in candidates:
            candidates.insert(0, department_id)
    rows = {row.department_id: row for row in session.scalars(select(BusinessCalendarDefinition).where(
        (BusinessCalendarDefinition.department_id.in_([c for c in candidates if c is not None]))
        | BusinessCalendarDefinition.department_id.is_(None)))}
    return next((rows[c] for c in candidates if c in rows), None)


def as_calendar(definition: BusinessCalendarDefinition) -> BusinessCalendar:
    """The arithmetic object of a stored calendar."""
    return BusinessCalendar.from_definition(definition.time_zone, definition.weekly_hours, definition.holidays,
                                            definition.name)


def calendar_for(session: Session, department_id: int | None = None) -> BusinessCalendar:
    """The business calendar of ``department_id`` (or of the tenant when ``None``), see the module docstring.

    :raises NotFound: the department is not in the session's tenant.
    """
    definition = definition_for(session, department_id)
    if definition is not None:
        return as_calendar(definition)
    tenant = _tenant(session)
    return BusinessCalendar.from_definition(tenant.time_zone or "UTC", DEFAULT_HOURS, (), "default")


def public_holidays(country: str, years: Iterable[int]) -> list[dict[str, str]]:
    """The public holidays of ``country`` (``FR``, or ``US-CA`` for a subdivision) in ``years``.

    :raises HoursError: the ``holidays`` library does not know the country or subdivision.
    """
    import holidays as holidays_library

    code, _, subdivision = country.upper().partition("-")
    try:
        found = holidays_library.country_holidays(code, subdiv=subdivision or None, years=sorted(set(years)))
    except NotImplementedError:
        raise HoursError("country", f"{country!r} is not a country code the holidays library knows (ISO 3166, "
                                    "e.g. 'FR', 'US-CA')") from None
    return [{"date": day.isoformat(), "name": name} for day, name in sorted(found.items())]


def _checked(session: Session, values: Mapping[str, Any]) -> dict[str, Any]:
    """The values with holidays pre-filled from ``country`` (given dates win), all checked."""
    checked = dict(values)
    parse_time_zone(checked["time_zone"])
    parse_hours(checked["weekly_hours"])
    holidays = list(checked.get("holidays") or [])
    given = parse_holidays(holidays)
    if checked.get("country"):
        this_year = utcnow().astimezone(parse_time_zone(checked["time_zone"])).year
        holidays += [h for h in public_holidays(checked["country"], (this_year, this_year + 1))
                     if h["date"] not in {d.isoformat() for d in given}]
        checked["country"] = checked["country"].upper()
    checked["holidays"] = sorted(({"date": d.isoformat(), "name": n} for d, n in parse_holidays(holidays).items()),
                                 key=lambda h: h["date"])
    return checked


def create_calendar(session: Session, *, name: str, department_id: int | None = None, time_zone: str | None = None,
                    weekly_hours: Mapping[str, Any] | None = None, holidays: Iterable[Mapping[str, Any]] = (),
                    country: str | None = None, actor: str | None = None) -> BusinessCalendarDefinition:
    """Store the tenant's calendar (``department_id`` None) or a department's.

    Defaults: the tenant's time zone, Monday-Friday 09:00-17:00. ``country`` adds its public
    holidays of this year and the next to ``holidays``.
    :raises HoursError: a part does not make sense. :raises Conflict: that calendar exists already.
    :raises NotFound: no such department.
    """
    if department_id is not None:
        _department(session, department_id)
    exists = select(BusinessCalendarDefinition.id).where(BusinessCalendarDefinition.department_id.is_(None)
                                                         if department_id is None else
                                                         BusinessCalendarDefinition.department_id == department_id)
    if session.scalar(exists) is not None:
        whose = "the tenant" if department_id is None else f"department #{department_id}"
        raise Conflict(f"{whose} has a business calendar already: change it instead")
    values = _checked(session, {
        "name": name, "time_zone": time_zone or _tenant(session).time_zone or "UTC",
        "weekly_hours": dict(DEFAULT_HOURS if weekly_hours is None else weekly_hours),
        "holidays": list(holidays), "country": country,
    })
    definition = BusinessCalendarDefinition(department_id=department_id, **values)
    session.add(definition)
    session.flush()
    audit.record(session, actor or audit.current_actor(session), "business_calendar.create",
                 f"core_business_calendars:{definition.id}", department_id=department_id)
    return definition


def update_calendar(session: Session, definition: BusinessCalendarDefinition, changes: Mapping[str, Any],
                    actor: str | None = None) -> BusinessCalendarDefinition:
    """Change the given fields of a calendar (see :data:`EDITABLE`), checked as at creation."""
    unknown = set(changes) - set(EDITABLE)
    if unknown:
        first = min(unknown)
        raise HoursError(first, f"{first!r} cannot be changed")
    current = {name: getattr(definition, name) for name in EDITABLE}
    if "country" in changes and changes["country"] != current["country"] and "holidays" not in changes:
        current["holidays"] = []  # a new country replaces the pre-filled dates unless holidays are given
    values = _checked(session, {**current, **changes})
    for name in EDITABLE:
        if getattr(definition, name) != values[name]:
            setattr(definition, name, values[name])
    session.flush()
    audit.record(session, actor or audit.current_actor(session), "business_calendar.update",
                 f"core_business_calendars:{definition.id}", fields=sorted(changes))
    return definition


def delete_calendar(session: Session, definition: BusinessCalendarDefinition, actor: str | None = None) -> None:
    """Remove a calendar: the department falls back to its ancestors' (or the tenant's, or the default)."""
    audit.record(session, actor or audit.current_actor(session), "business_calendar.delete",
                 f"core_business_calendars:{definition.id}", department_id=definition.department_id)
    session.delete(definition)
    session.flush()
