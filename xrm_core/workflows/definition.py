"""A workflow's definition: its JSON (or YAML) shape, checked when saved, and compiled for running.

::

    trigger:                      # what starts it (one of):
      kind: event                 #   an event type or fnmatch pattern, with an optional filter
      event: "complaints.complaint.opened"
      condition: 'event.payload.severity == "high"'
    # kind: relative, event: …, delay: {days: 3}, condition: …   (checked when the delay is over;
    #                                                              delay may be {business_hours: 8})
    # kind: date, entity: core.party, field: custom.contract_end, offset_days: -30, condition: …
    #                                   (once per record and date value, on the day, tenant's zone)
    # kind: schedule, cron: "0 9 * * 1-5"                         (in the tenant's time zone)
    # kind: manual                                                (a button / POST on a record)
    # kind: plugin, name: "<plugin>.<trigger>", condition: …      (an event a plugin names)
    # kind: record, entity: core_parties, condition: …, event: …  (edge: when the condition becomes
    #                                                               true for a record; events default *)
    permissions: {"core.party.update": "tenant"}   # what the workflow may do, never more than its saver
    steps:
      - action: core.assign
        params: {department_id: 3}
        retries: 2                                # attempts again after a failure, with backoff
      - if: 'subject.tags.exists(t, t == "key")'
        then: [{action: core.notify, params: {users: [7], message: "{{ subject.display_name }}"}}]
        else: []
      - wait: {hours: 4}                          # or {until: '<CEL>', timeout: {days: 1}, every: {minutes: 15}}
      - wait: {business_hours: 4}                 # counted in the business calendar of the subject's
                                                  # department (or the tenant's), see xrm_core.businesshours

Conditions are CEL (:mod:`.conditions`), which may call plugins' functions (:mod:`.functions`,
checked when saved by :func:`xrm_core.workflows.service.check_definition`); string parameters may
be templates (:mod:`.templates`).
Every problem is reported at its JSON path (``steps.1.then.0.params.users``), a CEL syntax error
with its line and column.
"""

from __future__ import annotations

import contextvars
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from croniter import croniter
from marshmallow import RAISE, Schema, ValidationError, fields, validate, validates_schema

from ..identity.models import Scope
from .conditions import ConditionError, compile_condition
from .templates import TemplateRefused, check_template, templated_paths

TRIGGER_KINDS = ("event", "relative", "schedule", "manual", "plugin", "record", "date")
#: Most business hours a wait or a delay may count (about a year of 8-hour days).
MAX_BUSINESS_HOURS = 2000
#: Deepest nesting of ``if`` steps: a definition is configuration, not a program.
MAX_NESTING = 8
MAX_STEPS = 200

#: The action and trigger catalogues the schemas check names against, set by :func:`validate_definition`.
_CATALOGUE: contextvars.ContextVar[Any] = contextvars.ContextVar("xrm_workflow_catalogue")


class _Strict(Schema):
    class Meta:
        unknown = RAISE


def _check_condition(source: str) -> None:
    try:
        compile_condition(source)
    except ConditionError as exc:
        raise ValidationError(str(exc)) from None


def _check_cron(expression: str) -> None:
    if not croniter.is_valid(expression) or len(expression.split()) != 5:
        raise ValidationError(f"{expression!r} is not a cron expression of five fields (minute hour day month weekday)")


def Cel(**kwargs: Any) -> fields.String:  # capitalised: it reads like the field classes beside it
    """A string field holding a CEL expression, compiled to check it."""
    return fields.String(validate=_check_condition, **kwargs)


class DurationSchema(_Strict):
    days = fields.Integer(validate=validate.Range(0, 3660), load_default=0)
    hours = fields.Integer(validate=validate.Range(0), load_default=0)
    minutes = fields.Integer(validate=validate.Range(0), load_default=0)
    seconds = fields.Integer(validate=validate.Range(0), load_default=0)

    @validates_schema
    def _positive(self, data: dict[str, int], **_kwargs: Any) -> None:
        if not any(data.values()):
            raise ValidationError("a duration needs days, hours, minutes or seconds")


def seconds_of(duration: Mapping[str, int]) -> int:
    return int(timedelta(**{k: duration.get(k, 0) for k in ("days", "hours", "minutes", "seconds")}).total_seconds())


def _business_hours(**kwargs: Any) -> fields.Float:
    return fields.Float(validate=validate.Range(0, MAX_BUSINESS_HOURS, min_inclusive=False), metadata={
        "description": "Hours counted only while the business calendar is open"}, **kwargs)


def _business_alone(data: Mapping[str, Any]) -> None:
    if "business_hours" in data and any(data.get(k) for k in ("days", "hours", "minutes", "seconds")):
        alone = "business hours are counted alone, not with days, hours, minutes or seconds"
        raise ValidationError({"business_hours": [alone]})


