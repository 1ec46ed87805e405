"""Tenant administration over REST: users, departments, teams, roles and record shares.

Everything here acts inside the caller's tenant: an id of another tenant's user, department, team,
role or share is a 404 like an id that does not exist. Administration needs the matching
``core.<resource>.<action>`` permission granted at *tenant* scope (a narrower grant of an
administration right means nothing), and nobody can hand out more than they hold: a role defined
or assigned must stay within the caller's own grants. Every change is audited, and takes effect on
the next request of the users it concerns (principals are loaded per request).

Shares are not administration: sharing a record needs the ``share`` right on that record.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC
from typing import Any

import marshmallow as ma
from flask import request, url_for
from flask.views import MethodView
from marshmallow import fields, validate
from sqlalchemy import select

from .. import clock, web
from ..audit import record
from ..contributions import PERMISSION_ACTIONS
from ..errors import Conflict
from ..identity import admin
from ..graph.models import Party, RelationshipTypeDef
from ..identity.catalogue import all_permissions
from ..identity.fieldsecurity import models_of_resource
from ..identity.models import Department, GranteeKind, Role, Scope, Share, Team, TeamMember, UserRole
from ..identity.principal import Principal, load_principal
from ..identity.scoping import PermissionDenied, can
from ..models import User
from ..ui.i18n import LOCALES, store_locale
from ..ui.models import UserPreference
from .auth import current_principal
from .blueprint import ApiBlueprint
from .listing import Listing
from .pagination import cursor_paginate
from .records import get_for_update, get_or_404
from .schemas import RecordSchema, Schema

blueprint = ApiBlueprint("core_admin", __name__, description=(
    "Tenant administration: users, departments, teams, roles and grants, record shares."))


def require(permission: str) -> Principal:
    """The request's principal, if it holds the administration right ``permission`` tenant-wide (else 403)."""
    principal = current_principal()
    if principal.scope_for(permission) is not Scope.TENANT:
        raise PermissionDenied(f"{principal.name} does not hold {permission} for the whole tenant")
    return principal


def require_within(principal: Principal, grants: Mapping[str, admin.Grant], what: str) -> None:
    """Refuse (403) handing out ``grants`` that go beyond the principal's own: no escalation by delegation."""
    beyond = sorted(p for p, grant in grants.items() if not _covers(principal.scope_for(p), admin.as_grant(grant).scope))
    if beyond:
        raise PermissionDenied(f"{what} would grant more than you hold: {', '.join(beyond)}")


def _covers(held: Scope | None, wanted: Scope) -> bool:
    """Whether holding ``held`` covers handing out ``wanted``: ``related`` reaches sideways, past
    ``own`` and outside any department, so only itself and ``tenant`` cover it."""
    if held is None:
        return False
    if wanted is Scope.RELATED:
        return held in (Scope.RELATED, Scope.TENANT)
    return held.rank >= wanted.rank


def invalid(field: str, message: str) -> ma.ValidationError:
    """A 422 naming ``field`` (raise it)."""
    return ma.ValidationError({field: [message]})


def _existing(model: type, record_id: int | None, field: str) -> Any:
    """The row ``record_id`` of ``model`` named in a request body: a 422 naming ``field`` if absent."""
    if record_id is None:
        return None
    found = web.db_session().get(model, record_id)
    if found is None:
        raise invalid(field, f"There is no {model.__name__.lower()} {record_id} here.")
    return found


def _commit() -> None:
    web.db_session().commit()


# -- users ------------------------------------------------------------------------------------


def _role_names(user: User) -> list[str]:
    return list(web.db_session().scalars(
        select(Role.name).join(UserRole, UserRole.role_id == Role.id).where(UserRole.user_id == user.id)
        .order_by(Role.name)))


def _team_ids(user: User) -> list[int]:
    return list(web.db_session().scalars(
        select(TeamMember.team_id).where(TeamMember.user_id == user.id).order_by(TeamMember.team_id)))


def _locale(user: User) -> str | None:
    return web.db_session().scalar(select(UserPreference.locale).where(UserPreference.user_id == user.id))


