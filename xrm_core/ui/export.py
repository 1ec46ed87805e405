"""Export of a list view to CSV or XLSX: every row of the view the user may read *and* export."""

from __future__ import annotations

import csv
import io
from collections.abc import Iterator
from datetime import UTC

from flask import Response
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from openpyxl import Workbook
from sqlalchemy import select

from .. import web
from ..graph.models import Party, PartyRoleAssignment
from ..identity.authentication import current_principal
from ..identity.fieldsecurity import unreadable_fields
from ..identity.scoping import visible_criteria
from .listing import PartyView

#: Rows fetched per round trip while exporting.
CHUNK = 1000
#: Exported columns: (attribute, header).
COLUMNS = (("id", _l("ID")), ("kind", _l("Kind")), ("display_name", _l("Name")), ("tags", _l("Tags")),
           ("roles", _l("Roles")), ("created_at", _l("Created")), ("updated_at", _l("Updated")))


def rows(view: PartyView) -> Iterator[list]:
    """The header, then one row per party of ``view``, in the view's order."""
    principal = current_principal()
    hidden = unreadable_fields(principal, Party)
    columns = [(name, header) for name, header in COLUMNS if name not in hidden]
    yield [str(header) for _name, header in columns]
    listing = view.query.listing
    statement = (
        view.statement()
        .where(*(f.clause(listing.column(f.field)) for f in view.query.filters))
        .order_by(*(listing.column(k.field).desc() if k.descending else listing.column(k.field).asc()
                    for k in view.query.sort))
        .options(visible_criteria(principal, "export"))  # on top of the session's "read" scoping
        .execution_options(yield_per=CHUNK)
    )
    session = web.db_session()
    for chunk in session.scalars(statement).partitions():
        roles: dict[int, list[str]] = {}
        for party_id, role in session.execute(
            select(PartyRoleAssignment.party_id, PartyRoleAssignment.role)
            .where(PartyRoleAssignment.party_id.in_([p.id for p in chunk]))
            .order_by(PartyRoleAssignment.role)
        ):
            roles.setdefault(party_id, []).append(role)
        for party in chunk:
            values = {"roles": ", ".join(dict.fromkeys(roles.get(party.id, []))),
                      "tags": ", ".join(party.tags or [])}
            yield [values[name] if name in values else _plain(getattr(party, name)) for name, _h in columns]


def _plain(value):
    """Datetimes as naive UTC (what spreadsheets understand); everything else unchanged."""
    if hasattr(value, "tzinfo") and value.tzinfo is not None:
        return value.astimezone(UTC).replace(tzinfo=None)
    return value


def send(view: PartyView, file_format: str) -> Response:
    filename = f"parties.{file_format}"
    if file_format == "csv":
        buffer = io.StringIO()
        writer = csv.writer(buffer)
        for row in rows(view):
            writer.writerow(["" if value is None else _formula_safe(value) for value in row])
        body, mimetype = buffer.getvalue().encode("utf-8-sig"), "text/csv"
    else:
        book = Workbook(write_only=True)
        sheet = book.create_sheet(_("Parties"))
        for row in rows(view):
            sheet.append([_formula_safe(value) for value in row])
        buffer = io.BytesIO()
        book.save(buffer)
        body = buffer.getvalue()
        mimetype = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
    return Response(body, mimetype=mimetype,
                    headers={"Content-Disposition": f'attachment; filename="{filename}"'})


def _formula_safe(value):
    """Text that a spreadsheet would run as a formula (CSV injection) is prefixed with a quote."""
    if isinstance(value, str) and value[:1] in ("=", "+", "-", "@", "\t", "\r"):
        return "'" + value
    return value
