"""Managing custom field definitions, and validating the values records carry.

Plain functions on a tenant-scoped session that never commit, like :mod:`xrm_core.graph.service`.
Definitions are administration: when the session acts for a principal, it needs
``core.custom_field.<action>``. Invalid input raises marshmallow's ``ValidationError`` keyed by
the offending field (``custom.size``), which the API answers as a 422 naming it.

Changing a field's type is refused while any record of the tenant holds a value for it (a
:class:`~xrm_core.errors.Conflict` saying how many): values are never converted silently. Remove
the values first, or add a new field and retire the old one with ``active: false``.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

import marshmallow as ma
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from ..db import Model, utcnow
from ..errors import Conflict, NotFound
from ..identity.scoping import PermissionDenied, principal_of
from . import types
from .mixin import HasCustomFields
from .models import CustomFieldDefinition
from .sql import CODE, JsonText

#: The permission resource of definitions (``core.custom_field.read``, ``.create``, …).
PERMISSION_RESOURCE = "core.custom_field"
#: Longest pattern a text field's ``regex`` may be: patterns run on every write.
MAX_REGEX_LENGTH = 200

UNKNOWN_FIELD = "Unknown custom field."
INACTIVE_FIELD = "This custom field is inactive: it takes no new values."
REQUIRED = "Missing data for required field."


# -- entities ---------------------------------------------------------------------------------


def entities() -> dict[str, type]:
    """Entity name → model, for every mapped model with :class:`HasCustomFields`."""
    found = {}
    for mapper in Model.registry.mappers:
        model = mapper.class_
        name = getattr(model, "__custom_fields_entity__", "")
        if issubclass(model, HasCustomFields) and name:
            found[name] = model
    return found


def entity_model(entity: str) -> type:
    model = entities().get(entity)
    if model is None:
        known = ", ".join(sorted(entities())) or "none"
        raise ma.ValidationError({"entity": [f"No entity {entity!r} takes custom fields (known: {known})."]})
    return model


# -- definitions --------------------------------------------------------------------------------


def require_right(session: Session, action: str) -> None:
    """Refuse (403) a principal without ``core.custom_field.<action>``; platform sessions pass."""
    principal = principal_of(session)
    if principal is not None and principal.scope_for(f"{PERMISSION_RESOURCE}.{action}") is None:
        raise PermissionDenied(f"{principal.name} may not {action} custom fields")


def definitions(session: Session, entity: str, *, active_only: bool = False) -> list[CustomFieldDefinition]:
    """The tenant's definitions for ``entity``, in display order."""
    statement = select(CustomFieldDefinition).where(CustomFieldDefinition.entity == entity)
    if active_only:
        statement = statement.where(CustomFieldDefinition.active.is_(True))
    return list(session.scalars(statement.order_by(CustomFieldDefinition.position, CustomFieldDefinition.code)))


def get_definition(session: Session, definition_id: int) -> CustomFieldDefinition:
    definition = session.get(CustomFieldDefinition, definition_id)
    if definition is None:
        raise NotFound(f"There is no custom field {definition_id} here.")
    return definition


def define_custom_field(
    session: Session,
    entity: str,
    code: str,
    label: str,
    type: str,
    *,
    required: bool = False,
    choices: list[str] | None = None,
    validation: Mapping[str, Any] | None = None,
    position: int = 0,
    active: bool = True,
) -> CustomFieldDefinition:
    """Add a custom field to ``entity`` for the session's tenant.

    :raises ValidationError: unknown entity or type, malformed code, choices or rules (by field).
    :raises Conflict: the entity already has a field with this code.
    :raises PermissionDenied: the session's principal may not create custom fields.
    """
    require_right(session, "create")
    entity_model(entity)
    errors: dict[str, list[str]] = {}
    if not isinstance(code, str) or not CODE.match(code):
        errors["code"] = ["Use a lower-case letter, then lower-case letters, digits or '_' (at most 63)."]
    values = {"label": label, "type": type, "required": required, "choices": choices or [],
              "validation": dict(validation or {}), "position": position, "active": active}
    errors.update(_check_settings(values))
    if errors:
        raise ma.ValidationError(errors)
    exists = select(CustomFieldDefinition.id).where(CustomFieldDefinition.entity == entity,
                                                    CustomFieldDefinition.code == code)
    if session.scalar(exists) is not None:
        raise Conflict(f"{entity} already has a custom field {code!r}")
    definition = CustomFieldDefinition(entity=entity, code=code, **values)
    session.add(definition)
    session.flush()
    return definition


