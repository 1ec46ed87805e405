"""Console section: workflows — list, form editor with live condition checks, versions, dry run, backtest, runs.

Every page calls the workflow service the API uses (:mod:`xrm_core.workflows.service`,
:mod:`xrm_core.workflows.dryrun`) and checks the same rights: ``core.workflow.read`` to look,
``create`` to add, ``update`` to save a version, enable, disable, dry-run or backtest. Each save
is a new version; the form carries the workflow's row version, so a form opened before someone
else's change is refused rather than silently overwriting it.
"""

from __future__ import annotations

from collections import Counter, defaultdict
from datetime import timedelta
from typing import Any

from flask import abort, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from marshmallow import ValidationError
from sqlalchemy import func, select
from sqlalchemy.orm.exc import StaleDataError

from ... import web
from ...api.workflows import SampleEventSchema
from ...db import utcnow
from ...errors import Conflict, NotFound
from ...events import get_bus
from ...events.envelope import Event
from ...events.models import OutboxEvent
from ...identity.authentication import current_principal
from ...workflows import dryrun, service
from ...workflows.models import CUT, Workflow, WorkflowRun, WorkflowStep, WorkflowVersion
from . import blueprint, requires, section
from . import workflow_form as wf

#: Runs counted on the list page: those started in this many days.
RECENT_DAYS = 30
#: Runs shown on a workflow's run log.
RUN_LOG_LENGTH = 50
#: Matching events offered as dry-run samples, and the most a backtest replays.
SAMPLE_EVENTS = 20
BACKTEST_MAX = 100

section("admin.workflows", _l("Workflows"),
        _l("Automations: what happens when something happens, with versions, dry runs and backtests."),
        "core.workflow.read")


def _require(action: str) -> None:
    if current_principal().scope_for(f"core.workflow.{action}") is None:
        abort(403, description=_("You may not %(action)s workflows (core.workflow.%(action)s).", action=action))


def _may(action: str) -> bool:
    return current_principal().scope_for(f"core.workflow.{action}") is not None


def _workflow(workflow_id: int) -> Workflow:
    """The workflow through the tenant's session: another tenant's is simply not there (404)."""
    workflow = web.db_session().scalar(select(Workflow).where(Workflow.id == workflow_id))
    if workflow is None:
        abort(404, description=_("There is no workflow #%(id)s here.", id=workflow_id))
    return workflow


def _version(workflow: Workflow, number: int | None = None) -> WorkflowVersion:
    try:
        return service.version_of(web.db_session(), workflow, number)
    except NotFound:
        abort(404, description=_("Workflow %(name)s has no version %(number)s.", name=workflow.name, number=number))


def trigger_summary(trigger: dict[str, Any]) -> str:
    """One line saying what starts a workflow ("event core.party.created if …")."""
    kind = trigger.get("kind", "")
    if kind == "schedule":
        return _("on schedule %(cron)s", cron=trigger.get("cron", ""))
    if kind == "manual":
        return _("by hand")
    if kind == "date":
        return _("%(offset)+d days from %(entity)s.%(field)s", offset=trigger.get("offset_days", 0),
                 entity=trigger.get("entity", ""), field=trigger.get("field", ""))
    if kind == "relative":
        delay = ", ".join(f"{amount:g} {unit}" for unit, amount in (trigger.get("delay") or {}).items() if amount)
        summary = _("%(delay)s after %(event)s", delay=delay, event=trigger.get("event", ""))
    elif kind == "plugin":
        summary = _("plugin trigger %(name)s", name=trigger.get("name", ""))
    elif kind == "record":
        summary = _("when a %(entity)s record comes to match", entity=trigger.get("entity", ""))
    else:
        summary = _("event %(event)s", event=trigger.get("event", ""))
    return f"{summary} {_('if')} {trigger['condition']}" if trigger.get("condition") else summary


# -- list, enable, disable ----------------------------------------------------------------------------


