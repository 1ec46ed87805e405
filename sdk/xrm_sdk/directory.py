"""The tenant's people and organisation as plugins use them: users, departments, teams.

The models are for reading (assignees, attendees, totals per department); users, departments and
teams are administered by the core (``xrm users|departments|teams``, ``/api/v1/users`` …).
:func:`act_as_user` makes a session obey one user's rights outside their own requests.
"""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from xrm_core.identity.models import Department, Team, TeamMember
from xrm_core.identity.principal import load_principal
from xrm_core.identity.scoping import act_as, principal_of
from xrm_core.models import Tenant, User
from xrm_core.ui.i18n import is_time_zone
from xrm_core.ui.models import UserPreference

__all__ = ["Department", "Team", "TeamMember", "User", "act_as_user", "tenant_time_zone", "user_time_zone"]


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


def user_time_zone(session: Session, user_id: int | None = None) -> str:
    """The IANA time zone a user lives in: their own choice (``/account/preferences``), else the tenant's.

    :param user_id: Whose; default: the user the session acts for (a request's signed-in user), and
        the tenant's zone when it acts for none.

    .. versionadded:: 1.2
    """
    if user_id is None:
        principal = principal_of(session)
        user_id = principal.user_id if principal is not None else None
    if user_id is not None:
        chosen = session.scalar(select(UserPreference.time_zone).where(UserPreference.user_id == user_id))
        if is_time_zone(chosen):
            return chosen
    return tenant_time_zone(session)
