"""A fast path for loading event payloads that are already in their loaded form.

Publishing sits on every write path, and ``Schema.load`` costs more than the rest of the Python
work of ``publish`` together. Most payloads are built by code from plain values (``{"changed":
["tags"]}``, ids, names) that marshmallow would hand back unchanged. For a schema made only of
plain fields (strings, integers, finite floats, booleans, raw values, lists of those; no
validators, hooks, renamed or one-way fields), :func:`fast_loader` builds a check that recognises
such a payload and returns exactly what ``schema.load`` would. Anything else — a value marshmallow
would convert (``"5"`` for an integer) or refuse, a missing required field, an unknown key the
schema raises on — is left to marshmallow, so errors and conversions stay marshmallow's own.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping
from typing import Any

from marshmallow import EXCLUDE, INCLUDE, Schema, fields
from marshmallow.utils import missing

#: What a loader returns for a payload it does not vouch for: run ``schema.load`` instead.
NOT_CANONICAL = None

_Check = Callable[[Any], bool]


def _is_str(value: Any) -> bool:
    return type(value) is str


def _is_int(value: Any) -> bool:
    return type(value) is int


def _is_float(value: Any) -> bool:
    return type(value) is float and math.isfinite(value)


def _is_bool(value: Any) -> bool:
    return type(value) is bool


def _anything(value: Any) -> bool:
    return value is not None  # None passes only where the field allows it (_allowing_none)


#: Exact field classes whose ``load`` returns a value of these types unchanged.
_SCALARS: dict[type, _Check] = {
    fields.String: _is_str,
    fields.Integer: _is_int,
    fields.Float: _is_float,
    fields.Boolean: _is_bool,
    fields.Raw: _anything,
}


def _plain(field: fields.Field) -> bool:
    """No processing of its own: what ``deserialize`` returns depends on the value and type only."""
    return (not field.validators and not field.pre_load and not field.post_load and field.data_key is None
            and field.attribute is None and not field.load_only and not field.dump_only
            and not getattr(field, "as_string", False))


def _value_check(field: fields.Field) -> _Check | None:
    """A check that ``field`` loads a value to itself (``None`` only where allowed), or ``None``."""
    if not _plain(field):
        return None
    if type(field) is fields.List:
        inner = _value_check(field.inner)
        if inner is None:
            return None

        def check_list(value: Any) -> bool:
            return type(value) is list and all(map(inner, value))

        return _allowing_none(field, check_list)
    scalar = _SCALARS.get(type(field))
    return None if scalar is None else _allowing_none(field, scalar)


def _allowing_none(field: fields.Field, check: _Check) -> _Check:
    if not field.allow_none:
        return check
    return lambda value: value is None or check(value)


def fast_loader(schema: Schema) -> Callable[[Mapping[str, Any]], dict[str, Any] | None] | None:
    """``load(payload)``: what ``schema.load(payload)`` gives, or :data:`NOT_CANONICAL`.

    ``None`` when ``schema`` has anything but plain fields (see the module), or hooks of its own
    (``pre_load``, ``validates``, ``validates_schema``…): every payload then goes to marshmallow.
    """
    if any(getattr(schema, "_hooks", {}).values()) or schema.many or schema.partial:
        return None
    declared: list[tuple[str, _Check, bool, Any]] = []
    for name, field in schema.load_fields.items():
        check = _value_check(field)
        if check is None:
            return None
        declared.append((name, check, field.required, field.load_default))
    names = frozenset(name for name, *_ in declared)
    unknown = schema.unknown

    def load(payload: Mapping[str, Any]) -> dict[str, Any] | None:
        loaded: dict[str, Any] = {}
        for name, check, required, default in declared:
            if name in payload:
                value = payload[name]
                if not check(value):
                    return NOT_CANONICAL
                loaded[name] = list(value) if type(value) is list else value  # load gives a new list
            elif required:
                return NOT_CANONICAL
            elif default is not missing:
                loaded[name] = default() if callable(default) else default
        if not names.issuperset(payload):
            if unknown == INCLUDE:
                loaded.update((key, value) for key, value in payload.items() if key not in names)
            elif unknown != EXCLUDE:
                return NOT_CANONICAL  # RAISE: marshmallow names the unknown fields
        return loaded

    return load
