"""Functions plugins give workflow conditions (``xrm_workflow_functions``): ``contacts.in_segment(subject, "VIP")``.

A condition calls a plugin's function by its full name, ``<plugin>.<function>(arguments)``. When
the condition runs, the function is called with the tenant's session acting as the workflow's
principal (so it sees what the workflow may see, in its tenant only), then the CEL arguments.

When a workflow is saved, and when the editor checks a condition, every call is checked first: the
function must be available in the tenant (its plugin enabled), get as many arguments as it names,
and accept its literal arguments (``check_arguments``, acting as the principal the workflow will
have). A condition naming a segment that does not exist is refused then, at its JSON path, rather
than failing every run later.

The CEL library only compiles and runs expressions, so the calls are found by scanning the source:
in CEL a qualified name followed by ``(`` is a call, and string literals are skipped.
"""

from __future__ import annotations

import ast
import logging
import re
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

from sqlalchemy.orm import Session

from ..contributions import WorkflowFunction

log = logging.getLogger("xrm.workflows")

HOOK = "xrm_workflow_functions"

_TOKENS = re.compile(r"""
    (?P<string>[rRbB]{0,2}(?:\"\"\"[\s\S]*?\"\"\"|'''[\s\S]*?'''|"(?:\\.|[^"\\\n])*"|'(?:\\.|[^'\\\n])*'))
  | (?P<number>0[xX][0-9a-fA-F]+[uU]?|\d+(?:\.\d+)?(?:[eE][+-]?\d+)?[uU]?)
  | (?P<name>[A-Za-z_][A-Za-z0-9_]*)
  | (?P<space>\s+)
  | (?P<punct>.)
""", re.VERBOSE)
_LITERAL_NAMES = {"true": True, "false": False}


@dataclass(frozen=True)
class Call:
    """A call of a qualified function in a condition: its name and literal arguments (``None``: an expression)."""

    name: str
    arguments: tuple[Any, ...]


def _tokens(source: str) -> list[tuple[str, str]]:
    return [(match.lastgroup, match.group()) for match in _TOKENS.finditer(source) if match.lastgroup != "space"]


def _literal(tokens: list[tuple[str, str]]) -> Any:
    """The value of an argument that is one literal, else ``None``."""
    if len(tokens) != 1:
        return None
    kind, text = tokens[0]
    if kind == "name":
        return _LITERAL_NAMES.get(text)
    if kind in ("string", "number"):
        try:
            return ast.literal_eval(text.rstrip("uU") if kind == "number" else text)
        except (ValueError, SyntaxError):
            return None
    return None


def _arguments(tokens: list[tuple[str, str]], start: int) -> tuple[Any, ...]:
    """The literal values of the arguments of the call whose ``(`` is at ``start``."""
    arguments: list[list[tuple[str, str]]] = [[]]
    depth = 0
    for kind, text in tokens[start + 1:]:
        if kind == "punct" and text in "([{":
            depth += 1
        elif kind == "punct" and text in ")]}":
            if depth == 0:
                break
            depth -= 1
        elif kind == "punct" and text == "," and depth == 0:
            arguments.append([])
            continue
        arguments[-1].append((kind, text))
    if arguments == [[]]:
        return ()
    return tuple(_literal(argument) for argument in arguments)


@lru_cache(maxsize=2048)
def calls_of(source: str) -> tuple[Call, ...]:
    """The calls of ``<namespace>.<name>(…)`` in a CEL expression, in order.

    Member calls on values (``subject.name.startsWith("A")``) are found too when their receiver is a
    bare name; callers keep the calls whose namespace is a plugin's.
    """
    tokens = _tokens(source)
    found = []
    for index in range(len(tokens) - 3):
        (k0, namespace), (k1, dot), (k2, name), (k3, paren) = tokens[index:index + 4]
        if (k0, k1, k2, k3) != ("name", "punct", "name", "punct") or dot != "." or paren != "(":
            continue
        if index > 0 and tokens[index - 1] == ("punct", "."):
            continue  # a.b.c(: a member call on a field, not a qualified function
        found.append(Call(f"{namespace}.{name}", _arguments(tokens, index + 3)))
    return tuple(found)


