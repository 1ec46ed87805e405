"""What a workflow step can do: the core's actions and those plugins contribute.

Every action is a :class:`~xrm_core.contributions.WorkflowAction` with a marshmallow schema for its
parameters. It runs in the tenant's session acting as the workflow's principal, so the record-level
rules apply to it as to a user: a change the principal may not make fails the step with the
reason. Actions on party roles and relationships (tables without owners of their own) check the
right to update the party explicitly.
"""

from __future__ import annotations

import inspect
import json
from dataclasses import dataclass
from datetime import date
from typing import Any
from zoneinfo import ZoneInfo

from marshmallow import Schema, ValidationError, fields, validate, validates_schema
from sqlalchemy import or_, select
from sqlalchemy.orm import Session

from .. import __version__
from ..contributions import WorkflowAction, WorkflowFunction, WorkflowTrigger
from ..db import utcnow
from ..errors import XrmError
from ..graph import service as graph
from ..graph.models import Party, Relationship, RelationshipTypeDef
from ..identity.models import Department, Team
from ..identity.ownership import Owned
from ..identity.principal import Principal
from ..identity.scoping import PermissionDenied, can
from ..models import Tenant, User
from .functions import contributed as contributed_functions
from .models import Workflow, WorkflowRun


class ActionFailed(XrmError):
    """The step cannot be done; the reason is recorded on the step and the run."""


class TransientFailure(ActionFailed):
    """The step failed for a reason that may pass (a receiver down): retried when the step allows."""


@dataclass
class StepContext:
    """What a core action works with."""

    platform: Any
    session: Session
    tenant: Tenant
    principal: Principal
    run: WorkflowRun
    #: ``event``, ``subject``, ``related``: the plain values conditions and templates see.
    values: dict[str, Any]
    #: The run's subject as a loaded record, when it is one the principal may read.
    record: Any
    #: A dry run: nothing leaves the database transaction (no webhook call, no plugin action).
    dry_run: bool = False

    @property
    def actor(self) -> str:
        """How events this run publishes name their cause (the loop guard follows it)."""
        return f"workflow-run:{self.run.id}"


# -- helpers ------------------------------------------------------------------------------------------


def call_with_accepted(function: Any, **offered: Any) -> Any:
    """Call ``function`` with the offered keyword arguments it names (all of them if it takes ``**``)."""
    parameters = inspect.signature(function).parameters
    if any(p.kind is inspect.Parameter.VAR_KEYWORD for p in parameters.values()):
        return function(**offered)
    return function(**{name: value for name, value in offered.items() if name in parameters})


def _visible(ctx: StepContext, model: type, record_id: int) -> Any:
    """The record through the principal's eyes (a SELECT, so the read rules apply)."""
    record = ctx.session.scalar(select(model).where(model.id == record_id))
    if record is None:
        raise ActionFailed(f"{ctx.principal.name} cannot see {model.__tablename__} #{record_id}")
    return record


def _party(ctx: StepContext, party_id: int | None) -> Party:
    if party_id is not None:
        return _visible(ctx, Party, party_id)
    if isinstance(ctx.record, Party):
        return ctx.record
    raise ActionFailed("no party: the run's subject is not a party the workflow can see; name one in 'party'")


def _require_update(ctx: StepContext, party: Party) -> None:
    if not can(ctx.session, ctx.principal, "update", party):
        raise PermissionDenied(f"{ctx.principal.name} may not update core.party #{party.id}")


def _today(ctx: StepContext) -> date:
    return utcnow().astimezone(ZoneInfo(ctx.tenant.time_zone or "UTC")).date()


def _publish(ctx: StepContext, event_type: str, payload: dict[str, Any]) -> str:
    from ..events import publish

    subject = (ctx.run.subject_type, ctx.run.subject_id) if ctx.run.subject_id else ("core_workflow_runs", ctx.run.id)
    return publish(ctx.session, event_type, subject, payload, ctx.actor).id


