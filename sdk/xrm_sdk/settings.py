"""A plugin's per-tenant settings (declared by ``xrm_settings_schema``), as the plugin reads them."""

from __future__ import annotations

from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from xrm_core.models import TenantPlugin
from xrm_core.tenants import validated_settings

__all__ = ["plugin_settings"]


def plugin_settings(session: Session, plugin: str) -> dict[str, Any]:
    """The settings of ``plugin`` in the session's tenant, loaded by its settings schema.

    Administrators set them when enabling the plugin or through a tenant manifest
    (``xrm tenants apply``); settings never set come with the schema's defaults, including ones a
    newer release of the plugin added.

    :param session: A tenant-scoped session opened by the platform (``xrm.db_session()`` in a
        request, the ``session`` a hook or job is given).
    :param plugin: The plugin's name, usually the caller's own.
    """
    platform = session.info.get("platform")
    if platform is None:
        raise RuntimeError("this session was not opened by a platform's database")
    stored = session.scalar(select(TenantPlugin.settings).where(TenantPlugin.plugin == plugin))
    return validated_settings(platform, plugin, stored or {})