class UserSchema(RecordSchema):
    id = fields.Integer(dump_only=True)
    email = fields.Email(required=True, validate=validate.Length(max=254))
    display_name = fields.String(validate=validate.Length(min=1, max=200))
    password = fields.String(required=True, load_only=True, metadata={
        "description": "The first password, handed to the user (there are no invitations); it must "
                       "follow the password rules (at least 12 characters, not a common one)."})
    department_id = fields.Integer(allow_none=True)
    party_id = fields.Integer(dump_only=True, allow_none=True, metadata={
        "description": "The party the user stands for (their own, or their organization's): what "
                       "'related' grants start from."})
    locale = fields.Function(_locale, deserialize=lambda value: value, allow_none=True,
                             validate=validate.OneOf(list(LOCALES)), metadata={
                                 "type": "string", "description": "Interface language; null follows the browser."})
    active = fields.Boolean(dump_only=True)
    roles = fields.Function(_role_names, dump_only=True, metadata={"type": "array", "items": {"type": "string"}})
    team_ids = fields.Function(_team_ids, dump_only=True, metadata={"type": "array", "items": {"type": "integer"}})
    created_at = fields.DateTime(dump_only=True)


class UserChangesSchema(Schema):
    display_name = fields.String(validate=validate.Length(min=1, max=200))
    department_id = fields.Integer(allow_none=True)
    party_id = fields.Integer(allow_none=True, metadata={
        "description": "A party the caller can see, or null: the start of the user's 'related' grants."})
    locale = fields.String(allow_none=True, validate=validate.OneOf(list(LOCALES)))


USERS = Listing(
    User, UserSchema,
    sortable=("email", "display_name", "created_at"),
    filterable={"email": ("eq", "contains"), "display_name": ("contains",), "active": ("eq",),
                "department_id": ("eq", "isnull")},
    default_sort="email",
)


@blueprint.route("/users")
class Users(MethodView):
    @blueprint.list_response(USERS)
    def get(self, query):
        """List the tenant's users (``core.user.read``)."""
        require("core.user.read")
        return cursor_paginate(select(User), query)

    @blueprint.arguments(UserSchema)
    @blueprint.record_response(UserSchema, 201)
    def post(self, data):
        """Create a user with a first password (``core.user.create``)."""
        principal = require("core.user.create")
        session = web.db_session()
        department = _existing(Department, data.get("department_id"), "department_id")
        user = admin.create_user(session, data["email"], data["password"], data.get("display_name", ""),
                                 department, actor=principal.name)
        if data.get("locale"):
            store_locale(user.id, data["locale"])
        _commit()
        return user, {"Location": url_for(".UserItem", user_id=user.id)}


@blueprint.route("/users/<int:user_id>")
class UserItem(MethodView):
    @blueprint.record_response(UserSchema)
    def get(self, user_id):
        """One user (``core.user.read``)."""
        require("core.user.read")
        return get_or_404(User, user_id)

    @blueprint.requires_if_match
    @blueprint.arguments(UserChangesSchema)
    @blueprint.record_response(UserSchema)
    def patch(self, changes, user_id):
        """Change a user's display name, department, party or interface language (``core.user.update``)."""
        principal = require("core.user.update")
        session = web.db_session()
        user = get_for_update(User, user_id)
        if "department_id" in changes:
            admin.set_department(session, user, _existing(Department, changes["department_id"], "department_id"),
                                 actor=principal.name)
        if "display_name" in changes:
            user.display_name = changes["display_name"].strip()
        if "party_id" in changes:
            party = _existing(Party, changes["party_id"], "party_id")
            user.party_id = party.id if party is not None else None
        if "locale" in changes:
            store_locale(user.id, changes["locale"])
            record(session, principal.name, "user.locale_changed", user.email, locale=changes["locale"])
        _commit()
        return user


@blueprint.route("/users/<int:user_id>/deactivate", methods=["POST"])
@blueprint.response(200, UserSchema)
def deactivate_user(user_id):
    """Deactivate a user: their sessions and API tokens stop working at once (``core.user.update``)."""
    principal = require("core.user.update")
    session = web.db_session()
    user = get_or_404(User, user_id)
    if user.id == principal.user_id:
        raise Conflict("you cannot deactivate yourself: ask another administrator")
    admin.deactivate(session, user, actor=principal.name)
    _commit()
    return user


