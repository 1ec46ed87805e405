"""Personal API tokens over REST: each user manages their own; administrators, any user's of the tenant.

The token text is returned once, in the answer to its creation; only its SHA-256 is stored. A
token may be limited to some of its user's permissions (never more: asking for one the user does
not hold is a 422) and may expire. Someone else's token is a 404 to a user who may not manage it,
so token ids reveal nothing.
"""

from __future__ import annotations

from datetime import UTC

from flask import url_for
from flask.views import MethodView
from marshmallow import fields, validate
from sqlalchemy import select

from .. import clock, web
from ..audit import record
from ..errors import NotFound
from ..identity import tokens
from ..identity.models import ApiToken, Scope
from ..identity.principal import Principal, load_principal
from ..models import User
from .admin import invalid, require
from .auth import current_principal
from .blueprint import ApiBlueprint
from .listing import Listing
from .pagination import cursor_paginate
from .schemas import Schema

blueprint = ApiBlueprint("core_tokens", __name__, description="Personal API tokens: list, create, revoke.")


class TokenSchema(Schema):
    id = fields.Integer(dump_only=True)
    user_id = fields.Integer(metadata={"description": "Whose token; default: the caller (others: administrators)."})
    name = fields.String(required=True, validate=validate.Length(min=1, max=100))
    permissions = fields.List(fields.String(), load_default=list, metadata={
        "description": "Permissions the token may use, all held by its user; empty: all of the user's."})
    expires_at = fields.AwareDateTime(allow_none=True, default_timezone=UTC, metadata={
        "description": "When it stops working (UTC unless an offset is given); null: never."})
    revoked_at = fields.DateTime(dump_only=True, allow_none=True)
    last_used_at = fields.DateTime(dump_only=True, allow_none=True)
    created_at = fields.DateTime(dump_only=True)


class NewTokenSchema(TokenSchema):
    token = fields.String(dump_only=True, metadata={"description": "The token itself: shown this once, never again."})


TOKENS = Listing(ApiToken, TokenSchema, sortable=("name", "created_at"), filterable={"user_id": ("eq",)},
                 default_sort="-created_at")


def _may_manage(principal: Principal, user_id: int, action: str) -> bool:
    return user_id == principal.user_id or principal.scope_for(f"core.user.{action}") is Scope.TENANT


def _token_or_404(token_id: int, action: str) -> ApiToken:
    """The token, if the caller may manage it; a 404 otherwise (another's token is none of their business)."""
    row = web.db_session().get(ApiToken, token_id)
    if row is None or not _may_manage(current_principal(), row.user_id, action):
        raise NotFound(f"There is no API token {token_id} here.")
    return row


@blueprint.route("/tokens")
class Tokens(MethodView):
    @blueprint.list_response(TOKENS)
    def get(self, query):
        """The caller's tokens; ``user_id=`` lists another user's (``core.user.read``)."""
        principal = current_principal()
        wanted = [f.value for f in query.filters if f.field == "user_id"]
        if any(user_id != principal.user_id for user_id in wanted):
            require("core.user.read")
        statement = select(ApiToken)
        if not wanted:
            statement = statement.where(ApiToken.user_id == principal.user_id)
        return cursor_paginate(statement, query)

    @blueprint.arguments(TokenSchema)
    @blueprint.response(201, NewTokenSchema)
    def post(self, data):
        """Create a token; the answer is the only time its text is shown (another user's: ``core.user.update``)."""
        principal = current_principal()
        session = web.db_session()
        user_id = data.get("user_id", principal.user_id)
        if user_id != principal.user_id:
            require("core.user.update")
        user = session.get(User, user_id) if user_id is not None else None
        if user is None:
            raise invalid("user_id", f"There is no user {user_id} here.")
        if not user.active:
            raise invalid("user_id", f"{user.email} is deactivated.")
        allowed = tokens.grantable_permissions(session, principal, user)
        beyond = sorted(set(data["permissions"]) - allowed)
        if beyond:
            raise invalid("permissions", f"Not held by {user.email}: {', '.join(beyond)}.")
        permissions = data["permissions"]
        if not permissions and allowed != set(load_principal(session, user).grants):
            permissions = sorted(allowed)  # "all" from a limited token means all the caller holds
        expires_at = data.get("expires_at")
        if expires_at is not None and expires_at <= clock.now():
            raise invalid("expires_at", "Must be in the future.")
        row, text = tokens.create_token(session, user, data["name"], permissions, expires_at)
        record(session, principal.name, "token.created", f"core.token#{row.id}", user=user.email, name=row.name,
               permissions=row.permissions, expires_at=expires_at.isoformat() if expires_at else None)
        session.commit()
        created = {name: getattr(row, name) for name in TokenSchema().fields} | {"token": text}
        return created, 201, {"Location": url_for(".TokenItem", token_id=row.id)}


@blueprint.route("/tokens/<int:token_id>")
class TokenItem(MethodView):
    @blueprint.response(200, TokenSchema)
    def get(self, token_id):
        """One token (never its text)."""
        return _token_or_404(token_id, "read")

    @blueprint.response(204)
    def delete(self, token_id):
        """Revoke a token: it is refused (401) from the next request on."""
        row = _token_or_404(token_id, "update")
        tokens.revoke_token(row)
        record(web.db_session(), current_principal().name, "token.revoked", f"core.token#{row.id}",
               user_id=row.user_id, name=row.name)
        web.db_session().commit()
