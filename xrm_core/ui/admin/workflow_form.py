"""The workflow editor's form: browser fields to a definition and back, with errors put on their fields.

The form holds what a person edits most (name, trigger, condition, the ordered steps); an action's
parameters, a wait and an ``if`` step's branches are small YAML texts, since their shapes vary with
the action. The whole definition can also be edited as YAML, and both ways give the same
definition: :func:`state_of` turns a definition into form values, :func:`definition_of` the reverse.
Adding, removing and moving steps re-renders the form from what was posted, so the editor works
without JavaScript.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from typing import Any

import yaml
from flask_babel import gettext as _

from ...workflows.conditions import ConditionError, compile_condition

STEP_KINDS = ("action", "if", "wait")
#: Units a relative trigger's delay is entered in; business hours are counted in the business calendar.
DELAY_UNITS = ("days", "hours", "minutes", "seconds", "business_hours")
_UNIT_SECONDS = (("days", 86400), ("hours", 3600), ("minutes", 60), ("seconds", 1))
_STEP_FIELD = re.compile(r"step-(\d+)-(\w+)$")
_POSITION_PREFIX = re.compile(r"^line \d+, column \d+: ")
#: Trigger fields each kind uses (the rest are left out of the definition).
TRIGGER_FIELDS = {
    "event": ("event", "condition"), "relative": ("event", "delay", "condition"), "schedule": ("cron",),
    "manual": (), "plugin": ("name", "condition"), "record": ("entity", "event", "condition"),
    "date": ("entity", "field", "offset_days", "condition"),
}


def to_yaml(value: Any) -> str:
    """``value`` as block YAML, or an empty text for nothing (no parameters, no branch)."""
    if value in (None, {}, []):
        return ""
    return yaml.safe_dump(value, sort_keys=False, allow_unicode=True, default_flow_style=False)


def from_yaml(text: str) -> Any:
    """The YAML text's value as plain JSON values (a date stays the text it was written as).

    :raises ValueError: the text is not YAML, with the line of the problem.
    """
    if not text.strip():
        return None
    try:
        value = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = _(" (line %(line)s)", line=mark.line + 1) if mark is not None else ""
        raise ValueError(_("not valid YAML%(where)s: %(problem)s", where=where,
                           problem=getattr(exc, "problem", None) or exc)) from None
    return json.loads(json.dumps(value, default=str))


# -- definition -> form values ----------------------------------------------------------------------


def compact(definition: Mapping[str, Any]) -> dict[str, Any]:
    """``definition`` without the defaults a saved one carries (``retries: 0``, zero durations).

    Easier to read and edit; saving it again fills the same defaults back in.
    """
    shown = dict(definition)
    if isinstance(shown.get("steps"), list):
        shown["steps"] = _compact_steps(shown["steps"])
    return shown


def _compact_steps(steps: list[Any]) -> list[Any]:
    compacted = []
    for step in steps:
        if not isinstance(step, Mapping):
            compacted.append(step)
            continue
        step = dict(step)
        if step.get("retries") == 0:
            del step["retries"]
        if isinstance(step.get("wait"), Mapping):
            step["wait"] = _compact_duration(step["wait"])
        for branch in ("then", "else"):
            if isinstance(step.get(branch), list):
                step[branch] = _compact_steps(step[branch])
        compacted.append(step)
    return compacted


def _compact_duration(duration: Mapping[str, Any]) -> dict[str, Any]:
    units = {unit for unit, _seconds in _UNIT_SECONDS}
    shown = {key: (_compact_duration(value) if isinstance(value, Mapping) else value)
             for key, value in duration.items() if not (key in units and value == 0)}
    return shown


def blank_state() -> dict[str, Any]:
    """A new workflow's form: an event trigger and one empty action step."""
    return {"name": "", "description": "", "version": "", "enabled": True, "trigger_kind": "event",
            "trigger_event": "", "trigger_condition": "", "trigger_delay_amount": "", "trigger_delay_unit": "days",
            "trigger_cron": "", "trigger_name": "", "trigger_entity": "", "trigger_field": "",
            "trigger_offset_days": "", "permissions": "", "steps": [_blank_step("action")]}


def _blank_step(kind: str) -> dict[str, str]:
    return {"kind": kind, "action": "", "params": "", "retries": "0", "if": "", "then": "", "else": "", "wait": ""}


