"""``/api/v1/workflows``: tenant admins define, version, enable and run workflows; runs are visible.

Every edit (PUT, or PATCH with a ``definition``) saves a new version and needs ``If-Match``; runs
already started keep the version they pinned. ``dry-run`` and ``backtest`` show what a version
would do for a sample event or for the last events it matches, with no side effects. Definitions are checked before anything is saved:
a problem is a 422 whose ``errors`` are keyed by JSON path (``definition.steps.1.if``), a CEL
syntax error with its line and column. Rights: ``core.workflow.read`` / ``create`` / ``update`` /
``delete``, and ``core.workflow.run`` to start one by hand on a record the caller can see; dry
runs and backtests need ``core.workflow.update`` (they show what the workflow's principal sees).
"""

from __future__ import annotations

from typing import Any

from flask import url_for
from flask.views import MethodView
from marshmallow import ValidationError, fields, validate, validates_schema
from sqlalchemy import select

from .. import web
from ..errors import NotFound
from ..events.envelope import Event
from ..events.models import OutboxEvent
from ..identity.authentication import current_principal
from ..identity.scoping import PermissionDenied
from ..workflows import dryrun, service
from ..workflows.models import Workflow, WorkflowRun, WorkflowStep, WorkflowVersion
from .blueprint import ApiBlueprint
from .listing import Listing
from .pagination import cursor_paginate
from .records import get_for_update, get_or_404
from .schemas import Schema

blueprint = ApiBlueprint("core_workflows", __name__, description="Workflow automation: definitions, versions, runs.")


def _require(action: str) -> None:
    principal = current_principal()
    if principal.scope_for(f"core.workflow.{action}") is None:
        raise PermissionDenied(f"{principal.name} may not {action} workflows (core.workflow.{action})")


def _actor() -> str:
    return current_principal().name


class WorkflowSchema(Schema):
    id = fields.Integer(dump_only=True)
    name = fields.String(required=True, validate=validate.Length(1, service.NAME_LIMIT))
    enabled = fields.Boolean(load_default=True)
    definition = fields.Method("_definition", deserialize="_load_definition", required=True, metadata={
        "description": "trigger, permissions, steps: see xrm_core.workflows.definition."})
    current_version = fields.Integer(dump_only=True)
    trigger_kind = fields.String(dump_only=True)
    trigger_pattern = fields.String(dump_only=True, allow_none=True)
    next_fire_at = fields.DateTime(dump_only=True, allow_none=True)
    created_at = fields.DateTime(dump_only=True)
    updated_at = fields.DateTime(dump_only=True)

    def _definition(self, workflow: Workflow) -> dict[str, Any]:
        return service.version_of(web.db_session(), workflow).definition

    def _load_definition(self, value: Any) -> Any:
        return value  # checked by the workflow service, which knows the tenant's actions


class VersionSchema(Schema):
    number = fields.Integer()
    definition = fields.Dict()
    created_by = fields.String()
    created_at = fields.DateTime()


class StepSchema(Schema):
    path = fields.String()
    action = fields.String()
    status = fields.String()
    attempt = fields.Integer()
    input = fields.Dict()
    output = fields.Dict()
    error = fields.String(allow_none=True)
    started_at = fields.DateTime()
    finished_at = fields.DateTime(allow_none=True)


class RunSchema(Schema):
    id = fields.Integer()
    workflow_id = fields.Integer()
    version = fields.Method("_version")
    trigger_key = fields.String()
    trigger_event_id = fields.String(allow_none=True)
    status = fields.String(metadata={"description": "running, waiting, succeeded, failed or cut (loop guard)."})
    depth = fields.Integer()
    subject_type = fields.String(allow_none=True)
    subject_id = fields.String(allow_none=True)
    error = fields.String(allow_none=True)
    started_at = fields.DateTime()
    finished_at = fields.DateTime(allow_none=True)
    steps = fields.Method("_steps")

    def _version(self, run: WorkflowRun) -> int | None:
        return web.db_session().scalar(select(WorkflowVersion.number).where(WorkflowVersion.id == run.version_id))

    def _steps(self, run: WorkflowRun) -> list[dict[str, Any]]:
        rows = web.db_session().scalars(select(WorkflowStep).where(WorkflowStep.run_id == run.id).order_by(WorkflowStep.id))
        return StepSchema(many=True).dump(rows)


class ItemsSchema(Schema):
    items = fields.List(fields.Dict())


