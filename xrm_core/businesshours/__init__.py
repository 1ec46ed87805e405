"""Business-hours calendars: working hours, holidays and time zones per tenant and department.

:mod:`.calendar` does the arithmetic (:class:`BusinessCalendar`), :mod:`.models` stores the
calendars, :mod:`.service` picks the one that applies and keeps them valid; the admin API is
``/api/v1/business-calendars`` (:mod:`xrm_core.api.business_hours`).
"""

from .calendar import DEFAULT_HOURS, WEEKDAYS, BusinessCalendar, HoursError
from .service import calendar_for

__all__ = ["DEFAULT_HOURS", "WEEKDAYS", "BusinessCalendar", "HoursError", "calendar_for"]
