"""The activities plugin's overdue list over a large task book (scale 1.0 = 100,000 tasks).

The data set is a tenant of ``TASKS × scale`` tasks over five departments and 25 assignees: a
third done or cancelled, due at a moment or on a day spread over four months around now. The
plugin's tables are created on the bench database from its models (the bench platform runs only
the core's migrations).

The platform side is :func:`xrm_activities.service.overdue_tasks` (the overdue page's query, 200
longest overdue first) through a session scoped to a department rep's rights. The raw side is the
same SELECT written by hand (every column, as the ORM loads whole tasks), with the department
condition the permission layer adds. The platform also reads the tenant's time zone (what "today"
is for tasks due on a day) and builds 200 ORM objects.
"""

from __future__ import annotations

import random
from dataclasses import replace
from datetime import timedelta
from typing import Any

from xrm_activities.models import ChecklistItem, Reminder, Task, TaskLink
from xrm_activities.service import overdue_tasks

from xrm_core import tenants
from xrm_core.db import utcnow
from xrm_core.identity.models import Department, Scope
from xrm_core.identity.principal import service_principal
from xrm_core.identity.scoping import act_as
from xrm_core.models import User

from .harness import Context, Pair, case, console, dataset

#: Tasks at scale 1.0.
TASKS = 100_000
DEPARTMENTS = 5
ASSIGNEES = 25
LIMIT = 200
LOAD_BATCH = 5_000

RAW_OVERDUE = (
    "SELECT * FROM activities_tasks WHERE tenant_id = ? AND department_id = ? "
    "AND status IN ('open', 'in_progress') AND (due_at <= ? OR due_on < ?) "
    "ORDER BY due_on IS NULL, due_on, due_at, id LIMIT ?"
)


@dataset("activities_book")
def activities_book(ctx: Context) -> tuple[int, int]:
    """A tenant with a large task book; returns its id and the benchmarked department's."""
    for table in (Task.__table__, ChecklistItem.__table__, TaskLink.__table__, Reminder.__table__):
        table.create(ctx.engine, checkfirst=True)
    with ctx.platform.db.transaction(all_tenants=True) as session:
        tenant_id = tenants.create_tenant(session, "bench-activities", "Bench activities", actor="bench").id
    with ctx.platform.db.transaction(tenant_id) as session:
        departments = [Department(name=f"Sales {n}") for n in range(DEPARTMENTS)]
        session.add_all(departments)
        session.flush()
        users = [User(email=f"rep{n}@bench-activities.example", display_name=f"Rep {n:02d}", password_hash="",
                      department_id=departments[n % DEPARTMENTS].id) for n in range(ASSIGNEES)]
        session.add_all(users)
        session.flush()
        assignees = [(user.id, user.department_id) for user in users]
        department_id = departments[0].id
    total = ctx.scaled(TASKS, minimum=2_000)
    rng = random.Random(ctx.seed)
    now = utcnow()

    def rows():
        for n in range(total):
            user_id, user_department = rng.choice(assignees)
            offset = timedelta(minutes=rng.randint(-60 * 24 * 60, 60 * 24 * 60))
            dated = rng.random() < 0.3
            yield {
                "tenant_id": tenant_id, "title": f"Task {n}", "description": "", "priority": "normal",
                "status": rng.choice(("open", "open", "in_progress", "done", "cancelled", "open")),
                "due_at": None if dated else now + offset, "due_on": (now + offset).date() if dated else None,
                "owner_user_id": user_id, "department_id": user_department, "created_at": now, "version": 1,
            }

    ctx.bulk_insert(Task.__table__, rows(), total, LOAD_BATCH, label="tasks")
    console.log(f"activities book: {total:,} tasks over {DEPARTMENTS} departments")
    return tenant_id, department_id


@case(
    "activities.overdue",
    "a department's overdue list, 200 longest overdue first (scale 1.0 = 100,000 tasks): "
    "service.overdue_tasks through a department-scoped session vs one hand-written SELECT",
)
def overdue(ctx: Context) -> Pair:
    tenant_id, department_id = ctx.need(activities_book)
    principal = replace(service_principal(tenant_id, "bench", {"activities.task.read": Scope.DEPARTMENT}),
                        department_id=department_id, subtree_ids=frozenset({department_id}))
    now = utcnow()

    def platform() -> list[Task]:
        with ctx.platform.db.session(tenant_id, read_only=True) as session:
            return overdue_tasks(act_as(session, principal), now, limit=LIMIT)

    def raw() -> list[Any]:
        return ctx.raw(RAW_OVERDUE, (tenant_id, department_id, now, now.date(), LIMIT))

    def check(tasks: list[Task], rows: list[Any]) -> bool:
        return [task.id for task in tasks] == [row[0] for row in rows]

    return Pair(platform, raw, check, work=(LIMIT, "tasks listed"))
