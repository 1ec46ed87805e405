"""What a list endpoint lets clients sort, filter and select, and its query string parsed.

A :class:`Listing` whitelists, per resource, the fields that can be sorted on and the filter
operators each field accepts; everything else is refused with a 422 naming the parameter, so a
client never gets a silently unfiltered or unsorted list. From it comes the query-string schema
(documented in OpenAPI parameter by parameter) and, per request, a :class:`ListQuery`.

Query string: ``limit`` (1..max), ``cursor`` (from the previous page's next link), ``sort``
(``-size,name``: comma-separated, ``-`` for descending; the id is always the last tiebreaker),
``fields`` (``name,size``: sparse selection; ``id`` and ``etag`` always come along), and filters:
``size=3`` (equality), ``size__gte=3``, ``name__contains=bolt``, ``size__in=1,2,3``,
``size__isnull=true``.
"""

from __future__ import annotations

import copy
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from typing import Any

import marshmallow as ma
from marshmallow import fields, validate
from sqlalchemy import ColumnElement, inspect
from webargs.fields import DelimitedList

from ..identity.fieldsecurity import unreadable_fields
from ..storable import make_storable
from .schemas import UNKNOWN_FIELD, Schema, audience

#: Filter operators (``field__<op>=value``; ``eq`` is plain ``field=value``) and their SQL.
OPERATORS: dict[str, Callable[[ColumnElement[Any], Any], ColumnElement[bool]]] = {
    "eq": lambda column, value: column == value,
    "ne": lambda column, value: column.is_distinct_from(value),  # "not 3" includes rows with no value
    "lt": lambda column, value: column < value,
    "lte": lambda column, value: column <= value,
    "gt": lambda column, value: column > value,
    "gte": lambda column, value: column >= value,
    "in": lambda column, values: column.in_(values),
    "contains": lambda column, text: column.icontains(text, autoescape=True),
    "isnull": lambda column, wanted: column.is_(None) if wanted else column.is_not(None),
}
#: Query parameters of every list; no filterable field may take these names.
RESERVED_PARAMETERS = frozenset({"limit", "cursor", "sort", "fields"})
#: Fields that come with every record, whatever ``fields`` asks for: identity and concurrency token.
ALWAYS_SELECTED = ("id", "etag")


@dataclass(frozen=True)
class SortKey:
    field: str
    descending: bool = False

    def __str__(self) -> str:
        return f"-{self.field}" if self.descending else self.field


@dataclass(frozen=True)
class Filter:
    field: str
    operator: str
    value: Any

    def clause(self, column: ColumnElement[Any]) -> ColumnElement[bool]:
        return OPERATORS[self.operator](column, self.value)


@dataclass(frozen=True)
class ListQuery:
    """One request's list parameters, validated against its :class:`Listing`."""

    listing: Listing
    limit: int
    sort: tuple[SortKey, ...]
    filters: tuple[Filter, ...]
    #: Field names to return, or ``None`` for all of them.
    fields: frozenset[str] | None
    cursor: str | None

    @property
    def sort_spec(self) -> str:
        return ",".join(str(key) for key in self.sort)


