"""Who sees which import batches: the rule the API and the web pages share.

A batch is visible to the user who started it and to those who may create the target's records
tenant-wide; to anyone else it does not exist (404), like a batch of another tenant (the session is
tenant-scoped, so those are never even read).
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from ..errors import NotFound
from ..identity.models import Scope
from ..identity.principal import Principal
from .engine import available_targets
from .models import ImportBatch


def tenant_wide_targets(session: Session, platform: Any, principal: Principal) -> list[str]:
    """The targets whose every batch ``principal`` may see: those they may create tenant-wide."""
    return [name for name, target in available_targets(platform, session).items()
            if principal.scope_for(f"{target.permission}.create") is Scope.TENANT]


def visible_batches(session: Session, platform: Any, principal: Principal, limit: int) -> list[ImportBatch]:
    """The newest ``limit`` batches ``principal`` may see, newest first."""
    wide = tenant_wide_targets(session, platform, principal)
    statement = select(ImportBatch).where(
        (ImportBatch.created_by_user_id == principal.user_id) | ImportBatch.target.in_(wide))
    return list(session.scalars(statement.order_by(ImportBatch.id.desc()).limit(limit)))


def visible_batch(session: Session, platform: Any, principal: Principal, batch_id: int) -> ImportBatch:
    """Batch ``batch_id`` if ``principal`` may see it.

    :raises NotFound: no such batch in the session's tenant, or not one ``principal`` may see.
    """
    batch = session.get(ImportBatch, batch_id)
    if batch is None or (batch.created_by_user_id != principal.user_id
                         and batch.target not in tenant_wide_targets(session, platform, principal)):
        raise NotFound(f"no import batch {batch_id}")
    return batch
