"""The platform operators' API (``/api/v1/platform``) and the tenant's side of support access.

* ``/platform/tenants…``: operators (``Authorization: Bearer xrm_op_…``) create, rename, suspend and
  resume tenants and enable or disable plugins for them. The answers carry tenant metadata only.
  A tenant user's token gets 403 here, an unknown token 401.
* ``/support-access…``: a tenant's administrators (``core.support_access.*``) grant one operator
  read access for a while, with a reason, and revoke it; see :mod:`xrm_core.identity.operators`.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from flask import g, request, url_for
from flask.views import MethodView
from marshmallow import fields, validate
from sqlalchemy import select
from werkzeug.exceptions import Unauthorized

from .. import tenants, web
from ..audit import record
from ..errors import NotFound
from ..identity import operators
from ..identity.operators import Operator, SupportGrant
from ..identity.scoping import PermissionDenied
from ..models import Tenant, TenantStatus, User
from .admin import invalid, require
from .auth import CHALLENGE
from .blueprint import ApiBlueprint
from .schemas import Schema

platform_blueprint = ApiBlueprint("core_platform", __name__, public=True,
                                  description="Platform operators: tenants and their plugins (no tenant data).")
support_blueprint = ApiBlueprint("core_support_access", __name__,
                                 description="Support access: let a platform operator read this tenant for a while.")


@platform_blueprint.before_request
def _require_operator() -> None:
    header = request.headers.get("Authorization", "")
    token = header.removeprefix("Bearer ").strip() if header.startswith("Bearer ") else ""
    if not token.startswith(operators.TOKEN_PREFIX):
        if token:
            raise PermissionDenied("the platform API is for platform operators; tenant tokens have no rights here")
        raise Unauthorized("Send an operator token as 'Authorization: Bearer xrm_op_…'.", www_authenticate=CHALLENGE)
    with web.platform().db.transaction(all_tenants=True) as session:
        try:
            operator = operators.authenticate_operator(session, token)
        except operators.InvalidOperatorToken as exc:
            raise Unauthorized(str(exc), www_authenticate=CHALLENGE) from None
        g.xrm_operator = f"operator:{operator.email}"


class TenantSchema(Schema):
    slug = fields.String(required=True, validate=validate.Regexp(r"^[a-z0-9][a-z0-9-]{0,62}$", error=(
        "Lower-case letters, digits and dashes, starting with a letter or digit (at most 63).")))
    name = fields.String(required=True, validate=validate.Length(min=1, max=200))
    status = fields.String(validate=validate.OneOf([s.value for s in TenantStatus]))
    time_zone = fields.String(dump_only=True)
    created_at = fields.DateTime(dump_only=True)
    plugins = fields.List(fields.String(), dump_only=True, metadata={"description": "Enabled plugins."})


class TenantUpdateSchema(Schema):
    name = fields.String(validate=validate.Length(min=1, max=200))
    status = fields.String(validate=validate.OneOf([s.value for s in TenantStatus]))


def _describe(session, tenant: Tenant) -> dict:
    enabled = sorted(name for name, row in tenants.plugin_states(session, tenant).items() if row.enabled)
    return {"slug": tenant.slug, "name": tenant.name, "status": tenant.status.value,
            "time_zone": tenant.time_zone, "created_at": tenant.created_at, "plugins": enabled}


def _tenant(session, slug: str) -> Tenant:
    tenant = session.scalar(select(Tenant).where(Tenant.slug == slug))
    if tenant is None:
        raise NotFound(f"There is no tenant {slug!r}.")
    return tenant


@platform_blueprint.route("/platform/tenants")
class PlatformTenants(MethodView):
    @platform_blueprint.response(200, TenantSchema(many=True))
    def get(self):
        """Every tenant with its status and enabled plugins."""
        with web.platform().db.session(all_tenants=True, read_only=True) as session:
            return [_describe(session, tenant) for tenant in tenants.list_tenants(session)]

    @platform_blueprint.arguments(TenantSchema)
    @platform_blueprint.response(201, TenantSchema)
    def post(self, data):
        """Create a tenant (its administrators are then created with ``xrm users create``)."""
        with web.platform().db.transaction(all_tenants=True) as session:
            if session.scalar(select(Tenant.id).where(Tenant.slug == data["slug"])) is not None:
                raise invalid("slug", f"Tenant {data['slug']!r} already exists.")
            tenant = tenants.create_tenant(session, data["slug"], data["name"], actor=g.xrm_operator)
            answer = _describe(session, tenant)
        return answer, 201, {"Location": url_for(".PlatformTenant", slug=tenant.slug)}


@platform_blueprint.route("/platform/tenants/<slug>")
class PlatformTenant(MethodView):
    @platform_blueprint.response(200, TenantSchema)
    def get(self, slug):
        """One tenant's metadata."""
        with web.platform().db.session(all_tenants=True, read_only=True) as session:
            return _describe(session, _tenant(session, slug))

    @platform_blueprint.arguments(TenantUpdateSchema)
    @platform_blueprint.response(200, TenantSchema)
    def patch(self, data, slug):
        """Rename a tenant, or suspend (its users and tokens stop working) and resume it."""
        with web.platform().db.transaction(all_tenants=True) as session:
            tenant = _tenant(session, slug)
            if "name" in data:
                tenants.rename_tenant(session, tenant, data["name"], actor=g.xrm_operator)
            if "status" in data:
                tenants.set_status(session, tenant, TenantStatus(data["status"]), actor=g.xrm_operator)
            return _describe(session, tenant)


