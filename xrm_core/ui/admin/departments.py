"""Console section: the department tree — create, rename, move, delete (only when empty).

The same services and checks as ``/api/v1/departments`` (:mod:`xrm_core.api.admin`):
``core.department.*`` for the whole tenant; a move below itself, a name already used among the
new siblings, or deleting a department that still has users or sub-departments is refused with
the reason, and nothing changes.
"""

from __future__ import annotations

from flask import flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from sqlalchemy import func, select
from werkzeug.datastructures import MultiDict

from ... import web
from ...api.admin import require
from ...errors import Conflict
from ...identity import admin
from ...identity.models import Department
from ...models import User
from . import blueprint, requires, section
from .forms import Errors, commit, holds, stale, visible

section("admin.departments", _l("Departments"), _l("The department tree that scopes records and rights."),
        "core.department.read")

NAME_MAX = 200


def _tree() -> list[Department]:
    """Every department, each parent before its children (sorted by path)."""
    return list(web.db_session().scalars(select(Department).order_by(Department.path)))


def _checked(form: MultiDict, moving: Department | None) -> tuple[Errors, str, Department | None]:
    """The name and parent of the form, checked: ``(errors, name, parent)``."""
    errors: Errors = {}
    name = form.get("name", "").strip()
    if not name:
        errors["name"] = [_("Enter a name.")]
    elif len(name) > NAME_MAX:
        errors["name"] = [_("Use at most %(max)s characters.", max=NAME_MAX)]
    parent_id = form.get("parent_id", "")
    parent = web.db_session().get(Department, int(parent_id)) if parent_id.isdigit() else None
    if parent_id and parent is None:
        errors["parent_id"] = [_("Choose a department from the list.")]
    elif parent is not None and moving is not None and parent.path.startswith(moving.path):
        errors["parent_id"] = [_("A department cannot move below itself.")]
    return errors, name, parent


def _list_page(values: dict[str, str], errors: Errors) -> str:
    tree = _tree()
    members = dict(web.db_session().execute(
        select(User.department_id, func.count()).where(User.department_id.is_not(None)).group_by(User.department_id)).all())
    return render_template("admin/departments.html", tree=tree, members=members, form=values, errors=errors,
                           may_create=holds("core.department.create"))


@blueprint.route("/departments", methods=["GET", "POST"])
@requires("core.department.read")
def departments():
    """The tree, indented, with how many users each department has; and the form to add one."""
    require("core.department.read")
    if request.method == "GET":
        return _list_page({}, {})
    principal = require("core.department.create")
    errors, name, parent = _checked(request.form, None)
    if not errors:
        session = web.db_session()
        try:
            department = admin.create_department(session, name, parent, actor=principal.name)
        except Conflict as exc:
            session.rollback()
            errors = {"name": [str(exc)]}
        else:
            session.commit()
            flash(_("The department %(name)s was created.", name=department.name), "success")
            return redirect(url_for("admin.departments"))
    return _list_page(request.form, errors), 422


def _edit_page(department: Department, values, errors: Errors) -> str:
    below = [d for d in _tree() if not d.path.startswith(department.path)]
    return render_template("admin/department_form.html", department=department, parents=below, form=values,
                           errors=errors, may_delete=holds("core.department.delete"))


@blueprint.route("/departments/<int:department_id>", methods=["GET", "POST"])
@requires("core.department.read")
def edit_department(department_id: int):
    """Rename a department or move it (with everything below it) under another parent."""
    require("core.department.read")
    department = visible(Department, department_id)
    if request.method == "GET":
        return _edit_page(department, {"name": department.name, "parent_id": str(department.parent_id or ""),
                                       "version": department.version}, {})
    principal = require("core.department.update")
    errors = stale(department, request.form)
    if errors:
        return _edit_page(department, request.form, errors), 409
    errors, name, parent = _checked(request.form, department)
    if errors:
        return _edit_page(department, request.form, errors), 422
    session = web.db_session()
    try:
        if (parent.id if parent else None) != department.parent_id:
            admin.move_department(session, department, parent, actor=principal.name)
        if name != department.name:
            admin.rename_department(session, department, name, actor=principal.name)
    except Conflict as exc:
        session.rollback()
        return _edit_page(visible(Department, department_id), request.form, {"name": [str(exc)]}), 409
    errors = commit()
    if errors:
        return _edit_page(visible(Department, department_id), request.form, errors), 409
    flash(_("The department %(name)s was saved.", name=department.name), "success")
    return redirect(url_for("admin.edit_department", department_id=department.id))


@blueprint.post("/departments/<int:department_id>/delete")
@requires("core.department.read")
def delete_department(department_id: int):
    """Delete an empty department; with users or sub-departments it is refused, saying which."""
    principal = require("core.department.delete")
    department = visible(Department, department_id)
    name = department.name
    errors = stale(department, request.form)
    if not errors:
        session = web.db_session()
        try:
            admin.delete_department(session, department, actor=principal.name)
        except Conflict as exc:
            session.rollback()
            errors = {"_form": [_("The department was not deleted: %(reason)s.", reason=exc)]}
        else:
            errors = commit()
    if errors:
        flash(" ".join(errors["_form"]), "error")
        return redirect(url_for("admin.edit_department", department_id=department_id))
    flash(_("The department %(name)s was deleted.", name=name), "success")
    return redirect(url_for("admin.departments"))