@blueprint.route("/users/<int:user_id>/reactivate", methods=["POST"])
@blueprint.response(200, UserSchema)
def reactivate_user(user_id):
    """Let a deactivated user sign in again (``core.user.update``)."""
    principal = require("core.user.update")
    user = get_or_404(User, user_id)
    admin.reactivate(web.db_session(), user, actor=principal.name)
    _commit()
    return user


@blueprint.route("/users/<int:user_id>/roles/<int:role_id>", methods=["PUT", "DELETE"])
@blueprint.response(204)
def user_role(user_id, role_id):
    """PUT gives the user the role, DELETE takes it back; both idempotent (``core.user.update``).

    Giving a role that grants more than the caller holds is refused.
    """
    principal = require("core.user.update")
    session = web.db_session()
    user = get_or_404(User, user_id)
    role = get_or_404(Role, role_id)
    if request.method == "PUT":
        require_within(principal, admin.grants_of(web.db_session(), role), f"role {role.name!r}")
        admin.assign_role(session, user, role, actor=principal.name)
    else:
        admin.revoke_role(session, user, role, actor=principal.name)
    _commit()


# -- departments ------------------------------------------------------------------------------


class DepartmentSchema(RecordSchema):
    id = fields.Integer(dump_only=True)
    name = fields.String(required=True, validate=validate.Length(min=1, max=200))
    parent_id = fields.Integer(allow_none=True, metadata={"description": "null for a top-level department."})
    path = fields.String(dump_only=True, metadata={"description": "Ids from the top down, /1/4/9/."})


DEPARTMENTS = Listing(
    Department, DepartmentSchema,
    sortable=("name", "path"),
    filterable={"name": ("eq", "contains"), "parent_id": ("eq", "isnull"), "path": ("eq",)},
    default_sort="path",
)


@blueprint.route("/departments")
class Departments(MethodView):
    @blueprint.list_response(DEPARTMENTS)
    def get(self, query):
        """The department tree, flat: sorted by path, each parent comes before its children."""
        require("core.department.read")
        return cursor_paginate(select(Department), query)

    @blueprint.arguments(DepartmentSchema)
    @blueprint.record_response(DepartmentSchema, 201)
    def post(self, data):
        """Create a department, at the top or below ``parent_id`` (``core.department.create``)."""
        principal = require("core.department.create")
        parent = _existing(Department, data.get("parent_id"), "parent_id")
        department = admin.create_department(web.db_session(), data["name"], parent, actor=principal.name)
        _commit()
        return department, {"Location": url_for(".DepartmentItem", department_id=department.id)}


@blueprint.route("/departments/<int:department_id>")
class DepartmentItem(MethodView):
    @blueprint.record_response(DepartmentSchema)
    def get(self, department_id):
        """One department."""
        require("core.department.read")
        return get_or_404(Department, department_id)

    @blueprint.requires_if_match
    @blueprint.arguments(DepartmentSchema(partial=True))
    @blueprint.record_response(DepartmentSchema)
    def patch(self, changes, department_id):
        """Rename, or move below another parent (null: to the top); a move below itself is a 409."""
        principal = require("core.department.update")
        session = web.db_session()
        department = get_for_update(Department, department_id)
        if "parent_id" in changes and changes["parent_id"] != department.parent_id:
            parent = _existing(Department, changes["parent_id"], "parent_id")
            admin.move_department(session, department, parent, actor=principal.name)
        if "name" in changes and changes["name"] != department.name:
            admin.rename_department(session, department, changes["name"], actor=principal.name)
        _commit()
        return department

    @blueprint.requires_if_match
    @blueprint.response(204)
    def delete(self, department_id):
        """Delete an empty department: with sub-departments or users it is a 409."""
        principal = require("core.department.delete")
        department = get_for_update(Department, department_id)
        admin.delete_department(web.db_session(), department, actor=principal.name)
        _commit()


