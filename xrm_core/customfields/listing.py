"""Lists of records that carry custom fields: filter and sort on them like on any field.

A :class:`CustomFieldListing` is a :class:`~xrm_core.api.listing.Listing` that also accepts
``custom.<code>=value``, ``custom.<code>__<operator>=value`` and ``sort=-custom.<code>``. Which
codes exist depends on the tenant, so those parameters are checked per request against the
tenant's active definitions (422 naming the parameter for an unknown code, an operator the type
does not offer, or a value of the wrong type) and compared in the field's SQL type.

It also takes *predicates*: filters that are not a comparison of one column, such as "holds this
role today" (a subquery) or "has this tag" (membership in a JSON array).
"""

from __future__ import annotations

import copy
import dataclasses
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

import marshmallow as ma
from marshmallow import fields
from sqlalchemy import ColumnElement

from .. import web
from ..api.listing import RESERVED_PARAMETERS, Filter, Listing, ListQuery, _check_sort, _parse_sort
from . import service, types
from .mixin import HasCustomFields
from .sql import JsonArrayIncludes, JsonText

#: Query parameters and sort fields naming a custom field start with this.
PREFIX = "custom."


@dataclass(frozen=True)
class ListPredicate:
    """A filter parameter whose value ``field`` parses and ``clause`` turns into a condition."""

    field: fields.Field
    clause: Callable[[Any], ColumnElement[bool]]


@dataclass(frozen=True)
class ClauseFilter(Filter):
    """A filter that builds its own condition (the listing's column for it is not used)."""

    build: Callable[[Any], ColumnElement[bool]] = dataclasses.field(default=None, compare=False)

    def clause(self, column: ColumnElement[Any]) -> ColumnElement[bool]:
        return self.build(self.value)


