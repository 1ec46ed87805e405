"""The Flask application factory."""

from __future__ import annotations

import logging

from flask import (
    Blueprint,
    Flask,
    abort,
    current_app,
    jsonify,
    render_template,
    request,
)
from werkzeug.routing import RequestRedirect

from . import __version__, audit, web
from .api import API_PREFIX, ApiBlueprint, system
from .api import admin as admin_api
from .api import audit as audit_api
from .api import business_hours as business_hours_api
from .api import dataio as dataio_api
from .api import graph as graph_api
from .api import notifications as notifications_api
from .api import operators as operators_api
from .api import parties as parties_api
from .api import privacy as privacy_api
from .api import tokens as tokens_api
from .api import webhooks as webhooks_api
from .api import workflows as workflows_api
from .api.errors import CLIENT_ERRORS, problem_for
from .api.openapi import XrmApi, init_api
from .collaboration import api as collaboration_api
from .config import Settings
from .customfields import api as custom_fields_api
from .identity import views as identity_views
from .identity.authentication import init_authentication
from .platform import Platform
from .problems import problem
from .public import is_public_request
from .storable import IdConverter, TextConverter, refuse_nul_in_forms
from .ui import init_ui
from .ui.shell import navigation

log = logging.getLogger("xrm.app")
core = Blueprint("core", __name__)
#: The largest request body read: an API import file and the form around it.
MAX_REQUEST_BYTES = dataio_api.MAX_UPLOAD_BYTES + 4 * 1024 * 1024


def create_app(settings: Settings | None = None, platform: Platform | None = None) -> Flask:
    """Build the web application for ``platform`` (built from ``settings`` or the environment)."""
    platform = platform or Platform(settings)
    app = Flask(__name__, instance_path=str(platform.settings.instance_path))
    # Before any route: a URL naming what the database cannot hold (too large an id, a NUL) matches none.
    app.url_map.converters.update(int=IdConverter, default=TextConverter, string=TextConverter)
    app.before_request(refuse_nul_in_forms)  # and a form or a page's query holding a NUL is refused
    app.config.update(
        SECRET_KEY=platform.settings.secret_key,
        SESSION_COOKIE_HTTPONLY=True,
        SESSION_COOKIE_SAMESITE="Lax",
        SESSION_COOKIE_SECURE=platform.settings.is_production,
        # The largest body any route reads (an API import file, and its form): bigger ones are
        # refused with 413 before they are read, chunked ones included.
        MAX_CONTENT_LENGTH=MAX_REQUEST_BYTES,
    )
    app.extensions["xrm"] = platform
    init_authentication(app)
    audit.init_app(app)
    app.register_blueprint(core)
    app.register_blueprint(identity_views.blueprint)
    init_ui(app)
    api = app.extensions["xrm.api"] = init_api(app)
    api.register_blueprint(system.blueprint, url_prefix=API_PREFIX)
    for blueprint in (admin_api.blueprint, tokens_api.blueprint, audit_api.blueprint):
        api.register_blueprint(blueprint, url_prefix=API_PREFIX)
    api.register_blueprint(graph_api.blueprint, url_prefix=API_PREFIX)
    for blueprint in (parties_api.blueprint, custom_fields_api.blueprint):
        api.register_blueprint(blueprint, url_prefix=API_PREFIX)
    api.register_blueprint(webhooks_api.blueprint, url_prefix=f"{API_PREFIX}/webhooks")
    api.register_blueprint(business_hours_api.blueprint, url_prefix=f"{API_PREFIX}/business-calendars")
    api.register_blueprint(workflows_api.blueprint, url_prefix=f"{API_PREFIX}/workflows")
    api.register_blueprint(notifications_api.blueprint, url_prefix=API_PREFIX)
    api.register_blueprint(collaboration_api.blueprint, url_prefix=API_PREFIX)
    api.register_blueprint(privacy_api.blueprint, url_prefix=API_PREFIX)
    api.register_blueprint(dataio_api.blueprint, url_prefix=API_PREFIX)
    for blueprint in (operators_api.platform_blueprint, operators_api.support_blueprint):
        api.register_blueprint(blueprint, url_prefix=API_PREFIX)
    app.extensions["xrm.blueprint_owners"] = _register_plugin_blueprints(app, api, platform)
    app.before_request(_hide_disabled_plugins)
    app.teardown_appcontext(web.close_request_session)
    _register_error_handlers(app)  # after init_api: replaces flask-smorest's JSON error bodies
    return app