def update_custom_field(session: Session, definition: CustomFieldDefinition,
                        changes: Mapping[str, Any]) -> CustomFieldDefinition:
    """Change a definition's label, type, rules, choices, order or activity (not its entity or code).

    :raises Conflict: the type changes while records hold values for the field.
    """
    require_right(session, "update")
    unknown = sorted(set(changes) - {"label", "type", "required", "choices", "validation", "position", "active"})
    if unknown:
        raise ma.ValidationError({name: ["Cannot be changed."] for name in unknown})
    values = {name: getattr(definition, name) for name in
              ("label", "type", "required", "choices", "validation", "position", "active")}
    values.update(changes)
    errors = _check_settings(values)
    if errors:
        raise ma.ValidationError(errors)
    if values["type"] != definition.type:
        holding = count_values(session, definition)
        if holding:
            raise Conflict(
                f"custom field {definition.code!r} cannot change type from {definition.type} to {values['type']}: "
                f"{holding} record(s) hold a value for it; values are never converted implicitly, so remove "
                "them first, or add a new field and set this one inactive")
    for name, value in values.items():
        setattr(definition, name, value)
    definition.updated_at = utcnow()
    session.flush()
    return definition


def delete_custom_field(session: Session, definition: CustomFieldDefinition) -> None:
    """Delete a definition no record holds a value for (otherwise set it inactive).

    :raises Conflict: records hold values for it.
    """
    require_right(session, "delete")
    holding = count_values(session, definition)
    if holding:
        raise Conflict(f"custom field {definition.code!r} cannot be deleted: {holding} record(s) hold a value "
                       "for it; set it inactive instead, or remove the values first")
    session.delete(definition)
    session.flush()


def count_values(session: Session, definition: CustomFieldDefinition) -> int:
    """How many records of the tenant hold a value for the field, whoever may see them.

    A Core statement with an explicit tenant condition: the answer protects data the admin may
    not see, so it must not be narrowed to what the admin's session reads.
    """
    table = entity_model(definition.entity).__table__
    statement = select(func.count()).select_from(table).where(
        table.c.tenant_id == definition.tenant_id, JsonText(table.c.custom, definition.code).is_not(None))
    return session.connection().execute(statement).scalar_one()


def _check_settings(values: Mapping[str, Any]) -> dict[str, list[str]]:
    """Errors in a definition's settings, by field."""
    errors: dict[str, list[str]] = {}
    field_type = types.FIELD_TYPES.get(values["type"])
    if field_type is None:
        errors["type"] = [f"Must be one of: {', '.join(types.FIELD_TYPES)}."]
    label = values["label"]
    if not isinstance(label, str) or not label.strip() or len(label) > 200:
        errors["label"] = ["A non-empty label of at most 200 characters is needed."]
    choices = values["choices"]
    if not isinstance(choices, list) or not all(isinstance(c, str) and c.strip() for c in choices) \
            or len(set(choices)) != len(choices):
        errors["choices"] = ["Choices are distinct non-empty strings."]
    elif field_type is not None and field_type.name in (types.CHOICE, types.MULTI_CHOICE) and not choices:
        errors["choices"] = [f"A {field_type.name} field needs choices."]
    elif field_type is not None and field_type.name not in (types.CHOICE, types.MULTI_CHOICE) and choices:
        errors["choices"] = [f"A {field_type.name} field has no choices."]
    if field_type is not None:
        errors.update({f"validation.{k}": v for k, v in _check_rules(field_type, values["validation"]).items()})
    return errors


