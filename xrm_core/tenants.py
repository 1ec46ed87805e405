"""Tenant administration and per-tenant plugin enablement.

Every function takes a session and works in the caller's transaction, so a CLI command, a manifest
or an API call can combine several of them and commit (or roll back) once.
"""

from __future__ import annotations

import json
import re
import zipfile
from datetime import date, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

from marshmallow import Schema, ValidationError
from sqlalchemy import delete, select
from sqlalchemy.orm import Session

from .audit import record
from .errors import Conflict, NotFound, PluginError
from .models import Tenant, TenantPlugin, TenantStatus
from .platform import Platform
from .tenancy import scoped_to

SLUG = re.compile(r"^[a-z0-9][a-z0-9-]{0,62}$")


def create_tenant(session: Session, slug: str, name: str, actor: str = "cli") -> Tenant:
    if not SLUG.match(slug):
        raise Conflict(f"tenant slug {slug!r} is invalid: use lower-case letters, digits and dashes")
    if session.scalar(select(Tenant.id).where(Tenant.slug == slug)) is not None:
        raise Conflict(f"tenant {slug!r} already exists")
    tenant = Tenant(slug=slug, name=name.strip() or slug, status=TenantStatus.ACTIVE)
    session.add(tenant)
    session.flush()
    _audit(session, tenant, actor, "tenant.created", name=tenant.name)
    return tenant


def get_tenant(session: Session, slug: str) -> Tenant:
    tenant = session.scalar(select(Tenant).where(Tenant.slug == slug))
    if tenant is None:
        raise NotFound(f"no tenant {slug!r}")
    return tenant


def list_tenants(session: Session) -> list[Tenant]:
    return list(session.scalars(select(Tenant).order_by(Tenant.slug)))


def rename_tenant(session: Session, tenant: Tenant, name: str, actor: str = "cli") -> None:
    if not name.strip():
        raise Conflict("a tenant name cannot be empty")
    old, tenant.name = tenant.name, name.strip()
    _audit(session, tenant, actor, "tenant.renamed", old=old, new=tenant.name)


def set_status(session: Session, tenant: Tenant, status: TenantStatus, actor: str = "cli") -> None:
    if tenant.status != status:
        tenant.status = status
        _audit(session, tenant, actor, f"tenant.{'suspended' if status is TenantStatus.SUSPENDED else 'resumed'}")


def _audit(session: Session, tenant: Tenant, actor: str, action: str, **details: Any) -> None:
    # Platform sessions span tenants, so the entry names its tenant explicitly.
    entry = record(session, actor, action, tenant.slug, **details)
    entry.tenant_id = tenant.id


# -- plugins per tenant -------------------------------------------------------------------------


def plugin_states(session: Session, tenant: Tenant) -> dict[str, TenantPlugin]:
    rows = session.scalars(select(TenantPlugin).where(TenantPlugin.tenant_id == tenant.id))
    return {row.plugin: row for row in rows}


def validated_settings(platform: Platform, plugin: str, raw: dict[str, Any] | None) -> dict[str, Any]:
    """``raw`` checked against the plugin's settings schema, with defaults filled in.

    :raises marshmallow.ValidationError: naming the offending setting.
    """
    schema = platform.host.call_plugin(plugin, "xrm_settings_schema")
    if schema is None:
        if raw:
            raise ValidationError({"_schema": ["this plugin has no settings"]})
        return {}
    schema = schema() if isinstance(schema, type) and issubclass(schema, Schema) else schema
    return schema.dump(schema.load(raw or {}))


def enable_plugin(platform: Platform, session: Session, tenant: Tenant, name: str, actor: str = "cli") -> list[str]:
    """Enable ``name`` and the plugins it requires; return the names newly enabled, in order.

    Refuses, naming them, when a required plugin is not installed or could not be loaded. Each
    newly enabled plugin's ``xrm_tenant_setup`` runs in a savepoint; if one raises, nothing is enabled.
    """
    needed = _with_requirements(platform, name)
    states = plugin_states(session, tenant)
    newly = [n for n in needed if not (n in states and states[n].enabled)]
    for plugin in newly:
        row = states.get(plugin) or TenantPlugin(tenant_id=tenant.id, plugin=plugin, settings={})
        row.enabled, row.disabled_reason = True, None
        row.settings = validated_settings(platform, plugin, row.settings)
        session.add(row)
        session.flush()
        try:
            with scoped_to(session, tenant.id), session.begin_nested():
                platform.host.call_plugin(plugin, "xrm_tenant_setup", tenant=tenant, session=session)
        except Exception as exc:
            raise PluginError(f"plugin {plugin!r} failed to set up tenant {tenant.slug!r}: {exc}") from exc
        _audit(session, tenant, actor, "plugin.enabled", plugin=plugin)
    return newly


