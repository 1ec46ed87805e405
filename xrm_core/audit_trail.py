"""Field-level change history: every flush of an audited record appends what changed, old -> new.

Audited are the records under record-level permissions (``Owned``: parties, plugins' records) and
the identity tables that decide who may do what. One entry per inserted, updated or deleted row:
action ``<resource>.created|updated|deleted``, target ``<resource>#<id>``, and ``changes``
mapping each attribute to ``[old, new]``. An update is recorded only when a value really changed
(SQLAlchemy's attribute history), so re-saving a record is not an event.

Values that must never be kept in clear are masked as ``"***"``: hashes of secrets, and the
protected fields a model declares (:func:`xrm_core.identity.fieldsecurity.protected_fields`),
whose values would otherwise reach every reader of the log.

The entries are written in the same transaction, by one INSERT per flush issued right after the
flush's own statements: a change and its audit entry are committed (or rolled back) together.
"""

from __future__ import annotations

import datetime as dt
import decimal
import enum
import uuid
from typing import Any

from sqlalchemy import event, insert, inspect
from sqlalchemy.orm import Session

from .audit import current_actor, request_context
from .db import utcnow
from .identity.models import ApiToken, Department, Role, RoleGrant, Share, Team, TeamMember, UserRole
from .identity.ownership import Owned
from .models import AuditEntry, User

MASK = "***"
#: Resource names of the audited identity tables (``Owned`` records use their permission resource).
IDENTITY_RESOURCES: dict[type, str] = {
    User: "core.user",
    Department: "core.department",
    Team: "core.team",
    TeamMember: "core.team_member",
    Role: "core.role",
    RoleGrant: "core.role_grant",
    UserRole: "core.user_role",
    Share: "core.share",
    ApiToken: "core.token",
}
#: Attributes that are secrets whatever the model: only the fact that they changed is kept.
SECRETS = frozenset({"password_hash", "token_hash"})
#: Bookkeeping the platform changes on its own (a token's last use, optimistic-lock counters).
NOT_AUDITED = frozenset({"id", "tenant_id", "version", "updated_at", "last_used_at"})


def resource_of(obj: Any) -> str | None:
    """The audited resource name of ``obj``'s model, or ``None`` when it is not audited."""
    if isinstance(obj, Owned):
        return obj.__permission_resource__
    return IDENTITY_RESOURCES.get(type(obj))


@event.listens_for(Session, "after_flush")
def _append_changes(session: Session, _context) -> None:
    rows = [
        row
        for kind, objects in (("created", session.new), ("updated", session.dirty), ("deleted", session.deleted))
        for obj in objects
        if (row := _entry(session, kind, obj)) is not None
    ]
    if rows:
        session.connection().execute(insert(AuditEntry), rows)


def _entry(session: Session, kind: str, obj: Any) -> dict[str, Any] | None:
    resource = resource_of(obj)
    if resource is None:
        return None
    changes = _changes(kind, obj)
    if kind == "updated" and not changes:
        return None
    actor = current_actor(session)
    return {
        "tenant_id": obj.tenant_id, "at": utcnow(), "actor": actor, "action": f"{resource}.{kind}",
        "target": f"{resource}#{obj.id}", "details": {}, "changes": changes, **request_context(actor),
    }


def _changes(kind: str, obj: Any) -> dict[str, list[Any]]:
    state = inspect(obj)
    masked = SECRETS | _protected(type(obj))
    changes: dict[str, list[Any]] = {}
    for attr in state.mapper.column_attrs:
        name = attr.key
        if name in NOT_AUDITED:
            continue
        history = state.attrs[name].history
        if kind == "created":
            old, new = None, state.dict.get(name)  # never a load: the row is mid-flush
            if new is None:
                continue
        elif kind == "deleted":
            old, new = (history.deleted or history.unchanged or [None])[0], None
            if old is None:
                continue
        else:
            if not history.has_changes():
                continue
            old = history.deleted[0] if history.deleted else None
            new = history.added[0] if history.added else None
            if old == new:
                continue
        changes[name] = [MASK if old is not None else None, MASK if new is not None else None] if name in masked \
            else [_json(old), _json(new)]
    return changes


def _protected(model_class: type) -> frozenset[str]:
    # Imported here: field security builds on the identity models this module is imported with.
    from .identity.fieldsecurity import protected_fields

    return frozenset(protected_fields(model_class))


def _json(value: Any) -> Any:
    """``value`` as JSON can hold it (dates in ISO 8601, enums by value)."""
    if value is None or isinstance(value, bool | int | float | str):
        return value
    if isinstance(value, enum.Enum):
        return _json(value.value)
    if isinstance(value, dt.datetime | dt.date | dt.time):
        return value.isoformat()
    if isinstance(value, decimal.Decimal | uuid.UUID):
        return str(value)
    if isinstance(value, list | tuple):
        return [_json(item) for item in value]
    if isinstance(value, dict):
        return {str(key): _json(item) for key, item in value.items()}
    return str(value)
