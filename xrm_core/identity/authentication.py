"""Signing in and staying signed in: browser sessions, bearer tokens, CSRF and login throttling.

* Browser: flask-login session cookie whose id embeds the user's credential version, so a password
  change, a deactivation or "sign out everywhere" ends every older session (the cookie itself is
  client-side and cannot be revoked otherwise). A new session starts at each sign-in.
* API clients: ``Authorization: Bearer xrm_…`` personal tokens (see :mod:`.tokens`).
* Platform operators inside a tenant that granted them support access: ``Bearer xrm_op_…`` with
  ``X-XRM-Tenant: <slug>``, read-only and audited (see :mod:`.operators`).
* CSRF: every state-changing browser request carries a token (Flask-WTF); requests authenticated
  by a bearer token, and API requests without a session cookie, are exempt: a forged browser
  request cannot add that header, and without the cookie there is no session to abuse.
* Brute force: sign-in attempts are limited per address and account (Flask-Limiter), answered
  with 429 and ``Retry-After``.
"""

from __future__ import annotations

from flask import Flask, current_app, g, request
from flask import session as cookie_session
from flask_limiter import Limiter
from flask_limiter.util import get_remote_address
from flask_login import LoginManager, UserMixin, current_user, login_user
from flask_wtf.csrf import CSRFProtect
from sqlalchemy import select

from ..audit import record
from ..models import Tenant, TenantStatus, User
from ..public import is_public_request
from . import operators
from .catalogue import all_permissions
from .principal import Principal, load_principal
from .scoping import PermissionDenied
from .tokens import InvalidToken, authenticate_token

BEARER = "Bearer "
#: Sign-in attempts allowed per address and account; beyond, 429 until the window passes.
LOGIN_LIMIT = "5 per minute"

login_manager = LoginManager()
csrf = CSRFProtect()
limiter = Limiter(key_func=get_remote_address, headers_enabled=True)


class SignedInUser(UserMixin):
    """What a request knows about its user; never an ORM object, so it outlives any session."""

    def __init__(self, user: User, tenant: Tenant):
        self.id = user.id
        self.tenant_id = user.tenant_id
        self.tenant_slug = tenant.slug
        self.tenant_name = tenant.name
        self.email = user.email
        self.display_name = user.display_name
        self.is_admin = user.is_admin
        self.credential_version = user.credential_version

    def get_id(self) -> str:
        return f"{self.id}:{self.credential_version}"


def init_authentication(app: Flask) -> None:
    platform = app.extensions["xrm"]
    app.config.setdefault("WTF_CSRF_CHECK_DEFAULT", False)  # checked below, bearer requests exempt
    app.config.setdefault("WTF_CSRF_TIME_LIMIT", None)  # the token lives as long as the session
    app.config.setdefault("RATELIMIT_STORAGE_URI", platform.settings.broker_url or "memory://")
    login_manager.init_app(app)
    login_manager.login_view = "identity.login"
    # "strong" would drop the session when the identifier changes, which also discards bearer-token
    # requests carrying a session cookie (flask-login checks it before the request loader).
    login_manager.session_protection = "basic"
    login_manager.user_loader(_load_session_user)
    login_manager.request_loader(_load_bearer_user)
    csrf.init_app(app)
    limiter.init_app(app)
    app.before_request(_protect_against_csrf)


def _platform():
    return current_app.extensions["xrm"]


def _load_session_user(session_id: str) -> SignedInUser | None:
    user_id, _, version = session_id.partition(":")
    if not (user_id.isdigit() and version.isdigit()):
        return None
    with _platform().db.session(all_tenants=True, read_only=True) as session:
        row = session.execute(
            select(User, Tenant).join(Tenant, Tenant.id == User.tenant_id).where(User.id == int(user_id))
        ).first()
    if row is None:
        return None
    user, tenant = row
    if not user.active or tenant.status is not TenantStatus.ACTIVE or user.credential_version != int(version):
        return None
    return SignedInUser(user, tenant)