# -- teams ------------------------------------------------------------------------------------


def _member_ids(team: Team) -> list[int]:
    return list(web.db_session().scalars(
        select(TeamMember.user_id).where(TeamMember.team_id == team.id).order_by(TeamMember.user_id)))


class TeamSchema(RecordSchema):
    id = fields.Integer(dump_only=True)
    name = fields.String(required=True, validate=validate.Length(min=1, max=200))
    member_ids = fields.Function(_member_ids, dump_only=True, metadata={"type": "array", "items": {"type": "integer"}})


TEAMS = Listing(Team, TeamSchema, sortable=("name",), filterable={"name": ("eq", "contains")}, default_sort="name")


@blueprint.route("/teams")
class Teams(MethodView):
    @blueprint.list_response(TEAMS)
    def get(self, query):
        """List teams (``core.team.read``)."""
        require("core.team.read")
        return cursor_paginate(select(Team), query)

    @blueprint.arguments(TeamSchema)
    @blueprint.record_response(TeamSchema, 201)
    def post(self, data):
        """Create a team (``core.team.create``); add members with PUT on its members."""
        principal = require("core.team.create")
        team = admin.create_team(web.db_session(), data["name"], actor=principal.name)
        _commit()
        return team, {"Location": url_for(".TeamItem", team_id=team.id)}


@blueprint.route("/teams/<int:team_id>")
class TeamItem(MethodView):
    @blueprint.record_response(TeamSchema)
    def get(self, team_id):
        """One team and its members."""
        require("core.team.read")
        return get_or_404(Team, team_id)

    @blueprint.requires_if_match
    @blueprint.arguments(TeamSchema(partial=True))
    @blueprint.record_response(TeamSchema)
    def patch(self, changes, team_id):
        """Rename a team (``core.team.update``)."""
        principal = require("core.team.update")
        team = get_for_update(Team, team_id)
        if "name" in changes:
            admin.rename_team(web.db_session(), team, changes["name"], actor=principal.name)
        _commit()
        return team

    @blueprint.requires_if_match
    @blueprint.response(204)
    def delete(self, team_id):
        """Delete a team (``core.team.delete``); shares to it are withdrawn."""
        principal = require("core.team.delete")
        admin.delete_team(web.db_session(), get_for_update(Team, team_id), actor=principal.name)
        _commit()


@blueprint.route("/teams/<int:team_id>/members/<int:user_id>", methods=["PUT", "DELETE"])
@blueprint.response(204)
def team_member(team_id, user_id):
    """PUT adds the user to the team, DELETE removes them; both idempotent (``core.team.update``)."""
    principal = require("core.team.update")
    session = web.db_session()
    team = get_or_404(Team, team_id)
    user = get_or_404(User, user_id)
    if request.method == "PUT":
        admin.add_member(session, team, user, actor=principal.name)
    else:
        admin.remove_member(session, team, user, actor=principal.name)
    _commit()


# -- roles ------------------------------------------------------------------------------------


def _grant_texts(role: Role) -> list[str]:
    return admin.format_grants(admin.grants_of(web.db_session(), role))


class AccessRoleSchema(RecordSchema):
    id = fields.Integer(dump_only=True)
    name = fields.String(required=True, validate=validate.Length(min=1, max=100))
    description = fields.String(validate=validate.Length(max=500))
    grants = fields.Function(_grant_texts, deserialize=lambda value: value, required=True, metadata={
        "type": "array", "items": {"type": "string"},
        "description": f"Each '{admin.GRANT_FORMAT}', scope among {', '.join(s.value for s in Scope)}; "
                       "e.g. core.party.read@department, or core.party.read@related:referred/incoming "
                       "(records of the parties related to the user's party by these types; "
                       "direction outgoing (default), incoming or both)."})

    @ma.validates("grants")
    def _check_grants(self, value: Any, **_kwargs: Any) -> None:
        parse_grants(value)


