"""Reading the audit log: the entries matching a filter, and their export as CSV or JSON Lines.

Shared by the REST API (``/api/v1/audit``) and the command line (``xrm audit``), so both select
and write entries the same way.
"""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Iterator
from datetime import datetime
from typing import Any

from sqlalchemy import Select, select
from sqlalchemy.orm import Session

from .models import AuditEntry

FORMATS = ("csv", "jsonl")
#: The exported columns, in order.
COLUMNS = ("id", "at", "actor", "user_id", "action", "target", "ip", "user_agent", "request_id", "details", "changes")
#: Rows fetched from the database at a time while exporting: memory stays flat whatever the log's size.
BATCH = 500


def matching(
    *, target: str | None = None, actor: str | None = None, action: str | None = None,
    since: datetime | None = None, until: datetime | None = None,
) -> Select[tuple[AuditEntry]]:
    """Entries about ``target``, by ``actor``, of ``action``, at or after ``since`` and before ``until``.

    ``action`` ending in ``.*`` matches a family (``core.user.*``). Oldest first.
    """
    statement = select(AuditEntry)
    if target is not None:
        statement = statement.where(AuditEntry.target == target)
    if actor is not None:
        statement = statement.where(AuditEntry.actor == actor)
    if action is not None:
        statement = statement.where(AuditEntry.action.startswith(action[:-1], autoescape=True)
                                    if action.endswith(".*") else AuditEntry.action == action)
    if since is not None:
        statement = statement.where(AuditEntry.at >= since)
    if until is not None:
        statement = statement.where(AuditEntry.at < until)
    return statement.order_by(AuditEntry.at, AuditEntry.id)


def as_dict(entry: AuditEntry) -> dict[str, Any]:
    """One entry as plain values (the time in ISO 8601, UTC)."""
    values = {column: getattr(entry, column) for column in COLUMNS}
    values["at"] = entry.at.isoformat() if entry.at.tzinfo else entry.at.isoformat() + "+00:00"
    return values


def export(session: Session, statement: Select[tuple[AuditEntry]], fmt: str) -> Iterator[str]:
    """The entries ``statement`` selects, as text chunks of ``fmt`` (``csv`` with a header, or ``jsonl``)."""
    if fmt not in FORMATS:
        raise ValueError(f"unknown export format {fmt!r}")
    if fmt == "csv":
        yield _csv_line(COLUMNS)
    for entry in session.scalars(statement.execution_options(yield_per=BATCH)):
        values = as_dict(entry)
        if fmt == "jsonl":
            yield json.dumps(values, ensure_ascii=False, sort_keys=False) + "\n"
        else:
            yield _csv_line([_cell(values[column]) for column in COLUMNS])


#: A cell starting with one of these is a formula to a spreadsheet (CSV injection): it is quoted.
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


def _cell(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, dict | list):
        return json.dumps(value, ensure_ascii=False)
    text = str(value)
    return "'" + text if isinstance(value, str) and text.startswith(FORMULA_STARTS) else text


def _csv_line(cells: Any) -> str:
    buffer = io.StringIO()
    csv.writer(buffer).writerow(cells)
    return buffer.getvalue()
