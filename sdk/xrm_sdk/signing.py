"""Signed, expiring tokens for links handed to people outside the platform (a quote to accept).

The token carries JSON data signed with the platform's secret key and a ``purpose`` (so a token
made for one use is refused for another) and a timestamp checked against ``max_age`` when read.
Tokens are signed, not encrypted: put ids in them, never secrets.
"""

from __future__ import annotations

from typing import Any

from itsdangerous import BadSignature, SignatureExpired, URLSafeTimedSerializer
from sqlalchemy.orm import Session

from xrm_core.errors import XrmError

__all__ = ["InvalidSignedToken", "read_signed_token", "sign_token"]


class InvalidSignedToken(XrmError):
    """A token that was tampered with, made for another purpose, or has expired (``expired``)."""

    def __init__(self, message: str, *, expired: bool = False):
        super().__init__(message)
        self.expired = expired


def _serializer(session: Session, purpose: str) -> URLSafeTimedSerializer:
    platform = session.info.get("platform")
    if platform is None:
        raise RuntimeError("this session was not opened by a platform's database")
    return URLSafeTimedSerializer(platform.settings.secret_key, salt=f"xrm.signed:{purpose}")


def sign_token(session: Session, purpose: str, data: Any) -> str:
    """A URL-safe token carrying ``data`` (JSON-able) for ``purpose`` (``"sales.quote"``).

    :param session: A session opened by the platform (its secret key signs the token).
    """
    return _serializer(session, purpose).dumps(data)


def read_signed_token(session: Session, purpose: str, token: str, max_age_seconds: int) -> Any:
    """The data of a token made by :func:`sign_token` for ``purpose`` at most ``max_age_seconds`` ago.

    :raises InvalidSignedToken: tampered, made for another purpose, or expired (then ``expired`` is true).
    """
    serializer = _serializer(session, purpose)
    try:
        return serializer.loads(token, max_age=max_age_seconds)
    except SignatureExpired as exc:
        raise InvalidSignedToken("This link has expired.", expired=True) from exc
    except BadSignature as exc:
        raise InvalidSignedToken("This link is not valid.") from exc