def contributed(platform: Any) -> Iterator[tuple[str, WorkflowFunction]]:
    """Every installed plugin's functions, with the plugin's name."""
    for plugin, function in platform.contributed(HOOK, WorkflowFunction):
        if callable(function.evaluate):
            yield plugin, function


@lru_cache(maxsize=8)
def _installed(platform: Any) -> dict[str, tuple[str, WorkflowFunction]]:
    """The installed plugins' functions by name, with their plugin (plugins are loaded once per platform)."""
    return {function.name: (plugin, function) for plugin, function in contributed(platform)}


def bound(session: Session, source: str) -> dict[str, Callable[..., Any]]:
    """The plugin functions ``source`` calls, each bound to ``session`` (which acts as the workflow).

    Empty without a database query when the condition calls none (the common case); a function
    whose plugin is not enabled in the tenant is left out, so the condition fails naming it.
    """
    if not calls_of(source):
        return {}
    platform = session.info["platform"]
    installed = _installed(platform)
    called = {call.name: installed[call.name] for call in calls_of(source) if call.name in installed}
    if not called:
        return {}
    enabled = set(platform.enabled_plugins(session))
    return {name: _bind(function, session) for name, (plugin, function) in called.items() if plugin in enabled}


def _bind(function: WorkflowFunction, session: Session) -> Callable[..., Any]:
    def call(*arguments: Any) -> Any:
        return function.evaluate(session, *arguments)

    return call


def problems(session: Session, source: str, available: Mapping[str, WorkflowFunction],
             namespaces: set[str]) -> list[str]:
    """What is wrong with the plugin function calls in ``source``, one message each.

    ``available`` are the functions of the tenant's enabled plugins, by name; ``namespaces`` the
    names of installed plugins with functions (a call into another namespace is a member call).
    ``session`` acts as the principal the workflow will have.
    """
    messages = []
    for call in calls_of(source):
        namespace = call.name.split(".")[0]
        if namespace not in namespaces:
            continue
        function = available.get(call.name)
        if function is None:
            known = ", ".join(sorted(available)) or "none"
            messages.append(f"unknown function {call.name!r} (is its plugin enabled? known: {known})")
            continue
        if len(call.arguments) != len(function.params):
            messages.append(f"{call.name}({', '.join(function.params)}) takes {len(function.params)} "
                            f"argument(s), not {len(call.arguments)}")
            continue
        if function.check_arguments is None:
            continue
        try:
            reason = function.check_arguments(session, list(call.arguments))
        except Exception:  # a plugin's bug must not make saving a workflow a 500
            log.warning("workflow function %s: check_arguments raised", call.name, exc_info=True)
            reason = "its arguments could not be checked (the plugin failed; see the server log)"
        if reason:
            messages.append(f"{call.name}: {reason}")
    return messages


def conditions_in(definition: Mapping[str, Any]) -> Iterator[tuple[tuple[str | int, ...], str]]:
    """Every condition of a loaded definition with its path (``("steps", 1, "then", 0, "if")``)."""
    if definition["trigger"].get("condition"):
        yield ("trigger", "condition"), definition["trigger"]["condition"]
    yield from _step_conditions(definition.get("steps") or [], ("steps",))


def _step_conditions(steps: list[Mapping[str, Any]], prefix: tuple[str | int, ...]):
    for index, step in enumerate(steps):
        path = (*prefix, index)
        if "if" in step:
            yield (*path, "if"), step["if"]
            yield from _step_conditions(step.get("then") or [], (*path, "then"))
            yield from _step_conditions(step.get("else") or [], (*path, "else"))
        elif "wait" in step and step["wait"].get("until"):
            yield (*path, "wait", "until"), step["wait"]["until"]
