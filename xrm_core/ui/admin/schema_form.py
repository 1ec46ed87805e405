"""A form generated from a marshmallow schema: one input per field, of the field's kind.

Used for plugins' settings (``xrm_settings_schema``): the page renders :func:`inputs_of` and reads
the submitted form back with :func:`submitted`; the schema itself then validates, so a page never
accepts what the schema would refuse.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from flask_babel import gettext as _
from marshmallow import Schema, fields, validate

#: Prefix of the inputs' names, so a setting never collides with the form's own fields (csrf_token).
PREFIX = "setting."


@dataclass(frozen=True)
class Input:
    """How one schema field is edited: ``kind`` is text, number, checkbox, select, date, datetime or json."""

    key: str
    label: str
    kind: str
    required: bool
    hint: str
    #: (value, label) pairs of a select.
    choices: tuple[tuple[str, str], ...] = ()
    #: ``step`` of a number input: 1 for integers, ``any`` for decimals.
    step: str = "1"

    @property
    def name(self) -> str:
        return PREFIX + self.key

    @property
    def dom_id(self) -> str:
        return "setting-" + self.key.replace(".", "-")


def as_schema(declared: Any) -> Schema:
    """The schema instance a plugin declared (``xrm_settings_schema`` may return a class or an instance)."""
    return declared() if isinstance(declared, type) and issubclass(declared, Schema) else declared


def inputs_of(schema: Schema) -> list[Input]:
    """The inputs of the schema's loadable fields, in declaration order."""
    return [_input(field.data_key or name, field) for name, field in schema.fields.items() if not field.dump_only]


def _input(key: str, field: fields.Field) -> Input:
    label = field.metadata.get("label") or key.replace("_", " ").capitalize()
    hint = field.metadata.get("description", "")
    required = bool(field.required)
    one_of = next((v for v in field.validators if isinstance(v, validate.OneOf)), None)
    if isinstance(field, fields.Boolean):
        return Input(key, label, "checkbox", False, hint)
    if one_of is not None:
        labels = list(one_of.labels) if one_of.labels else []
        choices = tuple((str(choice), str(labels[i]) if i < len(labels) else str(choice))
                        for i, choice in enumerate(one_of.choices))
        return Input(key, label, "select", required, hint, choices)
    if isinstance(field, fields.Integer):
        return Input(key, label, "number", required, hint)
    if isinstance(field, fields.Number):
        return Input(key, label, "number", required, hint, step="any")
    if isinstance(field, fields.DateTime):
        return Input(key, label, "datetime", required, hint)
    if isinstance(field, fields.Date):
        return Input(key, label, "date", required, hint)
    if isinstance(field, (fields.List, fields.Dict, fields.Nested, fields.Tuple)):
        return Input(key, label, "json", required, hint or _("Written as JSON."))
    return Input(key, label, "text", required, hint)


def shown(inputs: list[Input], values: Mapping[str, Any]) -> dict[str, Any]:
    """Stored settings as the inputs show them (JSON written out, missing ones empty)."""
    out: dict[str, Any] = {}
    for item in inputs:
        value = values.get(item.key)
        if item.kind == "json":
            out[item.key] = "" if value is None else json.dumps(value)
        elif item.kind == "checkbox":
            out[item.key] = bool(value)
        else:
            out[item.key] = "" if value is None else str(value)
    return out


def submitted(inputs: list[Input], form: Mapping[str, str]) -> tuple[dict[str, Any], dict[str, Any], dict[str, list[str]]]:
    """The posted form as ``(raw settings for the schema, values to show again, errors)``.

    An empty input is left out, so the schema's default applies (or it reports a required field);
    an unticked checkbox is false; JSON that does not parse is an error on its field.
    """
    raw: dict[str, Any] = {}
    again: dict[str, Any] = {}
    errors: dict[str, list[str]] = {}
    for item in inputs:
        if item.kind == "checkbox":
            raw[item.key] = again[item.key] = item.name in form
            continue
        text = form.get(item.name, "").strip()
        again[item.key] = text
        if not text:
            continue
        if item.kind == "json":
            try:
                raw[item.key] = json.loads(text)
            except ValueError:
                errors[item.key] = [_("Enter a valid JSON value.")]
        else:
            raw[item.key] = text
    return raw, again, errors


def field_errors(messages: Any) -> dict[str, list[str]]:
    """A marshmallow error's messages as key -> list of texts (nested messages flattened)."""
    if not isinstance(messages, Mapping):
        return {"_schema": [str(messages)]}
    flat: dict[str, list[str]] = {}
    for key, value in messages.items():
        if isinstance(value, list) and all(isinstance(v, str) for v in value):
            flat[str(key)] = value
        else:
            flat[str(key)] = [json.dumps(value) if not isinstance(value, str) else value]
    return flat
