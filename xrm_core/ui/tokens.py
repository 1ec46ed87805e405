"""The signed-in user's personal API tokens (``/account/tokens``): list, create, revoke.

The same rules as ``/api/v1/tokens`` (:mod:`xrm_core.api.tokens`), through the same service
(:mod:`xrm_core.identity.tokens`): a token carries only permissions its user holds, may expire,
and its text is shown once — in the answer to the form that created it — and never stored.
An expiry date means the token works until the end of that day in the user's time zone.
"""

from __future__ import annotations

from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from flask import Blueprint, abort, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import login_required
from sqlalchemy import select

from .. import clock, web
from ..audit import record
from ..identity import tokens
from ..identity.authentication import current_principal
from ..identity.catalogue import all_permissions
from ..identity.models import ApiToken
from ..identity.principal import load_principal
from ..models import User
from .i18n import select_time_zone

blueprint = Blueprint("account_tokens", __name__, url_prefix="/account/tokens")

#: The token's text must not stay in a browser's or proxy's cache.
NO_STORE = {"Cache-Control": "no-store"}
#: The longest name a token may have (the column's length).
NAME_MAX = 100


def token_state(row: ApiToken) -> str:
    """``revoked``, ``expired`` or ``active``: what a list shows beside a token."""
    if row.revoked_at is not None:
        return "revoked"
    if row.expires_at is not None and row.expires_at <= clock.now():
        return "expired"
    return "active"


def _own_tokens() -> list[ApiToken]:
    return web.db_session().scalars(select(ApiToken).where(ApiToken.user_id == current_principal().user_id)
                                    .order_by(ApiToken.revoked_at.is_not(None), ApiToken.created_at.desc(),
                                              ApiToken.id.desc())).all()


def _page(*, errors=None, form=None, created: str | None = None, status: int = 200):
    session = web.db_session()
    user = session.get(User, current_principal().user_id)
    declared = all_permissions(web.platform())
    grantable = sorted(tokens.grantable_permissions(session, current_principal(), user))
    return render_template(
        "account/tokens.html", tokens=_own_tokens(), grantable=[(name, declared.get(name)) for name in grantable],
        errors=errors or {}, form=form or {"name": "", "permissions": [], "expires_on": ""}, created=created,
        today=clock.now().astimezone(ZoneInfo(select_time_zone())).date(), state_of=token_state,
    ), status, NO_STORE


@blueprint.get("")
@login_required
def index():
    """The user's tokens, newest first (revoked ones last), and the form to create one."""
    return _page()


@blueprint.post("")
@login_required
def create():
    """Create a token; the page answering this form is the only one ever showing its text."""
    form = {"name": request.form.get("name", "").strip(), "permissions": request.form.getlist("permissions"),
            "expires_on": request.form.get("expires_on", "").strip()}
    session = web.db_session()
    principal = current_principal()
    user = session.get(User, principal.user_id)
    errors: dict[str, str] = {}
    if not form["name"]:
        errors["name"] = _("Give the token a name, such as the script or service that will use it.")
    elif len(form["name"]) > NAME_MAX:
        errors["name"] = _("Use at most %(max)s characters.", max=NAME_MAX)
    grantable = tokens.grantable_permissions(session, principal, user)
    beyond = sorted(set(form["permissions"]) - grantable)
    if beyond:
        errors["permissions"] = _("You do not hold: %(names)s.", names=", ".join(beyond))
    expires_at = None
    if form["expires_on"]:
        expires_at = _end_of_day(form["expires_on"])
        if expires_at is None:
            errors["expires_on"] = _("Enter a date such as 2026-12-31.")
        elif expires_at <= clock.now():
            errors["expires_on"] = _("Choose today or a later date.")
    if errors:
        return _page(errors=errors, form=form, status=400)
    permissions = form["permissions"]
    if not permissions and grantable != set(load_principal(session, user).grants):
        permissions = sorted(grantable)  # "all" asked with a limited token means all that token holds
    row, text = tokens.create_token(session, user, form["name"], permissions, expires_at)
    record(session, principal.name, "token.created", f"core.token#{row.id}", user=user.email, name=row.name,
           permissions=row.permissions, expires_at=expires_at.isoformat() if expires_at else None)
    session.commit()
    return _page(created=text, status=201)


def _end_of_day(value: str) -> datetime | None:
    """The first moment after the day ``value`` (``YYYY-MM-DD``) in the user's time zone; ``None`` if no date."""
    try:
        day = date.fromisoformat(value)
    except ValueError:
        return None
    return datetime.combine(day + timedelta(days=1), time(), ZoneInfo(select_time_zone()))


@blueprint.post("/<int:token_id>/revoke")
@login_required
def revoke(token_id: int):
    """Revoke one of the user's own tokens (someone else's is a 404: token ids reveal nothing)."""
    session = web.db_session()
    row = session.get(ApiToken, token_id)
    if row is None or row.user_id != current_principal().user_id:
        abort(404)
    tokens.revoke_token(row)
    record(session, current_principal().name, "token.revoked", f"core.token#{row.id}", user_id=row.user_id,
           name=row.name)
    session.commit()
    flash(_("The token “%(name)s” was revoked; it stops working from the next request.", name=row.name), "success")
    return redirect(url_for(".index"))
