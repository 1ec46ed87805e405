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

from flask import render_template, request
from flask_babel import gettext
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
    if has_nul(value):
        raise ValidationError(NUL_MESSAGE)


def has_nul(value: Any) -> bool:
    """Whether the text, or any text in the JSON-like ``value`` (keys included), holds a NUL character."""
    if isinstance(value, str):
        return NUL in value
    if isinstance(value, Mapping):
        return any(has_nul(key) or has_nul(item) for key, item in value.items())
    if isinstance(value, (list, tuple)):
        return any(has_nul(item) for item in value)
    return False


#: Bodies whose fields Flask parses into ``request.form`` and ``request.files``.
FORM_MIMETYPES = frozenset({"application/x-www-form-urlencoded", "multipart/form-data"})


def refuse_nul_in_forms():
    """``before_request``: a form (or a page's query) holding a NUL character is invalid input.

    Form fields reach services and the database without a schema (the API's schemas refuse NUL
    themselves), so they are checked here, once for every page and plugin: an API request gets a 422
    problem naming the field, a page the error page naming it; nothing is changed. The page's query
    string too (search boxes, list filters); the API's is checked by its schemas.
    """
    entered: list[tuple[str, str]] = []
    if request.mimetype in FORM_MIMETYPES:
        entered.extend(request.form.items(multi=True))
        entered.extend((name, upload.filename or "") for name, upload in request.files.items(multi=True))
    api = request.path.startswith("/api/")
    if not api:
        entered.extend(request.args.items(multi=True))
    field = next((name for name, value in entered if NUL in name or NUL in value), None)
    if field is None:
        return None
    shown = field.replace(NUL, "\\0")
    if api:
        raise ValidationError({shown: [NUL_MESSAGE]})
    detail = gettext("The field %(field)s contains a NUL character (U+0000), which cannot be stored: "
                     "remove it and send the form again.", field=shown)
    # The title untranslated, as on the error pages of the app's error handlers.
    return render_template("error.html", status=422, title="Unprocessable Entity", detail=detail), 422


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