@blueprint.get("/workflows")
@requires("core.workflow.read")
def workflows():
    """Every workflow with its state, current version, trigger and the statuses of its recent runs."""
    _require("read")
    session = web.db_session()
    rows = session.scalars(select(Workflow).order_by(Workflow.name)).all()
    definitions = dict(session.execute(
        select(WorkflowVersion.workflow_id, WorkflowVersion.definition).join(
            Workflow, (Workflow.id == WorkflowVersion.workflow_id)
            & (Workflow.current_version == WorkflowVersion.number))
    ).all())
    since = utcnow() - timedelta(days=RECENT_DAYS)
    counts: dict[int, Counter] = defaultdict(Counter)
    for workflow_id, status, count in session.execute(
            select(WorkflowRun.workflow_id, WorkflowRun.status, func.count()).where(WorkflowRun.started_at >= since)
            .group_by(WorkflowRun.workflow_id, WorkflowRun.status)):
        counts[workflow_id][status] = count
    listed = [{"workflow": row, "trigger": trigger_summary((definitions.get(row.id) or {}).get("trigger") or {}),
               "runs": sorted(counts[row.id].items())} for row in rows]
    return render_template("admin/workflows/list.html", listed=listed, days=RECENT_DAYS,
                           may_create=_may("create"), may_update=_may("update"))


def _toggle(workflow_id: int, enabled: bool):
    _require("update")
    session = web.db_session()
    workflow = _workflow(workflow_id)
    service.set_enabled(session, web.platform(), workflow, enabled, current_principal().name)
    session.commit()
    flash(_("%(name)s is enabled.", name=workflow.name) if enabled else
          _("%(name)s is disabled.", name=workflow.name), "success")
    return redirect(url_for("admin.workflows"))


@blueprint.post("/workflows/<int:workflow_id>/enable")
@requires("core.workflow.read")
def enable_workflow(workflow_id: int):
    """Enable a workflow (its runs start again on its trigger)."""
    return _toggle(workflow_id, True)


@blueprint.post("/workflows/<int:workflow_id>/disable")
@requires("core.workflow.read")
def disable_workflow(workflow_id: int):
    """Disable a workflow; its versions and runs are kept."""
    return _toggle(workflow_id, False)


# -- the editor -----------------------------------------------------------------------------------


def _choices() -> dict[str, Any]:
    """What the editor's selects offer: trigger kinds, event types, actions and plugin triggers."""
    session = web.db_session()
    catalogue = service.catalogue_for(session, web.platform())
    actions = [{"name": name, "label": catalogue.action(name).label or name,
                "plugin": catalogue.plugin_of.get(name), "fields": _param_fields(catalogue.action(name).params)}
               for name in catalogue.action_names()]
    triggers = [{"name": name, "label": catalogue.trigger(name).label or name,
                 "pattern": catalogue.trigger(name).pattern}
                for name in catalogue.trigger_names()]
    return {"kinds": [(kind, _TRIGGER_LABELS[kind]) for kind in _TRIGGER_LABELS],
            "event_types": sorted(event_type.name for event_type in get_bus(web.platform()).catalogue),
            "actions": actions, "actions_by_name": {action["name"]: action for action in actions},
            "plugin_triggers": triggers, "delay_units": _DELAY_LABELS,
            "time_zone": web.require_tenant().time_zone or "UTC"}


_TRIGGER_LABELS = {
    "event": _l("When an event happens"), "relative": _l("Some time after an event"),
    "schedule": _l("On a schedule"), "date": _l("Before or after a date field"), "manual": _l("By hand (a button)"),
    "plugin": _l("A plugin's trigger"), "record": _l("When a record comes to match a condition"),
}
_DELAY_LABELS = {"days": _l("days"), "hours": _l("hours"), "minutes": _l("minutes"), "seconds": _l("seconds"),
                 "business_hours": _l("business hours")}


def _param_fields(params: Any) -> list[str]:
    """The action's parameters as ``name`` / ``name*`` (required), to guide its YAML."""
    if params is None:
        return []
    schema = params() if isinstance(params, type) else params
    return [f"{name}{'*' if field.required else ''}" for name, field in schema.fields.items() if not field.dump_only]


