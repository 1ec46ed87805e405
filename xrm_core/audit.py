"""Appending to the audit log."""

from __future__ import annotations

from typing import Any

from sqlalchemy.orm import Session

from .models import AuditEntry


def record(session: Session, actor: str, action: str, target: str = "", **details: Any) -> AuditEntry:
    """Append one audit entry in the session's tenant and transaction."""
    entry = AuditEntry(actor=actor, action=action, target=target, details=details)
    session.add(entry)
    return entry