class CustomFieldListing(Listing):
    """A listing of a :class:`HasCustomFields` model; see the module docstring.

    :param predicates: Parameter name → :class:`ListPredicate`, for filters beyond column comparisons.
    Other parameters are :class:`~xrm_core.api.listing.Listing`'s.
    """

    def __init__(self, model: type, schema: type[ma.Schema], *, predicates: Mapping[str, ListPredicate] | None = None,
                 **kwargs: Any):
        if not (isinstance(model, type) and issubclass(model, HasCustomFields) and model.__custom_fields_entity__):
            raise ValueError(f"{model!r} does not carry custom fields: mix in HasCustomFields and name its entity")
        self.entity = model.__custom_fields_entity__
        self.predicates = dict(predicates or {})
        #: Code → field type, in a listing bound to one request's definitions (see _make_query).
        self._custom_types: dict[str, types.FieldType] = {}
        super().__init__(model, schema, **kwargs)
        clash = set(self.predicates) & (RESERVED_PARAMETERS | set(self.filterable) | {"custom"})
        if clash:
            raise ValueError(f"{self.name}: predicate parameters clash with other parameters: {', '.join(sorted(clash))}")

    def column(self, field_name: str) -> ColumnElement[Any]:
        if field_name.startswith(PREFIX):
            code = field_name.removeprefix(PREFIX)
            return self._custom_types[code].column(self.model.custom, code)
        if field_name in self.predicates:
            return self.model.id  # a predicate builds its own condition; this column goes unused
        return super().column(field_name)

    def _build_query_schema(self) -> type[ma.Schema]:
        base = super()._build_query_schema()

        class GatherCustomParameters(base):
            @ma.pre_load
            def gather_custom(self, data: Any, **_kwargs: Any) -> dict[str, Any]:
                """Move ``custom.*`` parameters under ``custom``: the schema cannot know their names."""
                if "custom" in data:
                    raise ma.ValidationError({"custom": ["Filter on a custom field with custom.<code>=value."]})
                plain = {key: data[key] for key in data if not key.startswith(PREFIX)}
                custom = {key: data.get(key) for key in data if key.startswith(PREFIX)}
                return {**plain, "custom": custom} if custom else plain

        declared: dict[str, fields.Field] = {
            name: predicate.field for name, predicate in self.predicates.items()}
        declared["custom"] = fields.Dict(keys=fields.String(), values=fields.String(), metadata={
            "description": "Custom field filters, sent as custom.<code>=value or custom.<code>__<operator>=value "
                           "(operators by type: " + "; ".join(
                               f"{t.name}: {', '.join(t.operators)}" for t in types.FIELD_TYPES.values())
                           + "). Sort on them with sort=custom.<code>."})
        return GatherCustomParameters.from_dict(declared, name=f"{self.model.__name__}ListQuery")

    def _validate_sort(self, value: list[str]) -> None:
        parsed = _parse_sort(",".join(value))
        # Custom sort fields are checked against the tenant's definitions in _make_query.
        _check_sort(parsed, (*self.sortable, *(key.field for key in parsed if key.field.startswith(PREFIX))))

    def _make_query(self, data: dict[str, Any]) -> ListQuery:
        custom = data.pop("custom", {})
        predicates = {name: data.pop(name) for name in list(data) if name in self.predicates}
        query = super()._make_query(data)
        wants_custom = bool(custom) or any(key.field.startswith(PREFIX) for key in query.sort)
        if not (wants_custom or predicates):
            return query
        # Only lists that name custom fields pay for reading the tenant's definitions.
        known = {d.code: types.FIELD_TYPES[d.type]
                 for d in service.definitions(web.db_session(), self.entity, active_only=True)} if wants_custom else {}
        errors: dict[str, list[str]] = {}
        filters: list[Filter] = list(query.filters)
        for parameter, raw in custom.items():
            try:
                filters.append(self._custom_filter(parameter, raw, known))
            except types.InvalidValue as exc:
                errors[parameter] = [str(exc)]
        wrong_sorts = [key.field for key in query.sort if key.field.startswith(PREFIX)
                       and not (key.field.removeprefix(PREFIX) in known
                                and known[key.field.removeprefix(PREFIX)].sortable)]
        if wrong_sorts:
            wrong = ", ".join(map(repr, wrong_sorts))
            errors["sort"] = [f"Cannot sort on {wrong}: not an active custom field of a sortable type."]
        if errors:
            raise ma.ValidationError(errors)
        filters += [ClauseFilter(name, "eq", value, build=self.predicates[name].clause)
                    for name, value in predicates.items()]
        return dataclasses.replace(query, listing=self._bound(known), filters=tuple(filters))

    def _custom_filter(self, parameter: str, raw: str, known: Mapping[str, types.FieldType]) -> Filter:
        code, _, operator = parameter.removeprefix(PREFIX).partition("__")
        operator = operator or "eq"
        field_type = known.get(code)
        if field_type is None:
            raise types.InvalidValue("Unknown custom field (or inactive).")
        if operator not in field_type.operators:
            raise types.InvalidValue(f"A {field_type.name} field filters with: {', '.join(field_type.operators)}.")
        field_name = f"{PREFIX}{code}"
        if operator == "isnull":
            wanted = types.parse_boolean(raw)
            return ClauseFilter(field_name, "isnull", wanted, build=lambda empty: (
                JsonText(self.model.custom, code).is_(None) if empty else JsonText(self.model.custom, code).is_not(None)))
        parse = types.FILTER_VALUE[field_type.name]
        if field_type.name == types.MULTI_CHOICE:
            value = parse(raw)
            return ClauseFilter(field_name, "eq", value,
                                build=lambda choice: JsonArrayIncludes(self.model.custom, code, choice))
        value = [parse(part) for part in raw.split(",")] if operator == "in" else parse(raw)
        return Filter(field_name, operator, value)

    def _bound(self, known: Mapping[str, types.FieldType]) -> CustomFieldListing:
        """This listing, knowing one request's custom field types (the shared one stays unbound)."""
        bound = copy.copy(self)
        bound._custom_types = dict(known)
        return bound

