"""Which exceptions are the client's fault, and the RFC 9457 problem each becomes.

One mapping serves the request error handlers (:func:`xrm_core.app.create_app`) and the per-item
results of bulk endpoints, so an item fails in a bulk request exactly as it would alone.
Anything not listed here is a bug: it is logged and answered with a bare 500.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import marshmallow as ma
from flask import Response
from marshmallow import ValidationError
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm.exc import StaleDataError
from werkzeug.exceptions import HTTPException

from ..errors import Conflict, NotFound, TenantScopeError
from ..identity.passwords import WeakPassword
from ..identity.scoping import PermissionDenied
from ..identity.tokens import InvalidToken
from ..problems import problem

#: Where webargs found invalid input; its error messages are keyed by these first.
REQUEST_LOCATIONS = frozenset({"json", "query", "querystring", "headers", "form", "files", "cookies", "view_args"})

INVALID_FIELDS = "Some fields are invalid: see errors."


@dataclass(frozen=True)
class ApiProblem:
    """A problem document before it becomes a response (or one item of a bulk result)."""

    status: int
    title: str
    detail: str = ""
    #: Field path (``parts.1.quantity``) → messages.
    errors: Mapping[str, list[str]] | None = None
    headers: tuple[tuple[str, str], ...] = ()

    def body(self) -> dict[str, Any]:
        body: dict[str, Any] = {"type": "about:blank", "title": self.title, "status": self.status}
        if self.detail:
            body["detail"] = self.detail
        if self.errors:
            body["errors"] = dict(self.errors)
        return body

    def response(self) -> Response:
        extra = {"errors": dict(self.errors)} if self.errors else {}
        return problem(self.status, self.title, self.detail, headers=self.headers, **extra)


#: The exceptions that are the client's fault (everything else is a bug, answered 500).
CLIENT_ERRORS = (HTTPException, ValidationError, NotFound, Conflict, TenantScopeError, IntegrityError, StaleDataError,
                 PermissionDenied, InvalidToken, WeakPassword)


def problem_for(exc: BaseException) -> ApiProblem | None:
    """The problem ``exc`` stands for, or ``None`` when it is a bug rather than bad input."""
    if isinstance(exc, HTTPException):
        return _from_http_exception(exc)
    if isinstance(exc, ValidationError):
        return ApiProblem(422, "Unprocessable Entity", INVALID_FIELDS, flatten_errors(exc.messages))
    if isinstance(exc, NotFound):
        return ApiProblem(404, "Not Found", str(exc))
    if isinstance(exc, PermissionDenied):
        return ApiProblem(403, "Forbidden", str(exc))
    if isinstance(exc, InvalidToken):
        return ApiProblem(401, "Unauthorized", str(exc))
    if isinstance(exc, WeakPassword):
        return ApiProblem(422, "Unprocessable Entity", INVALID_FIELDS, {"password": [str(exc)]})
    if isinstance(exc, Conflict):
        return ApiProblem(409, "Conflict", str(exc))
    if isinstance(exc, TenantScopeError):
        return ApiProblem(403, "No tenant", str(exc))
    if isinstance(exc, IntegrityError):
        # The database's own message names tables and constraints: never shown to clients.
        return ApiProblem(409, "Conflict", "The change conflicts with existing data (a duplicate, or a reference "
                                           "to a record that does not exist).")
    if isinstance(exc, StaleDataError):
        # Two writers passed the If-Match check at once; the version column let only one through.
        return ApiProblem(412, "Precondition Failed", "The record was changed meanwhile: fetch it again.")
    return None


def flatten_errors(messages: Any, path: str = "") -> dict[str, list[str]]:
    """marshmallow's nested error dicts as ``{"parts.1.quantity": [...]}``, one level for clients."""
    if isinstance(messages, Mapping):
        flat: dict[str, list[str]] = {}
        for key, value in messages.items():
            flat.update(flatten_errors(value, f"{path}.{key}" if path else str(key)))
        return flat
    if isinstance(messages, str):
        messages = [messages]
    flat = {}
    for message in messages:
        if isinstance(message, Mapping):
            flat.update(flatten_errors(message, path))
        else:
            flat.setdefault(path or ma.exceptions.SCHEMA, []).append(str(message))
    return flat


def _from_http_exception(exc: HTTPException) -> ApiProblem:
    """Werkzeug's exceptions, and webargs/flask-smorest ``abort`` with its ``data``."""
    data = getattr(exc, "data", None) or {}
    detail = data.get("message") or exc.description or ""
    errors: dict[str, list[str]] = {}
    if "errors" in data:
        errors = flatten_errors(data["errors"])
    elif "messages" in data:
        whole_request: list[str] = []
        for location, messages in data["messages"].items():
            if location in REQUEST_LOCATIONS and not isinstance(messages, Mapping):
                whole_request.extend(messages)  # e.g. {"json": ["Invalid JSON body."]}
            else:
                errors.update(flatten_errors(messages if location in REQUEST_LOCATIONS else {location: messages}))
        detail = " ".join(whole_request) or detail
    if errors and exc.code == 422:
        detail = INVALID_FIELDS
    headers = [(k, v) for k, v in exc.get_headers() if k.lower() != "content-type"]
    headers.extend((data.get("headers") or {}).items())
    return ApiProblem(exc.code or 500, exc.name, detail, errors or None, tuple(headers))
