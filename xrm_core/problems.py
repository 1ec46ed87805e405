"""RFC 9457 problem details for every API error."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from flask import Response, json

PROBLEM_JSON = "application/problem+json"


def problem(
    status: int,
    title: str,
    detail: str = "",
    *,
    type_: str = "about:blank",
    headers: Iterable[tuple[str, str]] = (),
    **extra: Any,
) -> Response:
    """A ``application/problem+json`` response; ``extra`` members (``errors``, ``field``) are added as-is.

    ``headers`` carry what the status needs besides the body (``Allow`` on a 405,
    ``WWW-Authenticate`` on a 401).
    """
    body = {"type": type_, "title": title, "status": status}
    if detail:
        body["detail"] = detail
    body.update(extra)
    return Response(json.dumps(body), status=status, mimetype=PROBLEM_JSON, headers=list(headers))
