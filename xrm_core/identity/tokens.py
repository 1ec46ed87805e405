"""Personal API tokens: created and revoked by their user or an admin, shown once, stored hashed."""

from __future__ import annotations

import hashlib
import secrets
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from .. import clock
from ..errors import XrmError
from ..models import Tenant, TenantStatus, User
from .models import ApiToken
from .principal import Principal, load_principal

PREFIX = "xrm_"


class InvalidToken(XrmError):
    """Unknown, revoked or expired token (HTTP 401)."""


def _digest(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def create_token(
    session: Session, user: User, name: str, permissions: list[str] | None = None, expires_at: datetime | None = None
) -> tuple[ApiToken, str]:
    """Create a token for ``user``; returns the row and the token text, which is never stored."""
    token = PREFIX + secrets.token_urlsafe(32)
    row = ApiToken(
        tenant_id=user.tenant_id, user_id=user.id, name=name.strip() or "token",
        token_hash=_digest(token), permissions=sorted(set(permissions or ())), expires_at=expires_at,
    )
    session.add(row)
    session.flush()
    return row, token


def grantable_permissions(session: Session, principal: Principal, user: User) -> set[str]:
    """What a new token of ``user`` may carry, created by ``principal``: the user's permissions, and
    no more than the caller's own when the caller is that user (a limited token cannot mint a wider one)."""
    held = set(load_principal(session, user).grants)
    return held & set(principal.grants) if user.id == principal.user_id else held


def revoke_token(token: ApiToken) -> None:
    """Stop ``token`` from working from the next request on (revoking twice keeps the first moment)."""
    if token.revoked_at is None:
        token.revoked_at = clock.now()


def authenticate_token(session: Session, token: str) -> tuple[User, Principal]:
    """The user and principal a bearer token stands for, its rights cut down to the token's scope.

    ``session`` must be a platform session (the tenant is not known before the token is read).
    """
    row = session.scalar(select(ApiToken).where(ApiToken.token_hash == _digest(token))) if token.startswith(PREFIX) else None
    now = clock.now()
    if row is None or row.revoked_at is not None or (row.expires_at is not None and row.expires_at <= now):
        raise InvalidToken("the API token is unknown, revoked or expired")
    user = session.get(User, row.user_id)
    tenant = session.get(Tenant, row.tenant_id)
    if user is None or not user.active or tenant.status is not TenantStatus.ACTIVE:
        raise InvalidToken("the API token's user or tenant is not active")
    row.last_used_at = now
    principal = load_principal(session, user)
    if row.permissions:
        principal = principal.restricted_to(set(row.permissions))
    return user, principal