def parse_grants(texts: Any) -> dict[str, admin.Grant]:
    """The ``grants`` of a request as permission -> grant; a 422 on ``grants`` naming what is wrong."""
    if not isinstance(texts, list) or not all(isinstance(t, str) for t in texts):
        raise ma.ValidationError(f"A list of '{admin.GRANT_FORMAT}' strings.")
    relationship_types = set(web.db_session().scalars(select(RelationshipTypeDef.code)))
    try:
        return admin.parse_grants(texts, all_permissions(web.platform()), relationship_types)
    except admin.InvalidGrant as exc:
        raise ma.ValidationError(str(exc)[0].upper() + str(exc)[1:] + ".") from None


ROLES = Listing(Role, AccessRoleSchema, sortable=("name",), filterable={"name": ("eq", "contains")}, default_sort="name")


@blueprint.route("/roles")
class Roles(MethodView):
    @blueprint.list_response(ROLES)
    def get(self, query):
        """List roles and their grants (``core.role.read``)."""
        require("core.role.read")
        return cursor_paginate(select(Role), query)

    @blueprint.arguments(AccessRoleSchema)
    @blueprint.record_response(AccessRoleSchema, 201)
    def post(self, data):
        """Define a role from its grants (``core.role.create``); a role name is unique (409)."""
        principal = require("core.role.create")
        session = web.db_session()
        grants = parse_grants(data["grants"])
        require_within(principal, grants, f"role {data['name']!r}")
        if session.scalar(select(Role.id).where(Role.name == data["name"].strip())) is not None:
            raise Conflict(f"role {data['name'].strip()!r} already exists")
        role = admin.define_role(session, data["name"].strip(), grants, set(grants), actor=principal.name)
        role.description = data.get("description", "")
        _commit()
        return role, {"Location": url_for(".RoleItem", role_id=role.id)}


@blueprint.route("/roles/<int:role_id>")
class RoleItem(MethodView):
    @blueprint.record_response(AccessRoleSchema)
    def get(self, role_id):
        """One role and its grants."""
        require("core.role.read")
        return get_or_404(Role, role_id)

    @blueprint.requires_if_match
    @blueprint.arguments(AccessRoleSchema(partial=True))
    @blueprint.record_response(AccessRoleSchema)
    def patch(self, changes, role_id):
        """Rename, describe, or redefine a role's grants (replaced as a whole) (``core.role.update``)."""
        principal = require("core.role.update")
        session = web.db_session()
        role = get_for_update(Role, role_id)
        if "name" in changes and changes["name"].strip() != role.name:
            if session.scalar(select(Role.id).where(Role.name == changes["name"].strip())) is not None:
                raise Conflict(f"role {changes['name'].strip()!r} already exists")
            role.name = changes["name"].strip()
        if "description" in changes:
            role.description = changes["description"]
        if "grants" in changes:
            grants = parse_grants(changes["grants"])
            require_within(principal, grants, f"role {role.name!r}")
            session.flush()  # define_role finds the role by its (maybe new) name
            admin.define_role(session, role.name, grants, set(grants), actor=principal.name)
        _commit()
        return role

    @blueprint.requires_if_match
    @blueprint.response(204)
    def delete(self, role_id):
        """Delete a role; its users lose its grants on their next request (``core.role.delete``)."""
        principal = require("core.role.delete")
        admin.delete_role(web.db_session(), get_for_update(Role, role_id), actor=principal.name)
        _commit()


class PermissionSchema(Schema):
    name = fields.String()
    label = fields.String()


class PermissionsSchema(Schema):
    items = fields.List(fields.Nested(PermissionSchema))


@blueprint.route("/permissions")
@blueprint.response(200, PermissionsSchema)
def permissions():
    """Every permission a role can grant: the core's and the installed plugins' (``core.role.read``)."""
    require("core.role.read")
    return {"items": [{"name": p.name, "label": p.label}
                      for p in all_permissions(web.platform()).values()]}


# -- shares -----------------------------------------------------------------------------------


