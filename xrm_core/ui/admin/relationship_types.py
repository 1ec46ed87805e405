"""Console section: the relationship types of the tenant (its own, editable; plugins', read-only).

Creating and changing a type apply the same checks as ``/api/v1/relationship-types``
(:func:`xrm_core.api.graph.check_type_ends`, :func:`xrm_core.graph.service.define_relationship_type`)
under the same rights (``core.relationship_type.*``). A type that relationships use is not deleted:
the page says how many use it.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import marshmallow as ma
from flask import abort, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from sqlalchemy import func, select

from ... import web
from ...api.graph import check_type_ends, role_catalogue, rule_errors
from ...errors import Conflict
from ...graph.models import Relationship, RelationshipTypeDef
from ...graph.service import PARTY_KINDS, TYPE_CODE, define_relationship_type, delete_relationship_type
from . import blueprint, requires, section
from .forms import field_errors, holds

PERMISSION = "core.relationship_type"
LABEL_MAX = 100
ENDS = ("from_kinds", "to_kinds", "from_roles", "to_roles")
FIELDS = ("code", "forward_label", "inverse_label", "symmetric", *ENDS)
KIND_LABELS = {"person": _l("Person"), "organization": _l("Organization")}

section("admin.relationship_types", _l("Relationship types"),
        _l("How parties may be linked: labels both ways and which parties each end admits."), f"{PERMISSION}.read")


def _type_or_404(code: str) -> RelationshipTypeDef:
    definition = web.db_session().scalar(select(RelationshipTypeDef).where(RelationshipTypeDef.code == code))
    if definition is None:
        abort(404)
    return definition


def _editable(code: str) -> RelationshipTypeDef:
    """A tenant-defined type; a plugin's type is 403, as in the API (it is changed in its plugin)."""
    definition = _type_or_404(code)
    if definition.source != "tenant":
        abort(403, description=_("This relationship type belongs to %(source)s: it is changed there.",
                                 source=definition.source))
    return definition


def parse(form, *, creating: bool) -> tuple[dict[str, list[str]], dict[str, Any]]:
    """The posted form as the API's input, and the errors only the form can detect (labels)."""
    errors: dict[str, list[str]] = {}
    data: dict[str, Any] = {name: form.getlist(name) for name in ENDS}
    symmetric = form.get("symmetric") == "on" if creating else None
    for name in ("forward_label", "inverse_label"):
        label = form.get(name, "").strip()
        if len(label) > LABEL_MAX:
            errors[name] = [_("Use at most %(max)s characters.", max=LABEL_MAX)]
        data[name] = label or None
    if not data["forward_label"]:
        errors["forward_label"] = [_("Enter how the link reads from the first party, e.g. \"employs\".")]
    if not data["inverse_label"] and not symmetric:
        errors["inverse_label"] = [_("Enter how the link reads from the other party, e.g. \"works for\" "
                                     "(only symmetric types may leave it empty).")]
    if creating:
        data["code"], data["symmetric"] = form.get("code", "").strip(), symmetric
        if not TYPE_CODE.match(data["code"]):
            errors["code"] = [_("Use a lower-case letter, then lower-case letters, digits or _ (at most 63).")]
    return errors, data


def _form_page(values: Mapping[str, Any], errors: dict[str, list[str]], definition=None, status: int = 200):
    return render_template("admin/relationship_type_form.html", form=values, errors=errors, definition=definition,
                           kinds={kind: KIND_LABELS.get(kind, kind) for kind in PARTY_KINDS},
                           roles=role_catalogue().roles), status


def _values_of(definition: RelationshipTypeDef) -> dict[str, Any]:
    return {name: getattr(definition, name) for name in FIELDS}


