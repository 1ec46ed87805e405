"""Due moments and reminders counted in business time, on the calendar of a department (or the tenant).

The calendars themselves (working days, hours, holidays) are the core's: ``xrm.business_calendar``.
"""

from __future__ import annotations

from datetime import datetime, timedelta

import xrm_sdk as xrm
from sqlalchemy.orm import Session

#: Steps allowed when counting business time backwards (each step covers the time still missing).
MAX_STEPS = 1000


def end_of_business_day(session: Session, moment: datetime, *, department_id: int | None = None,
                        business_days: int = 0) -> datetime:
    """The close of business ``business_days`` working days after the one ``moment`` is in.

    ``0`` is the close of the working day ``moment`` falls in, or of the next one when it falls on
    a weekend, a holiday or after hours.
    """
    calendar = xrm.business_calendar(session, department_id=department_id)
    end = calendar.end_of_day(moment)
    for _ in range(business_days):
        end = calendar.end_of_day(end + timedelta(seconds=1))
    return end


def business_time_before(session: Session, moment: datetime, amount: timedelta, *,
                         department_id: int | None = None) -> datetime:
    """The latest moment that is ``amount`` of business time before ``moment``.

    Walks back by the business time still missing: wall-clock time never holds less business time
    than itself, so no step overshoots, and closed periods are crossed in a few steps.
    """
    calendar = xrm.business_calendar(session, department_id=department_id)
    start = moment - amount
    for _ in range(MAX_STEPS):
        missing = amount - calendar.business_time_between(start, moment)
        if missing <= timedelta(0):
            return start
        start -= missing
    raise ValueError(f"no business time of {amount} before {moment} within reach: is the calendar ever open?")
