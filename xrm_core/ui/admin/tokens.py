"""Console section: every user's API tokens, with revocation (as ``DELETE /api/v1/tokens/<id>``).

Listing needs ``core.user.read`` and revoking ``core.user.update``, both tenant-wide as in the
API; a token's text is never shown here (it is not stored).
"""

from __future__ import annotations

from flask import abort, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from sqlalchemy import select

from ... import web
from ...audit import record
from ...identity import tokens
from ...identity.authentication import current_principal
from ...identity.models import ApiToken, Scope
from ...models import User
from ..tokens import token_state
from . import blueprint, requires, section

#: Tokens per page.
PAGE_LENGTH = 100

section("admin.tokens_list", _l("API tokens"), _l("Every user's personal API tokens; revoke any of them."), "core.user.read")


def _tenant_wide(permission: str) -> bool:
    return current_principal().scope_for(permission) is Scope.TENANT


@blueprint.get("/tokens")
@requires("core.user.read")
def tokens_list():
    """All tokens of the tenant, newest first; ``user`` filters by e-mail, ``revoked=1`` shows revoked ones."""
    if not _tenant_wide("core.user.read"):
        abort(403, description=_l("Listing everyone's tokens needs the right to read users across the organisation."))
    user_filter = request.args.get("user", "").strip()
    show_revoked = request.args.get("revoked") == "1"
    statement = select(ApiToken, User.email).join(User, User.id == ApiToken.user_id).order_by(ApiToken.id.desc())
    if user_filter:
        statement = statement.where(User.email.icontains(user_filter, autoescape=True))
    if not show_revoked:
        statement = statement.where(ApiToken.revoked_at.is_(None))
    before = request.args.get("before", type=int)
    if before is not None:
        statement = statement.where(ApiToken.id < before)
    rows = web.db_session().execute(statement.limit(PAGE_LENGTH + 1)).all()
    older = rows[PAGE_LENGTH - 1][0].id if len(rows) > PAGE_LENGTH else None
    return render_template("admin/tokens.html", rows=rows[:PAGE_LENGTH], user_filter=user_filter,
                           show_revoked=show_revoked, older=older, state_of=token_state,
                           may_revoke=_tenant_wide("core.user.update"))


@blueprint.post("/tokens/<int:token_id>/revoke")
@requires("core.user.read")
def revoke_token(token_id: int):
    """Revoke any user's token (``core.user.update`` tenant-wide, else 403)."""
    if not _tenant_wide("core.user.update"):
        abort(403, description=_l("Revoking someone's token needs the right to update users across the organisation."))
    session = web.db_session()
    row = session.get(ApiToken, token_id)
    if row is None:
        abort(404)
    tokens.revoke_token(row)
    record(session, current_principal().name, "token.revoked", f"core.token#{row.id}", user_id=row.user_id,
           name=row.name)
    session.commit()
    flash(_("The token “%(name)s” was revoked; it stops working from the next request.", name=row.name), "success")
    return redirect(url_for(".tokens_list"))
