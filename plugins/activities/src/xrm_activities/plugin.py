"""The plugin's entry point: its manifest and the hooks it implements.

The platform imports this module through the ``xrm.plugins`` entry point, reads ``MANIFEST`` and
calls the ``@xrm.hookimpl`` functions; each returns what the plugin contributes.
"""

from pathlib import Path

import xrm_sdk as xrm
from sqlalchemy import select, update

from . import api, views
from .actions import CREATE_TASK, SCHEDULE_MEETING
from .cli import import_ics_command
from .demo import add_demo_data
from .events import EVENT_TYPES, WORKFLOW_TRIGGERS
from .jobs import run_round
from .models import (
    Attendee,
    ChecklistItem,
    FeedToken,
    Meeting,
    Reminder,
    Task,
    TaskLink,
    TimeEntry,
)

MANIFEST = xrm.Manifest(name="activities", title="Activities", requires=())

#: How often reminders, overdue tasks and ended meetings are looked for.
ROUND_SECONDS = 60


@xrm.hookimpl
def xrm_models():
    return [Task, ChecklistItem, TaskLink, Reminder, Meeting, Attendee, TimeEntry, FeedToken]


@xrm.hookimpl
def xrm_migrations():
    return Path(__file__).parent / "migrations"


@xrm.hookimpl
def xrm_blueprints():
    return [api.blueprint, views.blueprint, views.feeds]


@xrm.hookimpl
def xrm_permissions():
    permissions = []
    for resource, label in (("task", "tasks"), ("meeting", "meetings and calls"), ("time", "time entries")):
        permissions += [
            xrm.Permission(f"activities.{resource}.read", f"See {label}"),
            xrm.Permission(f"activities.{resource}.create", f"Create {label}"),
            xrm.Permission(f"activities.{resource}.update", f"Change {label}"),
            xrm.Permission(f"activities.{resource}.delete", f"Delete {label}"),
        ]
    return permissions


@xrm.hookimpl
def xrm_event_types():
    return EVENT_TYPES


@xrm.hookimpl
def xrm_workflow_triggers():
    return WORKFLOW_TRIGGERS


@xrm.hookimpl
def xrm_workflow_actions():
    return [CREATE_TASK, SCHEDULE_MEETING]


@xrm.hookimpl
def xrm_periodic_jobs():
    return [xrm.PeriodicJob("activities.reminders", seconds=ROUND_SECONDS,
                            run=lambda session, now: run_round(session, now))]


@xrm.hookimpl
def xrm_cli_commands():
    return [import_ics_command]


@xrm.hookimpl
def xrm_navigation(tenant):
    return [xrm.NavEntry("activities.my_day", label=MANIFEST.title, url="/activities/", order=50)]


@xrm.hookimpl
def xrm_party_panels(tenant, party):
    return [xrm.Panel("activities.party", title="Tasks and meetings", render=views.party_panel, order=40)]


@xrm.hookimpl
def xrm_dashboard_widgets(tenant):
    return [xrm.DashboardWidget("activities.my_overdue", title="My overdue tasks", render=views.overdue_widget)]


@xrm.hookimpl
def xrm_merge_parties(tenant, session, survivor_id, loser_id):
    """Tasks, meetings and time follow the merged party.

    A task or meeting linked to both keeps its survivor link; its loser link goes with the loser
    (the foreign key cascades).
    """
    for column, parent in ((TaskLink.party_id, TaskLink.task_id), (Attendee.party_id, Attendee.meeting_id)):
        already = select(parent).where(column == survivor_id).scalar_subquery()
        session.execute(update(column.class_).where(column == loser_id, parent.not_in(already))
                        .values(party_id=survivor_id).execution_options(synchronize_session=False))
    session.execute(update(TimeEntry).where(TimeEntry.party_id == loser_id).values(party_id=survivor_id)
                    .execution_options(synchronize_session=False))


@xrm.hookimpl
def xrm_demo_data(tenant, session):
    add_demo_data(session)
