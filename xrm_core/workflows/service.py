"""Saving workflows: every edit a new version, checked first; enabling, exporting, importing, manual runs.

Functions take the tenant's session and never commit (like :mod:`xrm_core.identity.admin`); the
API and the CLI commit. Every change is audited.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from marshmallow import ValidationError
from sqlalchemy import select
from sqlalchemy.orm import Session

from ..audit import record
from ..db import utcnow
from ..errors import Conflict, NotFound
from ..identity.catalogue import all_permissions
from ..identity.models import Scope
from ..identity.principal import Principal
from ..models import Tenant
from .actions import Catalogue
from .definition import validate_definition
from .engine import TRIGGERED, acting, load_subject, next_fire, principal_for
from .functions import calls_of, conditions_in, problems
from .models import Workflow, WorkflowRun, WorkflowVersion

NAME_LIMIT = 200


def catalogue_for(session: Session, platform: Any) -> Catalogue:
    """The actions and triggers the session's tenant may use (its enabled plugins')."""
    return Catalogue(platform, set(platform.enabled_plugins(session)))


def check_definition(session: Session, platform: Any, definition: Any, saver: Principal | None) -> dict[str, Any]:
    """The loaded definition, or a ``ValidationError`` keyed by JSON path (under ``definition``).

    Beyond its shape: the permissions it asks for must exist and, when a person saves it, be ones
    that person holds at least as widely — a workflow never gets more than its owner could do. The
    plugin functions its conditions call are checked last, as the principal the workflow will have.
    """
    catalogue = catalogue_for(session, platform)
    try:
        loaded = validate_definition(definition, catalogue)
    except ValidationError as exc:
        raise ValidationError({"definition": exc.messages}) from None
    known = all_permissions(platform)
    errors: dict[str, list[str]] = {}
    for permission, scope in loaded["permissions"].items():
        if permission not in known:
            errors[permission] = [f"unknown permission {permission!r}"]
            continue
        if saver is not None:
            held = saver.scope_for(permission)
            if held is None or held.rank < Scope(scope).rank:
                held_at = held.value if held else "no"
                errors[permission] = [f"you cannot grant {permission} at {scope} scope: you hold it at {held_at} scope"]
    if errors:
        raise ValidationError({"definition": {"permissions": errors}})
    _check_function_calls(session, catalogue, loaded, saver)
    return loaded


def _check_function_calls(session: Session, catalogue: Catalogue, loaded: dict[str, Any],
                          saver: Principal | None) -> None:
    """Refuse calls of unknown plugin functions, or with arguments they refuse (an unknown segment),
    keyed by the condition's JSON path."""
    calling = [(path, source) for path, source in conditions_in(loaded) if calls_of(source)]
    if not calling:
        return
    principal = principal_for(session, session.info["tenant_id"], "workflow:draft",
                              saver.department_id if saver else None, loaded["permissions"])
    errors: dict[Any, Any] = {}
    with acting(session, principal):
        for path, source in calling:
            if messages := problems(session, source, catalogue.functions, catalogue.function_namespaces):
                at = errors
                for part in path[:-1]:
                    at = at.setdefault(part, {})
                at[path[-1]] = messages
    if errors:
        raise ValidationError({"definition": errors})


def condition_problems(session: Session, platform: Any, source: str) -> list[str]:
    """What is wrong with the plugin function calls of one condition, as the session's principal
    sees it (the editor's live check; saving checks again as the workflow)."""
    if not calls_of(source):
        return []
    catalogue = catalogue_for(session, platform)
    return problems(session, source, catalogue.functions, catalogue.function_namespaces)


def _name(name: Any) -> str:
    cleaned = name.strip() if isinstance(name, str) else ""
    if not cleaned or len(cleaned) > NAME_LIMIT:
        raise ValidationError({"name": [f"a workflow needs a name of 1 to {NAME_LIMIT} characters"]})
    return cleaned


def _apply_trigger(session: Session, platform: Any, workflow: Workflow, definition: dict[str, Any]) -> None:
    """Copy what matching needs from the definition to the workflow row."""
    trigger = definition["trigger"]
    kind, pattern = trigger["kind"], trigger.get("event")
    if kind == "plugin":
        kind, pattern = "event", catalogue_for(session, platform).trigger(trigger["name"]).pattern
    elif kind == "record":
        pattern = trigger.get("event") or "*"
    workflow.trigger_kind, workflow.trigger_pattern = kind, pattern
    workflow.next_fire_at = None
    if kind == "schedule" and workflow.enabled:
        tenant = session.get(Tenant, session.info["tenant_id"])
        workflow.next_fire_at = next_fire(trigger["cron"], tenant.time_zone, utcnow())


def _add_version(session: Session, workflow: Workflow, number: int, definition: dict[str, Any],
                 saver: Principal | None, actor: str) -> WorkflowVersion:
    version = WorkflowVersion(workflow_id=workflow.id, number=number, definition=definition,
                              department_id=saver.department_id if saver else None, created_by=actor[:100])
    session.add(version)
    return version


def create_workflow(session: Session, platform: Any, name: str, definition: Any, *, saver: Principal | None = None,
                    actor: str = "cli", enabled: bool = True) -> Workflow:
    """A new workflow with its first version.

    :raises ValidationError: a bad name or definition (by JSON path). :raises Conflict: the name is taken.
    """
    name = _name(name)
    loaded = check_definition(session, platform, definition, saver)
    if session.scalar(select(Workflow.id).where(Workflow.name == name)) is not None:
        raise Conflict(f"a workflow named {name!r} already exists")
    workflow = Workflow(name=name, enabled=enabled, current_version=1, trigger_kind="manual")
    _apply_trigger(session, platform, workflow, loaded)
    session.add(workflow)
    session.flush()
    _add_version(session, workflow, 1, loaded, saver, actor)
    record(session, actor, "workflow.created", name, version=1)
    session.flush()
    return workflow


