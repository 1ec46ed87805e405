"""``/api/v1/business-calendars``: the tenant's business-hours calendar and its department overrides.

Tenant administration: each action needs ``core.business_calendar.<read|create|update|delete>``
granted at tenant scope (403 otherwise). A calendar without ``department_id`` is the tenant's (one
at most); one with it overrides the tenant's for that department and the departments below it. A
bad time zone, interval, holiday or country is a 422 naming the field (``weekly_hours.mon.1``);
changing or deleting needs the calendar's ETag in ``If-Match``.
"""

from __future__ import annotations

from flask import request, url_for
from flask.views import MethodView
from marshmallow import ValidationError, fields, validate
from sqlalchemy import select

from .. import web
from ..businesshours.calendar import WEEKDAYS, HoursError
from ..businesshours.models import BusinessCalendarDefinition
from ..businesshours.service import EDITABLE, create_calendar, delete_calendar, update_calendar
from ..identity.authentication import current_principal
from ..identity.models import Scope
from ..identity.scoping import PermissionDenied
from .blueprint import ApiBlueprint
from .listing import Listing
from .pagination import cursor_paginate
from .records import get_for_update, get_or_404
from .schemas import RecordSchema, Schema

#: Mounted at ``/api/v1/business-calendars`` by the application factory.
blueprint = ApiBlueprint("core_business_calendars", __name__,
                         description="Business-hours calendars: working hours, time zone and holidays per "
                                     "tenant and department, used by SLA timers, reminders and workflow waits.")

#: The permission resource; actions ``read``, ``create``, ``update``, ``delete``.
RESOURCE = "core.business_calendar"


class HolidaySchema(Schema):
    #: A string, checked by the service (``holidays.0.date``), as the calendar stores it.
    date = fields.String(required=True, metadata={"format": "date", "description": "YYYY-MM-DD"})
    name = fields.String(load_default="", validate=validate.Length(max=200))


class BusinessCalendarSchema(RecordSchema):
    name = fields.String(required=True, validate=validate.Length(min=1, max=200))
    department_id = fields.Integer(allow_none=True, load_default=None, metadata={
        "description": "The department this calendar applies to (and those below it); null for the tenant's."})
    time_zone = fields.String(validate=validate.Length(min=1, max=63), metadata={
        "description": "IANA time zone of the working hours, e.g. 'Europe/Paris'; defaults to the tenant's."})
    weekly_hours = fields.Dict(
        keys=fields.String(validate=validate.OneOf(WEEKDAYS)),
        values=fields.List(fields.List(fields.String(), validate=validate.Length(equal=2))),
        metadata={"description": "Working intervals per weekday, e.g. {\"mon\": [[\"09:00\", \"12:00\"], "
                                 "[\"13:00\", \"17:00\"]]}; a missing weekday is closed. Default Mon-Fri 09:00-17:00."})
    holidays = fields.List(fields.Nested(HolidaySchema), metadata={"description": "Closed dates, with names."})
    country = fields.String(allow_none=True, validate=validate.Length(min=2, max=10), metadata={
        "description": "ISO 3166 country (or 'US-CA' with a subdivision) whose public holidays of this year "
                       "and the next are added to the holidays."})
    created_at = fields.DateTime(dump_only=True)
    updated_at = fields.DateTime(dump_only=True)


CALENDARS = Listing(BusinessCalendarDefinition, BusinessCalendarSchema, sortable=("name",),
                    filterable={"department_id": ("eq", "isnull")}, default_sort="id")


@blueprint.before_request
def _require_right() -> None:
    """403 before any input is read unless the principal may do this to business calendars, tenant-wide."""
    if request.method in ("GET", "HEAD", "OPTIONS"):
        action = "read"
    elif request.method == "DELETE":
        action = "delete"
    else:
        action = "create" if request.method == "POST" else "update"
    principal = current_principal()
    granted = principal.scope_for(f"{RESOURCE}.{action}")
    if granted is None or granted.rank < Scope.TENANT.rank:
        raise PermissionDenied(f"{principal.name} may not {action} business calendars (needs "
                               f"{RESOURCE}.{action} at tenant scope)")


def _refused(exc: HoursError) -> ValidationError:
    return ValidationError({exc.field: [str(exc)]})


@blueprint.route("")
class BusinessCalendars(MethodView):
    @blueprint.list_response(CALENDARS)
    def get(self, query):
        """List the tenant's business calendars (its own and the departments')."""
        return cursor_paginate(select(BusinessCalendarDefinition), query)

    @blueprint.arguments(BusinessCalendarSchema)
    @blueprint.record_response(BusinessCalendarSchema, 201)
    def post(self, data):
        """Define the tenant's calendar, or a department's override."""
        session = web.db_session()
        try:
            calendar = create_calendar(session, actor=current_principal().name, **data)
        except HoursError as exc:
            raise _refused(exc) from None
        session.commit()
        return calendar, {"Location": url_for(".BusinessCalendarItem", calendar_id=calendar.id)}


@blueprint.route("/<int:calendar_id>")
class BusinessCalendarItem(MethodView):
    @blueprint.record_response(BusinessCalendarSchema)
    def get(self, calendar_id):
        """Get a business calendar."""
        return get_or_404(BusinessCalendarDefinition, calendar_id)

    @blueprint.requires_if_match
    @blueprint.arguments(BusinessCalendarSchema(partial=True, exclude=("department_id",)))
    @blueprint.record_response(BusinessCalendarSchema)
    def patch(self, changes, calendar_id):
        """Change the name, time zone, hours, holidays or country (a new country re-fills the holidays)."""
        calendar = get_for_update(BusinessCalendarDefinition, calendar_id)
        try:
            update_calendar(web.db_session(), calendar, {k: v for k, v in changes.items() if k in EDITABLE},
                            actor=current_principal().name)
        except HoursError as exc:
            raise _refused(exc) from None
        web.db_session().commit()
        return calendar

    @blueprint.requires_if_match
    @blueprint.response(204)
    def delete(self, calendar_id):
        """Delete the calendar: its department falls back to its ancestors', the tenant's or the default."""
        session = web.db_session()
        delete_calendar(session, get_for_update(BusinessCalendarDefinition, calendar_id),
                        actor=current_principal().name)
        session.commit()
