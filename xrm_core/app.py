"""The Flask application factory."""

from __future__ import annotations

import logging

from flask import (
    Blueprint,
    Flask,
    abort,
    current_app,
    jsonify,
    redirect,
    render_template,
    request,
    url_for,
)
from flask import session as cookie_session
from werkzeug.exceptions import HTTPException

from . import __version__, web
from .config import Settings
from .contributions import NavEntry
from .errors import Conflict, NotFound, TenantScopeError, XrmError
from .models import TenantStatus
from .platform import Platform
from .problems import problem
from .tenants import list_tenants

log = logging.getLogger("xrm.app")
core = Blueprint("core", __name__)


def create_app(settings: Settings | None = None, platform: Platform | None = None) -> Flask:
    """Build the web application for ``platform`` (built from ``settings`` or the environment)."""
    platform = platform or Platform(settings)
    app = Flask(__name__, instance_path=str(platform.settings.instance_path))
    app.config.update(
        SECRET_KEY=platform.settings.secret_key,
        SESSION_COOKIE_HTTPONLY=True,
        SESSION_COOKIE_SAMESITE="Lax",
        SESSION_COOKIE_SECURE=platform.settings.is_production,
    )
    app.extensions["xrm"] = platform
    app.register_blueprint(core)
    app.extensions["xrm.blueprint_owners"] = _register_plugin_blueprints(app, platform)
    app.before_request(_hide_disabled_plugins)
    app.teardown_appcontext(web.close_request_session)
    _register_error_handlers(app)
    return app


def _register_plugin_blueprints(app: Flask, platform: Platform) -> dict[str, str]:
    owners: dict[str, str] = {}
    for plugin, blueprints in platform.host.call("xrm_blueprints"):
        for bp in blueprints or ():
            if not isinstance(bp, Blueprint) or not (bp.name == plugin or bp.name.startswith(plugin + "_")):
                log.error("plugin %s: blueprint %r must be named %r or '%s_…'", plugin, bp, plugin, plugin)
                continue
            prefix = bp.url_prefix or (f"/{plugin}" if bp.name == plugin else f"/api/{plugin}")
            app.register_blueprint(bp, url_prefix=prefix)
            owners[bp.name] = plugin
    return owners


def _hide_disabled_plugins() -> None:
    """A plugin's routes answer 404 for a tenant where it is not enabled (and without a tenant)."""
    if not request.blueprint:
        return
    owner = current_app.extensions["xrm.blueprint_owners"].get(request.blueprint.split(".")[0])
    if owner is not None and owner not in web.enabled_plugins():
        abort(404)


def _wants_json() -> bool:
    return request.path.startswith("/api/") or request.accept_mimetypes.best == "application/json"


def _register_error_handlers(app: Flask) -> None:
    @app.errorhandler(HTTPException)
    def _http_error(exc: HTTPException):
        if _wants_json():
            return problem(exc.code or 500, exc.name, exc.description or "")
        return render_template("error.html", status=exc.code, title=exc.name, detail=exc.description), exc.code

    def _known(status: int, title: str):
        def handler(exc: XrmError):
            if _wants_json():
                return problem(status, title, str(exc))
            return render_template("error.html", status=status, title=title, detail=str(exc)), status

        return handler

    app.register_error_handler(NotFound, _known(404, "Not Found"))
    app.register_error_handler(Conflict, _known(409, "Conflict"))
    app.register_error_handler(TenantScopeError, _known(403, "No tenant"))

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
    nav = []
    if tenant is not None:
        entries = platform.contributions_for_tenant("xrm_navigation", NavEntry, tenant, web.db_session())
        nav = sorted((entry for _plugin, entry in entries), key=lambda e: (e.order, e.label))
    with platform.db.session(all_tenants=True, read_only=True) as session:
        tenants = [t for t in list_tenants(session) if t.status is TenantStatus.ACTIVE]
    return render_template(
        "index.html",
        tenant=tenant,
        tenants=tenants,
        nav=nav,
        plugins=platform.plugins,
        enabled=web.enabled_plugins(),
        refused=platform.refused,
        version=__version__,
    )


@core.post("/tenant")
def choose_tenant():
    """Select the tenant to work in (until sign-in binds each user to a tenant)."""
    cookie_session["tenant"] = request.form.get("tenant", "")
    return redirect(url_for("core.index"))


@core.get("/api/health")
def health():
    """Liveness and version, for load balancers and monitors."""
    return jsonify(status="ok", version=__version__)


@core.get("/api/plugins")
def api_plugins():
    """Installed plugins, and whether each is enabled for the request's tenant."""
    platform = web.platform()
    enabled = set(web.enabled_plugins())
    return jsonify(
        plugins=[
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
        refused=platform.refused,
    )
