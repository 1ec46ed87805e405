"""Tenant manifests: a tenant's configuration as a YAML file an integrator keeps in version control.

``apply`` validates the whole manifest before changing anything, then makes the tenant match it
in the caller's transaction; applying the same manifest twice changes nothing the second time.
Plugins not listed, or listed with ``enabled: false``, end up disabled (their data is kept).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import yaml
from marshmallow import ValidationError
from sqlalchemy.orm import Session

from . import tenants
from .errors import ManifestError, NotFound
from .models import Tenant, TenantStatus
from .platform import Platform

MANIFEST_VERSION = 1


@dataclass
class ApplyReport:
    created: bool = False
    changes: list[str] = field(default_factory=list)


def load(text: str) -> dict[str, Any]:
    try:
        data = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f" at line {mark.line + 1}, column {mark.column + 1}" if mark else ""
        raise ManifestError(f"the manifest is not valid YAML{where}") from None
    if not isinstance(data, dict):
        raise ManifestError("the manifest must be a mapping with at least 'tenant' and 'plugins'")
    return data


def _validate(platform: Platform, data: dict[str, Any]) -> tuple[str, str | None, TenantStatus | None, dict]:
    unknown = set(data) - {"version", "tenant", "name", "status", "plugins"}
    if unknown:
        raise ManifestError(f"unknown key(s): {', '.join(sorted(unknown))}")
    if data.get("version", MANIFEST_VERSION) != MANIFEST_VERSION:
        raise ManifestError(f"version: only manifest version {MANIFEST_VERSION} is understood")
    slug = data.get("tenant")
    if not isinstance(slug, str) or not tenants.SLUG.match(slug):
        raise ManifestError("tenant: a tenant slug (lower-case letters, digits, dashes) is required")
    name = data.get("name")
    if name is not None and (not isinstance(name, str) or not name.strip()):
        raise ManifestError("name: must be a non-empty string")
    try:
        status = TenantStatus(data["status"]) if "status" in data else None
    except ValueError:
        raise ManifestError("status: must be 'active' or 'suspended'") from None
    plugins = data.get("plugins") or {}
    if not isinstance(plugins, dict):
        raise ManifestError("plugins: must map plugin names to {enabled, settings}")
    wanted: dict[str, dict] = {}
    for plugin, spec in plugins.items():
        spec = {"enabled": True} if spec is None else spec
        where = f"plugins.{plugin}"
        if not isinstance(spec, dict) or set(spec) - {"enabled", "settings"}:
            raise ManifestError(f"{where}: expected a mapping with 'enabled' and/or 'settings'")
        if plugin not in platform.plugins:
            reason = platform.refused.get(plugin, "not installed")
            raise ManifestError(f"{where}: plugin cannot be used here ({reason})")
        enabled = spec.get("enabled", True)
        if not isinstance(enabled, bool):
            raise ManifestError(f"{where}.enabled: must be true or false")
        wanted[plugin] = {"enabled": enabled, "settings": _load_settings(platform, plugin, spec.get("settings"))}
    for plugin, spec in wanted.items():
        if spec["enabled"]:
            for required in platform.plugins[plugin].requires:
                if not wanted.get(required, {}).get("enabled"):
                    raise ManifestError(f"plugins.{plugin}: requires plugin {required!r}, which the manifest does not enable")
    return slug, name, status, wanted


def _load_settings(platform: Platform, plugin: str, raw: Any) -> dict[str, Any]:
    try:
        return tenants.validated_settings(platform, plugin, raw)
    except ValidationError as exc:
        field_name, message = _first_error(exc.messages)
        where = f"plugins.{plugin}.settings" + ("" if field_name == "_schema" else f".{field_name}")
        raise ManifestError(f"{where}: {message}") from None


def _first_error(messages: Any, prefix: str = "") -> tuple[str, str]:
    if isinstance(messages, dict):
        key, value = next(iter(messages.items()))
        return _first_error(value, f"{prefix}.{key}" if prefix else str(key))
    if isinstance(messages, list):
        return prefix, str(messages[0])
    return prefix, str(messages)


def apply(platform: Platform, session: Session, data: dict[str, Any], actor: str = "cli") -> ApplyReport:
    """Make the tenant match the manifest; the caller commits."""
    slug, name, status, wanted = _validate(platform, data)
    report = ApplyReport()
    try:
        tenant = tenants.get_tenant(session, slug)
    except NotFound:
        tenant = tenants.create_tenant(session, slug, name or slug, actor)
        report.created = True
        report.changes.append(f"created tenant {slug}")
    if name and name.strip() != tenant.name:
        tenants.rename_tenant(session, tenant, name, actor)
        report.changes.append(f"renamed to {name.strip()!r}")
    if status and status != tenant.status:
        tenants.set_status(session, tenant, status, actor)
        report.changes.append(f"status {status.value}")

    states = tenants.plugin_states(session, tenant)
    # Disable dependents before what they require: reverse dependency order.
    for plugin in reversed(list(platform.plugins)):
        row = states.get(plugin)
        if row is not None and row.enabled and not wanted.get(plugin, {}).get("enabled"):
            tenants.disable_plugin(platform, session, tenant, plugin, actor)
            report.changes.append(f"disabled {plugin}")
    for plugin in platform.plugins:
        spec = wanted.get(plugin)
        if spec is None or not spec["enabled"]:
            continue
        for newly in tenants.enable_plugin(platform, session, tenant, plugin, actor):
            report.changes.append(f"enabled {newly}")
    states = tenants.plugin_states(session, tenant)
    for plugin, spec in wanted.items():
        row = states.get(plugin)
        if row is not None and spec["settings"] != (row.settings or {}):
            row.settings = spec["settings"]
            report.changes.append(f"settings of {plugin}")
    return report


def export(platform: Platform, session: Session, tenant: Tenant) -> str:
    """The tenant's manifest as YAML; applying it to the same platform changes nothing."""
    plugins = {
        plugin: {"enabled": row.enabled, **({"settings": row.settings} if row.settings else {})}
        for plugin, row in sorted(tenants.plugin_states(session, tenant).items())
        if plugin in platform.plugins
    }
    data = {
        "version": MANIFEST_VERSION,
        "tenant": tenant.slug,
        "name": tenant.name,
        "status": tenant.status.value,
        "plugins": plugins,
    }
    return yaml.safe_dump(data, sort_keys=False, allow_unicode=True)
