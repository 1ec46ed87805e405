"""Console section: roles, each a set of grants (permission × scope), as a table of choices.

The same services and checks as ``/api/v1/roles`` (:mod:`xrm_core.api.admin`): ``core.role.*`` for
the whole tenant, grants parsed by :func:`xrm_core.identity.admin.parse_grants`, and no role
defined that grants more than its author holds.
"""

from __future__ import annotations

from typing import Any

from flask import flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from sqlalchemy import func, select
from werkzeug.datastructures import MultiDict

from ... import web
from ...api.admin import require, require_within
from ...graph.models import RelationshipTypeDef
from ...identity import admin
from ...identity.catalogue import all_permissions
from ...identity.models import Role, Scope, UserRole
from ...identity.principal import Principal
from ...identity.scoping import PermissionDenied
from . import blueprint, requires, section
from .forms import Errors, commit, holds, stale, visible

section("admin.roles", _l("Roles"), _l("What each role lets its users do, and how far."), "core.role.read")

NAME_MAX = 100
DESCRIPTION_MAX = 500
#: The scopes offered in the table, narrowest first (``related`` grants, which name relationship
#: types, are kept as they are and offered only where a role already has one).
SCOPES = (Scope.OWN, Scope.DEPARTMENT, Scope.SUBTREE, Scope.TENANT)
#: Prefix of the grant selects' names: ``grant.<permission>``.
GRANT = "grant."


def _scope_labels() -> dict[str, str]:
    return {Scope.OWN.value: _("Own records"), Scope.DEPARTMENT.value: _("Their department"),
            Scope.SUBTREE.value: _("Department and below"), Scope.TENANT.value: _("Whole organisation")}


@blueprint.get("/roles")
@requires("core.role.read")
def roles():
    """Every role: its name, description, how many grants and users it has."""
    require("core.role.read")
    session = web.db_session()
    rows = session.scalars(select(Role).order_by(Role.name)).all()
    users = dict(session.execute(select(UserRole.role_id, func.count()).group_by(UserRole.role_id)).all())
    grants = {role.id: admin.grants_of(session, role) for role in rows}
    return render_template("admin/roles.html", roles=rows, users=users, grants=grants,
                           may_create=holds("core.role.create"))


def _page(values: dict[str, Any], errors: Errors, role: Role | None) -> str:
    return render_template("admin/role_form.html", form=values, errors=errors, role=role,
                           permissions=list(all_permissions(web.platform()).values()), scopes=SCOPES,
                           scope_labels=_scope_labels())


def _values(form: MultiDict) -> dict[str, Any]:
    """The posted form as the page shows it again."""
    return {"name": form.get("name", ""), "description": form.get("description", ""), "version": form.get("version"),
            "grants": {key[len(GRANT):]: value for key, value in form.items() if key.startswith(GRANT) and value}}


def _checked(form: MultiDict, principal: Principal) -> tuple[Errors, int, dict[str, Any]]:
    """Name, description and grants checked: ``(errors, status if refused, data)``."""
    errors: Errors = {}
    name = form.get("name", "").strip()
    if not name:
        errors["name"] = [_("Enter a name.")]
    elif len(name) > NAME_MAX:
        errors["name"] = [_("Use at most %(max)s characters.", max=NAME_MAX)]
    description = form.get("description", "").strip()
    if len(description) > DESCRIPTION_MAX:
        errors["description"] = [_("Use at most %(max)s characters.", max=DESCRIPTION_MAX)]
    texts = [f"{key[len(GRANT):]}@{value}" for key, value in form.items() if key.startswith(GRANT) and value]
    grants: dict[str, admin.Grant] = {}
    session = web.db_session()
    try:
        grants = admin.parse_grants(texts, all_permissions(web.platform()),
                                    set(session.scalars(select(RelationshipTypeDef.code))))
    except admin.InvalidGrant as exc:
        errors["grants"] = [str(exc)]
    if errors:
        return errors, 422, {}
    try:
        require_within(principal, grants, f"role {name!r}")
    except PermissionDenied as exc:
        return {"grants": [_("You cannot grant more than you hold: %(reason)s.", reason=exc)]}, 403, {}
    return {}, 200, {"name": name, "description": description, "grants": grants}


def _name_taken(name: str, role: Role | None) -> bool:
    clash = select(Role.id).where(Role.name == name)
    if role is not None:
        clash = clash.where(Role.id != role.id)
    return web.db_session().scalar(clash) is not None


@blueprint.route("/roles/new", methods=["GET", "POST"])
@requires("core.role.read")
def new_role():
    """Define a role from its grants; a name already used, or grants beyond the author's, are refused."""
    principal = require("core.role.create")
    if request.method == "GET":
        return _page({"grants": {}}, {}, None)
    errors, status, data = _checked(request.form, principal)
    if not errors and _name_taken(data["name"], None):
        errors, status = {"name": [_("There is already a role with this name.")]}, 422
    if errors:
        return _page(_values(request.form), errors, None), status
    session = web.db_session()
    role = admin.define_role(session, data["name"], data["grants"], set(data["grants"]), actor=principal.name)
    role.description = data["description"]
    session.commit()
    flash(_("The role %(name)s was created.", name=role.name), "success")
    return redirect(url_for("admin.roles"))


@blueprint.route("/roles/<int:role_id>", methods=["GET", "POST"])
@requires("core.role.read")
def edit_role(role_id: int):
    """Rename, describe, or redefine a role's grants; a stale form is refused and nothing changes."""
    require("core.role.read")
    session = web.db_session()
    role = visible(Role, role_id)
    if request.method == "GET":
        grants = {permission: str(grant) for permission, grant in admin.grants_of(session, role).items()}
        return _page({"name": role.name, "description": role.description, "version": role.version,
                      "grants": grants}, {}, role)
    principal = require("core.role.update")
    errors = stale(role, request.form)
    if errors:
        return _page(_values(request.form), errors, role), 409
    errors, status, data = _checked(request.form, principal)
    if not errors and _name_taken(data["name"], role):
        errors, status = {"name": [_("There is already a role with this name.")]}, 422
    if errors:
        return _page(_values(request.form), errors, role), status
    role.name, role.description = data["name"], data["description"]
    session.flush()  # define_role finds the role by its (maybe new) name
    admin.define_role(session, role.name, data["grants"], set(data["grants"]), actor=principal.name)
    errors = commit()
    if errors:
        return _page(_values(request.form), errors, role), 409
    flash(_("The role %(name)s was saved.", name=role.name), "success")
    return redirect(url_for("admin.edit_role", role_id=role.id))


@blueprint.post("/roles/<int:role_id>/delete")
@requires("core.role.read")
def delete_role(role_id: int):
    """Delete a role (its users lose its grants on their next request); a stale form is refused."""
    principal = require("core.role.delete")
    role = visible(Role, role_id)
    name = role.name
    errors = stale(role, request.form)
    if not errors:
        admin.delete_role(web.db_session(), role, actor=principal.name)
        errors = commit()
    if errors:
        flash(" ".join(errors["_form"]), "error")
        return redirect(url_for("admin.edit_role", role_id=role_id))
    flash(_("The role %(name)s was deleted.", name=name), "success")
    return redirect(url_for("admin.roles"))
