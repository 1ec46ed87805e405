"""Console section: the tenant's users — list, create, edit (name, department, roles, language), deactivate.

The same services and checks as ``/api/v1/users`` (:mod:`xrm_core.api.admin`): ``core.user.*`` for
the whole tenant, and no role given that grants more than the giver holds.
"""

from __future__ import annotations

from typing import Any

from flask import flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from marshmallow import ValidationError, validate
from sqlalchemy import select
from werkzeug.datastructures import MultiDict

from ... import web
from ...api.admin import require, require_within
from ...audit import record
from ...errors import Conflict
from ...identity import admin
from ...identity.models import Department, Role, UserRole
from ...identity.passwords import WeakPassword
from ...identity.principal import Principal
from ...identity.scoping import PermissionDenied
from ...models import User
from ...ui.i18n import LOCALES, store_locale
from ...ui.models import UserPreference
from . import blueprint, requires, section
from .forms import Errors, commit, holds, stale, visible

section("admin.users", _l("Users"), _l("Who signs in: their department, roles and language."), "core.user.read")

NAME_MAX = 200
EMAIL_MAX = 254


def _departments() -> list[Department]:
    return list(web.db_session().scalars(select(Department).order_by(Department.path)))


def _roles() -> list[Role]:
    return list(web.db_session().scalars(select(Role).order_by(Role.name)))


def _roles_of(user_ids: list[int]) -> dict[int, list[Role]]:
    held: dict[int, list[Role]] = {user_id: [] for user_id in user_ids}
    rows = web.db_session().execute(select(UserRole.user_id, Role).join(Role, Role.id == UserRole.role_id)
                                    .where(UserRole.user_id.in_(user_ids)).order_by(Role.name))
    for user_id, role in rows:
        held[user_id].append(role)
    return held


@blueprint.get("/users")
@requires("core.user.read")
def users():
    """Every user of the tenant: e-mail, name, department, roles, whether they may sign in."""
    require("core.user.read")
    rows = list(web.db_session().scalars(select(User).order_by(User.email)))
    departments = {d.id: d.name for d in _departments()}
    return render_template("admin/users.html", users=rows, departments=departments,
                           roles_of=_roles_of([u.id for u in rows]), may_create=holds("core.user.create"))


def _checked(form: MultiDict, errors: Errors) -> dict[str, Any]:
    """The fields both forms share, checked; problems go into ``errors`` under the field's name."""
    data: dict[str, Any] = {}
    name = form.get("display_name", "").strip()
    if len(name) > NAME_MAX:
        errors["display_name"] = [_("Use at most %(max)s characters.", max=NAME_MAX)]
    data["display_name"] = name
    department_id = form.get("department_id", "")
    data["department"] = None
    if department_id:
        department = web.db_session().get(Department, int(department_id)) if department_id.isdigit() else None
        if department is None:
            errors["department_id"] = [_("Choose a department from the list.")]
        data["department"] = department
    locale = form.get("locale", "")
    if locale and locale not in LOCALES:
        errors["locale"] = [_("Choose a language from the list.")]
    data["locale"] = locale or None
    roles = {role.id: role for role in _roles()}
    wanted = [int(v) for v in form.getlist("role_ids") if v.isdigit()]
    if any(role_id not in roles for role_id in wanted):
        errors["role_ids"] = [_("Choose roles from the list.")]
    data["roles"] = [roles[role_id] for role_id in wanted if role_id in roles]
    return data


def _check_ceiling(principal: Principal, roles: list[Role], errors: Errors) -> None:
    """The API's rule: no role given that grants more than the giver holds."""
    for role in roles:
        try:
            require_within(principal, admin.grants_of(web.db_session(), role), f"role {role.name!r}")
        except PermissionDenied as exc:
            errors.setdefault("role_ids", []).append(
                _("You cannot give the role %(role)s: %(reason)s.", role=role.name, reason=exc))


def _page(template_values: dict[str, Any], errors: Errors, user: User | None) -> str:
    return render_template("admin/user_form.html", form=template_values, errors=errors, user=user,
                           departments=_departments(), roles=_roles(), locales=LOCALES)