def _with_requirements(platform: Platform, name: str) -> list[str]:
    missing: list[str] = []
    order: list[str] = []

    def visit(plugin: str, wanted_by: str | None) -> None:
        if plugin in order:
            return
        info = platform.plugins.get(plugin)
        if info is None:
            why = platform.refused.get(plugin, "not installed")
            missing.append(f"{plugin!r} ({why})" + (f", required by {wanted_by!r}" if wanted_by else ""))
            return
        for required in info.requires:
            visit(required, plugin)
        order.append(plugin)

    visit(name, None)
    if missing:
        raise PluginError(f"cannot enable {name!r}: missing " + "; ".join(missing))
    return order


def disable_plugin(platform: Platform, session: Session, tenant: Tenant, name: str, actor: str = "cli") -> None:
    """Disable ``name`` for the tenant, keeping its data; refuses while an enabled plugin requires it."""
    states = plugin_states(session, tenant)
    row = states.get(name)
    if row is None or not row.enabled:
        raise Conflict(f"plugin {name!r} is not enabled for tenant {tenant.slug!r}")
    dependents = sorted(
        other for other, state in states.items()
        if state.enabled and name in (platform.plugins[other].requires if other in platform.plugins else ())
    )
    if dependents:
        raise Conflict(f"cannot disable {name!r} for {tenant.slug!r}: {', '.join(dependents)} require(s) it")
    row.enabled = False
    _audit(session, tenant, actor, "plugin.disabled", plugin=name)


def change_settings(
    platform: Platform, session: Session, tenant: Tenant, name: str, raw: dict[str, Any], actor: str = "cli"
) -> list[str]:
    """Replace the settings of the enabled plugin ``name`` with ``raw``, validated; return the changed keys.

    :raises marshmallow.ValidationError: naming the offending setting (nothing is changed).
    """
    row = plugin_states(session, tenant).get(name)
    if row is None or not row.enabled:
        raise Conflict(f"plugin {name!r} is not enabled for tenant {tenant.slug!r}")
    settings = validated_settings(platform, name, raw)
    old = row.settings or {}
    changed = sorted(key for key in set(old) | set(settings) if old.get(key) != settings.get(key))
    if changed:
        row.settings = settings
        # Only the names: a setting may be a secret (an API key) that must not sit in the audit log.
        _audit(session, tenant, actor, "plugin.settings_changed", plugin=name, settings=changed)
    return changed


def purge_plugin(
    platform: Platform, session: Session, tenant: Tenant, name: str, archive_dir: Path, actor: str = "cli"
) -> Path:
    """Archive the plugin's data for the tenant into a zip file, then delete it.

    The plugin must be disabled for the tenant first. The archive holds one JSON-lines member per
    table and the plugin's settings; it is written and closed before anything is deleted.
    """
    row = plugin_states(session, tenant).get(name)
    if row is not None and row.enabled:
        raise Conflict(f"disable plugin {name!r} for tenant {tenant.slug!r} before purging its data")
    tables = [t for t in platform.plugin_tables(name) if "tenant_id" in t.c]
    archive_dir.mkdir(parents=True, exist_ok=True)
    stamp = datetime.now().strftime("%Y%m%dT%H%M%S")
    archive = archive_dir / f"{tenant.slug}-{name}-{stamp}.zip"
    counts: dict[str, int] = {}
    with zipfile.ZipFile(archive, "w", compression=zipfile.ZIP_DEFLATED) as zf:
        zf.writestr("settings.json", json.dumps(row.settings if row else {}, indent=2))
        for table in tables:
            rows = session.execute(select(table).where(table.c.tenant_id == tenant.id)).mappings()
            lines = [json.dumps(dict(r), default=_json_default) for r in rows]
            counts[table.name] = len(lines)
            zf.writestr(f"{table.name}.jsonl", "\n".join(lines))
    for table in reversed(tables):
        session.execute(delete(table).where(table.c.tenant_id == tenant.id))
    if row is not None:
        session.delete(row)
    _audit(session, tenant, actor, "plugin.purged", plugin=name, archive=str(archive), rows=counts)
    return archive


def _json_default(value: Any) -> Any:
    if isinstance(value, (datetime, date)):
        return value.isoformat()
    if isinstance(value, Decimal):
        return str(value)
    if isinstance(value, bytes):
        return value.hex()
    raise TypeError(f"cannot archive a {type(value).__name__}")