class DelaySchema(DurationSchema):
    """A relative trigger's delay: a duration, or business hours."""

    business_hours = _business_hours()

    @validates_schema
    def _positive(self, data: dict[str, Any], **_kwargs: Any) -> None:
        _business_alone(data)
        if "business_hours" not in data and not any(data.values()):
            raise ValidationError("a duration needs days, hours, minutes or seconds (or business_hours)")


def _check_date_target(data: Mapping[str, Any]) -> dict[str, list[str]]:
    """Errors of a date trigger's entity and field, by key (see :mod:`.dates`)."""
    from .dates import DateTargetError, resolve_target

    try:
        resolve_target(data["entity"], data["field"])
    except DateTargetError as exc:
        return {exc.key: [str(exc)]}
    return {}


class TriggerSchema(_Strict):
    kind = fields.String(required=True, validate=validate.OneOf(TRIGGER_KINDS))
    event = fields.String(validate=validate.Length(1, 150))
    condition = Cel()
    delay = fields.Nested(DelaySchema)
    cron = fields.String(validate=_check_cron)
    name = fields.String(validate=validate.Length(1, 150))
    entity = fields.String(validate=validate.Length(1, 100))
    field = fields.String(validate=validate.Length(1, 100))
    offset_days = fields.Integer(validate=validate.Range(-3660, 3660))

    @validates_schema
    def _fields_of_kind(self, data: dict[str, Any], **_kwargs: Any) -> None:
        kind = data.get("kind")
        needed = {"event": ("event",), "relative": ("event", "delay"), "schedule": ("cron",),
                  "manual": (), "plugin": ("name",), "record": ("entity", "condition"),
                  "date": ("entity", "field")}.get(kind, ())
        allowed = {"event": {"event", "condition"}, "relative": {"event", "delay", "condition"},
                   "schedule": {"cron"}, "manual": set(), "plugin": {"name", "condition"},
                   "record": {"entity", "event", "condition"},
                   "date": {"entity", "field", "offset_days", "condition"}}.get(kind, set())
        errors = {name: [f"required by a {kind} trigger"] for name in needed if name not in data}
        if kind == "date" and "entity" in data and "field" in data:
            errors.update(_check_date_target(data))
        errors.update({name: [f"not used by a {kind} trigger"] for name in data.keys() - allowed - {"kind"}})
        if kind == "plugin" and "name" in data:
            catalogue = _CATALOGUE.get(None)
            if catalogue is not None and catalogue.trigger(data["name"]) is None:
                errors["name"] = [f"unknown trigger {data['name']!r} (known: {', '.join(catalogue.trigger_names()) or 'none'})"]
        if errors:
            raise ValidationError(errors)


class StepField(fields.Field):
    """One step: ``{action, params}``, ``{if, then, else}`` or ``{wait}``."""

    def _deserialize(self, value: Any, attr: str | None, data: Any, **kwargs: Any) -> dict[str, Any]:
        if not isinstance(value, Mapping):
            raise ValidationError("a step is an object with 'action', 'if' or 'wait'")
        kinds = [key for key in ("action", "if", "wait") if key in value]
        if len(kinds) != 1:
            raise ValidationError("a step has exactly one of 'action', 'if' or 'wait'")
        depth = _DEPTH.get()
        if kinds == ["if"] and depth >= MAX_NESTING:
            raise ValidationError(f"'if' steps nest at most {MAX_NESTING} deep")
        schema = {"action": ActionStepSchema, "if": IfStepSchema, "wait": WaitStepSchema}[kinds[0]]
        token = _DEPTH.set(depth + (kinds == ["if"]))
        try:
            return schema().load(value)
        finally:
            _DEPTH.reset(token)


_DEPTH: contextvars.ContextVar[int] = contextvars.ContextVar("xrm_workflow_depth", default=0)


def _steps(**kwargs: Any) -> fields.List:
    return fields.List(StepField(), validate=validate.Length(max=MAX_STEPS), **kwargs)


class ActionStepSchema(_Strict):
    action = fields.String(required=True)
    params = fields.Dict(keys=fields.String(), load_default=dict)
    retries = fields.Integer(validate=validate.Range(0, 10), load_default=0)

    @validates_schema
    def _known_action(self, data: dict[str, Any], **_kwargs: Any) -> None:
        catalogue = _CATALOGUE.get(None)
        if catalogue is None or "action" not in data:
            return
        action = catalogue.action(data["action"])
        if action is None:
            raise ValidationError({"action": [
                f"unknown action {data['action']!r} (known: {', '.join(catalogue.action_names())})"]})
        params = data.get("params") or {}
        errors: dict[str, Any] = {}
        for path in templated_paths(params):
            try:
                check_template(_at(params, path))
            except TemplateRefused as exc:
                errors[path] = [str(exc)]
        templated = {path.split(".")[0] for path in templated_paths(params)}
        if action.params is not None:
            try:
                _schema(action.params).load(params)
            except ValidationError as exc:
                # A templated value is only known when the step runs; it is checked then.
                errors.update({k: v for k, v in _by_key(exc.messages).items() if k not in templated})
        if errors:
            raise ValidationError({"params": errors})


