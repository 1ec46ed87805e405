"""The audit log: appended to, never changed (rule A1 of ``security-reliability.md``).

Every entry says who did what to which target, when (UTC) and, inside a request, from where (client
address, User-Agent) and in which request (``X-Request-ID``, echoed on every response). Entries are
appended with :func:`record` or, for field-level changes of records, by :mod:`xrm_core.audit_trail`.
The ORM refuses to change or delete one: neither a loaded entry nor an UPDATE/DELETE statement on
the table gets through a session, and no route offers it.

Refused requests are audited too: every 403 answered to a known principal appends an
``auth.denied`` entry (failed sign-ins are recorded by the sign-in view).
"""

from __future__ import annotations

import re
import uuid
from typing import Any

from flask import Flask, Response, current_app, g, has_request_context, request
from sqlalchemy import event
from sqlalchemy.orm import ORMExecuteState, Session

from .errors import XrmError
from .models import AuditEntry

#: An incoming request id is kept when it looks like one (a proxy's or a client's), else replaced.
REQUEST_ID = re.compile(r"^[A-Za-z0-9._:-]{1,64}$")
REQUEST_ID_HEADER = "X-Request-ID"
USER_AGENT_LENGTH = 300


class AuditImmutable(XrmError):
    """Something tried to change or delete an audit entry."""


def record(session: Session, actor: str, action: str, target: str = "", **details: Any) -> AuditEntry:
    """Append one audit entry in the session's tenant and transaction, with the request's context."""
    entry = AuditEntry(actor=actor, action=action, target=target, details=details, **request_context(actor))
    session.add(entry)
    return entry


def request_context(actor: str) -> dict[str, Any]:
    """The columns of an entry that come from the actor and the current request (if any)."""
    user_id = actor.removeprefix("user:")
    context: dict[str, Any] = {"user_id": int(user_id) if actor.startswith("user:") and user_id.isdigit() else None}
    if has_request_context():
        context.update(
            ip=request.remote_addr,
            user_agent=request.user_agent.string[:USER_AGENT_LENGTH] or None,
            request_id=request_id(),
        )
    return context


def current_actor(session: Session) -> str:
    """Who a session's changes are made by: its principal, the request's, or what the session says.

    Command-line sessions set ``session.info["audit_actor"] = "cli"``; anything else without a
    principal is the platform itself (migrations, plugin circuit breakers, jobs).
    """
    principal = session.info.get("principal")
    if principal is None and has_request_context():
        principal = g.get("xrm_principal")
    if principal is not None:
        return principal.name
    return session.info.get("audit_actor", "platform")


def request_id() -> str:
    """The current request's id: the client's ``X-Request-ID`` when well-formed, else a new one."""
    if "xrm_request_id" not in g:
        incoming = request.headers.get(REQUEST_ID_HEADER, "")
        g.xrm_request_id = incoming if REQUEST_ID.match(incoming) else uuid.uuid4().hex
    return g.xrm_request_id


def init_app(app: Flask) -> None:
    """Echo the request id on every response and audit every refused (403) request."""
    app.after_request(_after_request)


def _after_request(response: Response) -> Response:
    response.headers[REQUEST_ID_HEADER] = request_id()
    if response.status_code == 403:
        _record_denial(response)
    return response


def _record_denial(response: Response) -> None:
    principal = g.get("xrm_principal")
    if principal is None:
        return  # no tenant to file it under: anonymous requests get 401s, not 403s
    request_session = g.get("xrm_session")
    if request_session is not None:
        request_session.rollback()  # nothing of a refused request stays, and SQLite's writer lock is freed
    body = response.get_json(silent=True) if response.is_json else None
    detail = body.get("detail", "") if isinstance(body, dict) else ""
    platform = current_app.extensions["xrm"]
    with platform.db.transaction(principal.tenant_id) as session:
        record(session, principal.name, "auth.denied", f"{request.method} {request.path}"[:200], detail=detail)


@event.listens_for(Session, "before_flush")
def _refuse_changing_entries(session: Session, _context, _instances) -> None:
    for obj in session.deleted:
        if isinstance(obj, AuditEntry):
            raise AuditImmutable(f"audit entry {obj.id} cannot be deleted: the audit log is append-only")
    for obj in session.dirty:
        if isinstance(obj, AuditEntry) and session.is_modified(obj, include_collections=False):
            raise AuditImmutable(f"audit entry {obj.id} cannot be changed: the audit log is append-only")


@event.listens_for(Session, "do_orm_execute")
def _refuse_bulk_changes(state: ORMExecuteState) -> None:
    if (state.is_update or state.is_delete) and any(m.class_ is AuditEntry for m in state.all_mappers):
        raise AuditImmutable("the audit log is append-only: UPDATE and DELETE statements on it are refused")