def _condition_reports(state: dict[str, Any], errors: dict[str, list[str]]) -> dict[str, Any]:
    """Position reports (with the caret) for the conditions a failed save complained about."""
    reports = {}
    if "trigger_condition" in errors:
        reports["trigger_condition"] = wf.condition_report(state["trigger_condition"])
    for index, step in enumerate(state["steps"]):
        if step["kind"] == "if" and f"step-{index}" in errors:
            reports[f"step-{index}-if"] = wf.condition_report(step["if"], required=True)
    return reports


def _editor(state: dict[str, Any], errors: dict[str, list[str]], workflow: Workflow | None,
            definition: dict[str, Any] | None, status: int = 200, yaml_text: str | None = None):
    if yaml_text is None:
        yaml_text = wf.to_yaml(wf.compact(definition)) if definition else ""
    page = render_template("admin/workflows/editor.html", form=state, errors=errors, workflow=workflow,
                           definition_yaml=yaml_text,
                           reports=_condition_reports(state, errors), **_choices())
    return page, status


@blueprint.route("/workflows/new", methods=["GET", "POST"])
@requires("core.workflow.read")
def new_workflow():
    """Create a workflow: its version 1 (``op`` other than ``save`` only rearranges the form)."""
    _require("create")
    if request.method == "GET":
        return _editor(wf.blank_state(), {}, None, None)
    return _posted(None)


@blueprint.route("/workflows/<int:workflow_id>", methods=["GET", "POST"])
@requires("core.workflow.read")
def edit_workflow(workflow_id: int):
    """Edit a workflow: each save is a new version; a form older than the workflow is refused."""
    workflow = _workflow(workflow_id)
    if request.method == "GET":
        _require("read")
        definition = _version(workflow).definition
        return _editor(wf.state_of(workflow.name, definition, workflow.version), {}, workflow, definition)
    _require("update")
    return _posted(workflow)


def _posted(workflow: Workflow | None):
    """Handle the editor's POST: rearrange the form, or save the form's (or the YAML's) definition."""
    operation = request.form.get("op", "save")
    if operation == "save_yaml":
        text = request.form.get("definition_yaml", "")
        try:
            definition = wf.from_yaml(text) or {}
        except ValueError as exc:
            return _editor(_yaml_state({}), {"definition_yaml": [str(exc)]}, workflow, None, 422, text)
        return _save(workflow, _yaml_state(definition), definition, text)
    state = wf.state_from_form(request.form)
    if operation != "save":
        wf.apply_operation(state, operation)
        definition, _errors = wf.definition_of(state)
        return _editor(state, {}, workflow, definition)
    definition, errors = wf.definition_of(state)
    if errors:
        return _editor(state, errors, workflow, definition, 422)
    return _save(workflow, state, definition)


def _yaml_state(definition: Any) -> dict[str, Any]:
    """The form showing a definition posted as YAML, with the name and row version posted beside it."""
    state = wf.state_of(request.form.get("name", ""), definition if isinstance(definition, dict) else {})
    state.update(version=request.form.get("version", ""), enabled=request.form.get("enabled") == "on")
    return state


def _save(workflow: Workflow | None, state: dict[str, Any], definition: Any, yaml_text: str | None = None):
    """Save ``definition`` as a new workflow or version; a refusal re-renders the editor (YAML as posted)."""
    if yaml_text is None:
        yaml_text = wf.to_yaml(definition)
    session = web.db_session()
    platform, principal = web.platform(), current_principal()
    if workflow is not None and state["version"] != str(workflow.version):
        message = _("Someone else changed this workflow after you opened it; nothing was saved. "
                    "Reload the page to see their version, then make your change again.")
        return _editor(state, {"_form": [message]}, workflow, None, 409, yaml_text)
    try:
        if workflow is None:
            workflow = service.create_workflow(session, platform, state["name"], definition, saver=principal,
                                               actor=principal.name, enabled=state["enabled"])
        else:
            service.update_workflow(session, platform, workflow, name=state["name"], definition=definition,
                                    saver=principal, actor=principal.name)
        session.commit()
    except ValidationError as exc:
        session.rollback()
        return _editor(state, wf.field_errors(exc.messages), workflow, None, 422, yaml_text)
    except Conflict as exc:
        session.rollback()
        return _editor(state, {"name": [str(exc)]}, workflow, None, 422, yaml_text)
    except StaleDataError:
        session.rollback()
        message = _("Someone else saved this workflow at the same moment; nothing was saved. "
                    "Reload the page and make your change again.")
        return _editor(state, {"_form": [message]}, workflow, None, 409, yaml_text)
    flash(_("%(name)s was saved as version %(number)s.", name=workflow.name, number=workflow.current_version),
          "success")
    return redirect(url_for("admin.edit_workflow", workflow_id=workflow.id))