class RunRequestSchema(Schema):
    subject_type = fields.String(required=True, metadata={"description": "The record's table, e.g. core_parties."})
    subject_id = fields.String(required=True)


class RunAcceptedSchema(Schema):
    event_id = fields.String(metadata={"description": "The request's event; its run appears in the runs list."})


class SubjectQuerySchema(Schema):
    subject_type = fields.String(required=True)
    subject_id = fields.String(required=True)


class SampleEventSchema(Schema):
    type = fields.String(required=True, validate=validate.Length(1, 150))
    payload = fields.Dict(load_default=dict)
    subject_type = fields.String(load_default=None)
    subject_id = fields.String(load_default=None)
    related = fields.List(fields.Integer(), load_default=list)


class DryRunSchema(Schema):
    event_id = fields.String(metadata={"description": "An event of the log to replay (or give 'event')."})
    event = fields.Nested(SampleEventSchema, metadata={"description": "A sample event (or give 'event_id')."})
    version = fields.Integer(metadata={"description": "The version to try; default: the current one."})

    @validates_schema
    def _one_event(self, data: dict[str, Any], **_kwargs: Any) -> None:
        if ("event_id" in data) == ("event" in data):
            raise ValidationError("give either 'event_id' or 'event'")


class BacktestSchema(Schema):
    limit = fields.Integer(load_default=20, validate=validate.Range(1, 100))
    version = fields.Integer()


class DryRunResultSchema(Schema):
    matched = fields.Boolean(metadata={"description": "Whether the trigger's condition held."})
    status = fields.String(allow_none=True)
    error = fields.String(allow_none=True)
    steps = fields.List(fields.Dict())


class BacktestResultSchema(Schema):
    items = fields.List(fields.Dict(), metadata={"description": "One dry run per event, newest first."})


WORKFLOWS = Listing(Workflow, WorkflowSchema, sortable=("name", "updated_at"),
                    filterable={"name": ("eq", "contains"), "enabled": ("eq",), "trigger_kind": ("eq",)},
                    default_sort="name")


@blueprint.route("")
class Workflows(MethodView):
    @blueprint.list_response(WORKFLOWS)
    def get(self, query):
        """List the tenant's workflows."""
        _require("read")
        return cursor_paginate(select(Workflow), query)

    @blueprint.arguments(WorkflowSchema)
    @blueprint.record_response(WorkflowSchema, 201)
    def post(self, data):
        """Create a workflow (its version 1)."""
        _require("create")
        session = web.db_session()
        workflow = service.create_workflow(session, web.platform(), data["name"], data["definition"],
                                           saver=current_principal(), actor=_actor(), enabled=data["enabled"])
        session.commit()
        return workflow, {"Location": url_for(".WorkflowItem", workflow_id=workflow.id)}


def _change(workflow_id: int, data: dict[str, Any]) -> Workflow:
    session = web.db_session()
    workflow = get_for_update(Workflow, workflow_id)
    service.update_workflow(session, web.platform(), workflow, name=data.get("name"),
                            definition=data.get("definition"), saver=current_principal(), actor=_actor())
    if "enabled" in data:
        service.set_enabled(session, web.platform(), workflow, data["enabled"], _actor())
    session.commit()
    return workflow


@blueprint.route("/<int:workflow_id>")
class WorkflowItem(MethodView):
    @blueprint.record_response(WorkflowSchema)
    def get(self, workflow_id):
        """A workflow with its current definition."""
        _require("read")
        return get_or_404(Workflow, workflow_id)

    @blueprint.requires_if_match
    @blueprint.arguments(WorkflowSchema)
    @blueprint.record_response(WorkflowSchema)
    def put(self, data, workflow_id):
        """Replace the definition: a new version."""
        _require("update")
        return _change(workflow_id, data)

    @blueprint.requires_if_match
    @blueprint.arguments(WorkflowSchema(partial=True))
    @blueprint.record_response(WorkflowSchema)
    def patch(self, data, workflow_id):
        """Rename, enable or disable, or save a new version (with ``definition``)."""
        _require("update")
        return _change(workflow_id, data)

    @blueprint.requires_if_match
    @blueprint.response(204)
    def delete(self, workflow_id):
        """Delete a workflow with its versions and runs (disable it to keep its history)."""
        _require("delete")
        session = web.db_session()
        workflow = get_for_update(Workflow, workflow_id)
        session.delete(workflow)
        session.commit()


def _toggle(workflow_id: int, enabled: bool) -> Workflow:
    _require("update")
    session = web.db_session()
    workflow = get_or_404(Workflow, workflow_id)
    service.set_enabled(session, web.platform(), workflow, enabled, _actor())
    session.commit()
    return workflow


