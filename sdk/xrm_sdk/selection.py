"""SQL conditions for plugins that select records: JSON tag lists and custom fields, on SQLite and PostgreSQL.

These are the conditions the core's own lists filter with (``?tag=``, ``?custom.<code>__gte=``),
for plugins that build selections of their own (a contacts segment, a campaign audience).
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import ColumnElement
from sqlalchemy.orm import Session

from xrm_core.api.listing import OPERATORS
from xrm_core.customfields import service as _service
from xrm_core.customfields import types as _types
from xrm_core.customfields.sql import JsonArrayIncludes, JsonText

__all__ = ["custom_field_condition", "custom_field_types", "json_array_includes"]


def json_array_includes(column: ColumnElement[Any], value: Any) -> ColumnElement[bool]:
    """Whether the JSON array in ``column`` (a list of tags, say) includes ``value``."""
    return JsonArrayIncludes(column, None, value)


def custom_field_types(session: Session, model: type) -> dict[str, tuple[str, tuple[str, ...]]]:
    """The active custom fields of ``model``'s entity in the session's tenant: code → (type, operators)."""
    return {d.code: (d.type, _types.FIELD_TYPES[d.type].operators)
            for d in _service.definitions(session, model.__custom_fields_entity__, active_only=True)}


def custom_field_condition(model: type, code: str, field_type: str, operator: str, value: Any) -> ColumnElement[bool]:
    """``model``'s custom field ``code`` (of ``field_type``) compared with ``value`` by ``operator``.

    ``operator`` is one of the type's operators (see :func:`custom_field_types`); ``in`` takes a list,
    ``isnull`` a boolean (``true``: no value), and ``eq`` on a multiple choice means "includes".

    :raises ValueError: the operator does not apply to the type, or the value does not fit it
        (the message says why, for the user).
    """
    kind = _types.FIELD_TYPES[field_type]
    if operator not in kind.operators:
        raise ValueError(f"A {field_type} field filters with: {', '.join(kind.operators)}.")
    if operator == "isnull":
        wanted = _types.parse_boolean(value)
        column = JsonText(model.custom, code)
        return column.is_(None) if wanted else column.is_not(None)
    parse = _types.FILTER_VALUE[field_type]
    if field_type == _types.MULTI_CHOICE:
        return JsonArrayIncludes(model.custom, code, parse(value))
    if operator == "in":
        if not isinstance(value, list) or not value:
            raise ValueError("Give a non-empty list of values.")
        parsed: Any = [parse(item) for item in value]
    else:
        parsed = parse(value)
    return OPERATORS[operator](kind.column(model.custom, code), parsed)
