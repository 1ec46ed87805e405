"""Console section: the installed plugins, enabled or not for this tenant, and their settings.

Enabling and disabling call the same service as the CLI and the operators' API
(:func:`xrm_core.tenants.enable_plugin` / :func:`~xrm_core.tenants.disable_plugin`): enabling
brings the plugins it requires along, disabling is refused while an enabled plugin requires it.
Changes need ``core.plugin.update`` for the whole tenant, like every administration right.
"""

from __future__ import annotations

from dataclasses import dataclass

from flask import abort, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from marshmallow import ValidationError

from ... import tenants, web
from ...api.admin import require
from ...errors import Conflict, PluginError
from ...models import TenantPlugin
from ...plugins.discovery import PluginInfo
from . import blueprint, requires, section
from .forms import holds
from .schema_form import as_schema, field_errors, inputs_of, shown, submitted

section("admin.plugins", _l("Plugins"), _l("The plugins enabled for this organisation, and their settings."),
        "core.plugin.read")


@dataclass(frozen=True)
class PluginRow:
    """One installed plugin as the page lists it."""

    info: PluginInfo
    state: TenantPlugin | None
    #: Installed plugins that require this one, and those of them enabled here.
    required_by: tuple[str, ...]
    enabled_dependents: tuple[str, ...]
    has_settings: bool

    @property
    def enabled(self) -> bool:
        return bool(self.state is not None and self.state.enabled)


def _rows() -> list[PluginRow]:
    platform = web.platform()
    states = tenants.plugin_states(web.db_session(), web.require_tenant())
    enabled = {name for name, state in states.items() if state.enabled}
    rows = []
    for name, info in platform.plugins.items():
        required_by = tuple(other for other, candidate in platform.plugins.items() if name in candidate.requires)
        rows.append(PluginRow(info, states.get(name), required_by,
                              tuple(other for other in required_by if other in enabled),
                              platform.host.call_plugin(name, "xrm_settings_schema") is not None))
    return rows


def _title(name: str) -> str:
    info = web.platform().plugins.get(name)
    return info.title if info else name


@blueprint.get("/plugins")
@requires("core.plugin.read")
def plugins():
    """Every installed plugin: version, description, requirements, whether it is enabled here."""
    require("core.plugin.read")
    return render_template("admin/plugins.html", rows=_rows(), refused=sorted(web.platform().refused.items()),
                           may_change=holds("core.plugin.update"))


def _known(name: str) -> None:
    if name not in web.platform().plugins:
        abort(404, description=_("No usable plugin %(name)s is installed.", name=name))


@blueprint.post("/plugins/<name>/enable")
@requires("core.plugin.read")
def enable_plugin(name: str):
    """Enable a plugin and the plugins it requires; say which came along."""
    principal = require("core.plugin.update")
    _known(name)
    platform, tenant = web.platform(), web.require_tenant()
    try:
        # A session without the admin's record rights: a plugin's tenant setup creates its default
        # records as the platform does from the CLI (the permission to enable was checked above).
        with platform.db.transaction(tenant.id) as session:
            newly = tenants.enable_plugin(platform, session, tenant, name, actor=principal.name)
    except (PluginError, Conflict) as exc:
        flash(_("%(plugin)s was not enabled: %(reason)s. Nothing was changed.", plugin=_title(name), reason=exc),
              "error")
        return redirect(url_for("admin.plugins"))
    along = [_title(other) for other in newly if other != name]
    if not newly:
        flash(_("%(plugin)s was already enabled.", plugin=_title(name)), "success")
    elif along:
        flash(_("%(plugin)s was enabled, with the plugins it requires: %(others)s.",
                plugin=_title(name), others=", ".join(along)), "success")
    else:
        flash(_("%(plugin)s was enabled.", plugin=_title(name)), "success")
    return redirect(url_for("admin.plugins"))


@blueprint.post("/plugins/<name>/disable")
@requires("core.plugin.read")
def disable_plugin(name: str):
    """Disable a plugin (its data is kept); refused, naming them, while enabled plugins require it."""
    principal = require("core.plugin.update")
    _known(name)
    platform, tenant = web.platform(), web.require_tenant()
    dependents: list[str] = []
    try:
        with platform.db.transaction(tenant.id) as session:
            states = tenants.plugin_states(session, tenant)
            dependents = [other for other, state in states.items()
                          if state.enabled and other in platform.plugins and name in platform.plugins[other].requires]
            tenants.disable_plugin(platform, session, tenant, name, actor=principal.name)
    except Conflict:
        if dependents:
            flash(_("%(plugin)s was not disabled: %(others)s require(s) it. Disable them first. Nothing was changed.",
                    plugin=_title(name), others=", ".join(_title(other) for other in sorted(dependents))), "error")
        else:
            flash(_("%(plugin)s is not enabled. Nothing was changed.", plugin=_title(name)), "error")
        return redirect(url_for("admin.plugins"))
    flash(_("%(plugin)s was disabled; its data is kept.", plugin=_title(name)), "success")
    return redirect(url_for("admin.plugins"))


@blueprint.route("/plugins/<name>/settings", methods=["GET", "POST"])
@requires("core.plugin.read")
def plugin_settings(name: str):
    """The plugin's settings as a form generated from its schema; saved only if the schema accepts them."""
    require("core.plugin.read")
    _known(name)
    platform, tenant = web.platform(), web.require_tenant()
    declared = platform.host.call_plugin(name, "xrm_settings_schema")
    state = tenants.plugin_states(web.db_session(), tenant).get(name)
    if state is None or not state.enabled:
        abort(404, description=_("%(plugin)s is not enabled for this organisation.", plugin=_title(name)))
    inputs = inputs_of(as_schema(declared)) if declared is not None else []
    if request.method == "GET":
        return _settings_page(name, inputs, shown(inputs, state.settings or {}), {})
    principal = require("core.plugin.update")
    raw, again, errors = submitted(inputs, request.form)
    if not errors:
        session = web.db_session()
        try:
            changed = tenants.change_settings(platform, session, tenant, name, raw, actor=principal.name)
            session.commit()
        except ValidationError as exc:
            session.rollback()
            errors = field_errors(exc.messages)
        else:
            flash(_("The settings of %(plugin)s were saved.", plugin=_title(name)) if changed
                  else _("Nothing to save: the settings of %(plugin)s are unchanged.", plugin=_title(name)), "success")
            return redirect(url_for("admin.plugin_settings", name=name))
    return _settings_page(name, inputs, again, errors), 422


def _settings_page(name: str, inputs, values, errors):
    return render_template("admin/plugin_settings.html", info=web.platform().plugins[name], inputs=inputs,
                           values=values, errors=errors, may_change=holds("core.plugin.update"))
