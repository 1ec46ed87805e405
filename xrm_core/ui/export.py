"""Export of a list view to CSV or XLSX: every row of the view the user may read *and* export.

The party list and the plugins' lists (:mod:`.entity_lists`) share the query and the writers.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable, Iterator
from datetime import date, datetime
from decimal import Decimal
from typing import Any

from flask import Response
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from openpyxl import Workbook
from sqlalchemy import Select, select

from .. import web
from ..api.listing import ListQuery
from ..dataio.export_scope import exporting
from ..dataio.formats import formula_safe, spreadsheet_moment
from ..graph.models import Party, PartyRoleAssignment
from ..identity.authentication import current_principal
from ..identity.fieldsecurity import unreadable_fields
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
    statement = exported(view.statement(), view.query)
    session = web.db_session()
    with exporting(session, Party.__permission_resource__):
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
                yield [values[name] if name in values else spreadsheet_moment(getattr(party, name)) for name, _h in columns]


def exported(statement: Select[Any], query: ListQuery) -> Select[Any]:
    """``statement`` with ``query``'s filters and order, fetched in chunks (the session's "read" scoping
    applies); run it within :func:`~xrm_core.dataio.export_scope.exporting` to keep what the user may
    *export* as well."""
    listing = query.listing
    return (
        statement
        .where(*(f.clause(listing.column(f.field)) for f in query.filters))
        .order_by(*(listing.column(k.field).desc() if k.descending else listing.column(k.field).asc()
                    for k in query.sort))
        .execution_options(yield_per=CHUNK)
    )


def send(view: PartyView, file_format: str) -> Response:
    """The party list's ``view`` as a ``parties.csv`` or ``parties.xlsx`` download."""
    return send_rows(rows(view), file_format, "parties", _("Parties"))


def send_rows(table: Iterable[list], file_format: str, name: str, sheet_title: str) -> Response:
    """``table`` (header first) as a ``<name>.csv`` or ``<name>.xlsx`` download, formula-safe."""
    filename = f"{name}.{file_format}"
    if file_format == "csv":
        buffer = io.StringIO()
        writer = csv.writer(buffer)
        for row in table:
            writer.writerow(["" if value is None else formula_safe(spreadsheet_moment(value)) for value in row])
        body, mimetype = buffer.getvalue().encode("utf-8-sig"), "text/csv"
    else:
        book = Workbook(write_only=True)
        sheet = book.create_sheet(sheet_title[:31])  # Excel's limit on sheet names
        for row in table:
            sheet.append([formula_safe(_cell(value)) for value in row])
        buffer = io.BytesIO()
        book.save(buffer)
        body = buffer.getvalue()
        mimetype = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
    return Response(body, mimetype=mimetype,
                    headers={"Content-Disposition": f'attachment; filename="{filename}"'})


def _cell(value):
    """A value a spreadsheet cell takes: lists joined, other unknown types as text."""
    value = spreadsheet_moment(value)
    if value is None or isinstance(value, (str, int, float, bool, Decimal, date, datetime)):
        return value
    if isinstance(value, (list, tuple)):
        return ", ".join(map(str, value))
    return str(value)