# -- core actions ---------------------------------------------------------------------------------------


class _PartyParams(Schema):
    party = fields.Integer(metadata={"description": "The party; default: the run's subject."})


class UpdatePartyParams(_PartyParams):
    display_name = fields.String(validate=validate.Length(1, 200))
    tags = fields.List(fields.String(validate=validate.Length(1)))
    add_tags = fields.List(fields.String(validate=validate.Length(1)))
    remove_tags = fields.List(fields.String(validate=validate.Length(1)))

    @validates_schema
    def _something(self, data: dict[str, Any], **_kwargs: Any) -> None:
        if not data.keys() - {"party"}:
            raise ValidationError("name a field to change: display_name, tags, add_tags or remove_tags")


def update_party(ctx: StepContext, params: dict[str, Any]) -> dict[str, Any]:
    party = _party(ctx, params.get("party"))
    if "display_name" in params:
        party.display_name = params["display_name"].strip()
    tags = list(params.get("tags", party.tags or []))
    tags += [t for t in params.get("add_tags", []) if t not in tags]
    tags = [t for t in tags if t not in params.get("remove_tags", [])]
    if tags != list(party.tags or []):
        party.tags = tags
    ctx.session.flush()  # the write guard checks the principal's right to update it
    return {"party": party.id, "display_name": party.display_name, "tags": list(party.tags or [])}


class AddRoleParams(_PartyParams):
    role = fields.String(required=True)
    valid_from = fields.Date()
    valid_to = fields.Date()


def add_role(ctx: StepContext, params: dict[str, Any]) -> dict[str, Any]:
    party = _party(ctx, params.get("party"))
    _require_update(ctx, party)
    assignment = graph.add_role(ctx.session, party, params["role"], params.get("valid_from"), params.get("valid_to"),
                                catalogue=graph.RoleCatalogue.from_platform(ctx.platform))
    return {"party": party.id, "role": assignment.role, "assignment": assignment.id}


class RelateParams(Schema):
    type = fields.String(required=True)
    from_party = fields.Integer(metadata={"description": "Default: the run's subject."})
    to_party = fields.Integer(required=True)
    valid_from = fields.Date()


def relate(ctx: StepContext, params: dict[str, Any]) -> dict[str, Any]:
    source = _party(ctx, params.get("from_party"))
    target = _visible(ctx, Party, params["to_party"])
    _require_update(ctx, source)
    link = graph.relate(ctx.session, source, target, params["type"], params.get("valid_from"))
    return {"relationship": link.id}


class EndRelationshipParams(Schema):
    type = fields.String(required=True)
    from_party = fields.Integer(metadata={"description": "Default: the run's subject."})
    to_party = fields.Integer(required=True)
    on = fields.Date(metadata={"description": "Last valid day; default: today in the tenant's time zone."})


def end_relationship(ctx: StepContext, params: dict[str, Any]) -> dict[str, Any]:
    source = _party(ctx, params.get("from_party"))
    _require_update(ctx, source)
    on = params.get("on") or _today(ctx)
    current = ctx.session.scalars(
        select(Relationship).join(RelationshipTypeDef, Relationship.type_id == RelationshipTypeDef.id).where(
            RelationshipTypeDef.code == params["type"], Relationship.from_party_id == source.id,
            Relationship.to_party_id == params["to_party"],
            or_(Relationship.valid_to.is_(None), Relationship.valid_to > on),
        )
    ).all()
    if not current:
        raise ActionFailed(f"party #{source.id} has no current {params['type']!r} relationship to #{params['to_party']}")
    for link in current:
        graph.end_relationship(ctx.session, link, on)
    return {"ended": [link.id for link in current], "on": on.isoformat()}


class AssignParams(Schema):
    owner_user_id = fields.Integer(allow_none=True)
    owner_team_id = fields.Integer(allow_none=True)
    department_id = fields.Integer(allow_none=True)

    @validates_schema
    def _something(self, data: dict[str, Any], **_kwargs: Any) -> None:
        if not data:
            raise ValidationError("name owner_user_id, owner_team_id or department_id")


