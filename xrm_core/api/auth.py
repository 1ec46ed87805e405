"""Who an API request acts for: resolved in one place, before any API view runs.

Every tenant-bound API blueprint calls :func:`require_principal` before its views. The principal
comes from :mod:`xrm_core.identity.authentication`: the browser's session cookie or a personal
token sent as ``Authorization: Bearer xrm_…``.
"""

from __future__ import annotations

from flask import g
from werkzeug.datastructures import WWWAuthenticate
from werkzeug.exceptions import Unauthorized

from ..identity.authentication import current_principal

#: The challenge sent with a 401 (RFC 9110 requires one).
CHALLENGE = WWWAuthenticate("Bearer", {"realm": "xrm"})


def require_principal() -> None:
    """Answer 401 before the view runs when the request does not say who it acts for.

    Used as a ``before_request`` function, so it returns nothing (a value would replace the view).
    """
    if current_principal() is None:
        reason = ("The API token is unknown, revoked or expired." if g.get("xrm_bad_token")
                  else "Sign in, or send a personal API token as 'Authorization: Bearer xrm_…'.")
        raise Unauthorized(reason, www_authenticate=CHALLENGE)


__all__ = ["CHALLENGE", "current_principal", "require_principal"]