class IfStepSchema(_Strict):
    if_ = Cel(required=True, data_key="if", attribute="if")
    then = _steps(load_default=list)
    else_ = _steps(data_key="else", attribute="else", load_default=list)


class WaitSchema(DurationSchema):
    until = Cel()
    timeout = fields.Nested(DurationSchema)
    every = fields.Nested(DurationSchema)
    business_hours = _business_hours()

    @validates_schema
    def _positive(self, data: dict[str, Any], **_kwargs: Any) -> None:
        duration = {k: data.get(k, 0) for k in ("days", "hours", "minutes", "seconds")}
        _business_alone(data)
        if "business_hours" in data:
            if "until" in data or "timeout" in data or "every" in data:
                raise ValidationError("wait either for business hours or until a condition, not both")
        elif "until" in data:
            if any(duration.values()):
                raise ValidationError("wait either for a duration or until a condition, not both")
            if "timeout" not in data:
                raise ValidationError({"timeout": ["a wait until a condition needs a timeout"]})
        elif not any(duration.values()):
            raise ValidationError("a wait needs days, hours, minutes or seconds, or 'until' with a timeout")
        elif "timeout" in data or "every" in data:
            raise ValidationError("'timeout' and 'every' only go with 'until'")


class WaitStepSchema(_Strict):
    wait = fields.Nested(WaitSchema, required=True)


class DefinitionSchema(_Strict):
    description = fields.String(load_default="", validate=validate.Length(max=2000))
    trigger = fields.Nested(TriggerSchema, required=True)
    permissions = fields.Dict(keys=fields.String(), values=fields.String(validate=validate.OneOf([s.value for s in Scope])),
                              load_default=dict)
    steps = _steps(required=True)


def _schema(params: Any) -> Schema:
    return params() if isinstance(params, type) else params


def _at(value: Any, path: str) -> Any:
    for part in path.split("."):
        value = value[int(part)] if isinstance(value, list) else value[part]
    return value


def _by_key(messages: Any) -> dict[str, Any]:
    return dict(messages) if isinstance(messages, Mapping) else {"_schema": messages}


def validate_definition(definition: Any, catalogue: Any) -> dict[str, Any]:
    """The definition as loaded (defaults filled in), checked against ``catalogue``'s actions and triggers.

    :raises ValidationError: messages keyed by JSON path.
    """
    if not isinstance(definition, Mapping):
        raise ValidationError({"_schema": ["a workflow definition is an object"]})
    token = _CATALOGUE.set(catalogue)
    try:
        return DefinitionSchema().load(dict(definition))
    finally:
        _CATALOGUE.reset(token)


# -- compiled form ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class Action:
    path: str
    name: str
    params: dict[str, Any]
    retries: int


@dataclass(frozen=True)
class Branch:
    """Go on when the condition holds, else jump to ``otherwise``."""

    path: str
    condition: str
    otherwise: int


@dataclass(frozen=True)
class Jump:
    target: int


@dataclass(frozen=True)
class Wait:
    path: str
    seconds: int = 0
    until: str | None = None
    timeout_s: int = 0
    every_s: int = 0
    #: Business time to wait, in seconds (counted in the subject's business calendar).
    business_s: int = 0


def compile_steps(steps: list[dict[str, Any]], prefix: str = "steps") -> list[Any]:
    """Flatten (validated) steps into instructions with jumps: a run resumes at an index."""
    program: list[Any] = []
    _emit(program, steps, prefix)
    return program


def _emit(program: list[Any], steps: list[dict[str, Any]], prefix: str) -> None:
    for index, step in enumerate(steps):
        path = f"{prefix}.{index}"
        if "action" in step:
            program.append(Action(path, step["action"], step.get("params") or {}, step.get("retries", 0)))
        elif "wait" in step:
            wait = step["wait"]
            if "business_hours" in wait:
                program.append(Wait(path, business_s=round(wait["business_hours"] * 3600)))
            elif "until" in wait:
                program.append(Wait(path, until=wait["until"], timeout_s=seconds_of(wait["timeout"]),
                                    every_s=seconds_of(wait["every"]) if "every" in wait else 0))
            else:
                program.append(Wait(path, seconds=seconds_of(wait)))
        else:
            branch_at = len(program)
            program.append(None)  # patched once the 'then' branch's length is known
            _emit(program, step.get("then") or [], f"{path}.then")
            if step.get("else"):
                jump_at = len(program)
                program.append(None)
                program[branch_at] = Branch(path, step["if"], len(program))
                _emit(program, step["else"], f"{path}.else")
                program[jump_at] = Jump(len(program))
            else:
                program[branch_at] = Branch(path, step["if"], len(program))