def assign(ctx: StepContext, params: dict[str, Any]) -> dict[str, Any]:
    record = ctx.record
    if not isinstance(record, Owned):
        raise ActionFailed("the run's subject is not a record with an owner that the workflow can see")
    for key, model in (("owner_user_id", User), ("owner_team_id", Team), ("department_id", Department)):
        if params.get(key) is not None and ctx.session.get(model, params[key]) is None:
            raise ActionFailed(f"no {model.__tablename__.removeprefix('core_')[:-1]} #{params[key]} in this tenant")
    for key, value in params.items():
        setattr(record, key, value)
    ctx.session.flush()  # the write guard checks 'assign' and that the record stays within reach
    return {key: getattr(record, key) for key in params}


class NotifyParams(Schema):
    users = fields.List(fields.Integer(), load_default=list)
    departments = fields.List(fields.Integer(), load_default=list)
    teams = fields.List(fields.Integer(), load_default=list)
    message = fields.String(required=True, validate=validate.Length(1, 2000))

    @validates_schema
    def _someone(self, data: dict[str, Any], **_kwargs: Any) -> None:
        if not (data.get("users") or data.get("departments") or data.get("teams")):
            raise ValidationError("name users, departments or teams to notify")


def notify(ctx: StepContext, params: dict[str, Any]) -> dict[str, Any]:
    from ..collaboration.service import readers
    from ..notifications import NotificationError, recipients
    from ..notifications import notify as send

    subject = (ctx.run.subject_type, ctx.run.subject_id) if ctx.run.subject_id else ("core_workflow_runs", ctx.run.id)
    users, departments, teams = params["users"], params["departments"], params["teams"]
    withheld: list[int] = []
    if ctx.record is not None:  # the message may quote the record: only those who may read it are told
        reached = recipients(ctx.session, users, departments, teams)
        allowed = readers(ctx.session, ctx.record, reached)
        withheld = [user_id for user_id in reached if user_id not in allowed]
        users, departments, teams = sorted(allowed), [], []
    try:
        sent = send(ctx.session, users, departments, teams,
                    title=params["message"][:200], body=params["message"] if len(params["message"]) > 200 else "",
                    kind="workflow", subject=subject, actor=ctx.actor,
                    event_payload={"message": params["message"], "workflow_id": ctx.run.workflow_id,
                                   "run_id": ctx.run.id, "users": params["users"], "departments": params["departments"],
                                   "teams": params["teams"]})
    except NotificationError as exc:
        raise ActionFailed(str(exc)) from None
    return {"event_id": sent.event_id, "notified": sent.recipients, "withheld": withheld}


class WebhookParams(Schema):
    url = fields.String(required=True, validate=validate.Length(1, 2000))
    body = fields.Dict(load_default=dict)


def call_webhook(ctx: StepContext, params: dict[str, Any]) -> dict[str, Any]:
    from ..events import get_bus
    from ..events.webhooks import WebhookRefused, post

    if ctx.dry_run:
        return {"dry_run": True, "would_post_to": params["url"], "body": params["body"]}
    body = json.dumps({"workflow_id": ctx.run.workflow_id, "run_id": ctx.run.id, "event": ctx.values["event"],
                       "body": params["body"]}, default=str).encode()
    headers = {"Content-Type": "application/json", "User-Agent": f"xrm-workflows/{__version__}"}
    try:
        status = post(params["url"], body, headers, get_bus(ctx.platform).settings)
    except WebhookRefused as exc:
        raise ActionFailed(str(exc)) from None
    except OSError as exc:  # connection refused, timeout, TLS: the receiver may come back
        raise TransientFailure(f"{params['url']}: {exc}") from None
    if not 200 <= status < 300:
        raise TransientFailure(f"{params['url']} answered {status}")
    return {"status": status}


