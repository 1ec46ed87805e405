"""Time tracking: logging time, a user's weekly timesheet, totals per party and department, XLSX export."""

from __future__ import annotations

import io
from collections import defaultdict
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date, timedelta
from typing import Any

import xrm_sdk as xrm
from openpyxl import Workbook
from openpyxl.styles import Font
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from .models import Task, TimeEntry
from .service import RECORD_REFERENCE, InvalidActivity, actor_of


def log_time(session: Session, data: Mapping[str, Any], *, actor: str | None = None) -> TimeEntry:
    """Record time spent by ``user_id`` (the session's user by default) and publish ``activities.time.logged``."""
    principal = xrm.principal_of(session)
    user_id = data.get("user_id") or (principal.user_id if principal else None)
    if user_id is None:
        raise InvalidActivity("user_id", "say whose time this is")
    user = session.get(xrm.User, user_id)
    if user is None:
        raise InvalidActivity("user_id", f"there is no user {user_id}")
    if data.get("party_id") is not None and session.get(xrm.Party, data["party_id"]) is None:
        raise InvalidActivity("party_id", f"there is no party {data['party_id']}")
    if data.get("task_id") is not None and session.get(Task, data["task_id"]) is None:
        raise InvalidActivity("task_id", f"there is no task {data['task_id']}")
    if data.get("record") is not None and not RECORD_REFERENCE.match(data["record"]):
        raise InvalidActivity("record", f"{data['record']!r} is not '<plugin>.<entity>:<id>'")
    entry = TimeEntry(day=data["day"], minutes=data["minutes"], note=data.get("note", ""),
                      party_id=data.get("party_id"), task_id=data.get("task_id"), record=data.get("record"),
                      owner_user_id=user_id, department_id=user.department_id)
    session.add(entry)
    session.flush()
    xrm.publish(session, "activities.time.logged", entry, {
        "day": entry.day.isoformat(), "minutes": entry.minutes, "user_id": user_id, "party_id": entry.party_id,
        "task_id": entry.task_id, "record": entry.record,
    }, actor or actor_of(session), related=[entry.party_id] if entry.party_id else [])
    return entry


@dataclass
class Timesheet:
    """One user's week: a row per thing worked on, a column per day (minutes)."""

    user_id: int
    user_name: str
    week_start: date
    rows: dict[str, list[int]] = field(default_factory=dict)

    @property
    def days(self) -> list[date]:
        return [self.week_start + timedelta(days=i) for i in range(7)]

    @property
    def day_totals(self) -> list[int]:
        return [sum(row[i] for row in self.rows.values()) for i in range(7)]

    @property
    def total(self) -> int:
        return sum(self.day_totals)


def week_of(day: date) -> date:
    """The Monday of ``day``'s ISO week."""
    return day - timedelta(days=day.weekday())


def weekly_timesheet(session: Session, user_id: int, week_start: date) -> Timesheet:
    """``user_id``'s time in the week starting ``week_start`` (a Monday), as far as the session may see."""
    user = session.get(xrm.User, user_id)
    sheet = Timesheet(user_id, user.display_name if user else f"user {user_id}", week_start)
    entries = session.scalars(select(TimeEntry).where(
        TimeEntry.owner_user_id == user_id, TimeEntry.day >= week_start, TimeEntry.day < week_start + timedelta(days=7),
    ).order_by(TimeEntry.day, TimeEntry.id)).all()
    labels = _labels(session, entries)
    rows: dict[str, list[int]] = defaultdict(lambda: [0] * 7)
    for entry in entries:
        rows[labels[entry.id]][(entry.day - week_start).days] += entry.minutes
    sheet.rows = dict(sorted(rows.items()))
    return sheet


def _labels(session: Session, entries: list[TimeEntry]) -> dict[int, str]:
    parties = {p.id: p.display_name for p in session.scalars(
        select(xrm.Party).where(xrm.Party.id.in_({e.party_id for e in entries if e.party_id})))}
    tasks = {t.id: t.title for t in session.scalars(
        select(Task).where(Task.id.in_({e.task_id for e in entries if e.task_id})))}
    labels = {}
    for entry in entries:
        if entry.task_id:
            labels[entry.id] = f"Task: {tasks.get(entry.task_id, f'#{entry.task_id}')}"
        elif entry.party_id:
            labels[entry.id] = f"Party: {parties.get(entry.party_id, f'#{entry.party_id}')}"
        elif entry.record:
            labels[entry.id] = f"Record: {entry.record}"
        else:
            labels[entry.id] = "Other"
    return labels


def totals(session: Session, by: str, since: date, until: date) -> list[dict[str, Any]]:
    """Minutes per ``party`` or ``department`` over [since, until), the entries the session may see."""
    column = {"party": TimeEntry.party_id, "department": TimeEntry.department_id}[by]
    rows = session.execute(
        select(column, func.sum(TimeEntry.minutes)).where(TimeEntry.day >= since, TimeEntry.day < until)
        .group_by(column).order_by(column.is_(None), column)  # "(none)" last on both databases
    ).all()
    model = xrm.Party if by == "party" else xrm.Department
    names = {row.id: getattr(row, "display_name", None) or row.name
             for row in session.scalars(select(model).where(model.id.in_({key for key, _ in rows if key})))}
    return [{"id": key, "name": names.get(key, "(none)") if key else "(none)", "minutes": int(minutes)}
            for key, minutes in rows]


def timesheet_xlsx(sheet: Timesheet) -> bytes:
    """The timesheet as an XLSX workbook: hours per row and day, with totals."""
    book = Workbook()
    page = book.active
    page.title = f"Week {sheet.week_start.isoformat()}"
    page.append([f"Timesheet of {sheet.user_name}", f"week of {sheet.week_start.isoformat()}"])
    page.append(["Work", *[d.strftime("%a %d %b") for d in sheet.days], "Total"])
    for cell in page[2]:
        cell.font = Font(bold=True)
    for label, minutes in sheet.rows.items():
        page.append([label, *[round(m / 60, 2) for m in minutes], round(sum(minutes) / 60, 2)])
    page.append(["Total", *[round(m / 60, 2) for m in sheet.day_totals], round(sheet.total / 60, 2)])
    for cell in page[page.max_row]:
        cell.font = Font(bold=True)
    page.column_dimensions["A"].width = 40
    buffer = io.BytesIO()
    book.save(buffer)
    return buffer.getvalue()