@blueprint.route("/<int:workflow_id>/enable", methods=["POST"])
@blueprint.record_response(WorkflowSchema)
def enable(workflow_id):
    """Enable a workflow (idempotent)."""
    return _toggle(workflow_id, True)


@blueprint.route("/<int:workflow_id>/disable", methods=["POST"])
@blueprint.record_response(WorkflowSchema)
def disable(workflow_id):
    """Disable a workflow (idempotent); its versions and runs are kept."""
    return _toggle(workflow_id, False)


@blueprint.route("/<int:workflow_id>/versions")
@blueprint.response(200, ItemsSchema)
def versions(workflow_id):
    """Every version of a workflow, newest first."""
    _require("read")
    workflow = get_or_404(Workflow, workflow_id)
    rows = web.db_session().scalars(select(WorkflowVersion).where(WorkflowVersion.workflow_id == workflow.id)
                                    .order_by(WorkflowVersion.number.desc()))
    return {"items": VersionSchema(many=True).dump(rows)}


@blueprint.route("/<int:workflow_id>/runs", methods=["GET"])
@blueprint.response(200, ItemsSchema)
def runs(workflow_id):
    """The latest 100 runs of a workflow, newest first, with their steps."""
    _require("read")
    workflow = get_or_404(Workflow, workflow_id)
    return {"items": RunSchema(many=True).dump(service.runs_of(web.db_session(), workflow))}


@blueprint.route("/<int:workflow_id>/runs", methods=["POST"])
@blueprint.arguments(RunRequestSchema)
@blueprint.response(202, RunAcceptedSchema)
def start(data, workflow_id):
    """Run a workflow by hand on a record the caller can see (it runs through the event bus)."""
    _require("run")
    session = web.db_session()
    workflow = get_or_404(Workflow, workflow_id)
    event_id = service.request_run(session, workflow, data["subject_type"], data["subject_id"], _actor())
    session.commit()
    return {"event_id": event_id}


@blueprint.route("/<int:workflow_id>/runs/<int:run_id>")
@blueprint.response(200, RunSchema)
def run(workflow_id, run_id):
    """One run with every step: inputs, outputs, status, timing, error."""
    _require("read")
    found = get_or_404(WorkflowRun, run_id)
    if found.workflow_id != workflow_id:
        raise NotFound(f"Workflow {workflow_id} has no run {run_id}.")
    return found


@blueprint.route("/runs")
@blueprint.arguments(SubjectQuerySchema, location="query")
@blueprint.response(200, ItemsSchema)
def record_runs(query):
    """The latest 100 runs about one record, newest first."""
    _require("read")
    subject = (query["subject_type"], query["subject_id"])
    return {"items": RunSchema(many=True).dump(service.runs_of(web.db_session(), subject=subject))}


@blueprint.route("/<int:workflow_id>/dry-run", methods=["POST"])
@blueprint.arguments(DryRunSchema)
@blueprint.response(200, DryRunResultSchema)
def dry_run(data, workflow_id):
    """What a version would do for one event (from the log, or a sample), with no side effects."""
    _require("update")
    session = web.db_session()
    workflow = get_or_404(Workflow, workflow_id)
    version = service.version_of(session, workflow, data.get("version"))
    if "event_id" in data:
        row = session.scalar(select(OutboxEvent).where(OutboxEvent.event_id == data["event_id"]))
        if row is None:
            raise NotFound(f"There is no event {data['event_id']} here.")
        event: Any = Event.from_row(row)
    else:
        sample = data["event"]
        subject = {"entity": sample["subject_type"], "id": sample["subject_id"]} if sample["subject_id"] else None
        event = {"id": None, "type": sample["type"], "actor": _actor(), "payload": sample["payload"],
                 "subject": subject, "related": sample["related"], "occurred_at": None}
    return dryrun.dry_run(session, web.platform(), workflow, version, event)


@blueprint.route("/<int:workflow_id>/backtest", methods=["POST"])
@blueprint.arguments(BacktestSchema)
@blueprint.response(200, BacktestResultSchema)
def backtest(data, workflow_id):
    """Dry-run a version against the last events its trigger matches (today's records), newest first."""
    _require("update")
    session = web.db_session()
    workflow = get_or_404(Workflow, workflow_id)
    version = service.version_of(session, workflow, data.get("version"))
    return {"items": dryrun.backtest(session, web.platform(), workflow, version, data["limit"])}
