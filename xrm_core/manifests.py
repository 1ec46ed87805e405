"""Tenant manifests: a tenant's configuration as a YAML file an integrator keeps in version control.

``apply`` validates the whole manifest before changing anything, then makes the tenant match it
in the caller's transaction; applying the same manifest twice changes nothing the second time.
Plugins not listed, or listed with ``enabled: false``, end up disabled (their data is kept).

``workflows`` (optional) lists the tenant's workflows as ``xrm workflows export`` writes them
(``{name, enabled, definition}``): each is created, or saved as a new version when its definition
changed; the tenant's workflows not listed end up disabled (their versions and runs are kept). A
manifest without ``workflows`` leaves the workflows alone; ``export`` writes the key when the
tenant has any. Definitions are checked against the plugins the manifest enables, so they are
checked once those are; any error raises and the caller's transaction takes everything back.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import yaml
from marshmallow import ValidationError
from sqlalchemy import select
from sqlalchemy.orm import Session

from . import tenants
from .errors import ManifestError, NotFound
from .models import Tenant, TenantStatus
from .platform import Platform
from .tenancy import scoped_to
from .workflows import service as workflow_service
from .workflows.models import Workflow

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
    unknown = set(data) - {"version", "tenant", "name", "status", "plugins", "workflows"}
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
    _validate_workflows(data.get("workflows", []))
    return slug, name, status, wanted


def _validate_workflows(documents: Any) -> None:
    """The shape of ``workflows``; the definitions themselves are checked when applied."""
    if not isinstance(documents, list):
        raise ManifestError("workflows: must be a list of {name, enabled, definition} (as 'xrm workflows export' writes)")
    seen: set[str] = set()
    for index, document in enumerate(documents):
        where = f"workflows.{index}"
        if not isinstance(document, dict) or not {"name", "definition"} <= document.keys():
            raise ManifestError(f"{where}: expected a mapping with 'name' and 'definition' (and 'enabled')")
        if set(document) - {"name", "enabled", "definition"}:
            raise ManifestError(f"{where}: unknown key(s) {', '.join(sorted(set(document) - {'name', 'enabled', 'definition'}))}")
        if not isinstance(document.get("enabled", True), bool):
            raise ManifestError(f"{where}.enabled: must be true or false")
        if document["name"] in seen:
            raise ManifestError(f"{where}.name: workflow {document['name']!r} is listed twice")
        seen.add(document["name"])


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
    if "workflows" in data:
        with scoped_to(session, tenant.id):
            report.changes += _apply_workflows(platform, session, data["workflows"], actor)
    return report


def _apply_workflows(platform: Platform, session: Session, documents: list[dict[str, Any]], actor: str) -> list[str]:
    """Make the tenant's workflows match ``documents``; the changes, described."""
    before = {w.name: w.enabled for w in session.scalars(select(Workflow))}
    try:
        outcome = workflow_service.import_workflows(session, platform, documents, actor=actor)
    except ValidationError as exc:
        where, message = _first_error(exc.messages)
        raise ManifestError(f"workflows.{where}: {message}") from None
    for workflow in session.scalars(select(Workflow).where(Workflow.enabled, Workflow.name.not_in(list(outcome)))):
        workflow_service.set_enabled(session, platform, workflow, False, actor)
    changes = []
    for workflow in session.scalars(select(Workflow).order_by(Workflow.name)):
        what = outcome.get(workflow.name)
        if what in ("created", "updated"):
            changes.append(f"{what} workflow {workflow.name}")
        elif before.get(workflow.name) != workflow.enabled:
            changes.append(f"{'enabled' if workflow.enabled else 'disabled'} workflow {workflow.name}")
    return changes


def export(platform: Platform, session: Session, tenant: Tenant) -> str:
    """The tenant's manifest as YAML; applying it to the same platform changes nothing."""
    plugins = {
        plugin: {"enabled": row.enabled, **({"settings": row.settings} if row.settings else {})}
        for plugin, row in sorted(tenants.plugin_states(session, tenant).items())
        if plugin in platform.plugins
    }
    data: dict[str, Any] = {
        "version": MANIFEST_VERSION,
        "tenant": tenant.slug,
        "name": tenant.name,
        "status": tenant.status.value,
        "plugins": plugins,
    }
    with scoped_to(session, tenant.id):
        workflows = workflow_service.export_workflows(session)
    if workflows:
        data["workflows"] = workflows
    return yaml.safe_dump(data, sort_keys=False, allow_unicode=True)
