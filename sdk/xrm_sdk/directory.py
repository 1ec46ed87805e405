"""The tenant's people and organisation as plugins use them: users, departments, teams.

The models are for reading (assignees, attendees, totals per department); users, departments and
teams are administered by the core (``xrm users|departments|teams``, ``/api/v1/users`` …).
:func:`act_as_user` makes a session obey one user's rights outside their own requests.
"""

from __future__ import annotations

from sqlalchemy.orm import Session

from xrm_core.identity.models import Department, Team, TeamMember
from xrm_core.identity.principal import load_principal
from xrm_core.identity.scoping import act_as
from xrm_core.models import Tenant, User

__all__ = ["Department", "Team", "TeamMember", "User", "act_as_user", "tenant_time_zone"]


def act_as_user(session: Session, user_id: int) -> User | None:
    """Make ``session`` obey the rights of the active user ``user_id``; ``None`` (nothing changed) if none.

    For what a user reaches without signing in (a calendar feed URL opened through
    :func:`xrm_sdk.public_session`): every read is then limited to what that user may see and every
    write checked against their rights, exactly as in their own requests.
    """
    user = session.get(User, user_id)
    if user is None or not user.active:
        return None
    act_as(session, load_principal(session, user))
    return user


def tenant_time_zone(session: Session) -> str:
    """The IANA time zone of the session's tenant (``Europe/Paris``): its users' days and agendas."""
    tenant = session.get(Tenant, session.info["tenant_id"])
    return tenant.time_zone if tenant is not None and tenant.time_zone else "UTC"
