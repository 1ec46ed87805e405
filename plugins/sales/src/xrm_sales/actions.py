"""Workflow actions on opportunities: move to a stage (or win/lose), give to an owner or department."""

import xrm_sdk as xrm
from marshmallow import fields, validate
from sqlalchemy import select

from . import opportunities
from .pipeline import Opportunity, Stage


class MoveStageParams(xrm.Schema):
    opportunity_id = fields.Integer(metadata={"description": "Default: the run's subject."})
    stage = fields.String(required=True, validate=validate.Length(min=1, max=100),
                          metadata={"description": "The stage's name in the opportunity's pipeline."})
    reason = fields.String(load_default="", metadata={"description": "Required for a won or lost stage."})


class AssignParams(xrm.Schema):
    opportunity_id = fields.Integer(metadata={"description": "Default: the run's subject."})
    user_id = fields.Integer(load_default=None, metadata={"description": "The new owner (a user id)."})
    department_id = fields.Integer(load_default=None)


def _opportunity(session, params, subject) -> Opportunity:
    opportunity_id = params.get("opportunity_id") or (subject or {}).get("id")
    opportunity = session.get(Opportunity, opportunity_id) if opportunity_id else None
    if opportunity is None:
        raise xrm.NotFound(f"No opportunity {opportunity_id} the workflow can see.")
    return opportunity


def run_move_stage(params, session, subject=None):
    """Move the opportunity to the named stage of its pipeline (publishing the transition events)."""
    opportunity = _opportunity(session, params, subject)
    stage = session.scalar(select(Stage).where(Stage.pipeline_id == opportunity.pipeline_id,
                                               Stage.name == params["stage"]))
    if stage is None:
        raise xrm.NotFound(f"The pipeline {opportunity.pipeline.name!r} has no stage {params['stage']!r}.")
    opportunities.move_stage(session, opportunity, stage, reason=params["reason"])
    return {"opportunity_id": opportunity.id, "stage_id": stage.id, "status": opportunity.status}


def run_assign(params, session, subject=None):
    """Give the opportunity to another owner and/or department."""
    opportunity = _opportunity(session, params, subject)
    opportunities.assign(session, opportunity, owner_user_id=params["user_id"],
                         department_id=params["department_id"])
    return {"opportunity_id": opportunity.id, "owner_user_id": opportunity.owner_user_id,
            "department_id": opportunity.department_id}


MOVE_STAGE = xrm.WorkflowAction("sales.move_stage", label="Move an opportunity to a stage",
                                params=MoveStageParams, run=run_move_stage)
ASSIGN_OPPORTUNITY = xrm.WorkflowAction("sales.assign_opportunity", label="Assign an opportunity",
                                        params=AssignParams, run=run_assign)

WORKFLOW_ACTIONS = [MOVE_STAGE, ASSIGN_OPPORTUNITY]