@blueprint.post("/workflows/condition-check")
@requires("core.workflow.read")
def condition_check():
    """The live check of a condition field (named by ``field``): a fragment, "valid" or the error with its spot."""
    if not (_may("create") or _may("update")):
        abort(403, description=_("You may not edit workflows."))
    field = request.args.get("field", "trigger_condition")
    source = request.form.get(field, "")
    report = wf.condition_report(source, required=field != "trigger_condition")
    # It compiles: do the plugin functions it calls (segments...) accept their arguments?
    problems = service.condition_problems(web.db_session(), web.platform(), source) if report and report["valid"] else []
    if problems:
        report = {**report, "valid": False, "message": "; ".join(problems)}
    return render_template("admin/workflows/_condition_check.html", report=report)


# -- versions ---------------------------------------------------------------------------------------


@blueprint.get("/workflows/<int:workflow_id>/versions")
@requires("core.workflow.read")
def workflow_versions(workflow_id: int):
    """Every version of a workflow, newest first, with who saved it and when."""
    _require("read")
    workflow = _workflow(workflow_id)
    rows = web.db_session().scalars(select(WorkflowVersion).where(WorkflowVersion.workflow_id == workflow.id)
                                    .order_by(WorkflowVersion.number.desc())).all()
    return render_template("admin/workflows/versions.html", workflow=workflow, versions=rows)


@blueprint.get("/workflows/<int:workflow_id>/versions/<int:number>")
@requires("core.workflow.read")
def workflow_version(workflow_id: int, number: int):
    """One version's definition, as YAML, read-only."""
    _require("read")
    workflow = _workflow(workflow_id)
    version = _version(workflow, number)
    return render_template("admin/workflows/version.html", workflow=workflow, version=version,
                           definition_yaml=wf.to_yaml(version.definition),
                           trigger=trigger_summary(version.definition.get("trigger") or {}))


# -- dry run and backtest -------------------------------------------------------------------------


class SampleEventRefused(ValueError):
    """A pasted sample event cannot be used; the message names the problem."""


def _sample_event(text: str) -> dict[str, Any]:
    """A pasted sample event (YAML or JSON: type, payload, subject_type, subject_id) as the engine sees events.

    :raises ValueError: with the problem, naming the field.
    """
    value = wf.from_yaml(text)
    if not isinstance(value, dict):
        raise SampleEventRefused(_("A sample event is a mapping with at least 'type' "
                                   "(and payload, subject_type, subject_id)."))
    try:
        sample = SampleEventSchema().load(value)
    except ValidationError as exc:
        problems = "; ".join(f"{path}: {message}" for path, message in wf.flatten(exc.messages))
        raise SampleEventRefused(problems) from None
    subject = {"entity": sample["subject_type"], "id": sample["subject_id"]} if sample["subject_id"] else None
    return {"id": None, "type": sample["type"], "actor": current_principal().name, "payload": sample["payload"],
            "subject": subject, "related": sample["related"], "occurred_at": None}