class StartWorkflowParams(Schema):
    workflow = fields.String(required=True, metadata={"description": "The name of the workflow to start."})


def start_workflow(ctx: StepContext, params: dict[str, Any]) -> dict[str, Any]:
    target = ctx.session.scalar(select(Workflow).where(Workflow.name == params["workflow"]))
    if target is None or not target.enabled:
        raise ActionFailed(f"no enabled workflow named {params['workflow']!r}")
    return {"event_id": _publish(ctx, "core.workflow.triggered", {"workflow_id": target.id})}


CORE_ACTIONS = {
    action.name: action for action in (
        WorkflowAction("core.update_party", label="Update a party's fields", params=UpdatePartyParams, run=update_party),
        WorkflowAction("core.add_role", label="Add a role to a party", params=AddRoleParams, run=add_role),
        WorkflowAction("core.relate", label="Add a relationship", params=RelateParams, run=relate),
        WorkflowAction("core.end_relationship", label="End a relationship", params=EndRelationshipParams,
                       run=end_relationship),
        WorkflowAction("core.assign", label="Assign owner or department", params=AssignParams, run=assign),
        WorkflowAction("core.notify", label="Notify users, departments or teams", params=NotifyParams, run=notify),
        WorkflowAction("core.webhook", label="Call a webhook", params=WebhookParams, run=call_webhook),
        WorkflowAction("core.start_workflow", label="Start another workflow", params=StartWorkflowParams,
                       run=start_workflow),
    )
}


class Catalogue:
    """The actions, triggers and condition functions one tenant's workflows may use: the core's, then
    its enabled plugins'."""

    def __init__(self, platform: Any, enabled_plugins: set[str]):
        self.actions: dict[str, WorkflowAction] = dict(CORE_ACTIONS)
        self.plugin_of: dict[str, str] = {}
        self.triggers: dict[str, WorkflowTrigger] = {}
        for plugin, action in platform.contributed("xrm_workflow_actions", WorkflowAction):
            if plugin in enabled_plugins and callable(action.run):
                self.actions.setdefault(action.name, action)
                self.plugin_of[action.name] = plugin
        for plugin, trigger in platform.contributed("xrm_workflow_triggers", WorkflowTrigger):
            if plugin in enabled_plugins and trigger.pattern:
                self.triggers.setdefault(trigger.name, trigger)
        self.functions: dict[str, WorkflowFunction] = {}
        #: Installed plugins with functions: a call into one of these names a function, enabled or not.
        self.function_namespaces: set[str] = set()
        for plugin, function in contributed_functions(platform):
            self.function_namespaces.add(plugin)
            if plugin in enabled_plugins:
                self.functions.setdefault(function.name, function)

    def action(self, name: str) -> WorkflowAction | None:
        return self.actions.get(name)

    def action_names(self) -> list[str]:
        return sorted(self.actions)

    def trigger(self, name: str) -> WorkflowTrigger | None:
        return self.triggers.get(name)

    def trigger_names(self) -> list[str]:
        return sorted(self.triggers)


def run_action(action: WorkflowAction, ctx: StepContext, params: dict[str, Any]) -> dict[str, Any]:
    """Run ``action`` with its rendered ``params`` (loaded by its schema here); return its output."""
    if action.params is not None:
        schema = action.params() if isinstance(action.params, type) else action.params
        try:
            params = schema.load(params)
        except ValidationError as exc:
            raise ActionFailed(f"invalid parameters: {json.dumps(exc.messages, default=str)}") from None
    if action.name in CORE_ACTIONS:
        output = action.run(ctx, params)
    elif ctx.dry_run:  # a plugin's action may reach outside the transaction (mail, other systems)
        output = {"dry_run": True, "would_run": action.name, "params": params}
    else:
        output = call_with_accepted(action.run, params=params, session=ctx.session, event=ctx.values["event"],
                                    subject=ctx.values["subject"], related=ctx.values["related"], tenant=ctx.tenant)
    return json.loads(json.dumps(output or {}, default=str))
