"""Exporting a segment's members as CSV or XLSX, without the fields the reader may not see.

Columns come from the party and its contact record; a column whose attribute is a protected field
(``xrm.protected_fields``) is left out unless the exporting principal holds the permission that
field needs. Text a spreadsheet would run as a formula is written with a leading quote.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterator
from typing import Any

import xrm_sdk as xrm
from openpyxl import Workbook
from sqlalchemy import select
from sqlalchemy.orm import Session

from .profiles import ContactPoint, Profile
from .segments import members_select, membership
from .segments_models import Segment

FORMATS = {"csv": "text/csv; charset=utf-8", "xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"}

#: (column header, model, attribute); contact points give the primary email and phone.
COLUMNS: list[tuple[str, type, str]] = [
    ("id", xrm.Party, "id"),
    ("kind", xrm.Party, "kind"),
    ("display_name", xrm.Party, "display_name"),
    ("tags", xrm.Party, "tags"),
    ("prefix", Profile, "prefix"),
    ("given_name", Profile, "given_name"),
    ("family_name", Profile, "family_name"),
    ("job_title", Profile, "job_title"),
    ("birthday", Profile, "birthday"),
    ("preferred_language", Profile, "preferred_language"),
    ("email", ContactPoint, "value"),
    ("phone", ContactPoint, "value"),
    ("owner_user_id", xrm.Party, "owner_user_id"),
    ("department_id", xrm.Party, "department_id"),
]
#: Members are read this many at a time.
BATCH = 1000


def readable_columns(session: Session) -> list[tuple[str, type, str]]:
    """The columns the session's principal may read (all protected ones hidden without a principal)."""
    principal = xrm.principal_of(session)
    kept = []
    for header, model, attribute in COLUMNS:
        needed = xrm.protected_fields(model).get(attribute)
        if needed is None or (principal is not None and principal.scope_for(needed) is not None):
            kept.append((header, model, attribute))
    return kept


def member_rows(session: Session, segment: Segment) -> Iterator[list[Any]]:
    """The header, then one row per member the session may see, by name."""
    columns = readable_columns(session)
    yield [header for header, _model, _attribute in columns]
    parties = session.scalars(members_select(membership(session, segment))).all()
    for start in range(0, len(parties), BATCH):
        batch = parties[start:start + BATCH]
        ids = [party.id for party in batch]
        profiles = {p.id: p for p in session.scalars(select(Profile).where(Profile.id.in_(ids)))}
        points: dict[tuple[int, str], str] = {}
        for point in session.scalars(select(ContactPoint).where(ContactPoint.party_id.in_(ids),
                                                                 ContactPoint.kind.in_(("email", "phone")))
                                     .order_by(ContactPoint.is_primary.desc(), ContactPoint.id)):
            points.setdefault((point.party_id, point.kind), point.value)
        for party in batch:
            row = []
            for header, model, attribute in columns:
                if model is xrm.Party:
                    value = getattr(party, attribute)
                elif model is Profile:
                    profile = profiles.get(party.id)
                    value = getattr(profile, attribute) if profile else None
                else:
                    value = points.get((party.id, header))
                row.append(_cell(value))
            yield row


def _cell(value: Any) -> Any:
    if isinstance(value, list):
        value = ", ".join(map(str, value))
    if value is None:
        return ""
    if isinstance(value, str) and value[:1] in ("=", "+", "-", "@", "\t", "\r"):
        return "'" + value
    return value


def export(session: Session, segment: Segment, fmt: str) -> bytes:
    """The members of ``segment`` as a ``csv`` or ``xlsx`` file."""
    rows = member_rows(session, segment)
    if fmt == "csv":
        text = io.StringIO()
        csv.writer(text).writerows([str(cell) for cell in row] for row in rows)
        return text.getvalue().encode("utf-8")
    book = Workbook(write_only=True)
    sheet = book.create_sheet(segment.name[:31] or "Segment")
    for row in rows:
        sheet.append(row)
    buffer = io.BytesIO()
    book.save(buffer)
    return buffer.getvalue()