@blueprint.get("/relationship-types")
@requires(f"{PERMISSION}.read")
def relationship_types():
    """Every type of the tenant, with how many relationships use it."""
    session = web.db_session()
    table = Relationship.__table__
    # Counted over the whole tenant, not what the admin may see: it says whether deletion is possible.
    usage = dict(session.connection().execute(
        select(table.c.type_id, func.count()).where(table.c.tenant_id == web.require_tenant().id)
        .group_by(table.c.type_id)).all())
    definitions = session.scalars(select(RelationshipTypeDef).order_by(RelationshipTypeDef.code)).all()
    return render_template("admin/relationship_types.html", rows=[(d, usage.get(d.id, 0)) for d in definitions],
                           may_create=holds(f"{PERMISSION}.create"), may_update=holds(f"{PERMISSION}.update"),
                           may_delete=holds(f"{PERMISSION}.delete"))


@blueprint.route("/relationship-types/new", methods=["GET", "POST"])
@requires(f"{PERMISSION}.read")
def relationship_type_create():
    """Define a type; a refused field is shown next to it and nothing is saved."""
    if not holds(f"{PERMISSION}.create"):
        abort(403, description=_("You may not create relationship types."))
    if request.method == "GET":
        return _form_page({name: [] for name in ENDS}, {})
    errors, data = parse(request.form, creating=True)
    session = web.db_session()
    try:
        check_type_ends(data)
        if not errors:
            with rule_errors("code"):
                definition = define_relationship_type(session, catalogue=role_catalogue(), **data)
            session.commit()
    except ma.ValidationError as exc:
        errors = {**field_errors(exc, FIELDS), **errors}
    except Conflict as exc:
        errors = {"code": [str(exc)]}
    if errors:
        session.rollback()
        return _form_page({**data, "code": request.form.get("code", "")}, errors, status=422)
    flash(_("The relationship type %(code)s was created.", code=definition.code), "success")
    return redirect(url_for("admin.relationship_types"))


@blueprint.route("/relationship-types/<code>/edit", methods=["GET", "POST"])
@requires(f"{PERMISSION}.read")
def relationship_type_edit(code: str):
    """Change a tenant-defined type's labels and admitted kinds and roles (for relationships made from now on)."""
    if not holds(f"{PERMISSION}.update"):
        abort(403, description=_("You may not change relationship types."))
    session = web.db_session()
    definition = _editable(code)
    if request.method == "GET":
        return _form_page(_values_of(definition), {}, definition)
    errors, changes = parse(request.form, creating=False)
    try:
        check_type_ends(changes)
        if not errors:
            for name, value in changes.items():
                setattr(definition, name, value)
            # The API's rule for PATCH /relationship-types/<code>: a symmetric type reads the same both ways.
            if definition.symmetric and (set(definition.from_kinds) != set(definition.to_kinds)
                                         or set(definition.from_roles) != set(definition.to_roles)):
                raise ma.ValidationError({"to_kinds": [
                    _("A symmetric type must admit the same kinds and roles at both ends.")]})
            session.commit()
    except ma.ValidationError as exc:
        errors = {**field_errors(exc, FIELDS), **errors}
    if errors:
        session.rollback()
        return _form_page({**changes, "symmetric": definition.symmetric, "code": code}, errors, definition, 422)
    flash(_("The relationship type %(code)s was saved.", code=code), "success")
    return redirect(url_for("admin.relationship_types"))


@blueprint.post("/relationship-types/<code>/delete")
@requires(f"{PERMISSION}.read")
def relationship_type_delete(code: str):
    """Delete a tenant-defined type no relationship uses; otherwise say how many use it."""
    if not holds(f"{PERMISSION}.delete"):
        abort(403, description=_("You may not delete relationship types."))
    session = web.db_session()
    try:
        delete_relationship_type(session, _editable(code))
        session.commit()
    except Conflict as exc:
        session.rollback()
        flash(_("%(code)s was not deleted: %(reason)s", code=code, reason=str(exc)), "error")
    else:
        flash(_("The relationship type %(code)s was deleted.", code=code), "success")
    return redirect(url_for("admin.relationship_types"))
