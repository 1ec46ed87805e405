"""A plugin that extends workflows: a trigger ("a complaint was opened") and an action ("escalate").

The action records each call in ``ESCALATIONS`` (this process only) with the parameters it got
after its schema loaded them, so tests see exactly what a workflow asked for.
"""

import xrm_sdk as xrm
from marshmallow import Schema, fields, validate

MANIFEST = xrm.Manifest(name="flow", title="Flow", description="Workflow trigger and action (tests).")

#: (tenant slug, params) of every escalation run by this process.
ESCALATIONS: list = []


class ComplaintPayload(Schema):
    number = fields.String(required=True)
    severity = fields.String(required=True, validate=validate.OneOf(["low", "high"]))


class EscalateParams(Schema):
    level = fields.Integer(required=True, validate=validate.Range(1, 3))
    note = fields.String(load_default="")


def escalate(params, tenant, subject):
    if params["note"] == "explode":
        raise RuntimeError("the escalation desk is closed")
    ESCALATIONS.append((tenant.slug, params, subject["id"] if subject else None))
    return {"escalated_to": params["level"]}


@xrm.hookimpl
def xrm_event_types():
    return [xrm.EventType("flow.complaint.opened", description="A complaint was opened.", schema=ComplaintPayload)]


@xrm.hookimpl
def xrm_workflow_triggers():
    return [xrm.WorkflowTrigger("flow.complaint_opened", label="A complaint was opened",
                                pattern="flow.complaint.opened")]


@xrm.hookimpl
def xrm_workflow_actions():
    return [xrm.WorkflowAction("flow.escalate", label="Escalate a complaint", params=EscalateParams, run=escalate)]