def _register_plugin_blueprints(app: Flask, api: XrmApi, platform: Platform) -> dict[str, str]:
    """Mount each plugin's blueprints; API blueprints always under ``/api/v1/<plugin>``.

    An ``ApiBlueprint``'s own ``url_prefix`` is appended to the plugin's, so a plugin can never
    answer outside its own part of the API; its routes also go into the OpenAPI document.
    """
    owners: dict[str, str] = {}
    for plugin, blueprints in platform.host.call("xrm_blueprints"):
        for bp in blueprints or ():
            if not isinstance(bp, Blueprint) or not (bp.name == plugin or bp.name.startswith(plugin + "_")):
                log.error("plugin %s: blueprint %r must be named %r or '%s_…'", plugin, bp, plugin, plugin)
                continue
            if isinstance(bp, ApiBlueprint):
                api.register_blueprint(bp, url_prefix=f"{API_PREFIX}/{plugin}{bp.url_prefix or ''}")
            else:
                app.register_blueprint(bp, url_prefix=bp.url_prefix or (
                    f"/{plugin}" if bp.name == plugin else f"/api/{plugin}"))
            owners[bp.name] = plugin
    return owners


def _hide_disabled_plugins() -> None:
    """A plugin's routes answer 404 for a tenant where it is not enabled (and without a tenant)."""
    if not request.blueprint:
        return
    owner = current_app.extensions["xrm.blueprint_owners"].get(request.blueprint.split(".")[0])
    if owner is not None and is_public_request():
        return  # public_session() checks the plugin is enabled for the tenant the URL names
    if owner is not None and owner not in web.enabled_plugins():
        abort(404)


def _wants_json() -> bool:
    return request.path.startswith("/api/") or request.accept_mimetypes.best == "application/json"


def _register_error_handlers(app: Flask) -> None:
    """Client errors as RFC 9457 problems under /api (an HTML page elsewhere); bugs as a bare 500."""

    def _client_error(exc: Exception):
        if isinstance(exc, RequestRedirect):  # a redirect, not an error: e.g. a merged party's id
            return exc.get_response()
        found = problem_for(exc)
        if _wants_json():
            return found.response()
        page = render_template("error.html", status=found.status, title=found.title, detail=found.detail)
        return page, found.status, list(found.headers)

    for kind in CLIENT_ERRORS:
        app.register_error_handler(kind, _client_error)

    @app.errorhandler(Exception)
    def _unexpected(exc: Exception):
        log.exception("unhandled error on %s %s", request.method, request.path)
        detail = "The server could not complete the request; the error was logged."
        if _wants_json():
            return problem(500, "Internal Server Error", detail)
        return render_template("error.html", status=500, title="Internal Server Error", detail=detail), 500


# -- core pages and API ------------------------------------------------------------------------


@core.get("/")
def index():
    """Home: the tenant, its enabled plugins and their navigation."""
    platform = web.platform()
    tenant = web.current_tenant()
    nav = navigation()  # collected once per request: the page's shell shows the same entries
    return render_template(
        "index.html",
        tenant=tenant,
        nav=nav,
        plugins=platform.plugins,
        enabled=web.enabled_plugins(),
        refused=platform.refused,
        version=__version__,
    )


@core.get("/api/health")
def health():
    """Unversioned alias of ``/api/v1/health``, kept for monitors configured before it."""
    return jsonify(system.health_status())


@core.get("/api/plugins")
def api_plugins():
    """Unversioned alias of ``/api/v1/plugins``."""
    return jsonify(system.installed_plugins())