def update_workflow(session: Session, platform: Any, workflow: Workflow, *, name: str | None = None,
                    definition: Any = None, saver: Principal | None = None, actor: str = "cli") -> Workflow:
    """Rename and/or save a new version; runs already started keep the version they pinned."""
    if name is not None and _name(name) != workflow.name:
        name = _name(name)
        if session.scalar(select(Workflow.id).where(Workflow.name == name, Workflow.id != workflow.id)) is not None:
            raise Conflict(f"a workflow named {name!r} already exists")
        record(session, actor, "workflow.renamed", workflow.name, to=name)
        workflow.name = name
    if definition is not None:
        loaded = check_definition(session, platform, definition, saver)
        number = workflow.current_version + 1
        _add_version(session, workflow, number, loaded, saver, actor)
        workflow.current_version = number
        _apply_trigger(session, platform, workflow, loaded)
        record(session, actor, "workflow.versioned", workflow.name, version=number)
    session.flush()
    return workflow


def set_enabled(session: Session, platform: Any, workflow: Workflow, enabled: bool, actor: str = "cli") -> Workflow:
    """Enable or disable; history (versions, runs) is kept either way. Waiting runs finish as they were."""
    if workflow.enabled != enabled:
        workflow.enabled = enabled
        _apply_trigger(session, platform, workflow, version_of(session, workflow).definition)
        record(session, actor, "workflow.enabled" if enabled else "workflow.disabled", workflow.name)
        session.flush()
    return workflow


def version_of(session: Session, workflow: Workflow, number: int | None = None) -> WorkflowVersion:
    version = session.scalar(select(WorkflowVersion).where(
        WorkflowVersion.workflow_id == workflow.id, WorkflowVersion.number == (number or workflow.current_version)))
    if version is None:
        raise NotFound(f"workflow {workflow.name!r} has no version {number}")
    return version


def version_number(session: Session, version_id: int) -> int | None:
    return session.scalar(select(WorkflowVersion.number).where(WorkflowVersion.id == version_id))


def find_workflow(session: Session, name: str) -> Workflow:
    workflow = session.scalar(select(Workflow).where(Workflow.name == name))
    if workflow is None:
        raise NotFound(f"no workflow named {name!r}")
    return workflow


def request_run(session: Session, workflow: Workflow, subject_type: str, subject_id: str, actor: str) -> str:
    """Ask for a manual run of ``workflow`` on a record; returns the request's event id.

    The record must be one the caller can see (the session's principal): otherwise 404-like
    ``NotFound``, so the request does not reveal whether it exists.
    """
    from ..events import publish

    if not workflow.enabled:
        raise Conflict(f"workflow {workflow.name!r} is disabled")
    if load_subject(session, subject_type, subject_id) is None:
        raise NotFound(f"There is no {subject_type} record {subject_id} here.")
    return publish(session, TRIGGERED, (subject_type, subject_id), {"workflow_id": workflow.id}, actor).id


def runs_of(session: Session, workflow: Workflow | None = None, *, subject: tuple[str, str] | None = None,
            limit: int = 100) -> list[WorkflowRun]:
    """The latest runs of a workflow, or about a record, newest first."""
    query = select(WorkflowRun).order_by(WorkflowRun.id.desc()).limit(limit)
    if workflow is not None:
        query = query.where(WorkflowRun.workflow_id == workflow.id)
    if subject is not None:
        query = query.where(WorkflowRun.subject_type == subject[0], WorkflowRun.subject_id == subject[1])
    return list(session.scalars(query))


def export_workflows(session: Session) -> list[dict[str, Any]]:
    """Every workflow as ``{name, enabled, definition}`` (its current version), by name."""
    exported = []
    for workflow in session.scalars(select(Workflow).order_by(Workflow.name)):
        exported.append({"name": workflow.name, "enabled": workflow.enabled,
                         "definition": version_of(session, workflow).definition})
    return exported


def import_workflows(session: Session, platform: Any, documents: Iterable[Mapping[str, Any]],
                     actor: str = "cli") -> dict[str, str]:
    """Create or update workflows from exported documents; unchanged ones are left alone.

    Returns ``{name: "created" | "updated" | "unchanged"}``. All or nothing: the first invalid
    document raises, naming it, and the caller rolls back.
    """
    outcome: dict[str, str] = {}
    for index, document in enumerate(documents):
        if not isinstance(document, Mapping) or not {"name", "definition"} <= document.keys():
            raise ValidationError({str(index): ["each workflow is a mapping with 'name' and 'definition'"]})
        try:
            name, enabled = _name(document["name"]), bool(document.get("enabled", True))
            existing = session.scalar(select(Workflow).where(Workflow.name == name))
            if existing is None:
                create_workflow(session, platform, name, document["definition"], actor=actor, enabled=enabled)
                outcome[name] = "created"
                continue
            loaded = check_definition(session, platform, document["definition"], None)
            changed = loaded != version_of(session, existing).definition
            if changed:
                update_workflow(session, platform, existing, definition=loaded, actor=actor)
            set_enabled(session, platform, existing, enabled, actor)
            outcome[name] = "updated" if changed else "unchanged"
        except ValidationError as exc:
            raise ValidationError({str(index): exc.messages}) from None
    return outcome