class Listing:
    """The sorting, filtering and paging rules of one resource's list endpoint.

    :param model: The mapped class listed (its ``id`` is the tiebreaker of every sort).
    :param schema: The resource's schema class; field names and filter value types come from it.
    :param sortable: Schema fields clients may sort on (``id`` always may).
    :param filterable: Schema field → the operators it accepts (see :data:`OPERATORS`).
    :param columns: Schema field → SQL expression, for fields that are not a model attribute of
        the same name (a joined column, a custom field).
    :param default_sort: The sort when the client gives none, e.g. ``"-created_at"``.
    :param name: Names the listing in its cursors; defaults to the model's table.
    """

    def __init__(
        self,
        model: type,
        schema: type[ma.Schema],
        *,
        sortable: Iterable[str] = (),
        filterable: Mapping[str, Iterable[str]] | None = None,
        columns: Mapping[str, ColumnElement[Any]] | None = None,
        default_sort: str = "id",
        default_limit: int = 25,
        max_limit: int = 100,
        name: str | None = None,
    ):
        self.model = model
        self.schema = schema
        self.name = name or model.__table__.name
        self.default_limit = default_limit
        self.max_limit = max_limit
        self._fields = schema().fields
        self._columns = dict(columns or {})
        self.sortable = ("id", *(f for f in sortable if f != "id"))
        self.filterable = {field: tuple(operators) for field, operators in (filterable or {}).items()}
        self._check_definition()
        self.default_sort = _parse_sort(default_sort)
        _check_sort(self.default_sort, self.sortable)
        self.query_schema = self._build_query_schema()

    def column(self, field_name: str) -> ColumnElement[Any]:
        """The SQL expression a sortable or filterable field stands for."""
        if field_name in self._columns:
            return self._columns[field_name]
        return getattr(self.model, self._fields[field_name].attribute or field_name)

    def dump(self, records: list[Any], selected: frozenset[str] | None) -> list[dict[str, Any]]:
        return select_fields(self.schema, selected, many=True).dump(records)

    def _check_definition(self) -> None:
        """Mistakes in a listing are the plugin author's: fail at import, with what is wrong."""
        mapper_attributes = set(inspect(self.model).attrs.keys())
        for name in {*self.sortable, *self.filterable}:
            if name not in self._fields:
                raise ValueError(f"{self.name}: {name!r} is not a field of {self.schema.__name__}")
            attribute = self._fields[name].attribute or name
            if name not in self._columns and attribute not in mapper_attributes:
                raise ValueError(f"{self.name}: {name!r} is not a column of {self.model.__name__}: map it in columns")
        for name, operators in self.filterable.items():
            if name in RESERVED_PARAMETERS:
                raise ValueError(f"{self.name}: {name!r} is a reserved query parameter and cannot be filtered on")
            unknown = set(operators) - set(OPERATORS)
            if unknown:
                raise ValueError(f"{self.name}: unknown filter operators for {name!r}: {', '.join(sorted(unknown))}")
            if "contains" in operators and not isinstance(self._fields[name], fields.String):
                raise ValueError(f"{self.name}: 'contains' needs a string field, and {name!r} is not one")

    def _build_query_schema(self) -> type[Schema]:
        declared: dict[str, fields.Field] = {
            "limit": fields.Integer(
                load_default=self.default_limit, validate=validate.Range(min=1, max=self.max_limit),
                metadata={"description": f"Records per page (at most {self.max_limit})."},
            ),
            "cursor": fields.String(metadata={"description": "Where to resume: from the previous page's next link."}),
            "sort": DelimitedList(
                fields.String(), validate=self._validate_sort, metadata={"description": (
                    f"Comma-separated fields, '-' for descending, among: {', '.join(self.sortable)}. "
                    "Empty values sort last in both directions; the id breaks ties."
                )},
            ),
            "fields": fields_parameter(self._fields),
        }
        for name, operators in self.filterable.items():
            for operator in operators:
                parameter = name if operator == "eq" else f"{name}__{operator}"
                declared[parameter] = self._filter_field(name, operator)
        listing = self

        class ListQuerySchema(Schema):
            def on_bind_field(self, field_name: str, field_obj: fields.Field) -> None:
                """Filters on server-owned fields (``owner_user_id=3``) are questions, not writes."""
                make_storable(field_obj)

            @ma.post_load
            def make_query(self, data: dict[str, Any], **_kwargs: Any) -> ListQuery:
                return listing._make_query(data)

        return ListQuerySchema.from_dict(declared, name=f"{self.model.__name__}ListQuery")

    def _filter_field(self, name: str, operator: str) -> fields.Field:
        if operator == "isnull":
            return fields.Boolean(metadata={"description": f"true: only records without {name}; false: only with."})
        value = _value_field(self._fields[name])
        if operator == "in":
            return DelimitedList(value, metadata={"description": f"{name} is one of these (comma-separated)."})
        value.metadata = {"description": f"{name} {operator} this value" + (" (case-insensitive)" if
                                                                          operator == "contains" else "")}
        return value

    def _refuse_unreadable(self, data: dict[str, Any]) -> set[str]:
        """Protected fields the caller may not read cannot be sorted, filtered or selected (rule F1).

        Refused with the very message an unknown field gets, so the answer does not reveal them.
        Returns the hidden field names.
        """
        principal = audience()
        hidden_attributes = unreadable_fields(principal, self.model)
        hidden = {name for name, field in self._fields.items() if (field.attribute or name) in hidden_attributes}
        # A field listed through another model's column (``columns={"display_name": Party.display_name}``)
        # is that model's field: its protection applies too.
        hidden |= {name for name, column in self._columns.items() if _unreadable_column(principal, column)}
        if not hidden:
            return set()
        errors: dict[str, list[str]] = {}
        sorted_on = [key.field for key in _parse_sort(",".join(data["sort"]))] if "sort" in data else []
        if hidden & set(sorted_on):
            unknown = [name for name in sorted_on if name in hidden]
            visible = [name for name in self.sortable if name not in hidden]
            errors["sort"] = [f"Unknown sort field {', '.join(map(repr, unknown))}; sortable: {', '.join(visible)}."]
        if hidden & set(data.get("fields", ())):
            unknown = [name for name in data["fields"] if name in hidden]
            visible = [name for name in self._fields if name not in hidden]
            errors["fields"] = [f"Unknown field {', '.join(map(repr, unknown))}; fields: {', '.join(visible)}."]
        for parameter in data:
            if parameter not in RESERVED_PARAMETERS and parameter.partition("__")[0] in hidden:
                errors[parameter] = [UNKNOWN_FIELD]
        if errors:
            raise ma.ValidationError(errors)
        return hidden

    def _validate_sort(self, value: list[str]) -> None:
        _check_sort(_parse_sort(",".join(value)), self.sortable)

    def _make_query(self, data: dict[str, Any]) -> ListQuery:
        hidden = self._refuse_unreadable(data)
        sort = _parse_sort(",".join(data["sort"])) if "sort" in data else self.default_sort
        if any(key.field in hidden for key in sort):  # a default sort must not reveal the field's order
            sort = (SortKey("id"),)
        if sort[-1].field != "id":
            sort = (*sort, SortKey("id", sort[-1].descending))
        filters = []
        for parameter, value in data.items():
            if parameter in RESERVED_PARAMETERS:
                continue
            name, _, operator = parameter.partition("__")
            filters.append(Filter(name, operator or "eq", value))
        return ListQuery(
            listing=self,
            limit=data["limit"],
            sort=sort,
            filters=tuple(filters),
            fields=frozenset(data["fields"]) if "fields" in data else None,
            cursor=data.get("cursor"),
        )


