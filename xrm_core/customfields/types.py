"""The custom field types: which values each takes, how they are stored and how lists filter on them.

Values are stored as JSON that reads back unambiguously: text and choices as strings, numbers as
exact decimal strings (``"12.5"``: a JSON number would round through a float), dates as ISO dates,
booleans as JSON booleans, party references as integer ids, multiple choices as a list of strings.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date
from decimal import Decimal, InvalidOperation
from typing import Any

from sqlalchemy import ColumnElement

from .sql import JsonBoolean, JsonDate, JsonInteger, JsonNumber, JsonText, _JsonValue

TEXT, NUMBER, DATE, BOOLEAN, CHOICE, MULTI_CHOICE, PARTY_REF = (
    "text", "number", "date", "boolean", "choice", "multi_choice", "party_ref")


#: Longest text value, whatever the field's own ``max_length``.
MAX_TEXT_LENGTH = 10_000


class InvalidValue(ValueError):
    """A value the field cannot take; ``str()`` is the message shown for the field."""


@dataclass(frozen=True)
class FieldType:
    """One type: the SQL reading of its values, the filter operators it offers, whether it sorts."""

    name: str
    #: Builds the typed SQL value of a field (None: not comparable as a scalar, e.g. lists).
    sql: type[_JsonValue] | None
    operators: tuple[str, ...]
    #: Rules ``validation`` may hold for this type.
    rules: tuple[str, ...] = ()

    @property
    def sortable(self) -> bool:
        return self.sql is not None

    def column(self, json_column: ColumnElement[Any], code: str) -> ColumnElement[Any]:
        """The field's typed SQL value (a list's JSON text for types that do not compare)."""
        return (self.sql or JsonText)(json_column, code)


_ORDERED = ("eq", "ne", "lt", "lte", "gt", "gte", "in", "isnull")

FIELD_TYPES: dict[str, FieldType] = {t.name: t for t in (
    FieldType(TEXT, JsonText, ("eq", "ne", "in", "contains", "isnull"), ("max_length", "regex")),
    FieldType(NUMBER, JsonNumber, _ORDERED, ("min", "max")),
    FieldType(DATE, JsonDate, _ORDERED, ("min", "max")),
    FieldType(BOOLEAN, JsonBoolean, ("eq", "ne", "isnull")),
    FieldType(CHOICE, JsonText, ("eq", "ne", "in", "isnull")),
    # eq on a multiple choice means "includes this choice".
    FieldType(MULTI_CHOICE, None, ("eq", "isnull")),
    FieldType(PARTY_REF, JsonInteger, ("eq", "ne", "in", "isnull")),
)}


def parse_number(value: Any) -> Decimal:
    """A finite decimal from a JSON number or a numeric string (booleans are not numbers)."""
    if isinstance(value, bool) or not isinstance(value, (int, float, str, Decimal)):
        raise InvalidValue("Not a valid number.")
    try:
        number = Decimal(str(value).strip())
    except InvalidOperation:
        raise InvalidValue("Not a valid number.") from None
    if not number.is_finite():
        raise InvalidValue("Not a valid number.")
    return number


def format_number(number: Decimal) -> str:
    """The stored form: plain notation, no trailing zeros (``12.50`` → ``"12.5"``, ``1E+2`` → ``"100"``)."""
    text = format(number.normalize(), "f")
    return "0" if text in ("-0", "") else text


def parse_date(value: Any) -> date:
    if isinstance(value, date):
        return value
    if not isinstance(value, str):
        raise InvalidValue("Not a valid date: use YYYY-MM-DD.")
    try:
        return date.fromisoformat(value.strip())
    except ValueError:
        raise InvalidValue("Not a valid date: use YYYY-MM-DD.") from None


def parse_boolean(value: Any) -> bool:
    if isinstance(value, bool):
        return value
    if isinstance(value, str) and value.strip().lower() in ("true", "false"):
        return value.strip().lower() == "true"
    raise InvalidValue("Not a valid boolean.")


def parse_party_id(value: Any) -> int:
    if isinstance(value, bool) or not isinstance(value, (int, str)):
        raise InvalidValue("Not a valid party id.")
    try:
        party_id = int(value)
    except ValueError:
        raise InvalidValue("Not a valid party id.") from None
    if party_id <= 0:
        raise InvalidValue("Not a valid party id.")
    return party_id


def parse_text(value: Any) -> str:
    if not isinstance(value, str):
        raise InvalidValue("Not a valid string.")
    return value


#: For filters: query-string text → the value compared with the typed SQL value.
FILTER_VALUE: dict[str, Callable[[str], Any]] = {
    TEXT: parse_text, CHOICE: parse_text, MULTI_CHOICE: parse_text,
    NUMBER: parse_number, DATE: parse_date, BOOLEAN: parse_boolean, PARTY_REF: parse_party_id,
}


def clean_value(field_type: str, value: Any, choices: list[str], rules: dict[str, Any]) -> Any:
    """The stored form of ``value`` for a field, or :class:`InvalidValue` saying what is wrong.

    Party references are only checked for their form here; whether the party is visible needs
    the session (:func:`xrm_core.customfields.service.clean_values`).
    """
    if field_type == TEXT:
        text = parse_text(value)
        if len(text) > MAX_TEXT_LENGTH:
            raise InvalidValue(f"Longer than {MAX_TEXT_LENGTH} characters.")
        if "max_length" in rules and len(text) > rules["max_length"]:
            raise InvalidValue(f"Longer than {rules['max_length']} characters.")
        if "regex" in rules and not re.fullmatch(rules["regex"], text):
            raise InvalidValue(f"Does not match the pattern {rules['regex']}.")
        return text
    if field_type == NUMBER:
        number = parse_number(value)
        if "min" in rules and number < Decimal(rules["min"]):
            raise InvalidValue(f"Must be at least {rules['min']}.")
        if "max" in rules and number > Decimal(rules["max"]):
            raise InvalidValue(f"Must be at most {rules['max']}.")
        return format_number(number)
    if field_type == DATE:
        day = parse_date(value)
        if "min" in rules and day < date.fromisoformat(rules["min"]):
            raise InvalidValue(f"Must be on or after {rules['min']}.")
        if "max" in rules and day > date.fromisoformat(rules["max"]):
            raise InvalidValue(f"Must be on or before {rules['max']}.")
        return day.isoformat()
    if field_type == BOOLEAN:
        if not isinstance(value, bool):
            raise InvalidValue("Not a valid boolean.")
        return value
    if field_type == CHOICE:
        if not isinstance(value, str) or value not in choices:
            raise InvalidValue(f"Must be one of: {', '.join(choices)}.")
        return value
    if field_type == MULTI_CHOICE:
        if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
            raise InvalidValue("Not a valid list of choices.")
        wrong = [v for v in value if v not in choices]
        if wrong:
            raise InvalidValue(f"Not allowed: {', '.join(wrong)}; choices: {', '.join(choices)}.")
        return list(dict.fromkeys(value))
    if field_type == PARTY_REF:
        if isinstance(value, str):
            raise InvalidValue("Not a valid party id.")
        return parse_party_id(value)
    raise InvalidValue(f"Unknown field type {field_type!r}.")
