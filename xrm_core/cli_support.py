"""What every ``xrm`` command group shares: the loaded platform and the ``--tenant`` option."""

from __future__ import annotations

from typing import TYPE_CHECKING

import click
from flask.cli import ScriptInfo

from . import tenants

if TYPE_CHECKING:
    from .platform import Platform

#: Passes Flask's ScriptInfo, whose app carries the platform.
pass_info = click.make_pass_decorator(ScriptInfo)


def platform_of(info: ScriptInfo) -> Platform:
    return info.load_app().extensions["xrm"]


def tenant_id_of(platform: Platform, slug: str) -> int:
    """The id of tenant ``slug``; an unknown slug is the one-line error of ``tenants.get_tenant``."""
    with platform.db.session(all_tenants=True, read_only=True) as session:
        return tenants.get_tenant(session, slug).id


def tenant_option(f):
    return click.option("--tenant", "tenant_slug", required=True, help="Tenant slug.")(f)
