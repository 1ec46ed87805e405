"""The core's own resources under ``/api/v1``: health and the installed plugins.

Public (no principal needed): monitors and load balancers call them anonymously. The unversioned
``/api/health`` and ``/api/plugins`` answer the same, for monitors set up before ``/api/v1``.
"""

from __future__ import annotations

from typing import Any

from marshmallow import fields

from .. import __version__, web
from .blueprint import ApiBlueprint
from .schemas import Schema

blueprint = ApiBlueprint("core_api", __name__, public=True, description="The platform: health, plugins.")


class HealthSchema(Schema):
    status = fields.String(metadata={"description": "ok when the application answers."})
    version = fields.String(metadata={"description": "The core's version."})


class PluginSchema(Schema):
    name = fields.String()
    version = fields.String()
    title = fields.String()
    description = fields.String()
    requires = fields.List(fields.String(), metadata={"description": "Plugins that must be enabled first."})
    enabled = fields.Boolean(metadata={"description": "Whether it is enabled for the request's tenant."})


class PluginsSchema(Schema):
    plugins = fields.List(fields.Nested(PluginSchema))
    refused = fields.Dict(keys=fields.String(), values=fields.String(), metadata={
        "description": "Installed plugins that cannot run → why."})


def health_status() -> dict[str, str]:
    return {"status": "ok", "version": __version__}


def installed_plugins() -> dict[str, Any]:
    platform = web.platform()
    enabled = set(web.enabled_plugins())
    return {
        "plugins": [
            {
                "name": name,
                "version": str(info.version),
                "title": info.title,
                "description": info.description,
                "requires": list(info.requires),
                "enabled": name in enabled,
            }
            for name, info in platform.plugins.items()
        ],
        "refused": platform.refused,
    }


@blueprint.route("/health")
@blueprint.response(200, HealthSchema)
def health():
    """Liveness and version, for load balancers and monitors."""
    return health_status()


@blueprint.route("/plugins")
@blueprint.response(200, PluginsSchema)
def plugins():
    """Installed plugins, and whether each is enabled for the request's tenant."""
    return installed_plugins()
