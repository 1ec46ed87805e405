"""What a request may carry: values both databases can store, refused where they enter otherwise.

Record ids and integer fields are ``INTEGER`` columns (32-bit on PostgreSQL, 64-bit on SQLite), and
PostgreSQL's text and JSON columns cannot hold the NUL character (U+0000). Such a value sent by a
client would reach the database and fail there (``integer out of range``, the driver's
``OverflowError``, ``cannot contain NUL``) as a server error, on one of the two databases only. So
they are refused at the edge: an id or a name in a URL that no record can have matches no route
(404, like any other that names no record); an invalid field is invalid input (422 naming it).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from marshmallow import ValidationError, fields, validate
from werkzeug.routing import IntegerConverter, UnicodeConverter
from werkzeug.routing import ValidationError as NoMatch

#: The range of a PostgreSQL ``INTEGER`` column, the narrowest integer column the schema uses.
MIN_INTEGER = -(2**31)
MAX_INTEGER = 2**31 - 1
NUL = "\x00"
NUL_MESSAGE = "Text cannot contain the NUL character (U+0000)."


class IdConverter(IntegerConverter):
    """Werkzeug's ``int`` converter, bounded to :data:`MAX_INTEGER` (documented as the maximum).

    A route may narrow the range (``<int(max=9):n>``), never widen it.
    """

    def __init__(self, map, *args, **kwargs) -> None:
        super().__init__(map, *args, **kwargs)
        self.max = MAX_INTEGER if self.max is None else min(self.max, MAX_INTEGER)


class TextConverter(UnicodeConverter):
    """Werkzeug's default (``string``) converter, matching no segment with a NUL character (``%00``)."""

    def to_python(self, value: str) -> str:
        if NUL in value:
            raise NoMatch()
        return value


def refuse_nul(value: Any) -> None:
    """marshmallow validator: no NUL character in the text, or anywhere in the JSON (keys included)."""
    if _has_nul(value):
        raise ValidationError(NUL_MESSAGE)


def _has_nul(value: Any) -> bool:
    if isinstance(value, str):
        return NUL in value
    if isinstance(value, Mapping):
        return any(_has_nul(key) or _has_nul(item) for key, item in value.items())
    if isinstance(value, (list, tuple)):
        return any(_has_nul(item) for item in value)
    return False


def make_storable(field: fields.Field) -> None:
    """Give a request field the limits of the database: integers in range (unless the field declares
    its own range), no NUL character in text or free-form JSON. Lists get it for their items."""
    if isinstance(field, fields.List):
        make_storable(field.inner)
    elif isinstance(field, fields.Integer):
        if not any(isinstance(v, validate.Range) for v in field.validators):
            field.validators.append(validate.Range(min=MIN_INTEGER, max=MAX_INTEGER))
    elif isinstance(field, (fields.String, fields.Raw, fields.Mapping)) and refuse_nul not in field.validators:
        field.validators.append(refuse_nul)
