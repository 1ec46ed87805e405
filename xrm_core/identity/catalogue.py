"""Every permission that can be granted: the core's own and those plugins declare."""

from __future__ import annotations

from ..contributions import PERMISSION_ACTIONS, Permission

#: Records the core owns, each with the full set of actions.
CORE_RESOURCES = {"core.party": "parties"}
#: Administration rights, granted at tenant scope in practice.
CORE_ADMIN = {
    "core.user": "users",
    "core.role": "roles and grants",
    "core.department": "departments",
    "core.team": "teams and their members",
    "core.webhook": "webhooks",
    "core.relationship_type": "relationship types",
    "core.custom_field": "custom field definitions",
    "core.workflow": "workflows",
    "core.business_calendar": "business-hours calendars",
    "core.support_access": "platform operators' support access",
    "core.plugin": "plugins enabled for the tenant and their settings",
}


def core_permissions() -> list[Permission]:
    permissions = [
        Permission(f"{resource}.{action}", f"{action.capitalize()} {label}")
        for resource, label in CORE_RESOURCES.items()
        for action in PERMISSION_ACTIONS
    ]
    permissions += [
        Permission(f"{resource}.{action}", f"{action.capitalize()} {label}")
        for resource, label in CORE_ADMIN.items()
        for action in ("read", "create", "update", "delete")
    ]
    permissions.append(Permission("core.audit.read", "Read the audit log"))
    permissions.append(Permission("core.audit.export", "Export the audit log"))
    permissions.append(Permission("core.workflow.run", "Start workflows by hand on records"))
    return permissions


def all_permissions(platform) -> dict[str, Permission]:
    """Permission name -> declaration, core first, then plugins in dependency order."""
    declared = {p.name: p for p in core_permissions()}
    for _plugin, permission in platform.contributed("xrm_permissions", Permission):
        declared.setdefault(permission.name, permission)
    return declared
