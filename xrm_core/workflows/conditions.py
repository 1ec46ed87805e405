"""Conditions: CEL expressions (Common Expression Language), checked when saved, evaluated per run.

CEL is not Turing-complete, has no side effects and no access to Python objects: an expression
only sees the plain JSON values it is given (``event``, ``subject``, ``related``), CEL's own
functions and those the tenant's plugins contribute (``contacts.in_segment(subject, "VIP")``,
see :mod:`.functions`). The ``common-expression-language`` package (a maintained binding of the Rust
implementation) runs typical conditions tens of thousands of times per second per core; the
pure-Python ``cel-python`` measured under 500 evaluations per second here, short of the 5,000 the
engine must sustain.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

import cel

from ..errors import XrmError

#: The compiler's message: ``ERROR: <input>:<line>:<column>: <reason>`` then a picture of the spot.
_POSITION = re.compile(r"<input>:(\d+):(\d+):\s*(.*)")
#: The names an expression can use.
VARIABLES = ("event", "subject", "related")
#: How the library reports an exception raised by a Python function (a plugin's, see :mod:`.functions`).
_FUNCTION_FAILED = re.compile(r"Function '([^']+)' error: Python function call failed: \w+: (.*?)"
                              r"(?:\. Check function arguments and their types\.)?$")


class ConditionError(XrmError):
    """A condition cannot be compiled (with its position) or evaluated (with the reason)."""

    def __init__(self, message: str, line: int | None = None, column: int | None = None):
        super().__init__(message)
        self.line, self.column = line, column


@dataclass(frozen=True)
class Condition:
    """A compiled CEL expression."""

    source: str
    program: Any

    def evaluate(self, activation: Mapping[str, Any] | cel.Context) -> bool:
        """The expression's value for ``activation`` (values, or :func:`prepare`'d), which must be a boolean.

        :raises ConditionError: a missing key, a type mismatch, or a value that is not a boolean.
        """
        try:
            value = self.program.execute(activation if isinstance(activation, cel.Context) else dict(activation))
        except KeyError as exc:
            raise ConditionError(f"condition {self.source!r}: no such key {exc.args[0]!r}") from None
        except Exception as exc:  # noqa: BLE001 -- the library raises TypeError/RuntimeError/ValueError
            reason = str(exc).splitlines()[0]
            if failed := _FUNCTION_FAILED.match(reason):
                reason = f"{failed[1]}: {failed[2]}"
            raise ConditionError(f"condition {self.source!r}: {reason}") from None
        if not isinstance(value, bool):
            raise ConditionError(f"condition {self.source!r} gave {value!r}, not true or false")
        return value


def prepare(values: Mapping[str, Any], functions: Mapping[str, Callable[..., Any]] | None = None) -> cel.Context:
    """``values`` converted to CEL once, for several conditions over the same event and record.

    Converting the values costs more than evaluating a typical condition: the engine prepares
    them once per event (and per step of a run) rather than once per condition. ``functions``
    are the plugin functions (by full name) the conditions may call.
    """
    context = cel.Context()
    context.update(dict(values))
    for name, function in (functions or {}).items():
        context.add_function(name, function)
    return context


@lru_cache(maxsize=2048)
def compile_condition(source: str) -> Condition:
    """Compile ``source``; cached, since the same conditions are evaluated for every event.

    :raises ConditionError: a syntax error, with its 1-based line and column.
    """
    if not isinstance(source, str) or not source.strip():
        raise ConditionError("a condition must be a non-empty CEL expression")
    try:
        program = cel.compile(source)
    except ValueError as exc:
        found = _POSITION.search(str(exc))
        if found is None:
            raise ConditionError(f"invalid CEL expression: {str(exc).splitlines()[0]}") from None
        line, column, reason = int(found[1]), int(found[2]), found[3].strip()  # both 1-based
        raise ConditionError(f"line {line}, column {column}: {reason}", line, column) from None
    return Condition(source, program)
