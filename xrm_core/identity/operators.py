"""Platform operators: they run the installation's tenants and never read tenant data unasked.

An operator is not a user of any tenant. With an operator token (``xrm_op_…``, created by
``xrm operators create``, stored as its SHA-256 only) they manage tenants through
``/api/v1/platform`` — create, rename, suspend, resume, enable and disable plugins — which shows
tenant metadata and nothing of the records inside.

To look inside a tenant (a support case), the tenant's administrators grant **support access**:
to one operator, for a limited time, with a reason. While it lasts, the operator's requests that
name the tenant (``X-XRM-Tenant: <slug>``) act as a read-only principal holding every ``*.read``
permission tenant-wide; each such request is written to the tenant's audit log, and any other
method is refused. Without a live grant the operator gets 403, like any request outside its rights.
"""

from __future__ import annotations

import hashlib
import secrets
from datetime import datetime, timedelta

from sqlalchemy import ForeignKey, String, Text, select
from sqlalchemy.orm import Mapped, Session, mapped_column

from ..db import Model, utcnow
from ..errors import Conflict, NotFound, XrmError
from ..models import Tenant, TenantStatus, User
from ..tenancy import TenantScoped
from .models import Scope
from .principal import Principal
from .scoping import PermissionDenied

TOKEN_PREFIX = "xrm_op_"
#: Longest support access a tenant can grant at once: access is asked for per case, not kept.
MAX_GRANT = timedelta(hours=72)
#: The request header naming the tenant an operator's request is about.
TENANT_HEADER = "X-XRM-Tenant"
READ_ONLY_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})


class Operator(Model):
    """Someone who runs the platform; not a member of any tenant."""

    __tablename__ = "core_operators"

    id: Mapped[int] = mapped_column(primary_key=True)
    email: Mapped[str] = mapped_column(String(254), unique=True)
    display_name: Mapped[str] = mapped_column(String(200))
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    active: Mapped[bool] = mapped_column(default=True)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    last_used_at: Mapped[datetime | None]


class SupportGrant(TenantScoped, Model):
    """A tenant's time-limited permission for one operator to read its data, with the reason."""

    __tablename__ = "core_support_grants"

    id: Mapped[int] = mapped_column(primary_key=True)
    operator_id: Mapped[int] = mapped_column(ForeignKey("core_operators.id", ondelete="CASCADE"), index=True)
    granted_by_user_id: Mapped[int | None] = mapped_column(ForeignKey("core_users.id", ondelete="SET NULL"))
    reason: Mapped[str] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    expires_at: Mapped[datetime]
    revoked_at: Mapped[datetime | None]

    def is_live(self, now: datetime) -> bool:
        return self.revoked_at is None and self.expires_at > now


class InvalidOperatorToken(XrmError):
    """Unknown or deactivated operator token (HTTP 401)."""


def _digest(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def create_operator(session: Session, email: str, display_name: str = "") -> tuple[Operator, str]:
    """A new operator (platform session) and its token text, which is never stored.

    :raises Conflict: an operator with this e-mail exists (rotate its token instead).
    """
    email = email.strip().lower()
    if "@" not in email:
        raise XrmError(f"{email!r} is not an e-mail address")
    if session.scalar(select(Operator.id).where(Operator.email == email)) is not None:
        raise Conflict(f"operator {email} already exists (use 'xrm operators rotate' for a new token)")
    token = TOKEN_PREFIX + secrets.token_urlsafe(32)
    operator = Operator(email=email, display_name=display_name.strip() or email, token_hash=_digest(token))
    session.add(operator)
    session.flush()
    return operator, token


def get_operator(session: Session, email: str) -> Operator:
    operator = session.scalar(select(Operator).where(Operator.email == email.strip().lower()))
    if operator is None:
        raise NotFound(f"no operator {email}")
    return operator


def rotate_token(operator: Operator) -> str:
    """A new token for ``operator`` (reactivated); the old one stops working at once."""
    token = TOKEN_PREFIX + secrets.token_urlsafe(32)
    operator.token_hash, operator.active = _digest(token), True
    return token


def authenticate_operator(session: Session, token: str) -> Operator:
    """The active operator a token stands for (platform session).

    :raises InvalidOperatorToken: unknown token, or its operator was deactivated.
    """
    operator = session.scalar(select(Operator).where(Operator.token_hash == _digest(token)))
    if operator is None or not operator.active:
        raise InvalidOperatorToken("the operator token is unknown or deactivated")
    operator.last_used_at = utcnow()
    return operator


def grant_support_access(session: Session, operator_email: str, duration: timedelta, reason: str,
                         granted_by: User | None) -> SupportGrant:
    """Let an operator read the session's tenant for ``duration`` (at most :data:`MAX_GRANT`).

    ``session`` is the tenant's; the operator is looked up across the platform (operators belong
    to no tenant). Audited by the caller with the grant's id.
    """
    if not reason.strip():
        raise XrmError("say why support access is granted (the reason is kept in the audit log)")
    if not timedelta(0) < duration <= MAX_GRANT:
        raise XrmError(f"support access lasts between a minute and {MAX_GRANT.total_seconds() / 3600:g} hours")
    operator = get_operator(session, operator_email)
    if not operator.active:
        raise XrmError(f"operator {operator.email} is deactivated")
    grant = SupportGrant(operator_id=operator.id, reason=reason.strip(), expires_at=utcnow() + duration,
                         granted_by_user_id=granted_by.id if granted_by else None)
    session.add(grant)
    session.flush()
    return grant


def live_grant(session: Session, operator: Operator, tenant: Tenant) -> SupportGrant:
    """The operator's live support grant in ``tenant`` (platform session).

    :raises PermissionDenied: the tenant is not active or has granted this operator nothing now.
    """
    now = utcnow()
    if tenant.status is not TenantStatus.ACTIVE:
        raise PermissionDenied(f"tenant {tenant.slug} is not active")
    grants = session.scalars(select(SupportGrant).where(
        SupportGrant.tenant_id == tenant.id, SupportGrant.operator_id == operator.id,
        SupportGrant.revoked_at.is_(None)).order_by(SupportGrant.expires_at.desc()))
    for grant in grants:
        if grant.is_live(now):
            return grant
    raise PermissionDenied(f"{tenant.slug}'s administrators have granted {operator.email} no support access now")


def support_principal(operator: Operator, tenant: Tenant, permissions: list[str]) -> Principal:
    """The read-only principal an operator acts as in a tenant that granted access: every read, tenant-wide."""
    return Principal(tenant_id=tenant.id, name=f"operator:{operator.email}",
                     grants={p: Scope.TENANT for p in permissions if p.endswith(".read")})