def _unreadable_column(principal: Any, column: ColumnElement[Any]) -> bool:
    """Whether ``column`` is a model attribute protected from ``principal`` (rule F1)."""
    owner, key = getattr(column, "class_", None), getattr(column, "key", None)
    return isinstance(owner, type) and key in unreadable_fields(principal, owner)


def fields_parameter(names: Iterable[str]) -> DelimitedList:
    """The ``fields`` query parameter: a comma-separated subset of ``names``."""
    names = list(names)

    def known(value: list[str]) -> None:
        unknown = [name for name in value if name not in names]
        if unknown:
            raise ma.ValidationError(f"Unknown field {', '.join(map(repr, unknown))}; fields: {', '.join(names)}.")

    return DelimitedList(fields.String(), validate=known, metadata={
        "description": "Only these fields (id and etag always come along)."})


def select_fields(schema: type[ma.Schema], selected: frozenset[str] | None, *, many: bool = False) -> ma.Schema:
    """``schema`` restricted to ``selected`` (plus :data:`ALWAYS_SELECTED`), or whole."""
    if selected is None:
        return schema(many=many)
    declared = schema().fields
    return schema(many=many, only={*selected, *(name for name in ALWAYS_SELECTED if name in declared)})


def _parse_sort(spec: str) -> tuple[SortKey, ...]:
    return tuple(SortKey(part.strip().removeprefix("-"), part.strip().startswith("-"))
                 for part in spec.split(","))


def _check_sort(sort: tuple[SortKey, ...], sortable: tuple[str, ...]) -> None:
    names = [key.field for key in sort]
    unknown = [name for name in names if name not in sortable]
    if unknown:
        raise ma.ValidationError(
            f"Unknown sort field {', '.join(map(repr, unknown))}; sortable: {', '.join(sortable)}."
        )
    if len(set(names)) != len(names):
        raise ma.ValidationError("A field appears twice in sort.")
    if "id" in names[:-1]:
        raise ma.ValidationError("id is unique: it can only be the last sort field.")


def _value_field(field: fields.Field) -> fields.Field:
    """A copy of a resource field that parses a filter value: optional, non-null, unvalidated.

    Filters compare, they do not store: ``size__gte=-1`` is a fine question even where a size
    must be positive.
    """
    value = copy.copy(field)
    value.required = False
    value.allow_none = False
    value.dump_only = False
    value.load_only = False
    value.load_default = ma.missing
    value.data_key = None
    value.attribute = None
    value.validators = []
    return value