class SupportSignedIn(UserMixin):
    """An operator reading a tenant under its support grant: no user of the tenant, no session cookie."""

    is_admin = False
    credential_version = 0

    def __init__(self, operator: operators.Operator, tenant: Tenant):
        self.id = None
        self.tenant_id = tenant.id
        self.tenant_slug = tenant.slug
        self.tenant_name = tenant.name
        self.email = operator.email
        self.display_name = f"{operator.display_name} (platform support)"

    def get_id(self) -> str:
        raise TypeError("support access never starts a browser session")


def _load_bearer_user(req) -> SignedInUser | SupportSignedIn | None:
    header = req.headers.get("Authorization", "")
    if not header.startswith(BEARER):
        return None
    token = header[len(BEARER):].strip()
    if token.startswith(operators.TOKEN_PREFIX):
        return _load_support_access(req, token)
    with _platform().db.transaction(all_tenants=True) as session:
        try:
            user, principal = authenticate_token(session, token)
        except InvalidToken:
            g.xrm_bad_token = True
            return None
        signed_in = SignedInUser(user, session.get(Tenant, user.tenant_id))
    g.xrm_token_principal = principal
    return signed_in


def _load_support_access(req, token: str) -> SupportSignedIn | None:
    """An operator's request about a tenant: allowed, read-only, while the tenant's grant lives.

    Without ``X-XRM-Tenant`` the token is no one's here (the platform API reads it itself). Every
    request, allowed or refused, is written to the named tenant's audit log.
    """
    slug = req.headers.get(operators.TENANT_HEADER, "").strip()
    platform = _platform()
    with platform.db.transaction(all_tenants=True) as session:
        try:
            operator = operators.authenticate_operator(session, token)
        except operators.InvalidOperatorToken:
            g.xrm_bad_token = True
            return None
        tenant = session.scalar(select(Tenant).where(Tenant.slug == slug)) if slug else None
        if tenant is None:
            return None
        session.expunge(operator)
        session.expunge(tenant)
        try:
            grant = operators.live_grant(session, operator, tenant)
            if req.method not in operators.READ_ONLY_METHODS:
                raise PermissionDenied("support access is read-only: operators change nothing in a tenant")
        except PermissionDenied as refusal:
            denied = refusal
        else:
            denied = None
    actor = f"operator:{operator.email}"
    with platform.db.transaction(tenant.id) as session:
        if denied is not None:
            record(session, actor, "support.denied", f"{req.method} {req.path}"[:200], detail=str(denied))
        else:
            record(session, actor, "support.request", f"{req.method} {req.path}"[:200], grant_id=grant.id)
    if denied is not None:
        raise denied
    g.xrm_token_principal = operators.support_principal(operator, tenant, list(all_permissions(platform)))
    return SupportSignedIn(operator, tenant)


def _protect_against_csrf() -> None:
    """Check the CSRF token of every state-changing request a browser session could be behind.

    Exempt: bearer-token requests, and API requests without a session cookie (nothing there for
    a forged request to ride on). The sign-in form is protected too (login CSRF).
    """
    if request.headers.get("Authorization", "").startswith(BEARER):
        return
    if request.path.startswith("/api/") and current_app.config["SESSION_COOKIE_NAME"] not in request.cookies:
        return
    if is_public_request():  # anonymous by design: nothing of the visitor's session is used
        return
    csrf.protect()


def current_principal() -> Principal | None:
    """The principal of the request: the signed-in user, or the bearer token's narrowed rights."""
    if "xrm_principal" not in g:
        g.xrm_principal = None
        if current_user.is_authenticated:
            g.xrm_principal = g.get("xrm_token_principal")
            if g.xrm_principal is None:
                with _platform().db.session(current_user.tenant_id, read_only=True) as session:
                    user = session.get(User, current_user.id)
                    g.xrm_principal = load_principal(session, user)
    return g.xrm_principal


def start_session(user: SignedInUser) -> None:
    """A fresh session for a new sign-in (nothing of the anonymous session survives)."""
    cookie_session.clear()
    login_user(user)
