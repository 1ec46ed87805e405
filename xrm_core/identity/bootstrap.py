"""The first administrator of a tenant: a user holding every permission at tenant scope."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from ..models import User
from . import admin
from .catalogue import all_permissions
from .models import Scope
from .passwords import hash_password

ADMINISTRATOR = "Administrator"


def ensure_administrator(
    session: Session, platform, email: str, password: str | None, display_name: str = ""
) -> User:
    """Create (or refresh the role of) the tenant administrator ``email``; idempotent.

    The ``Administrator`` role is redefined with every permission known now, so plugins enabled
    since the last run are covered too. Without a password the account can only use API tokens.
    """
    grants = {name: Scope.TENANT for name in all_permissions(platform)}
    role = admin.define_role(session, ADMINISTRATOR, grants, set(grants))
    user = session.scalar(select(User).where(User.email == email))
    if user is None:
        user = User(email=email, display_name=display_name or email, is_admin=True,
                    password_hash=hash_password(password, email=email) if password else "")
        session.add(user)
        session.flush()
    admin.assign_role(session, user, role)
    return user
