"""The ``followups`` example: three contributions that make one feature together.

* ``xrm_workflow_actions``: "Schedule a follow-up", a step admins put in their workflows
  (e.g. "when a party is created, follow up in 2 days");
* ``xrm_periodic_jobs``: every five minutes, per tenant, announce the follow-ups that fell due by
  publishing ``followups.followup.due``;
* ``xrm_workflow_triggers``: "A follow-up fell due", which admins start workflows from (tag the
  party, notify its owner...). A trigger names the event it stands for; the engine does the rest;
* ``xrm_workflow_functions``: ``followups.pending(subject.id)``, for conditions ("if the party has
  no follow-up pending, schedule one").

Plus what they need: the table (``xrm_models``, ``xrm_migrations``), the permissions the action and
the job write with (``xrm_permissions``) and the event (``xrm_event_types``).
"""

from datetime import timedelta
from pathlib import Path

import xrm_sdk as xrm
from marshmallow import fields, validate
from sqlalchemy import select

from .models import FollowUp

MANIFEST = xrm.Manifest(name="followups", title="Follow-ups", description="SDK example: workflows and jobs.")

DUE = "followups.followup.due"


class DuePayload(xrm.Schema):
    followup_id = fields.Integer(required=True)
    note = fields.String(required=True)


class ScheduleParams(xrm.Schema):
    """Checked when an admin saves the workflow; ``note`` may be a template (``{{ subject.display_name }}``)."""

    days = fields.Integer(required=True, validate=validate.Range(min=1, max=365))
    note = fields.String(required=True, validate=validate.Length(min=1, max=500))


def schedule_followup(params, session, subject):
    """The action's step. The engine passes the keyword arguments named here, among ``params``
    (loaded, templates rendered), ``session`` (acting as the workflow, with the rights its saver
    gave it), ``event``, ``subject``, ``related`` and ``tenant``; it commits. Raising fails the step."""
    if not subject or "display_name" not in subject:
        raise ValueError("a follow-up needs a party: start this workflow from a party's event")
    followup = FollowUp(party_id=subject["id"], note=params["note"],
                        due_at=xrm.utcnow() + timedelta(days=params["days"]))
    session.add(followup)
    session.flush()
    return {"followup_id": followup.id}  # the step's output, kept with the run


def announce_due_followups(session, now):
    """The periodic job: runs once per tenant, in its own transaction, as the principal
    ``job:followups.announce_due`` (this plugin's permissions). ``now`` is the platform's clock,
    which tests control. Safe to run again: what is announced is marked so."""
    due = session.scalars(select(FollowUp).where(FollowUp.due_at <= now, FollowUp.announced.is_(False))).all()
    for followup in due:
        followup.announced = True
        # The event is about the party, so workflows started from it act on that party.
        xrm.publish(session, DUE, ("core_parties", followup.party_id),
                    {"followup_id": followup.id, "note": followup.note}, "job:followups.announce_due",
                    related=[followup.party_id])


def has_pending_followup(session, party_id):
    """The condition function ``followups.pending(party_id)``: whether the party has a follow-up not
    announced yet. ``session`` acts as the workflow, so it sees the follow-ups the workflow may read."""
    return session.scalar(select(FollowUp.id).where(
        FollowUp.party_id == party_id, FollowUp.announced.is_(False)).limit(1)) is not None


def check_pending_arguments(session, arguments):
    """Called when a workflow is saved, with the literal arguments (``None`` for an expression such as
    ``subject.id``): returns why they are refused, or ``None``."""
    [party_id] = arguments
    if party_id is not None and (isinstance(party_id, bool) or not isinstance(party_id, int)):
        return f"followups.pending takes a party's id (subject.id), not {party_id!r}"
    return None


@xrm.hookimpl
def xrm_models():
    return [FollowUp]


@xrm.hookimpl
def xrm_migrations():
    return Path(__file__).parent / "migrations"


@xrm.hookimpl
def xrm_permissions():
    return [
        xrm.Permission("followups.followup.read", "See follow-ups"),
        xrm.Permission("followups.followup.create", "Schedule follow-ups"),
        xrm.Permission("followups.followup.update", "Mark follow-ups announced"),
    ]


@xrm.hookimpl
def xrm_event_types():
    return [xrm.EventType(DUE, description="A follow-up fell due.", schema=DuePayload)]


@xrm.hookimpl
def xrm_workflow_actions():
    return [xrm.WorkflowAction("followups.schedule", label="Schedule a follow-up", params=ScheduleParams,
                               run=schedule_followup)]


@xrm.hookimpl
def xrm_workflow_triggers():
    return [xrm.WorkflowTrigger("followups.followup_due", label="A follow-up fell due",
                                description="Runs when a scheduled follow-up's day has come.", pattern=DUE)]


@xrm.hookimpl
def xrm_workflow_functions():
    return [xrm.WorkflowFunction("followups.pending", description="Whether the party has a follow-up pending.",
                                 params=("party_id",), evaluate=has_pending_followup,
                                 check_arguments=check_pending_arguments)]


@xrm.hookimpl
def xrm_periodic_jobs():
    return [xrm.PeriodicJob("followups.announce_due", seconds=300, run=announce_due_followups)]
