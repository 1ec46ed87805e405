"""Templates in action parameters (``"Complaint {{ event.payload.number }} escalated"``).

Rendered with Jinja2's immutable sandbox: no attribute starting with an underscore, no method
that changes a value, no Python object beyond the plain JSON values of the context; an undefined
name is an error rather than an empty string, so a typo fails the step instead of sending a blank.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from jinja2 import StrictUndefined, TemplateError
from jinja2.sandbox import ImmutableSandboxedEnvironment

from ..errors import XrmError

_ENV = ImmutableSandboxedEnvironment(undefined=StrictUndefined, autoescape=False)


class TemplateRefused(XrmError):
    """A template does not parse, or failed to render (undefined value, refused access)."""


def is_template(value: Any) -> bool:
    return isinstance(value, str) and ("{{" in value or "{%" in value)


def check_template(source: str) -> None:
    """Parse ``source`` without rendering it.

    :raises TemplateRefused: a syntax error, with its line.
    """
    try:
        _ENV.parse(source)
    except TemplateError as exc:
        line = getattr(exc, "lineno", None)
        raise TemplateRefused(f"line {line}: {exc.message}" if line else str(exc)) from None


def render(value: Any, context: Mapping[str, Any]) -> Any:
    """``value`` with every template string in it (nested in lists and dicts) rendered."""
    if isinstance(value, str):
        if not is_template(value):
            return value
        try:
            return _ENV.from_string(value).render(context)
        except TemplateError as exc:  # SecurityError and UndefinedError are TemplateErrors
            raise TemplateRefused(f"template {value!r}: {exc}") from None
    if isinstance(value, Mapping):
        return {key: render(item, context) for key, item in value.items()}
    if isinstance(value, list):
        return [render(item, context) for item in value]
    return value


def templated_paths(value: Any, prefix: str = "") -> list[str]:
    """The dotted paths of the template strings in ``value`` (to check them when saved)."""
    if is_template(value):
        return [prefix]
    if isinstance(value, Mapping):
        return [p for key, item in value.items() for p in templated_paths(item, f"{prefix}.{key}" if prefix else str(key))]
    if isinstance(value, list):
        return [p for i, item in enumerate(value) for p in templated_paths(item, f"{prefix}.{i}" if prefix else str(i))]
    return []