@blueprint.route("/workflows/<int:workflow_id>/dry-run", methods=["GET", "POST"])
@requires("core.workflow.read")
def workflow_dry_run(workflow_id: int):
    """What a version would do for one event (from the log, or pasted), with no side effects."""
    _require("update")
    session = web.db_session()
    workflow = _workflow(workflow_id)
    form = {"event_id": request.values.get("event_id", ""), "sample": request.values.get("sample", ""),
            "version": request.values.get("version", str(workflow.current_version))}
    report, error = None, None
    if request.method == "POST":
        version = _version(workflow, int(form["version"]) if form["version"].isdigit() else None)
        try:
            if form["sample"].strip():
                event: Any = _sample_event(form["sample"])
            else:
                row = session.scalar(select(OutboxEvent).where(OutboxEvent.event_id == form["event_id"]))
                if row is None:
                    raise SampleEventRefused(_("Pick an event of the log or paste a sample event."))
                event = Event.from_row(row)
            report = dryrun.dry_run(session, web.platform(), workflow, version, event)
        except ValueError as exc:
            error = str(exc)
        session.rollback()  # a dry run keeps nothing; neither does this request
    return render_template("admin/workflows/dry_run.html", workflow=workflow, form=form, report=report, error=error,
                           events=dryrun.matching_events(web.db_session(), workflow, SAMPLE_EVENTS),
                           numbers=range(workflow.current_version, 0, -1)), \
        (422 if error else 200)


@blueprint.route("/workflows/<int:workflow_id>/backtest", methods=["GET", "POST"])
@requires("core.workflow.read")
def workflow_backtest(workflow_id: int):
    """A version dry-run against the last N events its trigger matches, as a table."""
    _require("update")
    session = web.db_session()
    workflow = _workflow(workflow_id)
    form = {"limit": request.values.get("limit", "20"),
            "version": request.values.get("version", str(workflow.current_version))}
    items, error = None, None
    if request.method == "POST":
        limit = int(form["limit"]) if form["limit"].isdigit() else 0
        if not 1 <= limit <= BACKTEST_MAX:
            error = _("Replay between 1 and %(max)s events.", max=BACKTEST_MAX)
        else:
            version = _version(workflow, int(form["version"]) if form["version"].isdigit() else None)
            try:
                items = dryrun.backtest(session, web.platform(), workflow, version, limit)
            except Conflict as exc:
                error = str(exc)
            session.rollback()
    return render_template("admin/workflows/backtest.html", workflow=workflow, form=form, items=items, error=error,
                           numbers=range(workflow.current_version, 0, -1)), (422 if error else 200)


# -- run log --------------------------------------------------------------------------------------


@blueprint.get("/workflows/<int:workflow_id>/runs")
@requires("core.workflow.read")
def workflow_runs(workflow_id: int):
    """The latest runs, newest first: status, version, subject, steps, errors and loop-guard cuts."""
    _require("read")
    session = web.db_session()
    workflow = _workflow(workflow_id)
    runs = service.runs_of(session, workflow, limit=RUN_LOG_LENGTH)
    steps: dict[int, list[WorkflowStep]] = defaultdict(list)
    if runs:
        for step in session.scalars(select(WorkflowStep).where(WorkflowStep.run_id.in_([run.id for run in runs]))
                                    .order_by(WorkflowStep.id)):
            steps[step.run_id].append(step)
    numbers = dict(session.execute(select(WorkflowVersion.id, WorkflowVersion.number)
                                   .where(WorkflowVersion.workflow_id == workflow.id)).all())
    return render_template("admin/workflows/runs.html", workflow=workflow, runs=runs, steps=steps,
                           numbers=numbers, cut=CUT, may_run=_may("run"))


@blueprint.post("/workflows/<int:workflow_id>/run")
@requires("core.workflow.read")
def run_workflow(workflow_id: int):
    """Run a workflow by hand on a record the signed-in user can see (it runs through the event bus)."""
    _require("run")
    session = web.db_session()
    workflow = _workflow(workflow_id)
    subject_type = request.form.get("subject_type", "").strip()
    subject_id = request.form.get("subject_id", "").strip()
    if not subject_type or not subject_id:
        flash(_("Name the record to run the workflow on."), "error")
        return redirect(url_for("admin.workflow_runs", workflow_id=workflow_id))
    try:
        service.request_run(session, workflow, subject_type, subject_id, current_principal().name)
        session.commit()
    except (Conflict, NotFound) as exc:
        session.rollback()
        flash(str(exc), "error")
    else:
        flash(_("A run of %(name)s on %(type)s %(id)s was requested; it appears here once it has started.",
                name=workflow.name, type=subject_type, id=subject_id), "success")
    return redirect(url_for("admin.workflow_runs", workflow_id=workflow_id))
