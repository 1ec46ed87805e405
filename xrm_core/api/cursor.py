"""Opaque pagination cursors: where the previous page ended, signed so it cannot be forged.

A cursor is URL-safe base64 of JSON (the sort it was made for and the sort-key values of the last
row, id last), signed by itsdangerous with the application's secret key and a salt naming the
listing. A client can keep and replay it but not edit it, so a cursor never becomes a way to run
the keyset query with values of the client's choosing; one issued for another listing or another
sort is refused, with a 400 that names the ``cursor`` parameter.
"""

from __future__ import annotations

import datetime as dt
import decimal
import uuid
from collections.abc import Callable, Sequence
from typing import Any

from flask import current_app
from flask_smorest import abort
from itsdangerous import BadData, URLSafeSerializer

#: Values JSON cannot carry, tagged with how to rebuild them.
_ENCODERS: dict[type, tuple[str, Callable[[Any], str]]] = {
    dt.datetime: ("datetime", dt.datetime.isoformat),
    dt.date: ("date", dt.date.isoformat),
    dt.time: ("time", dt.time.isoformat),
    decimal.Decimal: ("decimal", str),
    uuid.UUID: ("uuid", str),
}
_DECODERS: dict[str, Callable[[str], Any]] = {
    "datetime": dt.datetime.fromisoformat,
    "date": dt.date.fromisoformat,
    "time": dt.time.fromisoformat,
    "decimal": decimal.Decimal,
    "uuid": uuid.UUID,
}

INVALID_CURSOR = "Invalid cursor: use the next link of the previous page unchanged."


def _serializer(listing_name: str) -> URLSafeSerializer:
    return URLSafeSerializer(current_app.config["SECRET_KEY"], salt=f"xrm.api.cursor:{listing_name}")


def _encode(value: Any) -> Any:
    for kind, (tag, encode) in _ENCODERS.items():
        if type(value) is kind:
            return {tag: encode(value)}
    return value


def _decode(value: Any) -> Any:
    if isinstance(value, dict):
        [(tag, text)] = value.items()
        return _DECODERS[tag](text)
    return value


def encode_cursor(listing_name: str, sort: str, keys: Sequence[Any]) -> str:
    """The cursor that resumes a ``sort``-ordered listing after the row whose sort keys are ``keys``."""
    return _serializer(listing_name).dumps({"sort": sort, "keys": [_encode(k) for k in keys]})


def decode_cursor(listing_name: str, sort: str, cursor: str) -> list[Any]:
    """The sort keys ``cursor`` resumes after; a 400 problem naming ``cursor`` if it is not ours."""
    try:
        payload = _serializer(listing_name).loads(cursor)
    except BadData:
        abort(400, message=INVALID_CURSOR, errors={"cursor": [INVALID_CURSOR]})
    if payload["sort"] != sort:
        message = f"This cursor was issued for sort={payload['sort']!r}, not sort={sort!r}."
        abort(400, message=message, errors={"cursor": [message]})
    return [_decode(k) for k in payload["keys"]]