def _check_rules(field_type: types.FieldType, rules: Any) -> dict[str, list[str]]:
    if not isinstance(rules, Mapping):
        return {"": ["Validation rules are an object."]}
    errors: dict[str, list[str]] = {}
    for name, rule in rules.items():
        if name not in field_type.rules:
            errors[name] = [f"Not a rule of {field_type.name} fields"
                            + (f" (rules: {', '.join(field_type.rules)})." if field_type.rules else ".")]
        elif name in ("min", "max"):
            try:
                (types.parse_number if field_type.name == types.NUMBER else types.parse_date)(rule)
            except types.InvalidValue as exc:
                errors[name] = [str(exc)]
        elif name == "max_length" and (isinstance(rule, bool) or not isinstance(rule, int)
                                       or not 0 < rule <= types.MAX_TEXT_LENGTH):
            errors[name] = [f"A whole number from 1 to {types.MAX_TEXT_LENGTH}."]
        elif name == "regex":
            try:
                if not isinstance(rule, str) or len(rule) > MAX_REGEX_LENGTH:
                    raise re.error("too long")
                re.compile(rule)
            except re.error:
                errors[name] = [f"A valid regular expression of at most {MAX_REGEX_LENGTH} characters."]
    low, high = rules.get("min"), rules.get("max")
    if not errors and low is not None and high is not None:
        parse = types.parse_number if field_type.name == types.NUMBER else types.parse_date
        if parse(low) > parse(high):
            errors["max"] = ["Must not be below min."]
    if not errors and field_type.name in (types.NUMBER, types.DATE):
        for name in ("min", "max"):  # stored in the canonical form values are compared in
            if name in rules:
                rules[name] = (types.format_number(types.parse_number(rules[name])) if field_type.name == types.NUMBER
                               else types.parse_date(rules[name]).isoformat())
    return errors


# -- values -----------------------------------------------------------------------------------------


def clean_values(
    session: Session,
    entity: str,
    values: Any,
    *,
    current: Mapping[str, Any] | None = None,
    field: str = "custom",
) -> dict[str, Any]:
    """The values to store for a record of ``entity``: ``values`` checked and merged into ``current``.

    ``current`` is the record's stored values (``None`` for a new record). In ``values`` a code
    set to ``None`` removes that value. Every problem is reported at once, each under
    ``<field>.<code>``: unknown or inactive code, wrong type, value outside the rules or choices,
    party reference to a party the session cannot see, required field left without a value.

    :raises ValidationError: any of the above; nothing is changed.
    """
    if not isinstance(values, Mapping):
        raise ma.ValidationError({field: ["Not a valid mapping."]})
    known = {d.code: d for d in definitions(session, entity)}
    merged = dict(current or {})
    errors: dict[str, list[str]] = {}
    party_refs: dict[str, int] = {}
    for code, value in values.items():
        definition = known.get(code)
        if definition is None:
            errors[code] = [UNKNOWN_FIELD]
        elif not definition.active:
            errors[code] = [INACTIVE_FIELD]
        elif value is None:
            merged.pop(code, None)
        else:
            try:
                merged[code] = types.clean_value(definition.type, value, definition.choices, definition.validation)
            except types.InvalidValue as exc:
                errors[code] = [str(exc)]
            else:
                if definition.type == types.PARTY_REF:
                    party_refs[code] = merged[code]
    for code, definition in known.items():
        if definition.active and definition.required and code not in errors and merged.get(code) in (None, [], ""):
            errors[code] = [REQUIRED]
    errors.update(_invisible_parties(session, party_refs))
    if errors:
        raise ma.ValidationError({field: errors})
    return merged


def _invisible_parties(session: Session, party_refs: Mapping[str, int]) -> dict[str, list[str]]:
    """Party references the session cannot read (another tenant's, or out of the principal's scope)."""
    if not party_refs:
        return {}
    from ..graph.models import Party  # the graph's models use this package's mixin

    visible = set(session.scalars(select(Party.id).where(Party.id.in_(set(party_refs.values())))))
    return {code: [f"There is no party {party_id} here."]
            for code, party_id in party_refs.items() if party_id not in visible}

