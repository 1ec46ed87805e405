"""Console section: the custom fields tenant admins add to parties and to plugins' entities.

The pages call :mod:`xrm_core.customfields.service` exactly as ``/api/v1/custom-fields`` does, so
the same rights (``core.custom_field.*``) and rules apply: a type change or a deletion while records
hold values for the field is refused with their count, and nothing is changed.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import marshmallow as ma
from flask import abort, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from sqlalchemy.orm.exc import StaleDataError

from ... import web
from ...customfields import service, types
from ...customfields.models import CustomFieldDefinition
from ...errors import Conflict, NotFound
from . import blueprint, requires, section
from .forms import WHOLE_FORM, field_errors, holds, stale

PERMISSION = service.PERMISSION_RESOURCE
#: The form's fields (``entity`` and ``code`` only when creating).
FIELDS = ("entity", "code", "label", "type", "choices", "required", "position", "active")
TYPE_LABELS = {
    types.TEXT: _l("Text"), types.NUMBER: _l("Number"), types.DATE: _l("Date"), types.BOOLEAN: _l("Yes / no"),
    types.CHOICE: _l("Choice"), types.MULTI_CHOICE: _l("Multiple choice"), types.PARTY_REF: _l("Party reference"),
}

section("admin.custom_fields", _l("Custom fields"),
        _l("Extra fields on parties and on plugins' records: their types, choices and rules."), f"{PERMISSION}.read")


def entity_choices() -> dict[str, str]:
    """Entity name -> label, for the entities of the core and of the tenant's enabled plugins."""
    enabled = set(web.enabled_plugins())
    names = sorted(name for name in service.entities() if name.split(".", 1)[0] in enabled | {"core"})
    return {name: _("Parties") if name == "core.party" else name for name in names}


def _definition(field_id: int) -> CustomFieldDefinition:
    try:
        return service.get_definition(web.db_session(), field_id)
    except NotFound:
        abort(404)


def parse(form: Mapping[str, str], *, creating: bool) -> tuple[dict[str, list[str]], dict[str, Any]]:
    """The service's arguments from the posted form, and the errors only the form can detect."""
    errors: dict[str, list[str]] = {}
    data: dict[str, Any] = {
        "label": form.get("label", "").strip(),
        "type": form.get("type", ""),
        "required": form.get("required") == "on",
        "choices": [line.strip() for line in form.get("choices", "").splitlines() if line.strip()],
    }
    position = form.get("position", "0").strip() or "0"
    if position.lstrip("-").isdigit():
        data["position"] = int(position)
    else:
        errors["position"] = [_("Enter a whole number.")]
    if creating:
        data["entity"], data["code"] = form.get("entity", ""), form.get("code", "").strip()
        if data["entity"] not in entity_choices():
            errors["entity"] = [_("Choose the records this field belongs to from the list.")]
    else:
        data["active"] = form.get("active") == "on"
    return errors, data


def _form_page(values: Mapping[str, Any], errors: dict[str, list[str]], definition=None, status: int = 200):
    return render_template("admin/custom_field_form.html", form=values, errors=errors, definition=definition,
                           entities=entity_choices(), type_labels=TYPE_LABELS), status


@blueprint.get("/custom-fields")
@requires(f"{PERMISSION}.read")
def custom_fields():
    """The custom fields of one entity (parties first), with how many records hold a value for each."""
    entities = entity_choices()
    entity = request.args.get("entity", "core.party")
    if entity not in entities:
        abort(404)
    session = web.db_session()
    rows = [(definition, service.count_values(session, definition))
            for definition in service.definitions(session, entity)]
    return render_template("admin/custom_fields.html", rows=rows, entity=entity, entities=entities,
                           type_labels=TYPE_LABELS, may_create=holds(f"{PERMISSION}.create"),
                           may_update=holds(f"{PERMISSION}.update"), may_delete=holds(f"{PERMISSION}.delete"))


@blueprint.route("/custom-fields/new", methods=["GET", "POST"])
@requires(f"{PERMISSION}.read")
def custom_field_create():
    """Define a field; a refusal is shown next to its field and nothing is saved."""
    if not holds(f"{PERMISSION}.create"):
        abort(403, description=_("You may not create custom fields."))
    if request.method == "GET":
        entity = request.args.get("entity", "core.party")
        return _form_page({"entity": entity, "type": types.TEXT, "position": "0"}, {})
    errors, data = parse(request.form, creating=True)
    if not errors:
        session = web.db_session()
        try:
            definition = service.define_custom_field(session, **data)
            session.commit()
        except ma.ValidationError as exc:
            session.rollback()
            errors = field_errors(exc, FIELDS)
        except Conflict as exc:
            session.rollback()
            errors = {"code": [str(exc)]}
        else:
            flash(_("The custom field %(label)s was created.", label=definition.label), "success")
            return redirect(url_for("admin.custom_fields", entity=definition.entity))
    return _form_page(request.form, errors, status=422)


@blueprint.route("/custom-fields/<int:field_id>/edit", methods=["GET", "POST"])
@requires(f"{PERMISSION}.read")
def custom_field_edit(field_id: int):
    """Change a field's label, type, choices, requirement, order or activity (deactivate it here)."""
    if not holds(f"{PERMISSION}.update"):
        abort(403, description=_("You may not change custom fields."))
    session = web.db_session()
    definition = _definition(field_id)
    if request.method == "GET":
        return _form_page({"label": definition.label, "type": definition.type, "required": definition.required,
                           "choices": "\n".join(definition.choices or []), "position": definition.position,
                           "active": definition.active, "version": definition.version}, {}, definition)
    errors, changes = parse(request.form, creating=False)
    errors = stale(definition, request.form) or errors
    if not errors:
        try:
            service.update_custom_field(session, definition, changes)
            session.commit()
        except ma.ValidationError as exc:
            errors = field_errors(exc, FIELDS)
        except Conflict as exc:
            errors = {"type": [str(exc)]}
        except StaleDataError:
            errors = {WHOLE_FORM: [_("Someone else changed this field while you were saving; nothing was saved. "
                                     "Reload the page.")]}
        else:
            flash(_("The custom field %(label)s was saved.", label=definition.label), "success")
            return redirect(url_for("admin.custom_fields", entity=definition.entity))
        session.rollback()
    return _form_page(request.form, errors, _definition(field_id), status=422)


@blueprint.post("/custom-fields/<int:field_id>/delete")
@requires(f"{PERMISSION}.read")
def custom_field_delete(field_id: int):
    """Delete a field no record holds a value for; otherwise say how many do (deactivate it instead)."""
    if not holds(f"{PERMISSION}.delete"):
        abort(403, description=_("You may not delete custom fields."))
    session = web.db_session()
    definition = _definition(field_id)
    entity, label = definition.entity, definition.label
    if stale(definition, request.form):
        flash(_("Someone else changed %(label)s after you opened the page; nothing was deleted.", label=label),
              "error")
        return redirect(url_for("admin.custom_fields", entity=entity))
    try:
        service.delete_custom_field(session, definition)
        session.commit()
    except Conflict as exc:
        session.rollback()
        flash(_("%(label)s was not deleted: %(reason)s", label=label, reason=str(exc)), "error")
    else:
        flash(_("The custom field %(label)s was deleted.", label=label), "success")
    return redirect(url_for("admin.custom_fields", entity=entity))