class ShareSchema(Schema):
    id = fields.Integer(dump_only=True)
    resource = fields.String(required=True, metadata={"description": "The record's resource, e.g. core.party."})
    record_id = fields.Integer(required=True)
    action = fields.String(dump_only=True)
    actions = fields.List(fields.String(validate=validate.OneOf(PERMISSION_ACTIONS)), required=True,
                          load_only=True, validate=validate.Length(min=1))
    grantee_kind = fields.Enum(GranteeKind, by_value=True, required=True)
    grantee_id = fields.Integer(required=True)
    expires_at = fields.AwareDateTime(allow_none=True, default_timezone=UTC, metadata={
        "description": "When the share stops working (UTC unless an offset is given); null: never."})
    created_at = fields.DateTime(dump_only=True)
    created_by = fields.Integer(dump_only=True)


class ShareQuerySchema(Schema):
    resource = fields.String(required=True)
    record_id = fields.Integer(required=True)


class SharesSchema(Schema):
    items = fields.List(fields.Nested(ShareSchema))


def _shared_record(resource: str, record_id: int) -> Any:
    """The record a share is about, as the caller sees it: 422 for an unknown resource, 404 if not visible."""
    models = models_of_resource(resource)
    if not models:
        raise invalid("resource", f"Unknown resource {resource!r}: records are shared by their resource name.")
    return get_or_404(models[0], record_id)


GRANTEE_MODELS = {GranteeKind.USER: User, GranteeKind.TEAM: Team, GranteeKind.DEPARTMENT: Department}


def _check_ceiling(grantee: Any, kind: GranteeKind, resource: str, actions: list[str]) -> None:
    """A share never gives a user more than their roles allow on the resource: say so rather than
    create a share that would do nothing. (Team and department shares are cut per member when read.)"""
    if kind is not GranteeKind.USER:
        return
    principal = load_principal(web.db_session(), grantee)
    missing = [a for a in actions if principal.scope_for(f"{resource}.{a}") is None]
    if missing:
        raise invalid("actions", f"{grantee.email} holds no right to {', '.join(missing)} {resource} at all: "
                                  "a share cannot go beyond the grantee's roles.")


@blueprint.route("/shares")
class Shares(MethodView):
    @blueprint.arguments(ShareQuerySchema, location="query")
    @blueprint.response(200, SharesSchema)
    def get(self, where):
        """The shares of one record (needs the ``share`` right on it)."""
        record = _shared_record(where["resource"], where["record_id"])
        principal = current_principal()
        if not can(web.db_session(), principal, "share", record):
            raise PermissionDenied(f"{principal.name} may not share {where['resource']} #{record.id}")
        rows = web.db_session().scalars(select(Share).where(
            Share.resource == where["resource"], Share.record_id == record.id).order_by(Share.id))
        return {"items": list(rows)}

    @blueprint.arguments(ShareSchema)
    @blueprint.response(201, SharesSchema)
    def post(self, data):
        """Open a record to a user, team or department for some actions, maybe until ``expires_at``."""
        record = _shared_record(data["resource"], data["record_id"])
        grantee = _existing(GRANTEE_MODELS[data["grantee_kind"]], data["grantee_id"], "grantee_id")
        expires_at = data.get("expires_at")
        if expires_at is not None and expires_at <= clock.now():
            raise invalid("expires_at", "Must be in the future.")
        _check_ceiling(grantee, data["grantee_kind"], data["resource"], data["actions"])
        session = web.db_session()
        existing = set(session.scalars(select(Share.action).where(
            Share.resource == data["resource"], Share.record_id == record.id,
            Share.grantee_kind == data["grantee_kind"], Share.grantee_id == grantee.id)))
        if existing & set(data["actions"]):
            raise Conflict(f"already shared for {', '.join(sorted(existing & set(data['actions'])))}: "
                           "withdraw that share first to change it")
        rows = admin.share(session, current_principal(), record, data["grantee_kind"], grantee.id,
                           data["actions"], expires_at)
        _commit()
        return {"items": rows}, 201


@blueprint.route("/shares/<int:share_id>", methods=["DELETE"])
@blueprint.response(204)
def unshare(share_id):
    """Withdraw one share (needs the ``share`` right on its record)."""
    row = get_or_404(Share, share_id)
    record = _shared_record(row.resource, row.record_id)
    admin.remove_share(web.db_session(), current_principal(), row, record)
    _commit()