@platform_blueprint.route("/platform/tenants/<slug>/plugins/<plugin>")
class PlatformTenantPlugin(MethodView):
    @platform_blueprint.response(200, TenantSchema)
    def put(self, slug, plugin):
        """Enable an installed plugin (and those it requires) for the tenant."""
        platform = web.platform()
        if plugin not in platform.plugins:
            raise NotFound(f"No usable plugin {plugin!r} is installed.")
        with platform.db.transaction(all_tenants=True) as session:
            tenant = _tenant(session, slug)
            tenants.enable_plugin(platform, session, tenant, plugin, actor=g.xrm_operator)
            return _describe(session, tenant)

    @platform_blueprint.response(200, TenantSchema)
    def delete(self, slug, plugin):
        """Disable a plugin for the tenant (its data stays; ``xrm plugins purge`` removes it)."""
        platform = web.platform()
        with platform.db.transaction(all_tenants=True) as session:
            tenant = _tenant(session, slug)
            tenants.disable_plugin(platform, session, tenant, plugin, actor=g.xrm_operator)
            return _describe(session, tenant)


class SupportGrantSchema(Schema):
    id = fields.Integer(dump_only=True)
    operator_email = fields.Email(required=True)
    hours = fields.Float(required=True, load_only=True, validate=validate.Range(
        min=1 / 60, max=operators.MAX_GRANT.total_seconds() / 3600, error="Between one minute and {max:g} hours."))
    reason = fields.String(required=True, validate=validate.Length(min=3, max=2000))
    granted_by_user_id = fields.Integer(dump_only=True)
    created_at = fields.DateTime(dump_only=True)
    expires_at = fields.DateTime(dump_only=True)
    revoked_at = fields.DateTime(dump_only=True)
    live = fields.Boolean(dump_only=True)


def _grant_view(session, grant: SupportGrant) -> dict:
    email = session.scalar(select(Operator.email).where(Operator.id == grant.operator_id))
    return {"id": grant.id, "operator_email": email, "reason": grant.reason, "created_at": grant.created_at,
            "granted_by_user_id": grant.granted_by_user_id, "expires_at": grant.expires_at,
            "revoked_at": grant.revoked_at, "live": grant.is_live(datetime.now(UTC))}


@support_blueprint.route("/support-access")
class SupportAccess(MethodView):
    @support_blueprint.response(200, SupportGrantSchema(many=True))
    def get(self):
        """Every support grant of the tenant, newest first (``core.support_access.read``)."""
        require("core.support_access.read")
        session = web.db_session()
        grants = session.scalars(select(SupportGrant).order_by(SupportGrant.created_at.desc(), SupportGrant.id.desc()))
        return [_grant_view(session, grant) for grant in grants]

    @support_blueprint.arguments(SupportGrantSchema)
    @support_blueprint.response(201, SupportGrantSchema)
    def post(self, data):
        """Let an operator read this tenant's data for ``hours`` (``core.support_access.create``); audited."""
        principal = require("core.support_access.create")
        session = web.db_session()
        try:
            operator = operators.get_operator(session, data["operator_email"])
        except NotFound:
            raise invalid("operator_email", f"There is no platform operator {data['operator_email']}.") from None
        if not operator.active:
            raise invalid("operator_email", f"Operator {operator.email} is deactivated.")
        granted_by = session.get(User, principal.user_id) if principal.user_id else None
        grant = operators.grant_support_access(session, operator.email, timedelta(hours=data["hours"]),
                                               data["reason"], granted_by)
        record(session, principal.name, "support.granted", f"core.support_access#{grant.id}",
               operator=operator.email, reason=grant.reason, expires_at=grant.expires_at.isoformat())
        session.commit()
        return _grant_view(session, grant), 201, {"Location": url_for(".SupportGrantItem", grant_id=grant.id)}


@support_blueprint.route("/support-access/<int:grant_id>")
class SupportGrantItem(MethodView):
    @support_blueprint.response(200, SupportGrantSchema)
    def get(self, grant_id):
        """One support grant."""
        require("core.support_access.read")
        session = web.db_session()
        return _grant_view(session, _grant(session, grant_id))

    @support_blueprint.response(204)
    def delete(self, grant_id):
        """End a support grant now (``core.support_access.delete``): the operator's next request is refused."""
        principal = require("core.support_access.delete")
        session = web.db_session()
        grant = _grant(session, grant_id)
        if grant.revoked_at is None:
            grant.revoked_at = datetime.now(UTC)
            record(session, principal.name, "support.revoked", f"core.support_access#{grant.id}")
            session.commit()


def _grant(session, grant_id: int) -> SupportGrant:
    grant = session.get(SupportGrant, grant_id)
    if grant is None:
        raise NotFound(f"There is no support grant {grant_id} here.")
    return grant

