"""Errors the platform reports to people: each carries a one-line reason."""


class XrmError(Exception):
    """Base of every error the platform raises on purpose; ``str(err)`` is a one-line reason."""


class ConfigurationError(XrmError):
    """The configuration cannot be used (bad value, unsafe production setting)."""


class TenantScopeError(XrmError):
    """A tenant-owned table was touched without a tenant in scope, or across tenants."""


class NotFound(XrmError):
    """The named object does not exist (or is not visible in the current scope)."""


class Conflict(XrmError):
    """The request contradicts the current state (duplicate name, dependent plugin enabled, …)."""


class PluginError(XrmError):
    """A plugin cannot be loaded, enabled or disabled; the message names the plugin and why."""


class MigrationError(XrmError):
    """A schema upgrade or downgrade failed; the database was left at its previous state."""


class ManifestError(XrmError):
    """A tenant manifest is invalid; the message names the offending key."""