def _delay_fields(delay: Mapping[str, Any]) -> tuple[str, str]:
    if "business_hours" in delay:
        return f"{delay['business_hours']:g}", "business_hours"
    total = sum(delay.get(unit, 0) * seconds for unit, seconds in _UNIT_SECONDS)
    for unit, seconds in _UNIT_SECONDS:
        if total % seconds == 0:
            return str(total // seconds), unit
    return str(total), "seconds"  # unreachable: every whole number of seconds divides by 1


def state_of(name: str, definition: Mapping[str, Any], version: int | None = None) -> dict[str, Any]:
    """The form values showing ``definition``; parts of the wrong shape are left out (the check names them)."""
    trigger = definition.get("trigger") if isinstance(definition.get("trigger"), Mapping) else {}
    state = blank_state()
    state.update(name=name, description=definition.get("description", ""), version=str(version or ""),
                 trigger_kind=trigger.get("kind", "event"), permissions=to_yaml(definition.get("permissions")))
    for key in ("event", "condition", "cron", "name", "entity", "field"):
        state[f"trigger_{key}"] = trigger.get(key, "")
    state["trigger_offset_days"] = str(trigger["offset_days"]) if "offset_days" in trigger else ""
    if isinstance(trigger.get("delay"), Mapping):
        state["trigger_delay_amount"], state["trigger_delay_unit"] = _delay_fields(trigger["delay"])
    steps = _compact_steps(definition["steps"]) if isinstance(definition.get("steps"), list) else []
    state["steps"] = [_step_state(step) for step in steps if isinstance(step, Mapping)]
    return state


def _step_state(step: Mapping[str, Any]) -> dict[str, str]:
    if "action" in step:
        return {**_blank_step("action"), "action": step["action"], "params": to_yaml(step.get("params")),
                "retries": str(step.get("retries", 0))}
    if "if" in step:
        return {**_blank_step("if"), "if": step["if"], "then": to_yaml(step.get("then")),
                "else": to_yaml(step.get("else"))}
    return {**_blank_step("wait"), "wait": to_yaml(step.get("wait"))}


# -- posted form -> form values -> definition -------------------------------------------------------


def state_from_form(form: Mapping[str, str]) -> dict[str, Any]:
    """The form values as posted (steps in the order of their numbers)."""
    state = blank_state()
    for key in state:
        if key not in ("steps", "enabled"):
            state[key] = form.get(key, state[key]).replace("\r\n", "\n")
    state["enabled"] = form.get("enabled") == "on"
    steps: dict[int, dict[str, str]] = {}
    for key, value in form.items():
        found = _STEP_FIELD.match(key)
        if found:
            steps.setdefault(int(found[1]), _blank_step("action"))[found[2]] = value.replace("\r\n", "\n")
    state["steps"] = [steps[number] for number in sorted(steps) if steps[number]["kind"] in STEP_KINDS]
    return state


def apply_operation(state: dict[str, Any], operation: str) -> bool:
    """Add (``add:<kind>``), remove (``remove:<n>``) or move (``up:<n>``, ``down:<n>``) a step.

    Returns whether ``operation`` was one of these (anything else is left to the caller).
    """
    verb, _sep, argument = operation.partition(":")
    steps = state["steps"]
    if verb == "add" and argument in STEP_KINDS:
        steps.append(_blank_step(argument))
        return True
    if verb not in ("remove", "up", "down") or not argument.isdigit() or int(argument) >= len(steps):
        return False
    index = int(argument)
    if verb == "remove":
        del steps[index]
    elif verb == "up" and index > 0:
        steps[index - 1], steps[index] = steps[index], steps[index - 1]
    elif verb == "down" and index < len(steps) - 1:
        steps[index + 1], steps[index] = steps[index], steps[index + 1]
    return True


def definition_of(state: Mapping[str, Any]) -> tuple[dict[str, Any], dict[str, list[str]]]:
    """The definition the form describes, and the errors of fields that cannot even be read (by field)."""
    errors: dict[str, list[str]] = {}
    kind = state["trigger_kind"]
    trigger: dict[str, Any] = {"kind": kind}
    for key in TRIGGER_FIELDS.get(kind, ()):
        if key == "delay":
            amount, unit = state["trigger_delay_amount"].strip(), state["trigger_delay_unit"]
            try:
                number = float(amount) if unit == "business_hours" else int(amount)
            except ValueError:
                errors["trigger_delay"] = [_("Enter the delay as a whole number of %(unit)s.", unit=unit)
                                           if unit != "business_hours" else _("Enter the delay as a number of hours.")]
                continue
            trigger["delay"] = {unit if unit in DELAY_UNITS else "days": number}
        elif key == "offset_days":
            offset = state["trigger_offset_days"].strip()
            if offset:
                try:
                    trigger["offset_days"] = int(offset)
                except ValueError:
                    errors["trigger_offset_days"] = [_("Enter a whole number of days (negative: before the date).")]
        elif state[f"trigger_{key}"].strip():
            # A condition is kept as typed, so that the positions of its errors are those the editor shows.
            value = state[f"trigger_{key}"]
            trigger[key] = value if key == "condition" else value.strip()
    definition: dict[str, Any] = {"description": state["description"].strip(), "trigger": trigger}
    try:
        definition["permissions"] = from_yaml(state["permissions"]) or {}
    except ValueError as exc:
        errors["permissions"] = [str(exc)]
    steps = []
    for index, step in enumerate(state["steps"]):
        built, problems = _step_of(step)
        steps.append(built)
        if problems:
            errors[f"step-{index}"] = [_("Step %(number)s, %(field)s: %(message)s", number=index + 1, field=field,
                                         message=message) for field, message in problems]
    definition["steps"] = steps
    return definition, errors


def _step_of(step: Mapping[str, str]) -> tuple[dict[str, Any], list[tuple[str, str]]]:
    problems: list[tuple[str, str]] = []

    def parsed(field: str, default: Any) -> Any:
        try:
            value = from_yaml(step[field])
        except ValueError as exc:
            problems.append((field, str(exc)))
            return default
        return default if value is None else value

    if step["kind"] == "action":
        built: dict[str, Any] = {"action": step["action"], "params": parsed("params", {})}
        retries = step["retries"].strip() or "0"
        if retries.isdigit():
            built["retries"] = int(retries)
        else:
            problems.append(("retries", _("enter a whole number of retries")))
        return built, problems
    if step["kind"] == "if":
        built = {"if": step["if"], "then": parsed("then", [])}
        if step["else"].strip():
            built["else"] = parsed("else", [])
        return built, problems
    return {"wait": parsed("wait", {})}, problems


# -- the service's errors -> fields ------------------------------------------------------------------


def flatten(messages: Any, path: str = "") -> list[tuple[str, str]]:
    """Marshmallow's nested messages as ``(dotted.path, message)`` pairs."""
    if isinstance(messages, Mapping):
        pairs = []
        for key, value in messages.items():
            pairs += flatten(value, f"{path}.{key}" if path else str(key))
        return pairs
    if isinstance(messages, list) and all(isinstance(m, str) for m in messages):
        return [(path, message) for message in messages]
    if isinstance(messages, list):
        return [pair for item in messages for pair in flatten(item, path)]
    return [(path, str(messages))]


def field_errors(messages: Any) -> dict[str, list[str]]:
    """The workflow service's ``ValidationError`` messages, put on the form field they are about.

    A step's problem names the step (numbered from 1) and the field within it
    (``Step 2, params.users: …``); a condition's keeps its line and column.
    """
    errors: dict[str, list[str]] = {}
    for path, message in flatten(messages):
        parts = [part for part in path.split(".") if part != "_schema"]
        if parts[:1] == ["definition"]:
            parts = parts[1:]
        field, shown = _field_of(parts, message)
        errors.setdefault(field, []).append(shown)
    return errors


def _field_of(parts: list[str], message: str) -> tuple[str, str]:
    if parts[:1] == ["name"]:
        return "name", message
    if parts[:1] == ["description"]:
        return "description", message
    if parts[:1] == ["permissions"]:
        return "permissions", f"{'.'.join(parts[1:])}: {message}" if parts[1:] else message
    if parts[:1] == ["trigger"]:
        key = parts[1] if len(parts) > 1 else "kind"
        return f"trigger_{key}", message
    if parts[:1] == ["steps"] and len(parts) > 1 and parts[1].isdigit():
        number, rest = int(parts[1]), ".".join(parts[2:])
        if rest:
            return f"step-{number}", _("Step %(number)s, %(field)s: %(message)s", number=number + 1, field=rest,
                                       message=message)
        return f"step-{number}", _("Step %(number)s: %(message)s", number=number + 1, message=message)
    return "_form", f"{'.'.join(parts)}: {message}" if parts else message


# -- live checking of conditions ---------------------------------------------------------------------


def condition_report(source: str, required: bool = False) -> dict[str, Any] | None:
    """How a condition compiles: ``{valid, message, line, column, source_line, caret}``; ``None`` for
    an empty optional one. The caret line puts ``^`` under the character the error is at."""
    if not source.strip():
        if not required:
            return None
        return {"valid": False, "message": _("A condition is required here."), "line": None, "column": None,
                "source_line": "", "caret": ""}
    try:
        compile_condition(source)
    except ConditionError as exc:
        # The position is shown on its own (with the caret): the reason is what follows it.
        reason = _POSITION_PREFIX.sub("", str(exc)) if exc.line is not None else str(exc)
        report = {"valid": False, "message": reason, "line": exc.line, "column": exc.column,
                  "source_line": "", "caret": ""}
        lines = source.split("\n")
        if exc.line is not None and exc.column is not None and 0 < exc.line <= len(lines):
            report["source_line"] = lines[exc.line - 1]
            report["caret"] = " " * (exc.column - 1) + "^"
        return report
    return {"valid": True, "message": _("valid"), "line": None, "column": None, "source_line": "", "caret": ""}