@blueprint.route("/users/new", methods=["GET", "POST"])
@requires("core.user.read")
def new_user():
    """Create a user with a first password; invalid input is shown on its field and nothing is saved."""
    principal = require("core.user.create")
    if request.method == "GET":
        return _page({"role_ids": []}, {}, None)
    errors: Errors = {}
    data = _checked(request.form, errors)
    email = request.form.get("email", "").strip()
    try:
        validate.And(validate.Email(), validate.Length(max=EMAIL_MAX))(email)
    except ValidationError:
        errors["email"] = [_("Enter an e-mail address, like name@example.com.")]
    password = request.form.get("password", "")
    if errors:
        return _page(_again(request.form), errors, None), 422
    _check_ceiling(principal, data["roles"], errors)
    if errors:
        return _page(_again(request.form), errors, None), 403
    session = web.db_session()
    try:
        user = admin.create_user(session, email, password, data["display_name"], data["department"],
                                 actor=principal.name)
    except (WeakPassword, Conflict) as exc:
        session.rollback()
        errors = {"password": [str(exc)]} if isinstance(exc, WeakPassword) else \
            {"email": [_("There is already a user with this e-mail address.")]}
        return _page(_again(request.form), errors, None), 422
    for role in data["roles"]:
        admin.assign_role(session, user, role, actor=principal.name)
    if data["locale"]:
        store_locale(user.id, data["locale"])
    session.commit()
    flash(_("%(email)s was created; hand them their first password.", email=user.email), "success")
    return redirect(url_for("admin.users"))


def _again(form: MultiDict) -> dict[str, Any]:
    """A posted form shown again: what was typed (never the password), roles as ids."""
    values = {key: value for key, value in form.items() if key != "password"}
    values["role_ids"] = [int(v) for v in form.getlist("role_ids") if v.isdigit()]
    return values


@blueprint.route("/users/<int:user_id>", methods=["GET", "POST"])
@requires("core.user.read")
def edit_user(user_id: int):
    """Change a user's name, department, roles and language; a stale form is refused, nothing changed."""
    require("core.user.read")
    session = web.db_session()
    user = visible(User, user_id)
    held = _roles_of([user.id])[user.id]
    if request.method == "GET":
        locale = session.scalar(select(UserPreference.locale).where(UserPreference.user_id == user.id))
        return _page({"display_name": user.display_name, "department_id": str(user.department_id or ""),
                      "locale": locale or "", "role_ids": [r.id for r in held], "version": user.version}, {}, user)
    principal = require("core.user.update")
    shown_again = _again(request.form)
    errors = stale(user, request.form)
    if errors:
        return _page(shown_again, errors, user), 409
    data = _checked(request.form, errors)
    if not data["display_name"]:
        errors["display_name"] = [_("Enter a name.")]
    if errors:
        return _page(shown_again, errors, user), 422
    given = [role for role in data["roles"] if role not in held]
    _check_ceiling(principal, given, errors)
    if errors:
        return _page(shown_again, errors, user), 403
    if data["display_name"] != user.display_name:
        user.display_name = data["display_name"]
    if (data["department"].id if data["department"] else None) != user.department_id:
        admin.set_department(session, user, data["department"], actor=principal.name)
    for role in given:
        admin.assign_role(session, user, role, actor=principal.name)
    for role in held:
        if role not in data["roles"]:
            admin.revoke_role(session, user, role, actor=principal.name)
    current = session.scalar(select(UserPreference.locale).where(UserPreference.user_id == user.id))
    if data["locale"] != current:
        store_locale(user.id, data["locale"])
        record(session, principal.name, "user.locale_changed", user.email, locale=data["locale"])
    errors = commit()
    if errors:
        return _page(shown_again, errors, user), 409
    flash(_("%(email)s was saved.", email=user.email), "success")
    return redirect(url_for("admin.edit_user", user_id=user.id))


@blueprint.post("/users/<int:user_id>/<any(deactivate, reactivate):action>")
@requires("core.user.read")
def activation(user_id: int, action: str):
    """Deactivate a user (their sessions and tokens stop working at once), or let them sign in again."""
    principal = require("core.user.update")
    session = web.db_session()
    user = visible(User, user_id)
    if action == "deactivate":
        if user.id == principal.user_id:
            flash(_("You cannot deactivate yourself: ask another administrator."), "error")
            return redirect(url_for("admin.edit_user", user_id=user.id))
        admin.deactivate(session, user, actor=principal.name)
        message = _("%(email)s was deactivated: their sessions and API tokens stopped working.", email=user.email)
    else:
        admin.reactivate(session, user, actor=principal.name)
        message = _("%(email)s may sign in again.", email=user.email)
    session.commit()
    flash(message, "success")
    return redirect(url_for("admin.edit_user", user_id=user.id))
