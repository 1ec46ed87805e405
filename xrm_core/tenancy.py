"""Tenant scoping applied by construction to every ORM statement.

Every tenant-owned model mixes in :class:`TenantScoped`. A listener on all sessions adds
``tenant_id = <session tenant>`` to every ORM SELECT, UPDATE and DELETE that touches such a model
(joins and relationship loads included), and a flush listener stamps and checks ``tenant_id`` on
new and changed rows. A session without a tenant fails closed. Raw SQL (``text()``, Core
statements on a connection) is not scoped: it is reserved for migrations and benchmarks.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from sqlalchemy import ForeignKey, event, inspect
from sqlalchemy.orm import Mapped, ORMExecuteState, Session, mapped_column, with_loader_criteria

from .errors import TenantScopeError


class TenantScoped:
    """Mixin for every row that belongs to one tenant."""

    tenant_id: Mapped[int] = mapped_column(
        ForeignKey("core_tenants.id", ondelete="CASCADE"), index=True, nullable=False
    )


@contextmanager
def scoped_to(session: Session, tenant_id: int) -> Iterator[Session]:
    """Narrow a (platform) session to one tenant for a block, in the same transaction.

    Used to hand plugins a tenant-scoped session while a platform operation (enabling a plugin,
    applying a manifest) spans tenants.
    """
    saved = dict(session.info)
    session.info.update(tenant_id=tenant_id, all_tenants=False)
    try:
        yield session
    finally:
        session.info.update(saved)


def _scope(session: Session) -> tuple[bool, int | None]:
    return bool(session.info.get("all_tenants")), session.info.get("tenant_id")


@event.listens_for(Session, "do_orm_execute")
def _scope_statement(state: ORMExecuteState) -> None:
    if not (state.is_select or state.is_update or state.is_delete):
        return
    if state.execution_options.get("xrm_all_tenants"):
        return
    all_tenants, tenant_id = _scope(state.session)
    if all_tenants:
        return
    if tenant_id is None:
        touched = [m.class_.__name__ for m in state.all_mappers if issubclass(m.class_, TenantScoped)]
        if touched:
            raise TenantScopeError(
                f"no tenant in scope for a statement on {', '.join(touched)}: tenant-owned data needs one"
            )
    # With tenant_id None this becomes "tenant_id IS NULL", which matches nothing (NOT NULL column):
    # a join that reaches a tenant-owned table without a tenant still fails closed.
    state.statement = state.statement.options(
        with_loader_criteria(TenantScoped, lambda cls: cls.tenant_id == tenant_id, include_aliases=True)
    )


@event.listens_for(Session, "before_flush")
def _stamp_and_check_tenant(session: Session, _context, _instances) -> None:
    all_tenants, tenant_id = _scope(session)
    for obj in session.new:
        if not isinstance(obj, TenantScoped):
            continue
        if obj.tenant_id is None:
            if tenant_id is None:
                raise TenantScopeError(f"cannot create {type(obj).__name__} without a tenant in scope")
            obj.tenant_id = tenant_id
        elif not all_tenants and obj.tenant_id != tenant_id:
            raise TenantScopeError(f"cannot create {type(obj).__name__} in another tenant")
    for obj in session.dirty:
        if isinstance(obj, TenantScoped) and inspect(obj).attrs.tenant_id.history.deleted:
            raise TenantScopeError(f"{type(obj).__name__} cannot move to another tenant")
